"""Write-back: the hub's changes carried to the platforms, through a durable queue.

    ids = await queue_change(conn, principal, customer_id, "customer.tag", {"tags": ["VIP"]})
    ...after the commit: await enqueue_write_backs(ids)

A write-back is a ``WriteBack`` row: a connection, one of its connector's write
actions, the action's validated input and an idempotency key (unique per
connection). It is stored in the caller's transaction (``request_write_back``,
or ``queue_change`` for a change of a customer, which asks each of the
customer's source records' connectors what it means for them), so it commits
with the change it carries or not at all. ``run_write_back`` then runs it once
through the connection's HTTP session under its key:

- DONE: the platform took it; running it again sends nothing;
- FAILED: throttled, unreachable or 5xx after the session's own retries; the
  sweep (``run_due_write_backs``) tries again after a backoff, up to
  ``MAX_ATTEMPTS``, then DEAD;
- DEAD: refused for good (a bad request, a resource gone), never retried;
- PENDING again, with the connection NEEDS_REAUTH, when the platform refused
  the credentials: it runs once someone stores new ones.

Nothing runs while its connection is PAUSED or NEEDS_REAUTH. Every run is an
audit event ``write_back.run``. Only changes made through the API queue
write-backs; records a sync or webhook writes never do, so a platform echoing
a change the hub sent it does not bounce back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, and_, bindparam, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from connectors.base.connector import Connector, WriteAction
from connectors.base.errors import (
    AuthExpired,
    ConnectorError,
    CredentialsError,
    RateLimited,
    ServerError,
    TransportError,
)
from connectors.base.registry import UnknownConnector, get_connector
from hub import tasks
from hub.access.audit import Actor, record_sync
from hub.access.principal import Principal
from hub.db import sync_session_factory
from hub.models import Connection, SourceRecord, WriteBack, WriteBackStatus, new_id, utcnow
from hub.models.audit import ActorKind
from hub.models.enums import ConnectionStatus
from hub.sync.runner import SyncNotStarted, connector_session
from hub.tasks import job, job_engine

__all__ = [
    "CHANGES",
    "MAX_ATTEMPTS",
    "WriteBackRefused",
    "due_write_backs",
    "enqueue_write_backs",
    "queue_change",
    "request_write_back",
    "run",
    "run_due_write_backs",
    "run_write_back",
]

log = logging.getLogger(__name__)

# The hub changes connectors may carry (``WriteAction.carries``).
CHANGES = ("customer.tag", "customer.untag", "consent.marketing_email", "interaction.reply")
MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
# A queued write-back whose job was lost (queue full, process stopped) is swept after this.
PENDING_AFTER = timedelta(minutes=1)
# A RUNNING one this old lost its worker: run it again (the platform may see it twice).
STALE_AFTER = timedelta(minutes=15)
UNUSABLE = (ConnectionStatus.PAUSED, ConnectionStatus.NEEDS_REAUTH)
MAX_ERROR = 2000

write_backs = WriteBack.__table__
connections = Connection.__table__
source_records = SourceRecord.__table__


class WriteBackRefused(ValueError):
    """Nothing was queued: ``code`` says why (NOT_FOUND, UNKNOWN_ACTION, INVALID_PARAMS,
    PAUSED, NEEDS_REAUTH), ``field`` which input is at fault."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


# -- queueing ------------------------------------------------------------------------------


def request_write_back(
    db: Any,
    connection_id: uuid.UUID,
    action: str,
    params: Mapping[str, Any],
    idempotency_key: str | None = None,
    principal: Principal | None = None,
    *,
    customer_id: uuid.UUID | None = None,
    require_usable: bool = False,
) -> uuid.UUID | Awaitable[uuid.UUID]:
    """Store a write-back in ``db``'s transaction and return its id (awaitable on an async ``db``).

    ``db`` is a Session or Connection, or their async kinds. The input is checked
    against the action's model; a key already stored for the connection returns the
    write-back stored under it, unchanged. ``require_usable`` refuses a PAUSED or
    NEEDS_REAUTH connection instead of queueing until it is usable again.
    """
    args = (connection_id, action, params, idempotency_key, principal, customer_id,
            require_usable)
    if isinstance(db, AsyncConnection | AsyncSession):
        return _request_async(db, *args)
    connection = db.execute(_CONNECTION, {"id": connection_id}).first()
    row = _row(connection, *args)
    db.execute(_insert_once(_dialect(db)), [row])
    return db.execute(_BY_KEY, {"connection": connection_id, "key": row["idempotency_key"]}
                      ).scalar_one()


async def _request_async(db: Any, connection_id: uuid.UUID, *args: Any) -> uuid.UUID:
    connection = (await db.execute(_CONNECTION, {"id": connection_id})).first()
    row = _row(connection, connection_id, *args)
    await db.execute(_insert_once(_dialect(db)), [row])
    found = await db.execute(_BY_KEY, {"connection": connection_id, "key": row["idempotency_key"]})
    return found.scalar_one()


async def queue_change(
    conn: AsyncConnection,
    principal: Principal | None,
    customer_id: uuid.UUID,
    change: str,
    details: Mapping[str, Any],
    *,
    records: Iterable[uuid.UUID] | None = None,
    refuse_invalid: bool = False,
) -> list[uuid.UUID]:
    """Queue, in ``conn``'s transaction, what ``change`` of a customer means for each platform.

    Every live source record of the customer (or only ``records``) whose connection
    has credentials and whose connector declares an action carrying ``change`` gets
    the write-backs its ``plan`` gives.
    An input the platform cannot take (a tag Shopify refuses) is stored DEAD with
    the reason, so that nothing is dropped unseen; with ``refuse_invalid`` it raises
    ``WriteBackRefused`` instead, for a caller that can still change its input.
    """
    assert change in CHANGES, change
    query = (
        select(source_records.c.connection_id, source_records.c.object_type,
               source_records.c.external_id, source_records.c.payload, connections.c.connector)
        .join(connections, connections.c.id == source_records.c.connection_id)
        .where(source_records.c.customer_id == customer_id,
               source_records.c.deleted_at.is_(None),
               # Never authorised (a demo's connections): there is nobody to write to.
               connections.c.credentials.is_not(None))
        .order_by(connections.c.name, source_records.c.object_type, source_records.c.external_id)
    )
    if records is not None:
        query = query.where(source_records.c.id.in_(list(records)))
    ids: list[uuid.UUID] = []
    for record in (await conn.execute(query)).all():
        for action in _carrying(record.connector, change):
            params = action.plan(record, {"change": change, **details})
            if params is None:
                continue
            key = f"{change}:{new_id().hex}"
            try:
                ids.append(await request_write_back(
                    conn, record.connection_id, action.name, params, key, principal,
                    customer_id=customer_id))
            except WriteBackRefused as refused:
                if refuse_invalid:
                    raise
                ids.append(await _store_dead(conn, record.connection_id, action.name, params,
                                             key, principal, customer_id, refused.message))
    return ids


async def enqueue_write_backs(ids: Iterable[uuid.UUID]) -> None:
    """Hand committed write-backs to the job queue; one the queue refuses waits for the sweep."""
    for n, write_back_id in enumerate(ids):
        try:
            # Sending to a broker is blocking I/O: off the event loop.
            await asyncio.to_thread(tasks.enqueue, "run_write_back",
                                    write_back_id=str(write_back_id))
        except Exception:  # noqa: BLE001 - stored is what counts: the sweep takes it
            log.warning("write-back %s stored, not enqueued; the sweep will run it",
                        write_back_id, exc_info=n == 0)


def write_action(connector: Connector | type[Connector], name: str) -> WriteAction | None:
    return next((a for a in connector.write_actions if a.name == name), None)


_CONNECTION = select(connections.c.connector, connections.c.status, connections.c.name).where(
    connections.c.id == bindparam("id"))
_BY_KEY = select(write_backs.c.id).where(
    write_backs.c.connection_id == bindparam("connection"),
    write_backs.c.idempotency_key == bindparam("key"))


def _dialect(db: Any) -> str:
    return (db.get_bind() if isinstance(db, Session | AsyncSession) else db).dialect.name


def _insert_once(dialect: str) -> Any:
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert_(WriteBack).on_conflict_do_nothing(
        index_elements=["connection_id", "idempotency_key"])


def _row(connection: Any, connection_id: uuid.UUID, action: str, params: Mapping[str, Any],
         idempotency_key: str | None, principal: Principal | None,
         customer_id: uuid.UUID | None, require_usable: bool) -> dict[str, Any]:
    if connection is None:
        raise WriteBackRefused("NOT_FOUND", "No such connection.", "connectionId")
    if require_usable and connection.status in UNUSABLE:
        status = ConnectionStatus(connection.status)
        why = ("is paused; resume it first" if status == ConnectionStatus.PAUSED
               else "needs new credentials first")
        raise WriteBackRefused(status.value, f"{connection.name} {why}.", "connectionId")
    try:
        declared = get_connector(connection.connector)
    except UnknownConnector:
        raise WriteBackRefused("UNKNOWN_ACTION", f"The connector {connection.connector!r} is "
                               "not installed on this hub.", "action") from None
    found = write_action(declared, action)
    if found is None:
        known = ", ".join(a.name for a in declared.write_actions) or "none"
        raise WriteBackRefused("UNKNOWN_ACTION", f"{connection.connector} has no write action "
                               f"{action!r}; its actions: {known}.", "action")
    try:
        checked = found.input_model.model_validate(dict(params)).model_dump(mode="json")
    except ValidationError as error:
        raise WriteBackRefused("INVALID_PARAMS", _invalid(error), "params") from None
    key = idempotency_key or f"write-back:{new_id().hex}"
    if not 0 < len(key) <= 200:
        raise WriteBackRefused("INVALID_PARAMS", "The idempotency key is 1-200 characters.",
                               "idempotencyKey")
    return {**_requested_by(principal), "id": new_id(), "connection_id": connection_id,
            "action": action, "params": checked, "idempotency_key": key,
            "status": WriteBackStatus.PENDING, "attempts": 0, "customer_id": customer_id,
            "created_at": utcnow()}


async def _store_dead(conn: AsyncConnection, connection_id: uuid.UUID, action: str,
                      params: Mapping[str, Any], key: str, principal: Principal | None,
                      customer_id: uuid.UUID, reason: str) -> uuid.UUID:
    now = utcnow()
    row = {**_requested_by(principal), "id": new_id(), "connection_id": connection_id,
           "action": action, "params": dict(params), "idempotency_key": key,
           "status": WriteBackStatus.DEAD, "attempts": 0, "customer_id": customer_id,
           "last_error": f"not sent: {reason}"[:MAX_ERROR], "created_at": now,
           "finished_at": now}
    await conn.execute(insert(WriteBack), [row])
    return row["id"]


def _requested_by(principal: Principal | None) -> dict[str, Any]:
    if principal is None:
        return {}
    return {"requested_by_user_id": principal.user_id,
            "requested_by_client_id": principal.client_id,
            "requested_by_partner_id": principal.partner_id}


def _invalid(error: ValidationError) -> str:
    # pydantic's own message quotes the input; say which field and why, not what it was.
    parts = [f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in error.errors()]
    return "Invalid params: " + "; ".join(parts)


def _carrying(connector_name: str, change: str) -> list[WriteAction]:
    try:
        declared = get_connector(connector_name)
    except UnknownConnector:
        return []
    return [a for a in declared.write_actions if change in a.carries and a.plan is not None]


# -- running -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    id: uuid.UUID
    connection_id: uuid.UUID
    action: str
    params: dict[str, Any]
    key: str
    attempts: int
    actor: Actor


def run(engine: Engine, write_back_id: uuid.UUID, *, now: datetime | None = None
        ) -> WriteBackStatus | None:
    """Run one write-back if it is due, record how it went; its status after (None: no such one)."""
    claimed = _claim(engine, write_back_id, now or utcnow())
    if claimed is None:
        with sync_session_factory(engine)() as db:
            return db.scalar(select(write_backs.c.status).where(write_backs.c.id == write_back_id))
    try:
        connector, _, session = connector_session(engine, claimed.connection_id)
    except SyncNotStarted as error:
        # Stored credentials the connector's model refuses want new ones; anything else
        # (no key opens them, an unknown connector) already marked the connection FAILING.
        if error.__suppress_context__ and isinstance(error.__context__, CredentialsError):
            return _needs_reauth(engine, claimed, str(error))
        return _failed(engine, claimed, str(error), None)
    try:
        with session:
            result = connector.run_action(session, claimed.action, claimed.params, claimed.key)
    except AuthExpired as error:
        return _needs_reauth(engine, claimed, str(error))
    except (RateLimited, ServerError, TransportError) as error:
        retry_after = getattr(error, "retry_after", None)
        return _failed(engine, claimed, str(error), retry_after)
    except ValidationError as error:
        return _finish(engine, claimed, WriteBackStatus.DEAD, error=_invalid(error))
    except ConnectorError as error:  # the platform refused it: sending it again changes nothing
        return _finish(engine, claimed, WriteBackStatus.DEAD, error=str(error))
    except Exception as error:  # noqa: BLE001 - an action's bug: recorded, retried, then DEAD
        log.exception("write-back %s (%s) failed", claimed.id, claimed.action)
        return _failed(engine, claimed, f"{type(error).__name__}: {session.redact(str(error))}",
                       None)
    return _finish(engine, claimed, WriteBackStatus.DONE, result=result)


def due_write_backs(engine: Engine, now: datetime, *, limit: int = 500) -> list[uuid.UUID]:
    """Write-backs to run now: never enqueued, retries whose time has come, abandoned runs."""
    with sync_session_factory(engine)() as db:
        return list(db.scalars(
            select(write_backs.c.id).where(_due(now), _usable_connection())
            .order_by(write_backs.c.created_at).limit(limit)))


@job
def run_write_back(write_back_id: str) -> str | None:
    """Enqueued for each write-back the API stores, and by the sweep."""
    status = run(job_engine(), uuid.UUID(write_back_id))
    return status.value if status is not None else None


@job
def run_due_write_backs() -> list[str]:
    """For the scheduler: enqueue every write-back that is due (see ``due_write_backs``)."""
    due = due_write_backs(job_engine(), utcnow())
    for write_back_id in due:
        tasks.enqueue("run_write_back", write_back_id=str(write_back_id))
    if due:
        log.info("enqueued %d due write-back(s)", len(due))
    return [str(write_back_id) for write_back_id in due]


def _due(now: datetime) -> Any:
    wb = write_backs.c
    return or_(
        and_(wb.status == WriteBackStatus.PENDING, wb.created_at <= now - PENDING_AFTER),
        and_(wb.status == WriteBackStatus.FAILED, wb.next_attempt_at <= now),
        and_(wb.status == WriteBackStatus.RUNNING, wb.started_at <= now - STALE_AFTER),
    )


def _usable_connection() -> Any:
    return write_backs.c.connection_id.in_(
        select(connections.c.id).where(connections.c.status.not_in(UNUSABLE)))


def _claim(engine: Engine, write_back_id: uuid.UUID, now: datetime) -> _Claimed | None:
    """Mark it RUNNING if it may run now; one claimant wins, the others send nothing."""
    wb = write_backs.c
    runnable = or_(
        wb.status == WriteBackStatus.PENDING,
        and_(wb.status == WriteBackStatus.FAILED,
             or_(wb.next_attempt_at.is_(None), wb.next_attempt_at <= now)),
        and_(wb.status == WriteBackStatus.RUNNING, wb.started_at <= now - STALE_AFTER),
    )
    with sync_session_factory(engine).begin() as db:
        claimed = db.execute(
            update(write_backs)
            .where(wb.id == write_back_id, runnable, _usable_connection())
            .values(status=WriteBackStatus.RUNNING, attempts=wb.attempts + 1, started_at=now,
                    next_attempt_at=None)
        ).rowcount
        if claimed != 1:
            return None
        row = db.execute(select(write_backs).where(wb.id == write_back_id)).one()
    kind = ActorKind.USER if row.requested_by_user_id is not None else ActorKind.CONNECTOR
    actor = Actor(kind, row.requested_by_client_id, row.requested_by_user_id,
                  row.requested_by_partner_id)
    return _Claimed(row.id, row.connection_id, row.action, dict(row.params or {}),
                    row.idempotency_key, row.attempts, actor)


def _failed(engine: Engine, claimed: _Claimed, error: str, retry_after: float | None
            ) -> WriteBackStatus:
    if claimed.attempts >= MAX_ATTEMPTS:
        return _finish(engine, claimed, WriteBackStatus.DEAD,
                       error=f"gave up after {claimed.attempts} attempts: {error}")
    wait = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (claimed.attempts - 1))
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return _finish(engine, claimed, WriteBackStatus.FAILED, error=error,
                   next_attempt_at=utcnow() + wait)


def _needs_reauth(engine: Engine, claimed: _Claimed, error: str) -> WriteBackStatus:
    """Waits, PENDING, for new credentials; the connection says why, as a sync's would."""
    with sync_session_factory(engine).begin() as db:
        name = db.scalar(
            select(connections.c.name).where(connections.c.id == claimed.connection_id))
        message = (f"the platform refused the credentials of {name!r} while writing back "
                   f"{claimed.action}: authorise the connection again. ({error})")[:1000]
        db.execute(update(connections).where(
            connections.c.id == claimed.connection_id,
            connections.c.status != ConnectionStatus.PAUSED,
        ).values(status=ConnectionStatus.NEEDS_REAUTH, status_message=message,
                 updated_at=utcnow()))
    return _finish(engine, claimed, WriteBackStatus.PENDING, error=error)


def _finish(engine: Engine, claimed: _Claimed, status: WriteBackStatus, *,
            error: str | None = None, result: Any = None,
            next_attempt_at: datetime | None = None) -> WriteBackStatus:
    now = utcnow()
    done = status in (WriteBackStatus.DONE, WriteBackStatus.DEAD)
    values: dict[str, Any] = {"status": status, "next_attempt_at": next_attempt_at,
                              "finished_at": now if done else None}
    if error is not None:
        values["last_error"] = error[:MAX_ERROR]
    if status == WriteBackStatus.DONE:
        values["result"] = json.loads(json.dumps(result, default=str))
    with sync_session_factory(engine).begin() as db:
        db.execute(update(write_backs).where(write_backs.c.id == claimed.id).values(**values))
        record_sync(db.connection(), claimed.actor, "write_back.run", "write_back", claimed.id,
                    details={"connection_id": str(claimed.connection_id),
                             "action": claimed.action, "status": status.value,
                             "attempt": claimed.attempts})
    log.info("write-back %s (%s) attempt %d: %s", claimed.id, claimed.action, claimed.attempts,
             status.value)
    return status
