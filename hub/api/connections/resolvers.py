"""Root resolvers of the connections domain: plain functions of the request."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import func, select

from hub.api.connections.dataloaders import CONNECTION_COLUMNS, connections
from hub.api.connections.filters import connection_filters
from hub.api.core.connections import Sorts
from hub.api.core.node import load_node
from hub.api.core.pagination import Page, PageRequest

CONNECTION_SORTS = Sorts(
    "Connection",
    connections,
    {"NAME": "name", "CREATED_AT": "created_at"},
    ("NAME", "ASC"),
)


async def resolve_connections(root: Any, info: graphene.ResolveInfo, **args: Any) -> Page:
    ctx = info.context
    page = PageRequest.from_args(ctx.settings.api, **args)
    ordering = CONNECTION_SORTS.ordering(args.get("order_by"))
    where = connection_filters(args.get("filter"))
    rows = await ctx.db.all(page.apply(select(*CONNECTION_COLUMNS).where(*where), ordering))

    async def count() -> int:
        return await ctx.db.scalar(select(func.count()).select_from(connections).where(*where))

    return page.page(rows, ordering, count)


async def resolve_connection(root: Any, info: graphene.ResolveInfo, id: str) -> Any:
    return await load_node(info, id, expect="Connection")
