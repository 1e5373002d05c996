"""Root resolvers of the partners domain."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import func, select

from hub.access.rows import visible_rows
from hub.api.core.connections import Sorts
from hub.api.core.node import load_node
from hub.api.core.pagination import PageRequest
from hub.api.partners.dataloaders import partners

PARTNER_SORTS = Sorts(
    "Partner", partners, {"NAME": "name", "CREATED_AT": "created_at"}, ("NAME", "ASC")
)


async def resolve_partners(root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
    ctx = info.context
    page = PageRequest.from_args(ctx.settings.api, **args)
    ordering = PARTNER_SORTS.ordering(args.get("order_by"))
    where = visible_rows(ctx.principal, partners)
    if args.get("kind") is not None:
        where.append(partners.c.kind == getattr(args["kind"], "value", args["kind"]))
    rows = await ctx.db.all(page.apply(select(partners).where(*where), ordering))

    async def count() -> int:
        return await ctx.db.scalar(select(func.count()).select_from(partners).where(*where))

    return page.page(rows, ordering, count)


async def resolve_partner(root: Any, info: graphene.ResolveInfo, id: str) -> Any:
    return await load_node(info, id, expect="Partner")
