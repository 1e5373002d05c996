"""Root resolvers of the webhooks domain."""

from __future__ import annotations

from typing import Any

import graphene

from hub.access.rows import visible_rows
from hub.api.core.connections import Sorts, root_page
from hub.api.core.node import load_node
from hub.api.webhooks.dataloaders import SUBSCRIPTION_COLUMNS, subscriptions

SUBSCRIPTION_SORTS = Sorts(
    "WebhookSubscription", subscriptions, {"CREATED_AT": "created_at", "URL": "url"},
    ("CREATED_AT", "ASC"),
)


async def resolve_webhook_subscriptions(root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
    where = visible_rows(info.context.principal, subscriptions)
    if args.get("enabled") is not None:
        where.append(subscriptions.c.enabled.is_(args["enabled"]))
    return await root_page(
        info, args, SUBSCRIPTION_SORTS, subscriptions, where, columns=SUBSCRIPTION_COLUMNS)


async def resolve_webhook_subscription(root: Any, info: graphene.ResolveInfo, id: str) -> Any:
    return await load_node(info, id, expect="WebhookSubscription")
