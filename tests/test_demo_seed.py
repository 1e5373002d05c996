"""The demo seeder: plausible volumes, exact money, stable output, and no second helping."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from hub.db import create_sync_engine
from hub.demo import ANCHOR, SeedSummary, has_data, seed
from hub.migrate import upgrade
from hub.models import Base
from hub.settings import Settings

CUSTOMERS = 200


def _engine(path: Path) -> Engine:
    engine = create_sync_engine(Settings(database_url=f"sqlite:///{path}"))
    upgrade(engine)
    return engine


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.scalar(select(func.count()).select_from(table))
            for name, table in Base.metadata.tables.items()
        }


def _digest(engine: Engine) -> str:
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for name in ("customers", "orders", "order_lines", "interactions"):
            table = Base.metadata.tables[name]
            for row in conn.execute(select(table).order_by(table.c.id)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, SeedSummary, list[int]]:
    engine = _engine(tmp_path_factory.mktemp("demo") / "t.db")
    assert not has_data(engine)
    calls: list[int] = []
    summary = seed(engine, CUSTOMERS, progress=calls.append)
    yield engine, summary, calls
    engine.dispose()


def test_every_table_gets_plausible_volumes(seeded) -> None:
    engine, summary, calls = seeded
    assert has_data(engine)
    assert sum(calls) == CUSTOMERS
    counts = _counts(engine)
    # The tables the demo populates: one per summary field, plus tags. Access,
    # sync bookkeeping and later domains are filled by their own features.
    populated = {*vars(summary), "customer_tags"}
    demo = {name: count for name, count in counts.items() if name in populated}
    assert len(demo) == len(populated)
    assert all(demo.values()), demo
    assert counts["customers"] == summary.customers == CUSTOMERS
    assert counts["connections"] == summary.connections == 3
    for name in ("orders", "order_lines", "interactions", "cases", "case_comments", "feedback",
                 "consents", "contact_points", "addresses", "source_records"):
        assert counts[name] == getattr(summary, name), name
    per_customer = {name: counts[name] / CUSTOMERS for name in counts}
    assert 1.0 <= per_customer["orders"] <= 3.5
    assert 1.5 <= counts["order_lines"] / counts["orders"] <= 4
    assert 3 <= per_customer["interactions"] <= 9
    assert 0.1 <= per_customer["cases"] <= 0.4
    assert 0.25 <= per_customer["feedback"] <= 0.7
    assert 1.2 <= per_customer["consents"] <= 3.5
    assert 1.5 <= per_customer["contact_points"] <= 4
    assert 1.0 <= per_customer["addresses"] <= 2
    assert 1.0 <= per_customer["source_records"] <= 3


def test_order_totals_add_up(seeded) -> None:
    engine, _, _ = seeded
    with engine.connect() as conn:
        orders = Base.metadata.tables["orders"]
        lines = Base.metadata.tables["order_lines"]
        line_sums: dict = defaultdict(Decimal)
        for line in conn.execute(select(lines)):
            assert line.total == line.unit_price * line.quantity
            line_sums[line.order_id] += line.total
        for order in conn.execute(select(orders)):
            assert line_sums[order.id] == order.subtotal, order.number
            assert order.total == (
                order.subtotal - order.discount_total + order.tax_total + order.shipping_total
            ), order.number
            assert (order.cancelled_at is not None) == (order.status == "CANCELLED")


def test_customers_are_findable_and_reachable(seeded) -> None:
    engine, _, _ = seeded
    with engine.connect() as conn:
        customers = Base.metadata.tables["customers"]
        contact_points = Base.metadata.tables["contact_points"]
        reachable = select(contact_points.c.id).where(
            contact_points.c.customer_id == customers.c.id
        ).exists()
        assert conn.scalar(select(func.count()).where(~reachable)) == 0
        unnamed = (customers.c.sort_name == "") | (customers.c.search_text == "")
        assert conn.scalar(select(func.count()).where(unnamed)) == 0
        # Nothing happens after the fixed anchor: the data never depends on today's date.
        assert conn.scalar(select(func.max(customers.c.updated_at))) <= ANCHOR
        numbers = conn.scalars(select(Base.metadata.tables["cases"].c.number)).all()
        assert min(numbers) == 1001 and len(set(numbers)) == len(numbers)


def test_same_seed_same_rows(seeded, tmp_path: Path) -> None:
    engine, _, _ = seeded
    again = _engine(tmp_path / "again.db")
    seed(again, CUSTOMERS)
    assert _digest(again) == _digest(engine)
    again.dispose()


def test_seeding_twice_is_refused(seeded) -> None:
    engine, _, _ = seeded
    before = _counts(engine)
    with pytest.raises(ValueError, match="already has customers"):
        seed(engine, CUSTOMERS)
    assert _counts(engine) == before
