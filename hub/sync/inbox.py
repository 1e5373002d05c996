"""The webhook inbox: each verified delivery stored once, then processed once by a job.

Intake (``hub/webhooks.py``) verifies a delivery and hands it to the
``InboxWriter``: ``INSERT … ON CONFLICT DO NOTHING`` keyed by (connection,
provider event id), so a redelivery, even one racing the first copy, leaves one
row and is told apart by getting no id back; concurrent deliveries share a
transaction. Signature, authorization and secret headers are dropped first
(``storable_headers``); the query string is never stored.

Processing (``process_event``; the ``process_inbound_events`` job takes the
new events of each stored batch) parses the stored body with the connector's
``webhook_records`` and writes every record with the ``CanonicalWriter`` and
the event's ``processed_at`` in ONE transaction, which first re-reads the event under a lock and does nothing if
it is already processed: a job run twice processes once. A delivery that cannot
be parsed or written keeps its body, gets its ``error`` and ``attempts + 1``,
and is retried by ``process_pending`` (the ``process_pending_inbox`` job of the
scheduler, which also picks up events whose enqueue was lost) up to
``MAX_ATTEMPTS`` tries. The writer ignores a record older than the stored one,
so events applied out of order never overwrite newer data; on PostgreSQL each
record identity is also locked for the transaction, so that two events about
the same record processed at once are applied one after the other.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import functools
import hashlib
import json
import logging
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
from sqlalchemy import Engine, Insert, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection

from connectors.base.connector import Connector
from connectors.base.registry import get_connector
from connectors.base.webhooks import Headers
from hub.db import sync_session_factory
from hub.models import Connection, InboundEvent, new_id, utcnow
from hub.sync.engine import describe
from hub.sync.records import SourceRecordData
from hub.sync.writer import CanonicalWriter
from hub.tasks import job, job_engine

log = logging.getLogger(__name__)

events = InboundEvent.__table__
connections = Connection.__table__

# A failing event is retried this many times in all, then left for a person to look at.
MAX_ATTEMPTS = 5
# How long an unprocessed event waits for its own job before the scheduler's sweep takes it.
PENDING_AFTER = timedelta(seconds=60)
# A concurrent writer of the same new record wins the race with a unique violation: try again.
_RACE_RETRIES = 3

# Headers that authenticate rather than describe a delivery; names are matched in lower case.
_SECRET_HEADER = re.compile(
    r"authorization|cookie|signature|hmac|secret|token|api[-_]?key|password|verify"
)


class Result(enum.StrEnum):
    PROCESSED = "PROCESSED"
    ALREADY_DONE = "ALREADY_DONE"  # processed before, or being processed by another worker
    FAILED = "FAILED"
    MISSING = "MISSING"


# -- intake ---------------------------------------------------------------------------------


def storable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The delivery's headers without anything that proves who sent it (lower-case names)."""
    return {name: value for name, value in Headers.of(headers).items()
            if not _is_secret_header(name)}


@functools.lru_cache(maxsize=1024)
def _is_secret_header(name: str) -> bool:
    return _SECRET_HEADER.search(name) is not None


def _insert_ignoring_duplicates(dialect: str) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(events)
        .on_conflict_do_nothing(index_elements=["connection_id", "provider_event_id"])
        .returning(events.c.id)
    )


_INSERTS = {name: _insert_ignoring_duplicates(name) for name in ("postgresql", "sqlite")}
_SQLITE_ROW = "(?, ?, ?, ?, ?, ?, ?, NULL, 0, NULL)"
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's DATETIME storage on SQLite (naive UTC)


@functools.lru_cache(maxsize=64)
def _sqlite_insert(rows: int) -> str:
    """ONE statement for a batch of ``rows``: one step, one commit."""
    return ("INSERT INTO inbound_events (id, connection_id, provider_event_id, topic, headers, "
            "body, received_at, processed_at, attempts, error) VALUES "
            + ", ".join([_SQLITE_ROW] * rows)
            + " ON CONFLICT (connection_id, provider_event_id) DO NOTHING")


@functools.lru_cache(maxsize=64)
def _sqlite_stored(rows: int) -> str:
    # One row back, so one step, whatever the batch's size.
    return ("SELECT group_concat(id, ' ') FROM inbound_events WHERE id IN ("
            + ", ".join(["?"] * rows) + ")")


# The batch as ONE JSON parameter: psycopg dumps arrays element by element in Python
# (escaping each text with a regular expression), which cost more than the insert itself.
_POSTGRES_INSERT = (
    "INSERT INTO inbound_events (id, connection_id, provider_event_id, topic, headers, body, "
    "received_at, attempts) "
    "SELECT d.id, d.connection_id, d.provider_event_id, d.topic, d.headers, "
    "decode(d.body, 'base64'), d.received_at, 0 "
    "FROM json_to_recordset(%s::json) AS d(id uuid, connection_id uuid, provider_event_id text, "
    "topic text, headers json, body text, received_at timestamptz) "
    "ON CONFLICT (connection_id, provider_event_id) DO NOTHING RETURNING id"
)


class IntakeGate:
    """When this process last stored deliveries; processing here waits for a pause.

    When jobs run in the serving process (the embedded runner), processing an
    event competes with intake for the CPU and, on SQLite, for the one write
    lock, whose waiters poll with growing sleeps: a burst of deliveries would be
    acknowledged at a fraction of the rate. Processing can wait, the platform
    cannot: a job first waits until intake has been quiet for ``quiet`` seconds
    (at most ``timeout``). Deliveries waiting for their batch count as intake:
    while a batch waits for SQLite's write lock no new delivery arrives (every
    sender is waiting for its answer), and that silence is not a pause. A worker
    process never stores deliveries: no wait.
    """

    def __init__(self) -> None:
        self._last = float("-inf")
        self.writing = 0  # writers with deliveries in hand (changed on the event loop only)

    def touch(self) -> None:
        self._last = time.monotonic()

    def wait_quiet(self, quiet: float = 0.02, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            until = now + quiet if self.writing else self._last + quiet
            pause = max(0.0, min(until, deadline) - now)
            if pause == 0:
                return
            time.sleep(pause)


INTAKE = IntakeGate()

_Pending = tuple[dict[str, Any], "asyncio.Future[uuid.UUID | None]"]


class InboxWriter:
    """Stores verified deliveries many to a transaction, without blocking the event loop.

    ``store`` returns once its delivery is committed. While a transaction is
    being written, the deliveries that arrive meanwhile wait and go into the
    next one: a lone delivery is written at once, and under load one commit
    covers many, so intake is not bound by how fast the database commits.
    ``after_commit(new_ids)`` is called on the event loop after each commit,
    before anyone waiting is answered; it must not block (the hub enqueues the
    events' jobs there, handing them to a thread when a broker is configured).

    PostgreSQL: one batch at a time while the database keeps up. A second writer
    (up to ``POSTGRES_WRITERS``) starts only when deliveries have waited
    ``SPILL_AFTER`` seconds for the one in flight, as when commits are slow: so
    batches are as large as the load makes them, each costing one round trip, and
    a slow disk still sees commits overlap. Rows go in key order, so two batches
    never deadlock. Each batch is ONE statement on a connection of the writer's
    own, in autocommit: the statement is its own transaction, so a batch costs one
    round trip, where the engine's pool would add a ping at checkout, a BEGIN and a
    COMMIT (most of the CPU a batch took). ``close`` closes those connections.
    SQLite: one at a time (it has one write lock), each ONE statement on a
    connection of the writer's own (from ``sync_engine``'s pool, so with its
    PRAGMAs), in autocommit. The statement runs on the event loop itself when the
    write lock is free (it is tried without waiting: a batch of a few dozen rows
    takes well under a millisecond in WAL mode, which syncs at checkpoints only),
    and in a thread of the writer's own, waiting up to the engine's busy timeout,
    when another connection holds the lock (a job or a sync committing): the loop
    never waits for the lock. A thread for every batch cost more than the insert:
    it takes the interpreter lock from the busy loop and back for each statement
    (40-60 us of CPU per delivery, against none inline, in the benchmark);
    aiosqlite would make every statement a round trip between threads. The
    writer's connection never checkpoints the WAL itself (a commit that does
    blocks for the checkpoint's syncs, about 10 ms, in 1 % of batches): after every
    ``CHECKPOINT_ROWS`` rows the thread runs a passive checkpoint on a connection
    of its own, which writers do not wait for.
    """

    POSTGRES_WRITERS = 4
    CHECKPOINT_ROWS = 2_000  # about SQLite's own 1,000 pages of WAL
    SPILL_AFTER = 0.002
    GATHER_FOR = 0.001

    def __init__(self, engine: AsyncEngine,
                 after_commit: Callable[[list[uuid.UUID]], None] | None = None, *,
                 sync_engine: Engine | None = None, max_batch: int = 500) -> None:
        self.engine = engine
        self.sync_engine = sync_engine if engine.dialect.name == "sqlite" else None
        self.after_commit = after_commit
        self.max_batch = max_batch
        self.writers = 1 if engine.dialect.name == "sqlite" else self.POSTGRES_WRITERS
        self._waiting: list[_Pending] = []
        self._writers = 0  # counted down as a writer finds nothing waiting, not a tick later
        self._spill: asyncio.TimerHandle | None = None  # starts another writer when it fires
        self._tasks: set[asyncio.Task[None]] = set()  # held, so that none is collected
        # PostgreSQL: libpq's form of the engine's URL, and connections between batches.
        self._conninfo = (engine.url.set(drivername="postgresql")
                          .render_as_string(hide_password=False)
                          if engine.dialect.name == "postgresql" else None)
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        # SQLite: the writer's connection, and the one thread that uses it.
        self._sqlite: PoolProxiedConnection | None = None
        self._sqlite_db: sqlite3.Connection | None = None
        self._sqlite_wait = 0  # its busy timeout (ms) when the writer waits for the lock
        self._since_checkpoint = 0  # rows written since the thread last checkpointed
        self.checkpoints = 0  # passive checkpoints run by the thread
        self._sqlite_thread = (ThreadPoolExecutor(1, thread_name_prefix="crmhub-inbox")
                               if self.sync_engine is not None else None)

    async def store(self, connection_id: uuid.UUID, provider_event_id: str, topic: str,
                    headers: Mapping[str, str], body: bytes) -> uuid.UUID | None:
        """The new event's id, or None when this event is already stored (a redelivery).

        ``headers`` must already be ``storable_headers``. Raises IntegrityError when the
        connection no longer exists.
        """
        values = {
            "id": new_id(), "connection_id": connection_id,
            "provider_event_id": provider_event_id[:255], "topic": topic[:200],
            "headers": dict(headers), "body": body, "received_at": utcnow(),
            "processed_at": None, "attempts": 0, "error": None,
        }
        loop = asyncio.get_running_loop()
        stored: asyncio.Future[uuid.UUID | None] = loop.create_future()
        self._waiting.append((values, stored))
        INTAKE.touch()  # per delivery: a batch may wait long for SQLite's write lock
        if self._writers == 0:
            self._start_writer(loop)
        elif self._spill is None and self._writers < self.writers:
            self._spill = loop.call_later(self.SPILL_AFTER, self._spill_over, loop)
        return await stored

    def _start_writer(self, loop: asyncio.AbstractEventLoop) -> None:
        self._writers += 1
        writer = loop.create_task(self._write_waiting())
        self._tasks.add(writer)
        writer.add_done_callback(self._tasks.discard)

    def _spill_over(self, loop: asyncio.AbstractEventLoop) -> None:
        self._spill = None
        if self._waiting and self._writers < self.writers:
            self._start_writer(loop)

    async def _write_waiting(self) -> None:
        INTAKE.writing += 1
        try:
            while self._waiting:
                await self._gather()
                if self._spill is not None:  # what waited is taken now
                    self._spill.cancel()
                    self._spill = None
                batch = self._waiting[:self.max_batch]
                del self._waiting[:self.max_batch]
                if batch:  # else another writer took them while this one gathered
                    await self._write(batch)
        finally:
            self._writers -= 1
            INTAKE.writing -= 1
            INTAKE.touch()

    async def _gather(self) -> None:
        """Let what the event loop has in hand join the batch before it goes.

        One loop iteration at a time, for as long as each brings more deliveries (at
        most ``GATHER_FOR`` seconds, ``max_batch`` deliveries): the answers of the last
        batch go out first, the requests already read are checked and join, and the
        batch leaves when the loop has nothing else to do. A lone delivery waits one
        iteration. Fewer, larger batches cost less per delivery on both sides of the
        connection.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.GATHER_FOR
        count = -1
        while (count != len(self._waiting) and len(self._waiting) < self.max_batch
               and loop.time() < deadline):
            count = len(self._waiting)
            await asyncio.sleep(0)

    async def _write(self, batch: list[_Pending]) -> None:
        # One row per event: a copy within the batch is a redelivery, like one arriving later.
        firsts: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
        for values, _ in batch:
            firsts.setdefault((values["connection_id"], values["provider_event_id"]), values)
        rows = [firsts[key] for key in sorted(firsts)]
        failed: dict[uuid.UUID, Exception] = {}
        try:
            inserted = await self._insert(rows)
        except IntegrityError:
            # A connection deleted meanwhile: find its rows, store everyone else's.
            inserted, failed = await self._insert_each(rows)
        except Exception as error:  # noqa: BLE001 - each waiting request gets the failure
            for _, stored in batch:
                _settle(stored, error=error)
            return
        if inserted and self.after_commit is not None:
            try:
                self.after_commit([r["id"] for r in rows if r["id"] in inserted])
            except Exception:  # stored is what counts; the sweep does the rest
                log.exception("after_commit failed for %d inbound events", len(inserted))
        for values, stored in batch:
            if values["id"] in failed:
                _settle(stored, error=failed[values["id"]])
            else:
                _settle(stored, result=values["id"] if values["id"] in inserted else None)

    async def _insert(self, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
        if self._sqlite_thread is not None:
            loop = asyncio.get_running_loop()
            self._since_checkpoint += len(rows)
            if self._since_checkpoint >= self.CHECKPOINT_ROWS:
                self._since_checkpoint = 0
                loop.run_in_executor(self._sqlite_thread, self._checkpoint_sqlite)
            if self._sqlite_db is not None:  # opened (in the thread: the pool may make it wait)
                try:
                    return self._insert_sqlite(rows, wait=False)
                except _WriteLockBusy:
                    pass
            return await loop.run_in_executor(self._sqlite_thread, self._insert_sqlite, rows,
                                              True)
        if self._conninfo is not None:
            return await self._insert_postgres(rows)
        async with self.engine.begin() as conn:
            result = await conn.execute(_INSERTS[conn.dialect.name], rows)
            return set(result.scalars())

    async def _insert_postgres(self, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
        # One statement on psycopg's cursor: SQLAlchemy rendering a VALUES row per delivery
        # and processing each value was most of the CPU per delivery.
        params = (orjson.dumps([
            {"id": r["id"], "connection_id": r["connection_id"],
             "provider_event_id": r["provider_event_id"], "topic": r["topic"],
             "headers": r["headers"], "body": base64.b64encode(r["body"]).decode("ascii"),
             "received_at": r["received_at"]}
            for r in rows
        ]).decode(),)
        reused = bool(self._idle)
        conn = self._idle.pop() if reused else await self._connect()
        try:
            async with conn.cursor() as cursor:
                await cursor.execute(_POSTGRES_INSERT, params)
                inserted = {row[0] for row in await cursor.fetchall()}
        except psycopg.IntegrityError as error:
            self._idle.append(conn)  # autocommit: nothing of the statement stays
            raise IntegrityError(_POSTGRES_INSERT, None, error) from error
        except psycopg.OperationalError:
            await conn.close()
            if not reused:
                raise
            # The connection died while idle (a server restart, say): once more on a new
            # one. Rows a lost answer did store come back as duplicates and are answered
            # so; their jobs are then the inbox sweep's, and nothing is stored twice.
            return await self._insert_postgres(rows)
        except BaseException:
            await conn.close()  # cancelled or failed mid-statement: its state is unknown
            raise
        self._idle.append(conn)
        return inserted

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)

    async def close(self) -> None:
        """Close the connections kept between batches."""
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()
        if self._sqlite is not None:
            # Taken from the loop's inserts first, then closed in the thread, after any
            # insert already in it.
            sqlite, self._sqlite, self._sqlite_db = self._sqlite, None, None
            # Detached from the pool: this closes the connection.
            await asyncio.get_running_loop().run_in_executor(self._sqlite_thread, sqlite.close)

    def _insert_sqlite(self, rows: list[dict[str, Any]], wait: bool) -> set[uuid.UUID]:
        """The batch's one INSERT; ``wait=False`` (on the event loop, the connection
        open): _WriteLockBusy at once if another connection holds the write lock;
        ``wait=True`` (the thread): wait for it up to the busy timeout the connection was
        opened with."""
        # Values go in the form SQLAlchemy's column types store on SQLite
        # (tests/webhooks/test_inbox_writer reads them back through the models).
        if self._sqlite is None:
            self._sqlite = self.sync_engine.raw_connection()  # type: ignore[union-attr]
            self._sqlite_db = self._sqlite.driver_connection
            self._sqlite.detach()  # ours alone until close()
            self._sqlite_db.isolation_level = None  # autocommit
            self._sqlite_wait = self._sqlite_db.execute("PRAGMA busy_timeout").fetchone()[0]
            self._sqlite_db.execute("PRAGMA busy_timeout = 0")
            self._sqlite_db.execute("PRAGMA wal_autocheckpoint = 0")  # the thread's job
        db = self._sqlite_db
        if wait:
            db.execute(f"PRAGMA busy_timeout = {int(self._sqlite_wait)}")
        try:
            return self._insert_sqlite_rows(db, rows)
        except OperationalError as error:
            code = getattr(error.orig, "sqlite_errorcode", 0)
            if not wait and code & 0xFF == sqlite3.SQLITE_BUSY:  # extended codes included
                raise _WriteLockBusy from error  # nothing written: the statement is atomic
            raise
        finally:
            if wait:
                db.execute("PRAGMA busy_timeout = 0")

    def _checkpoint_sqlite(self) -> None:
        """Copy the WAL's pages into the database without waiting for anyone (PASSIVE)."""
        try:
            with self.sync_engine.connect() as conn:  # type: ignore[union-attr]
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # the next one, or another connection's, will do
            log.warning("the inbox's WAL checkpoint failed", exc_info=True)
            return
        self.checkpoints += 1

    @staticmethod
    def _insert_sqlite_rows(db: sqlite3.Connection, rows: list[dict[str, Any]]
                            ) -> set[uuid.UUID]:
        params: list[Any] = []
        for row in rows:
            params += (row["id"].hex, row["connection_id"].hex, row["provider_event_id"],
                       row["topic"], json.dumps(row["headers"]), row["body"],
                       row["received_at"].astimezone(UTC).strftime(_SQLITE_TIME))
        statement = _sqlite_insert(len(rows))
        try:
            # In autocommit the statement is its own transaction: all of it or none.
            count = db.execute(statement, params).rowcount
            if count == len(rows) or count == 0:
                return {row["id"] for row in rows} if count else set()
            # Some were stored before (redeliveries): which of the batch's ids are there.
            found = db.execute(_sqlite_stored(len(rows)),
                               [row["id"].hex for row in rows]).fetchone()[0]
        except sqlite3.IntegrityError as error:
            raise IntegrityError(statement, None, error) from error
        except sqlite3.OperationalError as error:  # locked past busy_timeout, disk full
            raise OperationalError(statement, None, error) from error
        ours = set(found.split()) if found else set()
        return {row["id"] for row in rows if row["id"].hex in ours}

    async def _insert_each(self, rows: list[dict[str, Any]]
                           ) -> tuple[set[uuid.UUID], dict[uuid.UUID, Exception]]:
        inserted, failed = set(), {}
        for row in rows:
            try:
                inserted |= await self._insert([row])
            except IntegrityError as error:
                failed[row["id"]] = error
        return inserted, failed


class _WriteLockBusy(Exception):
    """SQLite's write lock is held by another connection: write from the thread instead."""


def _settle(future: asyncio.Future[uuid.UUID | None], *, result: uuid.UUID | None = None,
            error: Exception | None = None) -> None:
    if future.done():  # its request went away (client disconnected): nothing to answer
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


# -- processing -----------------------------------------------------------------------------


_LOCK_EVENT = select(events).where(events.c.id == bindparam("id")).with_for_update(skip_locked=True)


def process_event(engine: Engine, event_id: uuid.UUID, *, writer: CanonicalWriter | None = None,
                  now: datetime | None = None) -> Result:
    """Apply one stored event, at most once; a failure is kept on the event, not raised.

    Errors of the database itself (not of this event's data) are raised after the
    attempt is counted, so that the job runner's own retry can have a go.
    """
    writer = writer or CanonicalWriter()
    sessions = sync_session_factory(engine)
    INTAKE.wait_quiet()
    for attempt in range(_RACE_RETRIES + 1):
        try:
            with _transaction(sessions) as session:
                return _apply(session, writer, event_id, now or utcnow())
        except IntegrityError as error:
            if attempt < _RACE_RETRIES:
                continue  # another transaction created the same record first: read it now
            failure: Exception = error
        except Exception as error:  # noqa: BLE001 - every failure is kept on the event
            failure = error
        break
    _record_failure(sessions, event_id, failure)
    if isinstance(failure, DBAPIError) and not isinstance(failure, IntegrityError):
        raise failure
    return Result.FAILED


def _apply(session: Session, writer: CanonicalWriter, event_id: uuid.UUID,
           now: datetime) -> Result:
    db = session.connection()
    event = db.execute(_LOCK_EVENT, {"id": event_id}).one_or_none()
    if event is None:
        # Gone (its connection was deleted) or locked by a worker processing it right now.
        exists = db.execute(select(events.c.id).where(events.c.id == event_id)).first()
        return Result.ALREADY_DONE if exists else Result.MISSING
    if event.processed_at is not None:
        return Result.ALREADY_DONE
    name = db.execute(
        select(connections.c.connector).where(connections.c.id == event.connection_id)
    ).scalar_one()
    records = _connector(name).webhook_records(event.headers or {}, event.body)
    if db.dialect.name == "postgresql":
        _lock_identities(session, event.connection_id, records)
    for rec in records:
        writer.write(session, event.connection_id, rec, now)
    db.execute(
        update(events).where(events.c.id == event_id)
        .values(processed_at=now, attempts=events.c.attempts + 1, error=None)
    )
    return Result.PROCESSED


@functools.lru_cache(maxsize=64)
def _connector(name: str) -> Connector:
    # Finding a plugin reads every installed package's entry points: once per name.
    return get_connector(name)()


def _lock_identities(session: Session, connection_id: uuid.UUID,
                     records: list[SourceRecordData]) -> None:
    """Hold each record identity for this transaction, so concurrent events apply in turn.

    Without it two events about one record could both read the old row and the
    older of them commit last. Locks are taken in key order: no deadlocks.
    """
    keys = set()
    for rec in records:
        identities = [(rec.object_type, rec.external_id)]
        if rec.person_ref is not None:
            identities.append(rec.person_ref)
        for object_type, external_id in identities:
            name = f"{connection_id}/{object_type}/{external_id}".encode()
            keys.add(int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big",
                                    signed=True))
    for key in sorted(keys):
        session.connection().execute(select(func.pg_advisory_xact_lock(key)))


def _record_failure(sessions: Callable[[], Session], event_id: uuid.UUID, error: Exception) -> None:
    message = describe(error)
    log.warning("inbound event %s failed: %s", event_id, message)
    try:
        with _transaction(sessions) as session:
            session.execute(
                update(events)
                .where(events.c.id == event_id, events.c.processed_at.is_(None))
                .values(attempts=events.c.attempts + 1, error=message)
            )
    except Exception:  # the database itself may be what failed
        log.exception("could not record the failure of inbound event %s", event_id)


def pending_events(engine: Engine, *, older_than: timedelta = PENDING_AFTER, limit: int = 100,
                   connection_id: uuid.UUID | None = None,
                   now: datetime | None = None) -> list[uuid.UUID]:
    """Unprocessed events received before ``now - older_than`` with tries left, oldest first."""
    query = (
        select(events.c.id)
        .where(events.c.processed_at.is_(None),
               events.c.received_at <= (now or utcnow()) - older_than,
               events.c.attempts < MAX_ATTEMPTS)
        .order_by(events.c.received_at)
        .limit(limit)
    )
    if connection_id is not None:
        query = query.where(events.c.connection_id == connection_id)
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def process_pending(engine: Engine, *, limit: int = 100, older_than: timedelta = PENDING_AFTER,
                    connection_id: uuid.UUID | None = None,
                    writer: CanonicalWriter | None = None) -> dict[Result, int]:
    """Process the events that waited too long (their enqueue lost, or an earlier try failed)."""
    tally = dict.fromkeys(Result, 0)
    writer = writer or CanonicalWriter()
    for event_id in pending_events(engine, older_than=older_than, limit=limit,
                                   connection_id=connection_id):
        tally[process_event(engine, event_id, writer=writer)] += 1
    return tally


# -- jobs -------------------------------------------------------------------------------------


@job
def process_inbound_events(event_ids: list[str]) -> dict[str, int]:
    """Enqueued by the webhook route for the events it stored in the last 50 ms (at most
    200): one job (one enqueue, one broker message) for many events, not one each.

    Each event is processed in its own transaction, as ``process_inbound_event`` does; a
    database error on one does not keep the others from their turn, and the first such
    error is raised at the end, so that the job runner's retry can have a go (events
    already processed are skipped by then).
    """
    engine = job_engine()
    tally: dict[str, int] = {}
    failure: Exception | None = None
    for event_id in event_ids:
        try:
            result = process_event(engine, uuid.UUID(event_id)).value
        except Exception as error:  # noqa: BLE001 - raised once the others had their turn
            failure = failure or error
            continue
        tally[result] = tally.get(result, 0) + 1
    if failure is not None:
        raise failure
    return tally


@job
def process_inbound_event(event_id: str) -> str:
    """One stored event: jobs enqueued one per event (before ``process_inbound_events``)
    may still be waiting in a broker, and an operator can run one by hand."""
    return process_event(job_engine(), uuid.UUID(event_id)).value


@job
def process_pending_inbox(limit: int = 100) -> dict[str, int]:
    """For the scheduler: events left unprocessed (lost enqueue, failed try) get another go."""
    tally = process_pending(job_engine(), limit=limit)
    return {result.value: count for result, count in tally.items() if count}


@contextmanager
def _transaction(sessions: Callable[[], Session]) -> Iterator[Session]:
    with sessions() as session, session.begin():
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            # Take SQLite's write lock up front (see hub/sync/engine.py): the event is
            # then ours alone until commit, as FOR UPDATE makes it on PostgreSQL.
            driver = connection.connection.driver_connection
            if not driver.in_transaction:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield session
