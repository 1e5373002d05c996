"""Case numbers: unique, gapless and never reused, on SQLite and PostgreSQL alike.

A number is taken by one UPDATE … RETURNING of the ``case_counters`` row, in
the transaction that inserts the case. The row lock makes a second opener wait
until the first commits (or rolls back, returning its number), so two cases can
never get the same number; the cost is that openers take turns until commit,
which is short for a mutation and one page for a sync.

The counter never falls below the highest number in the table, so cases
written without it (the demo seed, an import) cannot be collided with.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select, update

from hub.models.engagement import Case, CaseCounter

COUNTER = "case"

_counters = CaseCounter.__table__
_cases = Case.__table__


def next_case_number(conn: Connection) -> int:
    highest = select(func.coalesce(func.max(_cases.c.number), 0)).scalar_subquery()
    # SQLite's two-argument max() is PostgreSQL's greatest().
    larger = func.greatest if conn.dialect.name == "postgresql" else func.max
    take = (
        update(_counters)
        .where(_counters.c.name == COUNTER)
        .values(last_number=larger(_counters.c.last_number, highest) + 1)
        .returning(_counters.c.last_number)
    )
    number = conn.execute(take).scalar()
    if number is not None:
        return number
    # No counter yet (a database made without the migrations): start it, then take a number.
    _start_counter(conn)
    return conn.execute(take).scalar_one()


def _start_counter(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    conn.execute(upsert(_counters).values(name=COUNTER, last_number=0).on_conflict_do_nothing())
