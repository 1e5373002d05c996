"""Connections to other platforms, and what syncing them left behind.

Every entry point (``connections``, ``connection``, ``node``, ``syncStart``)
needs ``connections:admin``; a dead letter's raw payload may hold a person's
data and needs ``customers:read_pii`` as well.
"""

from __future__ import annotations

from typing import Any

import graphene
from graphene.types.generic import GenericScalar

from hub.access.scopes import Scope
from hub.api.connections.dataloaders import (
    ConnectionByIdLoader,
    StreamStatesByConnectionLoader,
    SyncRunByIdLoader,
    dead_letters,
    sync_runs,
)
from hub.api.connections.enums import ConnectionStatusEnum, SyncRunStatusEnum
from hub.api.connections.filters import (
    DeadLetterFilter,
    SyncRunFilter,
    dead_letter_filters,
    sync_run_filters,
)
from hub.api.core.connections import Sorts, relation_field
from hub.api.core.dataloaders import Relation
from hub.api.core.fields import scoped
from hub.api.core.node import NodeObjectType
from hub.api.core.pagination import CountableConnection
from hub.api.core.scalars import DateTime
from hub.api.writeback.types import (
    WRITE_BACK_SORTS,
    WRITE_BACKS_OF_CONNECTION,
    WriteBackConnection,
    WriteBackFilter,
)

ADMIN = (Scope.CONNECTIONS_ADMIN,)


class StreamState(graphene.ObjectType):
    """Where one stream of a connection got to: the next sync starts from its bookmark."""

    name = graphene.String(required=True, description="The stream, e.g. customers.")
    bookmark = GenericScalar(description="The stream's position, as its connector keeps it (JSON).")
    updated_at = graphene.Field(DateTime, required=True)

    @staticmethod
    def resolve_name(root: Any, info: graphene.ResolveInfo) -> str:
        return root.stream


class SyncRunCounts(graphene.ObjectType):
    """What one run did with the records it read."""

    read = graphene.Int(required=True)
    created = graphene.Int(required=True)
    updated = graphene.Int(required=True)
    unchanged = graphene.Int(required=True)
    deleted = graphene.Int(
        required=True, description="Tombstoned, by the platform or a full refresh."
    )
    failed = graphene.Int(required=True, description="Sent to the dead letters.")


class SyncRun(NodeObjectType):
    """One run of one stream of a connection."""

    node_loader = SyncRunByIdLoader
    node_scopes = ADMIN

    connection = graphene.Field(lambda: Connection, required=True)
    stream = graphene.String(description="Null for a run of the whole connection.")
    status = graphene.Field(SyncRunStatusEnum, required=True)
    full_refresh = graphene.Boolean(required=True)
    counts = graphene.Field(SyncRunCounts, required=True)
    error = graphene.String(
        description="Why the run failed or what it skipped; secrets are masked."
    )
    started_at = graphene.Field(DateTime, required=True)
    finished_at = graphene.Field(DateTime)

    @staticmethod
    async def resolve_connection(root: Any, info: graphene.ResolveInfo) -> Any:
        return await info.context.loader(ConnectionByIdLoader).load(root.connection_id)

    @staticmethod
    def resolve_counts(root: Any, info: graphene.ResolveInfo) -> SyncRunCounts:
        return SyncRunCounts(
            read=root.records_read,
            created=root.records_created,
            updated=root.records_updated,
            unchanged=root.records_unchanged,
            deleted=root.records_deleted,
            failed=root.records_failed,
        )


class SyncRunConnection(CountableConnection):
    class Meta:
        node = SyncRun


class DeadLetter(graphene.ObjectType):
    """A record that could not be mapped or written, kept whole until someone deals with it."""

    id = graphene.ID(required=True)
    stream = graphene.String(required=True)
    external_id = graphene.String(description="Null when the mapping failed before naming it.")
    error = graphene.String(required=True, description="Secrets are masked.")
    payload = scoped(
        GenericScalar,
        scopes=(*ADMIN, Scope.CUSTOMERS_READ_PII),
        description="The raw record as the platform sent it (JSON); it may hold personal data.",
    )
    sync_run = graphene.Field(SyncRun, description="The run that met it; null once pruned.")
    created_at = graphene.Field(DateTime, required=True)
    resolved_at = graphene.Field(DateTime)

    @staticmethod
    def resolve_id(root: Any, info: graphene.ResolveInfo) -> str:
        return root.id.hex

    @staticmethod
    async def resolve_sync_run(root: Any, info: graphene.ResolveInfo) -> Any:
        if root.sync_run_id is None:
            return None
        return await info.context.loader(SyncRunByIdLoader).load(root.sync_run_id)


class DeadLetterConnection(CountableConnection):
    class Meta:
        node = DeadLetter


SYNC_RUN_SORTS = Sorts("SyncRun", sync_runs, {"STARTED_AT": "started_at"}, ("STARTED_AT", "DESC"))
SYNC_RUNS_OF_CONNECTION = Relation(
    sync_runs, "connection_id", SYNC_RUN_SORTS.orderings, sync_run_filters
)
DEAD_LETTER_SORTS = Sorts(
    "DeadLetter", dead_letters, {"CREATED_AT": "created_at"}, ("CREATED_AT", "DESC")
)
DEAD_LETTERS_OF_CONNECTION = Relation(
    dead_letters, "connection_id", DEAD_LETTER_SORTS.orderings, dead_letter_filters
)


class Connection(NodeObjectType):
    """A configured connector: one shop, one audience, one Facebook Page. Its credentials are never shown."""

    node_loader = ConnectionByIdLoader
    node_scopes = ADMIN

    name = graphene.String(required=True)
    connector = graphene.String(required=True, description="shopify, mailchimp, facebook, ...")
    config = GenericScalar(
        required=True,
        description="The connector's settings (JSON); secrets live in the credentials.",
    )
    schedule = graphene.String(description="When it syncs (cron, UTC); null: only when asked.")
    status = graphene.Field(ConnectionStatusEnum, required=True)
    status_message = graphene.String(description="What the last sync said, e.g. why it failed.")
    created_at = graphene.Field(DateTime, required=True)
    updated_at = graphene.Field(DateTime, required=True)
    streams = graphene.List(
        graphene.NonNull(StreamState),
        required=True,
        description="The streams synced so far and their bookmarks, by name.",
    )
    sync_runs = relation_field(
        SyncRunConnection,
        SYNC_RUNS_OF_CONNECTION,
        SYNC_RUN_SORTS,
        filter_input=SyncRunFilter,
        description="Runs of this connection's streams, newest first unless ordered otherwise.",
    )
    dead_letters = relation_field(
        DeadLetterConnection,
        DEAD_LETTERS_OF_CONNECTION,
        DEAD_LETTER_SORTS,
        filter_input=DeadLetterFilter,
        description="Records its syncs could not store, newest first unless ordered otherwise.",
    )
    write_backs = relation_field(
        WriteBackConnection,
        WRITE_BACKS_OF_CONNECTION,
        WRITE_BACK_SORTS,
        filter_input=WriteBackFilter,
        description="Changes sent (or on their way) to the platform, newest first unless "
        "ordered otherwise.",
    )

    @staticmethod
    async def resolve_streams(root: Any, info: graphene.ResolveInfo) -> list[Any]:
        return await info.context.loader(StreamStatesByConnectionLoader).load(root.id)


class ConnectionConnection(CountableConnection):
    class Meta:
        node = Connection
