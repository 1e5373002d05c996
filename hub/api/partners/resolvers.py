"""Root resolvers of the partners domain."""

from __future__ import annotations

from typing import Any

import graphene

from hub.access.rows import visible_rows
from hub.api.core.connections import Sorts, root_page
from hub.api.core.node import load_node
from hub.api.partners.dataloaders import partners

PARTNER_SORTS = Sorts(
    "Partner", partners, {"NAME": "name", "CREATED_AT": "created_at"}, ("NAME", "ASC")
)


async def resolve_partners(root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
    where = visible_rows(info.context.principal, partners)
    if args.get("kind") is not None:
        where.append(partners.c.kind == getattr(args["kind"], "value", args["kind"]))
    return await root_page(info, args, PARTNER_SORTS, partners, where)


async def resolve_partner(root: Any, info: graphene.ResolveInfo, id: str) -> Any:
    return await load_node(info, id, expect="Partner")
