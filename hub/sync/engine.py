"""Running one stream: pages in, canonical rows and a bookmark out, one transaction per page.

Each page is written in ONE transaction together with the stream's bookmark
and the run's counts, so a run killed at any point leaves the data and the
bookmark consistent, and the next run resumes where the last commit left off.
A record that fails to map or write goes to the dead-letter table with its raw
payload and the rest of the page is kept: a page is written as a whole
(``CanonicalWriter.write_page``: one statement per table for its new people) and,
only when a record fails to write, rolled back and written again record by record,
each in a SAVEPOINT of its own (``_write_page``). Any other failure (the page
iterator raising, the database going away) marks the run FAILED and raises
``SyncFailed``.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, insert, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from hub.db import sync_session_factory
from hub.models import DeadLetter, SourceRecord, SyncRun, new_id, utcnow
from hub.models.enums import SyncRunStatus
from hub.sync.heartbeat import Heartbeat, LeaseLost, finish_abandoned, worker_name
from hub.sync.records import SourceRecordData
from hub.sync.state import save_bookmark, start_bookmark
from hub.sync.writer import CanonicalWriter, Outcome, json_safe

__all__ = ["Page", "SyncFailed", "run_stream", "start_bookmark"]

log = logging.getLogger(__name__)

Mapper = Callable[[dict[str, Any]], SourceRecordData]
_STAMP_CHUNK = 500
_RUNS = SyncRun.__table__
_LEASE_LOST = ("this run was finished as abandoned by another process (no heartbeat for too "
               "long); its last page was not written")
_MAX_ERROR = 2000


class Page(Protocol):
    records: list[dict[str, Any]]
    bookmark: dict[str, Any] | None


class SyncFailed(RuntimeError):
    """A run stopped before its end; everything committed before the failure is kept."""

    def __init__(self, run_id: uuid.UUID, message: str) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.message = message


@dataclass
class _Tally:
    read: int = 0
    failed: int = 0
    outcomes: dict[Outcome, int] = field(default_factory=lambda: defaultdict(int))
    # object type -> external ids written without error (a full refresh stamps them as seen)
    seen: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def run_stream(
    engine: Engine,
    connection_id: uuid.UUID,
    stream_name: str,
    pages: Iterable[Page],
    mapper: Mapper,
    *,
    full_refresh: bool = False,
    writer: CanonicalWriter | None = None,
    progress: Callable[[int], None] | None = None,
) -> SyncRun:
    """Write every page of a stream; return the finished SyncRun (detached)."""
    writer = writer or CanonicalWriter()
    sessions = sync_session_factory(engine)
    run_id = new_id()
    with _transaction(sessions) as session:
        now = utcnow()
        # A run of this connection left RUNNING by a process that died ends here, honestly.
        finish_abandoned(session.connection(), now, connection_id=connection_id)
        session.add(SyncRun(id=run_id, connection_id=connection_id, stream=stream_name,
                            full_refresh=full_refresh, status=SyncRunStatus.RUNNING,
                            started_at=now, worker=worker_name(), heartbeat_at=now))
    seen_types: set[str] = set()
    try:
        with Heartbeat(engine, run_id) as heartbeat:
            for page in _guarded(pages):
                try:
                    tally = _commit_page(sessions, writer, run_id, connection_id, stream_name,
                                         page, mapper, full_refresh, careful=False)
                except _RedoCarefully:
                    tally = _commit_page(sessions, writer, run_id, connection_id, stream_name,
                                         page, mapper, full_refresh, careful=True)
                heartbeat.beat_committed()
                seen_types.update(tally.seen)
                if progress is not None:
                    progress(tally.read)
        with _transaction(sessions) as session:
            run = session.get_one(SyncRun, run_id)
            if run.status is not SyncRunStatus.RUNNING:
                raise LeaseLost(_LEASE_LOST)
            _finish(session, run, seen_types)
    except Exception as error:  # noqa: BLE001 - every failure ends the run as SyncFailed
        cause = error.__cause__ if isinstance(error, _SourceFailed) else error
        message = describe(cause)
        _mark_failed(sessions, run_id, message)
        raise SyncFailed(run_id, message) from cause
    with sessions() as session:
        return session.get_one(SyncRun, run_id)


# -- one page ------------------------------------------------------------------------------


def _commit_page(sessions: Callable[[], Session], writer: CanonicalWriter, run_id: uuid.UUID,
                 connection_id: uuid.UUID, stream_name: str, page: Page, mapper: Mapper,
                 full_refresh: bool, *, careful: bool) -> _Tally:
    """The page's records, the stream's bookmark and the run's counts: one transaction."""
    with _transaction(sessions) as session:
        tally = _write_page(session, writer, run_id, connection_id, stream_name, page, mapper,
                            utcnow(), careful=careful)
        if full_refresh:
            _stamp_seen(session, connection_id, run_id, tally.seen)
        if page.bookmark is not None:
            save_bookmark(session, connection_id, stream_name, page.bookmark, utcnow())
        _count(session, run_id, tally)
    return tally


def _write_page(session: Session, writer: CanonicalWriter, run_id: uuid.UUID,
                connection_id: uuid.UUID, stream_name: str, page: Page, mapper: Mapper,
                now: datetime, *, careful: bool) -> _Tally:
    """Write a page's records in ``session``'s transaction.

    Mapping needs no database, so a record that fails to map is dead-lettered at
    once. Writing is first tried for the page as a whole (``careful=False``): a
    record whose write fails then raises ``_RedoCarefully``, the page's transaction
    is rolled back, and the page is written again ``careful``, record by record
    (``CanonicalWriter.write``), each in a SAVEPOINT of its own so that only the
    culprit is dead-lettered.
    """
    tally = _Tally()
    connection = session.connection()
    mapped: list[tuple[dict[str, Any], SourceRecordData]] = []
    for raw in page.records:
        tally.read += 1
        try:
            mapped.append((raw, mapper(raw)))
        except Exception as error:
            if not _is_record_error(error):
                raise
            _dead_letter(connection, run_id, connection_id, stream_name, raw, None, error, now)
            tally.failed += 1
    writer.prefetch(session, connection_id, [rec for _, rec in mapped])
    if not careful:
        try:
            outcomes = writer.write_page(session, connection_id, [rec for _, rec in mapped], now)
        except Exception as error:
            if not _is_record_error(error):
                raise
            raise _RedoCarefully() from error
        for (_, rec), outcome in zip(mapped, outcomes, strict=True):
            tally.outcomes[outcome] += 1
            tally.seen[rec.object_type].append(rec.external_id)
        return tally
    for raw, rec in mapped:
        try:
            with writer.savepoint(session):
                outcome = writer.write(session, connection_id, rec, now)
        except Exception as error:
            if not _is_record_error(error):
                raise
            tally.failed += 1
            # Written at once, outside any savepoint: a pending ORM object could be flushed
            # inside the next record's savepoint and vanish with it.
            _dead_letter(connection, run_id, connection_id, stream_name, raw, rec.external_id,
                         error, now)
            continue
        tally.outcomes[outcome] += 1
        tally.seen[rec.object_type].append(rec.external_id)
    return tally


class _RedoCarefully(Exception):
    """A record of the page failed to write: roll the page back, write it record by record."""


def _dead_letter(connection: Connection, run_id: uuid.UUID, connection_id: uuid.UUID,
                 stream_name: str, raw: dict[str, Any], external_id: str | None,
                 error: Exception, now: datetime) -> None:
    connection.execute(insert(DeadLetter.__table__), {
        "id": new_id(), "sync_run_id": run_id, "connection_id": connection_id,
        "stream": stream_name, "external_id": external_id, "payload": json_safe(raw),
        "error": describe(error), "created_at": now,
    })


def _is_record_error(error: Exception) -> bool:
    """Failures of this one record, as opposed to failures of the run."""
    if isinstance(error, DBAPIError):
        # Constraint and value errors belong to the record; a lost connection does not.
        return isinstance(error, IntegrityError | DataError)
    return isinstance(error, StatementError | ValueError | LookupError | TypeError)


def _stamp_seen(session: Session, connection_id: uuid.UUID, run_id: uuid.UUID,
                seen: dict[str, list[str]]) -> None:
    now = utcnow()
    for object_type, external_ids in seen.items():
        for start in range(0, len(external_ids), _STAMP_CHUNK):
            session.execute(
                update(SourceRecord)
                .where(SourceRecord.connection_id == connection_id,
                       SourceRecord.object_type == object_type,
                       SourceRecord.external_id.in_(external_ids[start:start + _STAMP_CHUNK]))
                .values(last_seen_run_id=run_id, last_seen_at=now),
                execution_options={"synchronize_session": False},
            )


def _count(session: Session, run_id: uuid.UUID, tally: _Tally) -> None:
    """Add the page's counts and renew the heartbeat; LeaseLost if the run was given up."""
    c = _RUNS.c
    done = session.connection().execute(
        update(_RUNS).where(c.id == run_id, c.status == SyncRunStatus.RUNNING).values(
            records_read=c.records_read + tally.read,
            records_failed=c.records_failed + tally.failed,
            records_created=c.records_created + tally.outcomes[Outcome.CREATED],
            records_updated=c.records_updated + tally.outcomes[Outcome.UPDATED],
            records_unchanged=c.records_unchanged + tally.outcomes[Outcome.UNCHANGED],
            records_deleted=c.records_deleted + tally.outcomes[Outcome.DELETED],
            heartbeat_at=utcnow(),
        )
    ).rowcount
    if not done:
        raise LeaseLost(_LEASE_LOST)


# -- the end of a run ----------------------------------------------------------------------


def _finish(session: Session, run: SyncRun, seen_types: set[str]) -> None:
    now = utcnow()
    if run.full_refresh and run.records_failed:
        # A record that failed was not seen; tombstoning "the rest" could delete it.
        run.error = f"reconciliation skipped: {run.records_failed} record(s) failed"
    elif run.full_refresh and seen_types:
        run.records_deleted += _reconcile(session, run, seen_types, now)
    run.status = SyncRunStatus.PARTIAL if run.records_failed else SyncRunStatus.SUCCEEDED
    run.finished_at = now


def _reconcile(session: Session, run: SyncRun, object_types: set[str], now: datetime) -> int:
    """Tombstone the records of these types that a complete full refresh did not see."""
    result = session.execute(
        update(SourceRecord)
        .where(
            SourceRecord.connection_id == run.connection_id,
            SourceRecord.object_type.in_(sorted(object_types)),
            SourceRecord.deleted_at.is_(None),
            (SourceRecord.last_seen_run_id != run.id) | SourceRecord.last_seen_run_id.is_(None),
            # Created while the run was going (a webhook, a placeholder): not the run's to judge.
            SourceRecord.first_seen_at < run.started_at,
        )
        .values(deleted_at=now),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount


def _mark_failed(sessions: Callable[[], Session], run_id: uuid.UUID, message: str) -> None:
    try:
        with _transaction(sessions) as session:
            # A run already finished as abandoned keeps that account of itself.
            session.execute(
                update(_RUNS).where(_RUNS.c.id == run_id,
                                    _RUNS.c.status == SyncRunStatus.RUNNING)
                .values(status=SyncRunStatus.FAILED, finished_at=utcnow(), error=message),
                execution_options={"synchronize_session": False},
            )
    except Exception:  # the database itself may be what failed
        log.exception("could not mark sync run %s as failed", run_id)


# -- plumbing ------------------------------------------------------------------------------


class _SourceFailed(Exception):
    """Wraps an error raised by the page iterator, to tell it from a write error."""


def _guarded(pages: Iterable[Page]) -> Iterator[Page]:
    iterator = iter(pages)
    while True:
        try:
            page = next(iterator)
        except StopIteration:
            return
        except Exception as error:
            raise _SourceFailed() from error
        yield page


@contextmanager
def _transaction(sessions: Callable[[], Session]) -> Iterator[Session]:
    with sessions() as session, session.begin():
        connection = session.connection()
        driver = connection.connection.driver_connection
        if connection.dialect.name == "sqlite" and not driver.in_transaction:
            # pysqlite starts its transaction lazily, so a SAVEPOINT could become the outer
            # transaction and its RELEASE a commit. BEGIN IMMEDIATE also takes the write lock
            # up front instead of failing to upgrade a read lock later.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield session


_SECRET_PATTERNS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[\w\-.~+/=]+"), r"\1 ***"),
    (re.compile(r"(?i)([?&;\s\"']?(?:access_token|refresh_token|token|api_?key|apikey|key|"
                r"secret|client_secret|password|passwd|signature|sig|code|auth)[\"']?\s*[=:]\s*"
                r"[\"']?)[^&\s\"',;]+"), r"\1***"),
    (re.compile(r"(?i)(\w+://)[^/\s:@]+:[^/\s@]+@"), r"\1***@"),
)


def describe(error: BaseException) -> str:
    """A one-line account of an error that is safe to store: credentials are masked."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        # The driver's message without SQLAlchemy's statement and parameters (payload data).
        text = f"{type(error).__name__}: {error.orig}"
    else:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"
