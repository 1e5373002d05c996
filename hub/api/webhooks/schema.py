"""Root fields of the webhooks domain: wiring only."""

from __future__ import annotations

import graphene

from hub.access.scopes import Scope
from hub.api.core.fields import Field
from hub.api.core.pagination import page_arguments
from hub.api.webhooks.mutations.webhook_redeliver import WebhookRedeliver
from hub.api.webhooks.mutations.webhook_subscription_create import WebhookSubscriptionCreate
from hub.api.webhooks.mutations.webhook_subscription_delete import WebhookSubscriptionDelete
from hub.api.webhooks.mutations.webhook_subscription_update import WebhookSubscriptionUpdate
from hub.api.webhooks.resolvers import (
    SUBSCRIPTION_SORTS,
    resolve_webhook_subscription,
    resolve_webhook_subscriptions,
)
from hub.api.webhooks.types import WebhookSubscriptionConnection


class WebhookQueries(graphene.ObjectType):
    webhook_subscriptions = Field(
        WebhookSubscriptionConnection,
        required=True,
        args={
            **page_arguments(),
            "enabled": graphene.Boolean(description="Only enabled (true) or disabled (false) ones."),
            "order_by": graphene.Argument(SUBSCRIPTION_SORTS.input),
        },
        resolver=resolve_webhook_subscriptions,
        scopes=[Scope.WEBHOOKS_MANAGE],
        description="Outbound webhook subscriptions, oldest first unless ordered otherwise.",
    )
    webhook_subscription = Field(
        "hub.api.webhooks.types.WebhookSubscription",
        id=graphene.ID(required=True),
        resolver=resolve_webhook_subscription,
        scopes=[Scope.WEBHOOKS_MANAGE],
        description="One subscription by global id; null when there is none.",
    )


class WebhookMutations(graphene.ObjectType):
    webhook_subscription_create = WebhookSubscriptionCreate.Field()
    webhook_subscription_update = WebhookSubscriptionUpdate.Field()
    webhook_subscription_delete = WebhookSubscriptionDelete.Field()
    webhook_redeliver = WebhookRedeliver.Field()
