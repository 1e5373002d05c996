"""Root resolvers of the connections domain: plain functions of the request."""

from __future__ import annotations

from typing import Any

import graphene

from hub.api.connections.dataloaders import CONNECTION_COLUMNS, connections
from hub.api.connections.filters import connection_filters
from hub.api.core.connections import Sorts, root_page
from hub.api.core.node import load_node
from hub.api.core.pagination import Page

CONNECTION_SORTS = Sorts(
    "Connection",
    connections,
    {"NAME": "name", "CREATED_AT": "created_at"},
    ("NAME", "ASC"),
)


async def resolve_connections(root: Any, info: graphene.ResolveInfo, **args: Any) -> Page:
    where = connection_filters(args.get("filter"))
    return await root_page(
        info, args, CONNECTION_SORTS, connections, where, columns=CONNECTION_COLUMNS
    )


async def resolve_connection(root: Any, info: graphene.ResolveInfo, id: str) -> Any:
    return await load_node(info, id, expect="Connection")
