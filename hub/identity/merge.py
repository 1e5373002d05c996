"""Merging two customers into one, and undoing it exactly (DESIGN §5).

``merge`` moves everything of the absorbed customer to the survivor (contact
points, addresses, source records, orders, interactions, cases, feedback,
consents, tags), retires the absorbed one as MERGED with ``merged_into`` (so
its id keeps resolving), bumps both versions and picks the survivor's golden
record again. The ``CustomerMerge`` row it writes holds what ``unmerge`` needs:
both customers' rows, the absorbed one's tags and both provenance sets as they
were, and the id of every row that moved.

``unmerge`` hands every moved row back (and whatever the moved source records
brought since), restores the absorbed customer as it was, and the survivor as
it was too when nothing changed it since the merge (else its golden record is
picked again). Versions only move forward: they are optimistic locks. The pair
is then remembered as DISMISSED, so a later resolution does not merge it again.

Both run in SQLAlchemy Core on a sync ``Connection`` inside the caller's
transaction (the API runs them through ``AsyncConnection.run_sync``); each
audits itself unless the caller audits (the GraphQL mutation base does) and
emits its event to the outbox in the same transaction.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Date, Enum, Row, Table, Uuid, delete, insert, or_, select, update

from hub.access.audit import Actor, actor_of, record_sync
from hub.access.principal import Principal
from hub.events.outbox import EventType, emit, global_id
from hub.identity import golden
from hub.identity.suggestions import decide_pair
from hub.identity.survivorship import SurvivorshipSettings
from hub.models import (
    Address,
    Case,
    Consent,
    ContactPoint,
    Customer,
    CustomerMerge,
    CustomerTag,
    Feedback,
    FieldProvenance,
    Interaction,
    MergeSuggestionStatus,
    Order,
    SourceRecord,
    new_id,
    utcnow,
)
from hub.models.base import Money, UTCDateTime
from hub.models.enums import CustomerStatus

customers = Customer.__table__
merges = CustomerMerge.__table__
tags = CustomerTag.__table__
provenance = FieldProvenance.__table__
sources = SourceRecord.__table__

# Every table whose rows belong to a customer by ``customer_id`` and move with a merge.
# Partner sharing grants do not move: a grant covers the customer it names, and a merge
# must not show a partner the survivor's data nobody shared with them.
MOVED: tuple[Table, ...] = tuple(m.__table__ for m in (
    SourceRecord, ContactPoint, Address, Order, Interaction, Case, Feedback, Consent))
# Customer columns a merge never restores: the lock and the clock move forward.
_FORWARD = ("version", "updated_at")


class MergeErrorCode(enum.StrEnum):
    SAME_CUSTOMER = "SAME_CUSTOMER"
    NOT_FOUND = "NOT_FOUND"
    NOT_ACTIVE = "NOT_ACTIVE"
    NOT_MERGED = "NOT_MERGED"
    ALREADY_UNMERGED = "ALREADY_UNMERGED"
    SURVIVOR_MERGED = "SURVIVOR_MERGED"


class MergeError(Exception):
    """A merge or unmerge refused, with a code and the argument at fault (camelCase)."""

    def __init__(self, code: MergeErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def merge(db: Connection, survivor_id: uuid.UUID, absorbed_id: uuid.UUID, *,
          actor: Principal | Actor, survivorship: SurvivorshipSettings, rule: str = "manual",
          probability: float | None = None, audit: bool = True,
          now: datetime | None = None) -> uuid.UUID:
    """Merge ``absorbed_id`` into ``survivor_id``; the new ``CustomerMerge``'s id."""
    now = now or utcnow()
    if survivor_id == absorbed_id:
        raise MergeError(MergeErrorCode.SAME_CUSTOMER, "A customer cannot be merged into itself.",
                         "absorbedId")
    rows = _lock(db, (survivor_id, absorbed_id))
    survivor = _active(rows.get(survivor_id), "survivorId")
    absorbed = _active(rows.get(absorbed_id), "absorbedId")
    absorbed_tags = db.execute(select(tags).where(tags.c.customer_id == absorbed_id)).all()
    snapshot = {
        "survivor": _encode(customers, survivor),
        "absorbed": _encode(customers, absorbed),
        "absorbed_tags": [_encode(tags, t) for t in absorbed_tags],
        "provenance": [_encode(provenance, p) for p in db.execute(
            select(provenance).where(provenance.c.customer_id.in_([survivor_id, absorbed_id])))],
    }

    moved: dict[str, Any] = {}
    for table in MOVED:
        ids = db.scalars(select(table.c.id).where(table.c.customer_id == absorbed_id)).all()
        if ids:
            db.execute(update(table).where(table.c.customer_id == absorbed_id)
                       .values(customer_id=survivor_id, **_unchanged(table)))
            moved[table.name] = [str(i) for i in ids]
    held = set(db.scalars(select(tags.c.tag).where(tags.c.customer_id == survivor_id)))
    added = [t for t in absorbed_tags if t.tag not in held]
    if added:
        db.execute(insert(tags), [{"customer_id": survivor_id, "tag": t.tag,
                                   "created_at": t.created_at} for t in added])
    db.execute(delete(tags).where(tags.c.customer_id == absorbed_id))
    moved["tags_added"] = [t.tag for t in added]

    db.execute(delete(provenance).where(provenance.c.customer_id == absorbed_id))
    db.execute(update(customers).where(customers.c.id == absorbed_id).values(
        status=CustomerStatus.MERGED, merged_into_id=survivor_id, updated_at=now,
        version=customers.c.version + 1))
    # What no source picks: custom attributes (the survivor's win) and a missing birth date.
    filled: dict[str, Any] = {"attributes": {**(absorbed.attributes or {}),
                                             **(survivor.attributes or {})}}
    if survivor.birth_date is None and absorbed.birth_date is not None:
        filled["birth_date"] = absorbed.birth_date
    db.execute(update(customers).where(customers.c.id == survivor_id)
               .values(**filled, updated_at=now, version=customers.c.version + 1))
    golden.recompute(db, survivor_id, survivorship, now, refresh_search=True, fallback=[
        golden.customer_candidate(survivor._mapping), golden.customer_candidate(absorbed._mapping)])

    merge_id = new_id()
    by = describe(actor)
    db.execute(insert(merges), [{
        "id": merge_id, "survivor_id": survivor_id, "absorbed_id": absorbed_id, "rule": rule,
        "probability": probability, "merged_at": now, "merged_by": by, "snapshot": snapshot,
        "moved": moved, "survivor_version": _version(db, survivor_id),
    }])
    decide_pair(db, survivor_id, absorbed_id, MergeSuggestionStatus.MERGED, by, now,
                merge_id=merge_id)
    details = {"absorbed_id": str(absorbed_id), "merge_id": str(merge_id), "rule": rule}
    if audit:
        record_sync(db, actor, "customer.merge", "customer", survivor_id, details=details)
    emit(db, EventType.CUSTOMER_MERGED,
         {"absorbed": global_id("Customer", absorbed_id),
          "merge": global_id("CustomerMerge", merge_id), "rule": rule},
         subject=("Customer", survivor_id), occurred_at=now)
    return merge_id


def last_merge_of(db: Connection, absorbed_id: uuid.UUID) -> uuid.UUID | None:
    """The merge that retired this customer and is not undone yet."""
    return db.scalar(
        select(merges.c.id)
        .where(merges.c.absorbed_id == absorbed_id, merges.c.unmerged_at.is_(None))
        .order_by(merges.c.merged_at.desc()).limit(1)
    )


def unmerge(db: Connection, merge_id: uuid.UUID, *, actor: Principal | Actor,
            survivorship: SurvivorshipSettings, audit: bool = True,
            now: datetime | None = None) -> tuple[uuid.UUID, uuid.UUID]:
    """Undo a merge; (survivor id, restored customer id)."""
    now = now or utcnow()
    done = db.execute(select(merges).where(merges.c.id == merge_id).with_for_update()).one_or_none()
    if done is None:
        raise MergeError(MergeErrorCode.NOT_FOUND, "No such merge.", "mergeId")
    if done.unmerged_at is not None:
        raise MergeError(MergeErrorCode.ALREADY_UNMERGED, "This merge was already undone.",
                         "mergeId")
    survivor_id, absorbed_id = done.survivor_id, done.absorbed_id
    rows = _lock(db, (survivor_id, absorbed_id))
    survivor, absorbed = rows.get(survivor_id), rows.get(absorbed_id)
    if survivor is None or absorbed is None or absorbed.merged_into_id != survivor_id:
        raise MergeError(MergeErrorCode.NOT_MERGED,
                         "The customer is no longer merged by this merge.", "mergeId")
    if survivor.status is not CustomerStatus.ACTIVE:
        raise MergeError(MergeErrorCode.SURVIVOR_MERGED,
                         "The survivor was merged again since; undo that merge first.", "mergeId")

    moved, snapshot = done.moved, done.snapshot
    moved_sources = [uuid.UUID(i) for i in moved.get(sources.name, [])]
    for table in MOVED:
        ids = [uuid.UUID(i) for i in moved.get(table.name, [])]
        back = table.c.id.in_(ids)
        if moved_sources and table is not sources and "source_record_id" in table.c:
            # What the moved source records brought after the merge goes back with them.
            back = or_(back, table.c.source_record_id.in_(moved_sources))
        if ids or moved_sources:
            db.execute(update(table).where(table.c.customer_id == survivor_id, back)
                       .values(customer_id=absorbed_id, **_unchanged(table)))
    if moved.get("tags_added"):
        db.execute(delete(tags).where(tags.c.customer_id == survivor_id,
                                      tags.c.tag.in_(moved["tags_added"])))
    if snapshot["absorbed_tags"]:
        db.execute(insert(tags), [_decode(tags, t) for t in snapshot["absorbed_tags"]])

    kept = [_decode(provenance, p) for p in snapshot["provenance"]]
    _restore(db, snapshot["absorbed"], now)
    db.execute(delete(provenance).where(provenance.c.customer_id.in_([survivor_id, absorbed_id])))
    unchanged = survivor.version == done.survivor_version
    if unchanged:
        _restore(db, snapshot["survivor"], now)
    else:
        db.execute(update(customers).where(customers.c.id == survivor_id)
                   .values(updated_at=now, version=customers.c.version + 1))
    restored = [p for p in kept if unchanged or p["customer_id"] == absorbed_id]
    if restored:
        db.execute(insert(provenance), restored)
    if not unchanged:
        golden.recompute(db, survivor_id, survivorship, now, refresh_search=True)

    by = describe(actor)
    db.execute(update(merges).where(merges.c.id == merge_id)
               .values(unmerged_at=now, unmerged_by=by))
    decide_pair(db, survivor_id, absorbed_id, MergeSuggestionStatus.DISMISSED, by, now)
    details = {"restored_id": str(absorbed_id), "merge_id": str(merge_id)}
    if audit:
        record_sync(db, actor, "customer.unmerge", "customer", survivor_id, details=details)
    for customer_id in (survivor_id, absorbed_id):
        emit(db, EventType.CUSTOMER_UPDATED,
             {"changed": ["unmerge"], "merge": global_id("CustomerMerge", merge_id)},
             subject=("Customer", customer_id), occurred_at=now)
    return survivor_id, absorbed_id


def describe(actor: Principal | Actor) -> str:
    """Who decided, in the words of the merge and suggestion rows: ``user:…``, ``client:…``."""
    who = actor_of(actor)
    if who.user_id is not None:
        return f"user:{who.user_id}"
    if who.client_id is not None:
        return f"client:{who.client_id}"
    return who.kind.value.lower()


# -- rows ----------------------------------------------------------------------------------


def _lock(db: Connection, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Row[Any]]:
    # FOR UPDATE on PostgreSQL (SQLite already holds the database's write lock).
    rows = db.execute(select(customers).where(customers.c.id.in_(list(ids))).with_for_update())
    return {row.id: row for row in rows}


def _active(row: Row[Any] | None, field: str) -> Row[Any]:
    if row is None:
        raise MergeError(MergeErrorCode.NOT_FOUND, "No such customer.", field)
    if row.status is not CustomerStatus.ACTIVE:
        raise MergeError(MergeErrorCode.NOT_ACTIVE,
                         f"Only ACTIVE customers can be merged; this one is {row.status.value}.",
                         field)
    return row


def _unchanged(table: Table) -> dict[str, Any]:
    """Columns Core would stamp on update (``onupdate``) kept as they are: a move is not an edit."""
    return {c.name: c for c in table.c if c.onupdate is not None}


def _version(db: Connection, customer_id: uuid.UUID) -> int:
    return db.scalar(select(customers.c.version).where(customers.c.id == customer_id))


def _restore(db: Connection, encoded: Mapping[str, Any], now: datetime) -> None:
    values = _decode(customers, encoded)
    kept = {k: v for k, v in values.items() if k not in (*_FORWARD, "id")}
    db.execute(update(customers).where(customers.c.id == values["id"])
               .values(**kept, updated_at=now, version=customers.c.version + 1))


def _encode(table: Table, row: Row[Any]) -> dict[str, Any]:
    """A row as JSON values (``_decode`` gives it back exactly)."""
    return {column.name: _plain(getattr(row, column.name)) for column in table.c}


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _decode(table: Table, data: Mapping[str, Any]) -> dict[str, Any]:
    return {column.name: _typed(column.type, data.get(column.name)) for column in table.c}


def _typed(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(kind, Uuid):
        return uuid.UUID(value)
    if isinstance(kind, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    if isinstance(kind, Money):
        return Decimal(value)
    if isinstance(kind, Enum) and kind.enum_class is not None:
        return kind.enum_class(value)
    return value
