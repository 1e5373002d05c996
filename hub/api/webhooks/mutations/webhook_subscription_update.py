"""webhookSubscriptionUpdate: change the URL or event types, enable or disable, rotate the secret.

Disabling stops deliveries: pending ones wait, events meanwhile are not queued for it
(``webhookRedeliver`` can send them). Enabling clears the failure counters and resumes
the pending deliveries. A rotated secret signs every delivery from then on and is returned once.
"""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import select, update

from hub.access.scopes import Scope
from hub.api.core.mutations import Mutation
from hub.api.webhooks.dataloaders import WebhookSubscriptionByIdLoader, subscriptions
from hub.api.webhooks.errors import WebhookError
from hub.api.webhooks.inputs import (
    checked_url,
    description,
    event_types,
    need,
    record_id,
    refuse_partners,
)
from hub.events.secrets import new_secret, seal
from hub.models import utcnow


class WebhookSubscriptionUpdateInput(graphene.InputObjectType):
    id = graphene.ID(required=True)
    url = graphene.String()
    event_types = graphene.List(graphene.NonNull(graphene.String))
    description = graphene.String()
    enabled = graphene.Boolean(
        description="false: no more deliveries; its pending ones wait, and events meanwhile are "
        "not queued for it (webhookRedeliver sends them). true: resume.")
    rotate_secret = graphene.Boolean(description="Make a new secret, returned in the payload.")


class WebhookSubscriptionUpdate(Mutation):
    """Change a subscription; a new secret (rotateSecret) is in this payload only."""

    class Meta:
        scopes = (Scope.WEBHOOKS_MANAGE,)
        error_type = WebhookError

    class Arguments:
        input = WebhookSubscriptionUpdateInput(required=True)

    subscription = graphene.Field("hub.api.webhooks.types.WebhookSubscription")
    secret = graphene.String(description="The new secret when rotated; shown once.")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        refuse_partners(info)
        ctx = info.context
        subscription_id = record_id(input["id"], "WebhookSubscription", "id")
        now = utcnow()
        values: dict[str, Any] = {"updated_at": now}
        if input.get("url") is not None:
            values["url"] = await checked_url(info, input["url"])
        if input.get("event_types") is not None:
            values["event_types"] = event_types(input["event_types"])
        if "description" in input:
            values["description"] = description(input.get("description"))
        if input.get("enabled") is True:
            values.update(enabled=True, disabled_reason=None, disabled_at=None,
                          consecutive_failures=0, failing_since=None)
        elif input.get("enabled") is False:
            values.update(enabled=False, disabled_at=now,
                          disabled_reason=f"disabled by {ctx.principal.client_id}")
        secret = new_secret() if input.get("rotate_secret") else None
        if secret is not None:
            values["secret_encrypted"] = seal(secret, ctx.settings)

        async def write(conn: Any) -> Any:
            found = await conn.scalar(select(subscriptions.c.id)
                                      .where(subscriptions.c.id == subscription_id))
            need(found, "webhook subscription", "id")
            await conn.execute(update(subscriptions)
                               .where(subscriptions.c.id == subscription_id).values(**values))
            return subscription_id

        await ctx.db.transaction(write)
        row = await ctx.loader(WebhookSubscriptionByIdLoader).load(subscription_id)
        return cls(subscription=row, secret=secret.reveal() if secret else None, errors=[])
