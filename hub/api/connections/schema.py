"""Root fields of the connections domain: wiring only."""

from __future__ import annotations

import graphene

from hub.access.scopes import Scope
from hub.api.connections.filters import ConnectionFilter
from hub.api.connections.mutations.sync_start import SyncStart
from hub.api.connections.resolvers import (
    CONNECTION_SORTS,
    resolve_connection,
    resolve_connections,
)
from hub.api.connections.types import ConnectionConnection
from hub.api.core.fields import Field
from hub.api.core.pagination import page_arguments


class ConnectionQueries(graphene.ObjectType):
    connections = Field(
        ConnectionConnection,
        required=True,
        args={
            **page_arguments(),
            "filter": graphene.Argument(ConnectionFilter),
            "order_by": graphene.Argument(CONNECTION_SORTS.input),
        },
        resolver=resolve_connections,
        scopes=[Scope.CONNECTIONS_ADMIN],
        description="The configured connections, by name unless ordered otherwise.",
    )
    connection = Field(
        "hub.api.connections.types.Connection",
        id=graphene.ID(required=True),
        resolver=resolve_connection,
        scopes=[Scope.CONNECTIONS_ADMIN],
        description="One connection by global id; null when it does not exist.",
    )


class ConnectionMutations(graphene.ObjectType):
    sync_start = SyncStart.Field()
