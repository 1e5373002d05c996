"""``insert_rows`` stores what an ``insert`` of the same rows stores, on both backends.

On PostgreSQL it sends a ``COPY``, so the values are converted by the column types
outside SQLAlchemy's statement path: enums, JSON, aware timestamps in any zone and
the Python-side defaults of the columns the rows leave out must come back the same
as from an ``executemany``, failures must be SQLAlchemy's, and the ``COPY`` must
show at the cursor events as one statement.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, StatementError

from hub.models import Customer, new_id
from hub.models.enums import CustomerKind, CustomerStatus, LifecycleStage
from hub.sync.copy import insert_rows
from tests.sync.statements import Statements

customers = Customer.__table__
_PARIS = timezone(timedelta(hours=2))


def rows(ns: str) -> list[dict[str, Any]]:
    """Customers with every kind of value; lifecycle stage and version left to defaults."""
    when = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=_PARIS)
    return [
        {"id": new_id(), "kind": CustomerKind.ORGANIZATION, "status": CustomerStatus.ACTIVE,
         "given_name": None, "family_name": None, "organization_name": f"Zoë & Co {ns}",
         "display_name": "Zoë & Co", "sort_name": "zoe & co", "search_text": "tab\there",
         "locale": "fr-FR", "attributes": {"tier": "gold", "n": 3, "nested": {"x": [1, None]},
                                            "quote": "a \"b\" \\ c\nd"},
         "created_at": when, "updated_at": when.astimezone(UTC)},
        {"id": new_id(), "kind": CustomerKind.PERSON, "status": CustomerStatus.MERGED,
         "given_name": "Ann", "family_name": "O'Neil", "organization_name": None,
         "display_name": "", "sort_name": "", "search_text": "", "locale": None,
         "attributes": {}, "created_at": when, "updated_at": when},
    ]


def stored(engine, ids: list[Any]) -> list[dict[str, Any]]:
    with engine.connect() as db:
        found = db.execute(select(customers).where(customers.c.id.in_(ids))).mappings().all()
    order = {value: i for i, value in enumerate(ids)}
    return [{k: v for k, v in row.items() if k != "id"}
            for row in sorted(found, key=lambda row: order[row["id"]])]


def test_rows_are_stored_as_an_insert_stores_them(engine, ns) -> None:
    copied, inserted = rows(ns), rows(ns)
    with engine.begin() as db:
        insert_rows(db, customers, copied)
        db.execute(insert(customers), inserted)
    got = stored(engine, [row["id"] for row in copied])
    assert got == stored(engine, [row["id"] for row in inserted])
    assert got[0]["kind"] is CustomerKind.ORGANIZATION
    assert got[0]["lifecycle_stage"] is LifecycleStage.LEAD and got[0]["version"] == 1
    assert got[0]["attributes"]["quote"] == "a \"b\" \\ c\nd"
    assert got[0]["created_at"] == datetime(2026, 5, 1, 10, 30, 15, 123456, tzinfo=UTC)


def test_a_page_of_rows_is_one_statement(engine, ns) -> None:
    with Statements(engine) as sent, engine.begin() as db:
        insert_rows(db, customers, rows(ns))
        insert_rows(db, customers, [])
    assert dict(sent.seen) == ({"COPY customers": 1} if engine.dialect.name == "postgresql"
                               else {"INSERT INTO customers": 1})


def test_failures_are_sqlalchemys(engine, ns) -> None:
    naive = rows(ns)[:1]
    naive[0]["created_at"] = datetime(2026, 5, 1)
    with pytest.raises(StatementError, match="naive datetime"), engine.begin() as db:
        insert_rows(db, customers, naive)
    twice = rows(ns)[:1] * 2
    with pytest.raises(IntegrityError), engine.begin() as db:
        insert_rows(db, customers, twice)
    assert stored(engine, [twice[0]["id"]]) == []
