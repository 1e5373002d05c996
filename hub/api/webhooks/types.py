"""Webhook subscriptions as their managers see them; the secret is never shown after creation.

Partners see none of these rows (``hub.access.rows`` has no rule for them).
"""

from __future__ import annotations

from typing import Any

import graphene
from graphene.types.generic import GenericScalar
from sqlalchemy import ColumnElement

from hub.access.scopes import Scope
from hub.api.core.connections import Sorts, relation_field
from hub.api.core.dataloaders import Relation
from hub.api.core.node import NodeObjectType
from hub.api.core.pagination import CountableConnection
from hub.api.core.scalars import DateTime
from hub.api.webhooks.dataloaders import (
    AttemptsByDeliveryLoader,
    OutboxEventByIdLoader,
    WebhookDeliveryByIdLoader,
    WebhookSubscriptionByIdLoader,
    deliveries,
)
from hub.models import WebhookDeliveryStatus

MANAGE = (Scope.WEBHOOKS_MANAGE,)

WebhookDeliveryStatusEnum = graphene.Enum.from_enum(
    WebhookDeliveryStatus,
    name="WebhookDeliveryStatus",
    description="PENDING (waiting for its next attempt), DELIVERED (answered 2xx) or FAILED "
    "(out of attempts; webhookRedeliver sends it again).",
)


class WebhookEvent(graphene.ObjectType):
    """One change as the outbox holds it; ``id`` is the ``webhook-id`` of every delivery of it."""

    id = graphene.ID(required=True)
    type = graphene.String(required=True, description="e.g. customer.updated (docs/events.md).")
    occurred_at = graphene.Field(DateTime, required=True)
    data = GenericScalar(required=True, description="The payload's data (JSON).")

    @staticmethod
    def resolve_id(root: Any, info: graphene.ResolveInfo) -> str:
        return str(root.id)

    @staticmethod
    def resolve_data(root: Any, info: graphene.ResolveInfo) -> Any:
        return root.payload


class WebhookDeliveryAttempt(graphene.ObjectType):
    """One POST of a delivery."""

    attempted_at = graphene.Field(DateTime, required=True)
    succeeded = graphene.Boolean(required=True)
    status_code = graphene.Int(description="Null when no answer came (refused, timeout, ...).")
    duration_ms = graphene.Int(required=True)
    error = graphene.String(description="Why it failed.")
    response_excerpt = graphene.String(description="The start of the receiver's answer.")


class WebhookDelivery(NodeObjectType):
    """One event for one subscription, retried with backoff until it is delivered."""

    node_loader = WebhookDeliveryByIdLoader
    node_scopes = MANAGE

    subscription = graphene.Field(lambda: WebhookSubscription, required=True)
    event = graphene.Field(WebhookEvent, required=True)
    status = graphene.Field(WebhookDeliveryStatusEnum, required=True)
    attempt_count = graphene.Int(required=True)
    next_attempt_at = graphene.Field(DateTime, description="When a PENDING one is tried next.")
    last_attempt_at = graphene.Field(DateTime)
    delivered_at = graphene.Field(DateTime)
    created_at = graphene.Field(DateTime, required=True)
    attempts = graphene.List(graphene.NonNull(WebhookDeliveryAttempt), required=True,
                             description="Every attempt, oldest first.")

    @staticmethod
    async def resolve_subscription(root: Any, info: graphene.ResolveInfo) -> Any:
        return await info.context.loader(WebhookSubscriptionByIdLoader).load(root.subscription_id)

    @staticmethod
    async def resolve_event(root: Any, info: graphene.ResolveInfo) -> Any:
        return await info.context.loader(OutboxEventByIdLoader).load(root.event_id)

    @staticmethod
    def resolve_attempt_count(root: Any, info: graphene.ResolveInfo) -> int:
        return root.attempts

    @staticmethod
    async def resolve_attempts(root: Any, info: graphene.ResolveInfo) -> list[Any]:
        return await info.context.loader(AttemptsByDeliveryLoader).load(root.id)


class WebhookDeliveryConnection(CountableConnection):
    class Meta:
        node = WebhookDelivery


class WebhookDeliveryFilter(graphene.InputObjectType):
    statuses = graphene.List(graphene.NonNull(WebhookDeliveryStatusEnum))


def delivery_filters(key: tuple[tuple[str, Any], ...]) -> list[ColumnElement[bool]]:
    f = dict(key)
    if f.get("statuses"):
        return [deliveries.c.status.in_([getattr(s, "value", s) for s in f["statuses"]])]
    return []


DELIVERY_SORTS = Sorts(
    "WebhookDelivery", deliveries, {"CREATED_AT": "created_at"}, ("CREATED_AT", "DESC")
)
DELIVERIES_OF_SUBSCRIPTION = Relation(
    deliveries, "subscription_id", DELIVERY_SORTS.orderings, delivery_filters
)


class WebhookSubscription(NodeObjectType):
    """A receiver's URL and the event types it gets, signed with its ``whsec_`` secret."""

    node_loader = WebhookSubscriptionByIdLoader
    node_scopes = MANAGE

    url = graphene.String(required=True)
    description = graphene.String()
    event_types = graphene.List(graphene.NonNull(graphene.String), required=True,
                                description="Event types, `case.*` for a family or `*` for all.")
    enabled = graphene.Boolean(required=True)
    disabled_reason = graphene.String(description="Why it was disabled, by whom or by failures.")
    disabled_at = graphene.Field(DateTime)
    consecutive_failures = graphene.Int(required=True)
    failing_since = graphene.Field(DateTime, description="The first failure since the last success.")
    created_at = graphene.Field(DateTime, required=True)
    updated_at = graphene.Field(DateTime, required=True)
    deliveries = relation_field(
        WebhookDeliveryConnection,
        DELIVERIES_OF_SUBSCRIPTION,
        DELIVERY_SORTS,
        filter_input=WebhookDeliveryFilter,
        description="Its deliveries, newest first unless ordered otherwise.",
    )


class WebhookSubscriptionConnection(CountableConnection):
    class Meta:
        node = WebhookSubscription
