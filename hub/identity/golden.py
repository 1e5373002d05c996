"""The golden record in the database: profiles in, the customer's chosen fields and provenance out.

``remember`` keeps what one source record says a person is called (a
``SourceProfile``); ``recompute`` lets survivorship pick each field group among
the customer's live source records and writes the winners onto the customer,
with one ``FieldProvenance`` row per field naming the source, the rule and when
the source gave the value. Both work in SQLAlchemy Core on a sync
``Connection`` and write only what changed (a customer's version moves only
when its golden record does).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hub.identity.survivorship import (
    GROUPS,
    Candidate,
    Choice,
    SurvivorshipSettings,
    golden,
)
from hub.models import Connection as ConnectionRow
from hub.models import ContactPoint, Customer, FieldProvenance, SourceProfile, SourceRecord
from hub.models.enums import ContactPointKind
from hub.sync.copy import insert_rows
from hub.sync.people import _search_fields as search_fields
from hub.sync.records import PersonData

customers = Customer.__table__
profiles = SourceProfile.__table__
provenance = FieldProvenance.__table__
sources = SourceRecord.__table__
connections = ConnectionRow.__table__
points = ContactPoint.__table__

PROFILE_COLUMNS = ("kind", "given_name", "family_name", "organization_name", "locale")

_PROFILES = (
    select(profiles, connections.c.connector, connections.c.name.label("connection"))
    .join(sources, sources.c.id == profiles.c.source_record_id)
    .join(connections, connections.c.id == sources.c.connection_id)
    .where(sources.c.customer_id == bindparam("customer"), sources.c.deleted_at.is_(None))
)
_PROVENANCE = select(provenance).where(provenance.c.customer_id == bindparam("customer"))
_CUSTOMER = select(customers).where(customers.c.id == bindparam("customer"))
_REACHABLE = (
    select(points.c.normalised_value)
    .where(points.c.customer_id == bindparam("customer"),
           points.c.kind.in_((ContactPointKind.EMAIL, ContactPointKind.PHONE)))
    .order_by(points.c.kind, points.c.normalised_value)
)


def remember(db: Connection, source_record_id: uuid.UUID, person: PersonData,
             observed_at: datetime) -> None:
    """Store (or replace) what this source record says about the person's name and locale."""
    db.execute(_REMEMBER[db.dialect.name], _profile(source_record_id, person, observed_at))


def remember_new(db: Connection,
                 said: Sequence[tuple[uuid.UUID, PersonData, datetime]]) -> None:
    """``remember`` for source records just made, so without a profile yet: one statement
    (a ``COPY`` on PostgreSQL) for all of them (source record, person, when)."""
    insert_rows(db, profiles, [_profile(*one) for one in said])


def _profile(source_record_id: uuid.UUID, person: PersonData,
             observed_at: datetime) -> dict[str, Any]:
    return {"source_record_id": source_record_id, "observed_at": observed_at, **_said(person)}


def _upsert_profile(dialect: Any) -> Any:
    # Built once per dialect: a sync runs it for every person it writes.
    stmt = dialect.insert(profiles)
    return stmt.on_conflict_do_update(
        index_elements=[profiles.c.source_record_id],
        set_={name: stmt.excluded[name] for name in ("observed_at", *PROFILE_COLUMNS)},
    )


_REMEMBER = {"postgresql": _upsert_profile(postgresql), "sqlite": _upsert_profile(sqlite)}
_INSERT_PROVENANCE = insert(provenance)


def refresh(db: Connection, customer_id: uuid.UUID, source_record_id: uuid.UUID,
            person: PersonData, observed_at: datetime, settings: SurvivorshipSettings,
            now: datetime) -> bool:
    """A source wrote this person onto the customer: keep its profile (only if it says
    something new, so ``observed_at`` is when it last changed) and pick the golden record
    again. Returns whether the customer row changed."""
    found = candidates(db, customer_id)
    said = _said(person)
    mine = next((c for c in found if c.source_record_id == source_record_id), None)
    if mine is None or any(mine.values[k] != v for k, v in said.items()):
        remember(db, source_record_id, person, observed_at)
        found = candidates(db, customer_id)
    return recompute(db, customer_id, settings, now, known=found)


def candidates(db: Connection, customer_id: uuid.UUID) -> list[Candidate]:
    """One candidate per live source record of the customer that has a profile."""
    return [
        Candidate(row.source_record_id, row.connector, row.connection, row.observed_at,
                  {column: getattr(row, column) for column in PROFILE_COLUMNS})
        for row in db.execute(_PROFILES, {"customer": customer_id})
    ]


def customer_candidate(row: Mapping[str, Any]) -> Candidate:
    """A customer's own current values as a candidate: for customers no source describes."""
    return Candidate(None, None, None, row["updated_at"],
                     {column: row[column] for column in PROFILE_COLUMNS})


def recompute(db: Connection, customer_id: uuid.UUID, settings: SurvivorshipSettings,
              now: datetime, fallback: Sequence[Candidate] = (), *,
              refresh_search: bool = False, known: Sequence[Candidate] | None = None) -> bool:
    """Bring the customer's golden fields and provenance in step with its sources.

    ``fallback`` is used when no source record of the customer has a profile
    (customers made in the hub, or synced before profiles were kept).
    ``refresh_search``: its e-mails or phones changed too (a merge), so the
    search text is rebuilt even if no name did. ``known``: the candidates, when the
    caller has just loaded them. Returns whether the row changed.
    """
    found = list(known) if known is not None else candidates(db, customer_id)
    chosen = golden(found or list(fallback), settings)
    if not chosen and not refresh_search:
        return False
    customer = db.execute(_CUSTOMER, {"customer": customer_id}).one()._mapping
    wanted: dict[str, Any] = {}
    for choice in chosen.values():
        wanted |= {k: v for k, v in choice.values.items() if k != "kind" or v is not None}
    changes = {name: value for name, value in wanted.items() if customer[name] != value}
    if changes or refresh_search:
        reachable = db.scalars(_REACHABLE, {"customer": customer_id}).all()
        shown = search_fields({**customer, **changes}, reachable)
        changes |= {name: value for name, value in shown.items() if customer[name] != value}
        if changes:
            db.execute(update(customers).where(customers.c.id == customer_id)
                       .values(**changes, updated_at=now, version=customers.c.version + 1))
    if chosen:
        _write_provenance(db, customer_id, chosen, now)
    return bool(changes)


def provenance_values(chosen: Mapping[str, Choice]) -> dict[str, dict[str, Any]]:
    return {
        column: {"value": _text(value), "source_record_id": choice.candidate.source_record_id,
                 "rule": choice.rule, "observed_at": choice.candidate.observed_at}
        for choice in chosen.values() for column, value in choice.values.items()
    }


def _write_provenance(db: Connection, customer_id: uuid.UUID, chosen: Mapping[str, Choice],
                      now: datetime) -> None:
    wanted = provenance_values(chosen)
    stored = {row.field: row for row in db.execute(_PROVENANCE, {"customer": customer_id})}
    stale = [f for f, row in stored.items()
             if f not in wanted or any(getattr(row, k) != v for k, v in wanted[f].items())]
    fresh = [f for f in wanted if f not in stored or f in stale]
    if stale:
        db.execute(delete(provenance).where(provenance.c.customer_id == customer_id,
                                            provenance.c.field.in_(stale)))
    if fresh:
        db.execute(_INSERT_PROVENANCE, [
            {"customer_id": customer_id, "field": f, "decided_at": now, **wanted[f]}
            for f in fresh
        ])


def fields() -> list[str]:
    """Every customer column the golden record picks, in group order."""
    return [column for group in GROUPS.values() for column in group]


def _said(person: PersonData) -> dict[str, Any]:
    return {column: _clean(getattr(person, column)) for column in PROFILE_COLUMNS}


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip() or None
    return value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))
