"""Syncing a whole connection: its connector, its credentials, each of its streams, its status.

    runs = sync_connection(engine, connection_id, streams=["contacts"], progress=show)

The connector's one HTTP session is built from the decrypted credentials;
tokens it refreshes are merged into the stored credentials and sealed again at
once, so a rotated refresh token is never lost. Each stream is one
``run_stream`` from its bookmark (or from the start on a full refresh). The
connection's status says how it went:

- ACTIVE: every stream ran (a PARTIAL run's dead letters are noted in the message);
- NEEDS_REAUTH: the platform refused the credentials; the remaining streams are
  not tried, since they would be refused too;
- FAILING: a stream failed for another reason; the other streams still ran.

A PAUSED connection can still be synced by hand; it stays PAUSED.

A sync that cannot start at all (no such connection, connector or stream,
credentials no key opens) raises ``SyncNotStarted``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from connectors.base.connector import Connector
from connectors.base.credentials import decrypt, encrypt
from connectors.base.errors import AuthExpired, CredentialsError
from connectors.base.http import HttpSession
from connectors.base.registry import UnknownConnector, get_connector
from hub.db import sync_session_factory
from hub.events.outbox import emit_many, event_row, global_id
from hub.models import Connection, SyncRun, utcnow
from hub.models.enums import ConnectionStatus, SyncRunStatus
from hub.sync.engine import SyncFailed, run_stream, start_bookmark

__all__ = ["Progress", "SyncNotStarted", "connector_session", "sync_connection"]

log = logging.getLogger(__name__)

# (stream name, records read in the page just committed); called with 0 when a stream starts.
Progress = Callable[[str, int], None]
_MAX_MESSAGE = 1000  # Connection.status_message


class SyncNotStarted(RuntimeError):
    """Nothing was synced: the connection, its connector or its credentials are not usable."""


@dataclass
class _Target:
    """What a sync needs of the Connection row, read once."""

    id: uuid.UUID
    name: str
    connector: Connector
    config: BaseModel


def sync_connection(
    engine: Engine,
    connection_id: uuid.UUID | str,
    *,
    streams: Sequence[str] | None = None,
    full_refresh: bool = False,
    progress: Progress | None = None,
) -> list[SyncRun]:
    """Run the connection's streams (all, or those named) in order; one SyncRun per stream run."""
    target, credentials = _load(engine, _as_uuid(connection_id))
    selected = _select(target.connector, streams)
    session = _session_or_status(engine, target, credentials)
    runs: list[SyncRun] = []
    failed: list[SyncRun] = []
    failures: list[str] = []
    for name in selected:
        stream = target.connector.stream(name, target.config)
        if progress is not None:
            progress(name, 0)
        pages = stream.pages(
            session, start_bookmark(engine, target.id, name, full_refresh=full_refresh)
        )
        report = (lambda n, name=name: progress(name, n)) if progress is not None else None
        try:
            runs.append(run_stream(engine, target.id, name, pages, stream.map,
                                   full_refresh=full_refresh, progress=report))
        except SyncFailed as failure:
            runs.append(_run(engine, failure.run_id))
            failed.append(runs[-1])
            if _auth_expired(failure):
                _set_status(engine, target.id, ConnectionStatus.NEEDS_REAUTH, _reauth_message(
                    target, name, failure.message), failed)
                return runs
            failures.append(f"{name}: {failure.message}")
    if failures:
        _set_status(engine, target.id, ConnectionStatus.FAILING, "; ".join(failures), failed)
    else:
        _set_status(engine, target.id, ConnectionStatus.ACTIVE, _partial_note(runs))
    return runs


def connector_session(engine: Engine, connection_id: uuid.UUID | str) -> tuple[
        Connector, BaseModel, HttpSession]:
    """The connector, its parsed config and a live session of a connection (``connections test``).

    Refreshed credentials are stored, as during a sync; the status is left alone.
    """
    target, credentials = _load(engine, _as_uuid(connection_id))
    try:
        session = _build_session(engine, target, credentials)
    except CredentialsError as error:
        raise SyncNotStarted(str(error)) from None
    return target.connector, target.config, session


# -- before the first stream ---------------------------------------------------------------


def _load(engine: Engine, connection_id: uuid.UUID) -> tuple[_Target, dict[str, Any] | None]:
    with sync_session_factory(engine)() as db:
        row = db.get(Connection, connection_id)
        if row is None:
            raise SyncNotStarted(f"no connection with id {connection_id}")
        name, connector_name, config, token = (row.name, row.connector, dict(row.config or {}),
                                               row.credentials)
    try:
        connector = get_connector(connector_name)()
    except UnknownConnector as error:
        _fail_to_start(engine, connection_id, ConnectionStatus.FAILING,
                       f"{error}; install it or remove the connection")
    try:
        parsed = connector.parse_config(config)
    except ValidationError as error:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in error.errors())
        _fail_to_start(engine, connection_id, ConnectionStatus.FAILING,
                       f"the stored {connector.name} config is invalid: {fields}")
    try:
        credentials = decrypt(token) if token is not None else None
    except CredentialsError:
        _fail_to_start(engine, connection_id, ConnectionStatus.FAILING,
                       "no configured secret key opens the stored credentials "
                       "(check CRMHUB_SECRET_KEYS or var/secret.key)")
    return _Target(connection_id, name, connector, parsed), credentials


def _select(connector: Connector, streams: Sequence[str] | None) -> list[str]:
    declared = [stream.name for stream in connector.streams]
    if streams is None:
        return declared
    unknown = [name for name in streams if name not in declared]
    if unknown:
        raise SyncNotStarted(f"{connector.name} has no stream {', '.join(map(repr, unknown))}; "
                             f"its streams: {', '.join(declared) or 'none'}")
    return list(dict.fromkeys(streams))  # in the order asked, each once


def _session_or_status(engine: Engine, target: _Target,
                       credentials: dict[str, Any] | None) -> HttpSession:
    try:
        return _build_session(engine, target, credentials)
    except CredentialsError as error:  # the stored fields do not fit the connector's model
        _fail_to_start(engine, target.id, ConnectionStatus.NEEDS_REAUTH,
                       f"{error}; store new credentials")


def _build_session(engine: Engine, target: _Target,
                   credentials: dict[str, Any] | None) -> HttpSession:
    return target.connector.session(
        target.config, credentials,
        on_credentials_change=_credentials_saver(engine, target.id, credentials or {}),
    )


def _credentials_saver(engine: Engine, connection_id: uuid.UUID,
                       current: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """Seal refreshed credentials at once: the old refresh token may already be spent."""
    stored = dict(current)
    lock = threading.Lock()

    def save(changed: dict[str, Any]) -> None:
        with lock:
            # Merged, so a connector may hand over the new token alone or all its credentials.
            stored.update(changed)
            with sync_session_factory(engine).begin() as db:
                row = db.get_one(Connection, connection_id)
                row.credentials = encrypt(stored)
        log.info("stored refreshed credentials of connection %s", connection_id)

    return save


# -- statuses ------------------------------------------------------------------------------


def _fail_to_start(engine: Engine, connection_id: uuid.UUID, status: ConnectionStatus,
                   message: str) -> NoReturn:
    _set_status(engine, connection_id, status, message, failed=None)
    raise SyncNotStarted(message)


def _set_status(engine: Engine, connection_id: uuid.UUID, status: ConnectionStatus,
                message: str | None, failed: Sequence[SyncRun] | None = ()) -> None:
    """Set the connection's status; ``failed`` runs (None: it could not start) emit sync.failed."""
    if message and len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    with sync_session_factory(engine).begin() as db:
        row = db.get(Connection, connection_id)
        if row is None:  # removed while it synced
            return
        if row.status != ConnectionStatus.PAUSED:  # a manual sync does not resume it
            row.status = status
        row.status_message, row.updated_at = message, utcnow()
        _emit_failures(db, row, status, message, failed)


def _emit_failures(db: Session, connection: Connection, status: ConnectionStatus,
                   message: str | None, failed: Sequence[SyncRun] | None) -> None:
    # Messages went through ``describe`` (tokens and keys masked) before they were stored.
    about = {"connectionId": global_id("Connection", connection.id), "connection": connection.name,
             "connector": connection.connector, "connectionStatus": status}
    if failed is None:
        emit_many(db, [event_row("sync.failed", {**about, "stream": None, "error": message},
                                 subject=("Connection", connection.id))])
        return
    emit_many(db, [event_row("sync.failed", {**about, "stream": run.stream, "error": run.error},
                             subject=("SyncRun", run.id)) for run in failed])


def _auth_expired(failure: SyncFailed) -> bool:
    error: BaseException | None = failure.__cause__
    while error is not None:
        if isinstance(error, AuthExpired):
            return True
        error = error.__cause__ or error.__context__
    return False


def _reauth_message(target: _Target, stream: str, detail: str) -> str:
    # ``detail`` went through ``describe``, which masks tokens and keys.
    return (f"{target.connector.title} refused the credentials of {target.name!r} while reading "
            f"{stream}: authorise the connection again, then sync. ({detail})")


def _partial_note(runs: list[SyncRun]) -> str | None:
    failed = sum(run.records_failed for run in runs if run.status == SyncRunStatus.PARTIAL)
    if not failed:
        return None
    return f"{failed} record(s) could not be stored and wait in the dead letters"


def _run(engine: Engine, run_id: uuid.UUID) -> SyncRun:
    with sync_session_factory(engine)() as db:
        return db.get_one(SyncRun, run_id)


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise SyncNotStarted(f"{value!r} is not a connection id") from None
