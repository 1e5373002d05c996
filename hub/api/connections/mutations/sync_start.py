"""syncStart: queue a sync of a connection (all its streams or those named) and return the job id.

The sync itself runs as a job (``hub.tasks.enqueue_sync``), on a worker or in
this process's job pool; its runs appear under ``Connection.syncRuns``. What
would make the job refuse or do harm is answered here, as payload errors,
before anything is queued.
"""

from __future__ import annotations

import asyncio
import enum
from datetime import timedelta
from typing import Any

import graphene
from kombu.exceptions import OperationalError
from sqlalchemy import func, select

from connectors.base.registry import UnknownConnector, get_connector
from hub import tasks
from hub.access.scopes import Scope
from hub.api.connections.dataloaders import ConnectionByIdLoader, sync_runs
from hub.api.core.audited import Audited
from hub.api.core.mutations import Mutation, UserError, error_type, id_argument
from hub.models import utcnow
from hub.models.enums import ConnectionStatus, SyncRunStatus
from hub.sync.heartbeat import last_beat


class SyncStartErrorCode(enum.Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    NEEDS_REAUTH = "NEEDS_REAUTH"
    UNKNOWN_CONNECTOR = "UNKNOWN_CONNECTOR"
    UNKNOWN_STREAM = "UNKNOWN_STREAM"
    ALREADY_RUNNING = "ALREADY_RUNNING"
    QUEUE_FULL = "QUEUE_FULL"
    QUEUE_UNAVAILABLE = "QUEUE_UNAVAILABLE"


SyncStartError = error_type("SyncStartError", SyncStartErrorCode, "Why no sync was queued.")
Code = SyncStartErrorCode


class SyncStartInput(graphene.InputObjectType):
    connection_id = graphene.ID(required=True)
    streams = graphene.List(
        graphene.NonNull(graphene.String),
        description="Streams to sync, in order; all if not given.",
    )
    full_refresh = graphene.Boolean(
        default_value=False,
        description="Read everything again instead of from the bookmarks; "
        "records not seen are tombstoned.",
    )


def _streams_of(connector_name: str, wanted: list[str] | None) -> list[str] | None:
    try:
        connector = get_connector(connector_name)
    except UnknownConnector:
        raise UserError(
            Code.UNKNOWN_CONNECTOR,
            f"The connector {connector_name!r} is not installed on this hub.",
            "connectionId",
        ) from None
    if wanted is None:
        return None
    if not wanted:
        raise UserError(
            Code.UNKNOWN_STREAM, "Name at least one stream, or leave streams out.", "streams"
        )
    declared = [stream.name for stream in connector.streams]
    unknown = [name for name in wanted if name not in declared]
    if unknown:
        raise UserError(
            Code.UNKNOWN_STREAM,
            f"{connector_name} has no stream {', '.join(map(repr, unknown))}; "
            f"its streams: {', '.join(declared)}.",
            "streams",
        )
    return list(dict.fromkeys(wanted))


async def _running_since(info: graphene.ResolveInfo, connection_id: Any) -> Any:
    """The start of a run of this connection still going, if any (abandoned ones aside)."""
    ctx = info.context
    fresh = utcnow() - timedelta(minutes=ctx.settings.jobs.stale_run_minutes)
    return await ctx.db.scalar(
        select(func.max(sync_runs.c.started_at)).where(
            sync_runs.c.connection_id == connection_id,
            sync_runs.c.status == SyncRunStatus.RUNNING,
            last_beat() > fresh,
        )
    )


class SyncStart(Mutation):
    """Queue a sync of a connection; its runs show under `Connection.syncRuns` as they go.

    A PAUSED connection can be synced by hand and stays PAUSED.
    """

    class Meta:
        scopes = (Scope.CONNECTIONS_ADMIN,)
        error_type = SyncStartError
        audit = Audited(
            action="connection.sync",
            record="input.connection_id",
            details=("input.streams", "input.full_refresh"),
        )

    class Arguments:
        input = SyncStartInput(required=True)

    job_id = graphene.String(description="The queued job; null when nothing was queued.")
    connection = graphene.Field("hub.api.connections.types.Connection")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        connection_id = id_argument(
            input["connection_id"], "Connection", "connectionId", Code.INVALID,
            "Not a connection id.",
        )
        ctx = info.context
        row = await ctx.loader(ConnectionByIdLoader).load(connection_id)
        if row is None:
            raise UserError(Code.NOT_FOUND, "No such connection.", "connectionId")
        if row.status == ConnectionStatus.NEEDS_REAUTH:
            why = row.status_message or "the platform refused the stored ones"
            raise UserError(
                Code.NEEDS_REAUTH,
                f"{row.name} needs new credentials before it can sync: {why}",
                "connectionId",
            )
        streams = _streams_of(row.connector, input.get("streams"))
        started = await _running_since(info, connection_id)
        if started is not None:
            raise UserError(
                Code.ALREADY_RUNNING,
                f"{row.name} is syncing (since {started.isoformat()}); wait for it to finish.",
                "connectionId",
            )
        try:
            # Sending to a broker is blocking I/O: off the event loop.
            job_id = await asyncio.to_thread(
                tasks.enqueue_sync, connection_id, streams, bool(input.get("full_refresh"))
            )
        except tasks.QueueFull:
            raise UserError(
                Code.QUEUE_FULL, "Too many jobs are waiting; try again shortly."
            ) from None
        except OperationalError:
            raise UserError(
                Code.QUEUE_UNAVAILABLE, "The job queue cannot be reached; try again shortly."
            ) from None
        return cls(job_id=job_id, connection=row, errors=[])
