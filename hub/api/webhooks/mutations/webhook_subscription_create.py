"""webhookSubscriptionCreate: a receiver's URL and event types; its secret is returned this once."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import insert

from hub.access.scopes import Scope
from hub.api.core.mutations import Mutation
from hub.api.webhooks.dataloaders import WebhookSubscriptionByIdLoader
from hub.api.webhooks.errors import WebhookError
from hub.api.webhooks.inputs import checked_url, description, event_types, refuse_partners
from hub.events.secrets import new_secret, seal
from hub.models import WebhookSubscription, new_id, utcnow


class WebhookSubscriptionCreateInput(graphene.InputObjectType):
    url = graphene.String(required=True, description="https:// on a public address.")
    event_types = graphene.List(graphene.NonNull(graphene.String), required=True,
                                description="e.g. customer.updated, case.* or *.")
    description = graphene.String()


class WebhookSubscriptionCreate(Mutation):
    """Subscribe a URL to event types; the `whsec_` signing secret is in this payload only."""

    class Meta:
        scopes = (Scope.WEBHOOKS_MANAGE,)
        error_type = WebhookError

    class Arguments:
        input = WebhookSubscriptionCreateInput(required=True)

    subscription = graphene.Field("hub.api.webhooks.types.WebhookSubscription")
    secret = graphene.String(description="The signing secret (whsec_…); shown once.")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        refuse_partners(info)
        ctx = info.context
        types = event_types(input["event_types"])
        note = description(input.get("description"))
        url = await checked_url(info, input["url"])
        secret = new_secret()
        now = utcnow()
        row = {"id": new_id(), "url": url, "description": note, "event_types": types,
               "secret_encrypted": seal(secret, ctx.settings), "enabled": True,
               "consecutive_failures": 0, "created_by_client_id": ctx.principal.client_id,
               "created_at": now, "updated_at": now}

        async def write(conn: Any) -> Any:
            await conn.execute(insert(WebhookSubscription), [row])
            return row["id"]

        created = await ctx.db.transaction(write)
        subscription = await ctx.loader(WebhookSubscriptionByIdLoader).load(created)
        return cls(subscription=subscription, secret=secret.reveal(), errors=[])
