"""Root resolvers of the webhooks domain."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import func, select

from hub.access.rows import visible_rows
from hub.api.core.connections import Sorts
from hub.api.core.node import load_node
from hub.api.core.pagination import PageRequest
from hub.api.webhooks.dataloaders import SUBSCRIPTION_COLUMNS, subscriptions

SUBSCRIPTION_SORTS = Sorts(
    "WebhookSubscription", subscriptions, {"CREATED_AT": "created_at", "URL": "url"},
    ("CREATED_AT", "ASC"),
)


async def resolve_webhook_subscriptions(root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
    ctx = info.context
    page = PageRequest.from_args(ctx.settings.api, **args)
    ordering = SUBSCRIPTION_SORTS.ordering(args.get("order_by"))
    where = visible_rows(ctx.principal, subscriptions)
    if args.get("enabled") is not None:
        where.append(subscriptions.c.enabled.is_(args["enabled"]))
    rows = await ctx.db.all(page.apply(select(*SUBSCRIPTION_COLUMNS).where(*where), ordering))

    async def count() -> int:
        return await ctx.db.scalar(select(func.count()).select_from(subscriptions).where(*where))

    return page.page(rows, ordering, count)


async def resolve_webhook_subscription(root: Any, info: graphene.ResolveInfo, id: str) -> Any:
    return await load_node(info, id, expect="WebhookSubscription")
