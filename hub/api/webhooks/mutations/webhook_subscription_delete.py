"""webhookSubscriptionDelete: stop and forget a subscription with its deliveries and their log."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import delete

from hub.access.scopes import Scope
from hub.api.core.mutations import Mutation
from hub.api.webhooks.dataloaders import subscriptions
from hub.api.webhooks.errors import WebhookError
from hub.api.webhooks.inputs import need, record_id, refuse_partners


class WebhookSubscriptionDelete(Mutation):
    """Delete a subscription; its deliveries and their attempts go with it."""

    class Meta:
        scopes = (Scope.WEBHOOKS_MANAGE,)
        error_type = WebhookError

    class Arguments:
        id = graphene.ID(required=True)

    deleted_id = graphene.ID(description="The global id of the deleted subscription.")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, id: str) -> Any:
        refuse_partners(info)
        subscription_id = record_id(id, "WebhookSubscription", "id")

        async def write(conn: Any) -> Any:
            result = await conn.execute(delete(subscriptions)
                                        .where(subscriptions.c.id == subscription_id))
            need(result.rowcount or None, "webhook subscription", "id")
            return subscription_id

        await info.context.db.transaction(write)
        return cls(deleted_id=id, errors=[])
