"""The audit log: every partner read of PII and every write becomes an ``AuditEvent`` (DESIGN §8).

One way in, whoever is acting:

- ``record(conn, actor, action, record_type, record_id, fields=(), details=None)``
  writes one event on an ``AsyncConnection``, inside the caller's transaction,
  so the event commits with the change it describes (or not at all);
- ``record_sync(conn, ...)`` is the same on a sync ``Connection``, for jobs and
  the command line.

``actor`` is the request's ``Principal`` or an ``Actor`` (``SYSTEM``, or a
connector writing back). Actions are ``"<record type>.<verb>"``: ``customer.tag``,
``customer.read_pii``, ``case.comment``.

The API does not call ``record`` event by event. Each request carries an
``AuditTrail``: fields declared with an audited scope (``customers:read_pii``)
note which customer they were read for, and after execution the view writes
them, one event per customer, through the process's ``ReadAuditLog``, which
writes the events of requests finishing together in one insert; the mutation
base puts the event of a write on the trail, and the request's database writes
it in the transaction of the change (``RequestDB.transaction``).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Dialect, insert, or_
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.access.principal import Principal
from hub.access.scopes import Scope
from hub.models.audit import ActorKind, AuditEvent
from hub.models.base import new_id, utcnow

# Reading a field that needs one of these scopes is audited (for partners).
AUDITED_READ_SCOPES: frozenset[str] = frozenset({Scope.CUSTOMERS_READ_PII.value})
READ_PII = "read_pii"
_ACTION = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*")
MAX_ACTION = 64
MAX_RECORD_ID = 64


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts when no request's principal does: the hub itself, a connector, the command line."""

    kind: ActorKind
    client_id: str | None = None
    user_id: uuid.UUID | None = None
    partner_id: uuid.UUID | None = None


SYSTEM = Actor(ActorKind.SYSTEM)
CONNECTOR = Actor(ActorKind.CONNECTOR)


def actor_of(who: Principal | Actor) -> Actor:
    """A principal acts as its user when one authorized the token, else as its client."""
    if isinstance(who, Actor):
        return who
    kind = ActorKind.USER if who.user_id is not None else ActorKind.CLIENT
    return Actor(kind, who.client_id, who.user_id, who.partner_id)


def event_row(
    actor: Principal | Actor,
    action: str,
    record_type: str,
    record_id: Any,
    fields: Iterable[str] = (),
    details: Mapping[str, Any] | None = None,
    *,
    request_id: str | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """The values of one audit event; raises ValueError for an action not shaped ``type.verb``."""
    if len(action) > MAX_ACTION or not _ACTION.fullmatch(action):
        raise ValueError(f"audit action {action!r} is not of the form 'record_type.verb'")
    who = actor_of(actor)
    return {
        "id": new_id(),
        "occurred_at": occurred_at or utcnow(),
        "actor_kind": who.kind,
        "user_id": who.user_id,
        "client_id": who.client_id,
        "partner_id": who.partner_id,
        "action": action,
        "record_type": record_type,
        "record_id": None if record_id is None else str(record_id)[:MAX_RECORD_ID],
        "fields": sorted(set(fields)),
        "details": dict(details) if details else None,
        "request_id": request_id,
    }


async def record(
    conn: AsyncConnection,
    actor: Principal | Actor,
    action: str,
    record_type: str,
    record_id: Any,
    fields: Iterable[str] = (),
    details: Mapping[str, Any] | None = None,
    *,
    request_id: str | None = None,
) -> None:
    """Write one audit event in the connection's current transaction."""
    row = event_row(actor, action, record_type, record_id, fields, details, request_id=request_id)
    await conn.execute(insert(AuditEvent), [row])


def record_sync(
    conn: Connection,
    actor: Principal | Actor,
    action: str,
    record_type: str,
    record_id: Any,
    fields: Iterable[str] = (),
    details: Mapping[str, Any] | None = None,
    *,
    request_id: str | None = None,
) -> None:
    """``record`` for jobs and the command line, on a sync connection."""
    row = event_row(actor, action, record_type, record_id, fields, details, request_id=request_id)
    conn.execute(insert(AuditEvent), [row])


@dataclass(slots=True)
class AuditTrail:
    """What one API request must leave in the audit log, collected while it runs.

    ``reads``: per (record type, id), the PII fields read, for a partner caller
    only (internal callers' reads are not logged). ``writes``: events of writes
    that wait for the transaction of their change.
    """

    actor: Principal | Actor
    request_id: str | None = None
    audits_reads: bool = False
    reads: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    writes: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, principal: Principal, request_id: str | None = None) -> AuditTrail:
        return cls(principal, request_id, audits_reads=principal.is_partner)

    # -- reads ------------------------------------------------------------------------------

    def read(self, record_type: str, record_id: Any, field_name: str) -> None:
        """Note that ``field_name`` of a record was given to the caller (a no-op unless audited)."""
        if not self.audits_reads or record_id is None:
            return
        key = (record_type, str(record_id))
        found = self.reads.get(key)
        if found is None:
            self.reads[key] = {field_name}
        else:
            found.add(field_name)

    def take_reads(self) -> list[dict[str, Any]]:
        """The events of the reads noted so far, one per record (and the notes are cleared)."""
        now = utcnow()
        rows = [
            event_row(
                self.actor, f"{type_}.{READ_PII}", type_, id_, fields,
                request_id=self.request_id, occurred_at=now,
            )
            for (type_, id_), fields in self.reads.items()
        ]
        self.reads.clear()
        return rows

    # -- writes -----------------------------------------------------------------------------

    def expect_write(
        self,
        action: str,
        record_type: str,
        record_id: Any,
        fields: Iterable[str] = (),
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Hold the event of a write until the transaction that makes the change."""
        self.writes.append(
            event_row(
                self.actor, action, record_type, record_id, fields, details,
                request_id=self.request_id,
            )
        )

    async def flush_writes(self, conn: AsyncConnection, result: Any = None) -> None:
        """Write the held events in the connection's transaction (called just before it commits).

        ``result`` is what the transaction's function returned: when that is a
        uuid, it is the id of the record a write created, and events that did not
        know their record yet are recorded with it.
        """
        if self.writes:
            now = utcnow()
            created = str(result) if isinstance(result, uuid.UUID) else None
            rows = [
                {**row, "occurred_at": now, "record_id": row["record_id"] or created}
                for row in self.writes
            ]
            await conn.execute(insert(AuditEvent), rows)
            self.writes.clear()

    def discard_writes(self) -> None:
        """The write did not happen (refused, or rolled back): nothing to record."""
        self.writes.clear()


class ReadAuditLog:
    """Writes the PII-read events of a process's requests, those that finish together at once.

    Each partner request that read PII must have its events committed before its
    answer goes out. A request alone inserts its events on its own connection, in
    the transaction its reads left open (its writes have committed in their own),
    and commits: one insert, one commit. Requests that finish while such a write
    is under way do not queue for the database's writer one by one (on SQLite,
    sleeping in its busy handler): they wait here, and when the write is done the
    first of them writes all of their events, again in one insert and one commit,
    and wakes the others, or raises the error in each if the write failed. Each
    request writes at most once, and is never answered before its events are in.

    Every partner request that reads PII pays for this write, so the insert goes
    to the database driver as it is (``DriverInsert``): its SQL rendered once per
    dialect, each event a tuple of values the driver takes. ``inserts`` counts the
    insert statements sent (the driver's own, which SQLAlchemy's events do not see).
    """

    def __init__(self) -> None:
        self._writing = False
        # Requests waiting for the write under way to end: their events, and the
        # future that says True (write all of these now) or False (written).
        self._waiting: list[tuple[list[dict[str, Any]], asyncio.Future[bool]]] = []
        self._inserts: dict[Dialect, DriverInsert] = {}
        self.inserts = 0

    async def write(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        """Return once ``rows`` are committed; raise what their write raised otherwise."""
        if not rows:
            return
        if not self._writing:
            self._writing = True
            batch = [(rows, None)]
        else:
            turn: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._waiting.append((rows, turn))
            try:
                if not await turn:
                    return
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled() and turn.result():
                    self._hand_over()  # chosen to write, but gone: the next one writes
                raise
            batch, self._waiting = self._waiting, []
        try:
            await self._insert(conn, [row for rows, _ in batch for row in rows])
            await conn.commit()
        except Exception as error:
            await conn.rollback()
            for _, turn in batch:
                if turn is not None and not turn.done():
                    turn.set_exception(error)
            raise
        else:
            for _, turn in batch:
                if turn is not None and not turn.done():
                    turn.set_result(False)
        finally:
            self._hand_over()

    async def _insert(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        """Insert the events in the connection's transaction, through its driver."""
        dialect = conn.dialect
        statement = self._inserts.get(dialect)
        if statement is None:
            statement = self._inserts[dialect] = DriverInsert(dialect)
        values = [statement.values(row) for row in rows]
        if not conn.in_transaction():
            await conn.begin()  # so that ``conn.commit()`` commits what the driver inserts
        driver = (await conn.get_raw_connection()).driver_connection
        self.inserts += 1
        if len(values) == 1:
            await driver.execute(statement.sql, values[0])
        else:
            async with driver.cursor() as cursor:
                await cursor.executemany(statement.sql, values)

    def _hand_over(self) -> None:
        """The write under way is over: the first request still waiting writes next."""
        self._waiting = [(rows, turn) for rows, turn in self._waiting if not turn.done()]
        if self._waiting:
            self._waiting[0][1].set_result(True)
        else:
            self._writing = False


class DriverInsert:
    """``INSERT INTO audit_events`` as a database's driver takes it, built once per dialect.

    SQLAlchemy renders the SQL (placeholders and casts of the dialect) and its column
    types convert each value as they would for ``insert(AuditEvent)``; what is left per
    event is a tuple of converted values, the placeholders made positional when the
    dialect names them (psycopg's ``%(id)s`` becomes ``%s``, which it takes as well).
    """

    def __init__(self, dialect: Dialect) -> None:
        table = AuditEvent.__table__
        compiled = insert(table).compile(dialect=dialect)
        if compiled.positional:
            self.sql, names = compiled.string, list(compiled.positiontup or ())
        elif dialect.paramstyle == "pyformat":
            names = _NAMED.findall(compiled.string)
            self.sql = _NAMED.sub("%s", compiled.string)
        else:
            raise NotImplementedError(f"audit inserts for paramstyle {dialect.paramstyle!r}")
        columns = {column.key: column for column in table.c}
        self.fields = [
            (name, columns[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in names
        ]

    def values(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            row[name] if process is None else process(row[name]) for name, process in self.fields
        )


_NAMED = re.compile(r"%\((\w+)\)s")


# -- reading the log ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Conditions on the log; every one given must hold."""

    client_ids: tuple[str, ...] = ()
    partner_ids: tuple[uuid.UUID, ...] = ()
    user_ids: tuple[uuid.UUID, ...] = ()
    actor_kinds: tuple[ActorKind, ...] = ()
    actions: tuple[str, ...] = ()
    record_type: str | None = None
    record_id: str | None = None
    request_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        table = AuditEvent.__table__
        out: list[ColumnElement[bool]] = []
        for column, values in (
            (table.c.client_id, self.client_ids),
            (table.c.partner_id, self.partner_ids),
            (table.c.user_id, self.user_ids),
            (table.c.actor_kind, self.actor_kinds),
        ):
            if values:
                out.append(column == values[0] if len(values) == 1 else column.in_(values))
        # "customer.*" matches every action on customers.
        exact = [a for a in self.actions if not a.endswith(".*")]
        prefixes = [a[:-1] for a in self.actions if a.endswith(".*")]
        if exact or prefixes:
            parts = [table.c.action.in_(exact)] if exact else []
            parts += [table.c.action.startswith(p, autoescape=True) for p in prefixes]
            out.append(parts[0] if len(parts) == 1 else or_(*parts))
        if self.record_type is not None:
            out.append(table.c.record_type == self.record_type)
        if self.record_id is not None:
            out.append(table.c.record_id == self.record_id)
        if self.request_id is not None:
            out.append(table.c.request_id == self.request_id)
        if self.since is not None:
            out.append(table.c.occurred_at >= self.since)
        if self.until is not None:
            out.append(table.c.occurred_at < self.until)
        return out
