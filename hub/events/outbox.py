"""The outbox: every change writes its event in the transaction of the change (docs/events.md).

One call, wherever the change happens:

    emit(conn, "customer.updated", {"changed": ["tags"]}, subject=("Customer", customer.id))

``conn`` is whatever the caller writes with: a sync ``Session`` or ``Connection``
(jobs, the sync writer, the command line) — the event is written at once and its
id returned — or an ``AsyncConnection`` / ``AsyncSession`` (the API), for which
``emit`` returns an awaitable: ``await emit(conn, ...)``. Either way the event
commits with the change or not at all; the delivery sweep (``hub.events.delivery``)
finds it after the commit, so an event is never sent for a change that rolled back
and never lost when the process dies between commit and delivery.

``emit_many`` writes several events in one statement (the sync writer, once per page).
The event's id is its ``webhook-id``; ``subject`` becomes ``data.id`` as a global id.
"""

from __future__ import annotations

import base64
import enum
import json
import uuid
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from hub.models.base import new_id, utcnow
from hub.models.events import OutboxEvent

__all__ = ["EVENT_TYPES", "EventType", "UnknownEventType", "changed", "emit", "emit_many",
           "event_row"]


class EventType(enum.StrEnum):
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    CUSTOMER_MERGED = "customer.merged"
    CASE_CREATED = "case.created"
    CASE_UPDATED = "case.updated"
    CASE_COMMENTED = "case.commented"
    FEEDBACK_CREATED = "feedback.created"
    SYNC_FAILED = "sync.failed"


EVENT_TYPES: frozenset[str] = frozenset(t.value for t in EventType)


class UnknownEventType(ValueError):
    """An event type not in the catalogue (``EventType``)."""


Target = Session | Connection | AsyncConnection | AsyncSession
Subject = tuple[str, uuid.UUID]


def global_id(type_name: str, id_: uuid.UUID) -> str:
    """The API's Relay id of a record (the same encoding as ``hub.api.core.ids``)."""
    return base64.urlsafe_b64encode(f"{type_name}:{id_.hex}".encode()).decode().rstrip("=")


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"cannot put {type(value).__name__} in an event payload")


def event_row(
    event_type: EventType | str,
    data: Mapping[str, Any],
    *,
    subject: Subject | None = None,
    occurred_at: datetime | None = None,
    plain: bool = False,
) -> dict[str, Any]:
    """The values of one outbox row; raises ``UnknownEventType`` for a type not catalogued.

    ``plain``: ``data`` holds only JSON values already (str, int, lists, dicts), so it is
    stored as given (the sync writer's events, made by the thousand).
    """
    type_name = getattr(event_type, "value", event_type)
    if type_name not in EVENT_TYPES:
        raise UnknownEventType(f"{type_name!r} is not an event type; known: {sorted(EVENT_TYPES)}")
    payload = dict(data)
    if subject is not None:
        payload = {"id": global_id(*subject), **payload}
    return {
        "id": new_id(),
        "type": type_name,
        # Round-tripped now: a value JSON cannot hold fails in the caller, not in the commit.
        "payload": payload if plain else json.loads(json.dumps(payload, default=_plain)),
        "occurred_at": occurred_at or utcnow(),
        "subject_type": subject[0] if subject else None,
        "subject_id": subject[1] if subject else None,
        "fanned_out_at": None,
    }


def changed(names: Iterable[str]) -> list[str]:
    """Changed columns as the API names their fields (camelCase), sorted: ``data.changed``."""
    return sorted({head + "".join(p.title() for p in rest)
                   for head, *rest in (name.split("_") for name in names)})


def emit_many(target: Target, rows: Sequence[dict[str, Any]]) -> Any:
    """Write ``event_row`` values in one statement; awaitable on an async target."""
    if not rows:
        return _done(None) if _is_async(target) else None
    statement = insert(OutboxEvent)
    if _is_async(target):
        return _execute_async(target, statement, list(rows))
    target.execute(statement, list(rows))
    return None


def emit(
    target: Target,
    event_type: EventType | str,
    data: Mapping[str, Any],
    *,
    subject: Subject | None = None,
    occurred_at: datetime | None = None,
) -> uuid.UUID | Awaitable[uuid.UUID]:
    """Write one event in ``target``'s transaction; its id (awaitable on an async target)."""
    row = event_row(event_type, data, subject=subject, occurred_at=occurred_at)
    result = emit_many(target, [row])
    if _is_async(target):
        return _then(result, row["id"])
    return row["id"]


def _is_async(target: Target) -> bool:
    return isinstance(target, AsyncConnection | AsyncSession)


async def _execute_async(target: AsyncConnection | AsyncSession, statement: Any,
                         rows: list[dict[str, Any]]) -> None:
    await target.execute(statement, rows)


async def _done(value: Any) -> Any:
    return value


async def _then(pending: Awaitable[Any], value: Any) -> Any:
    await pending
    return value
