"""webhookRedeliver: send a delivery again, or an event again to its subscriptions.

Given a delivery, that delivery is made due now, whatever its status. Given an
event (its ``webhook-id``), every delivery made of it is; with a subscription as
well, the event goes to that subscription, even one made after the event. The next
sweep sends them (within ``[webhooks] sweep_interval_seconds``), with the event's
own ``webhook-id``, so receivers that already have it can tell.
"""

from __future__ import annotations

import uuid
from typing import Any

import graphene
from sqlalchemy import select

from hub.access.scopes import Scope
from hub.api.core.audited import Audited
from hub.api.core.mutations import Mutation, UserError
from hub.api.webhooks.dataloaders import (
    WebhookDeliveryByIdLoader,
    deliveries,
    events,
    subscriptions,
)
from hub.api.webhooks.errors import WebhookError, WebhookErrorCode
from hub.api.webhooks.inputs import need, record_id, refuse_partners
from hub.events.delivery import ensure_delivery, redeliver


class WebhookRedeliverInput(graphene.InputObjectType):
    delivery_id = graphene.ID(description="A delivery to send again.")
    event_id = graphene.ID(description="An event (its webhook-id) to send again.")
    subscription_id = graphene.ID(description="With eventId: only to this subscription.")


class WebhookRedeliver(Mutation):
    """Send a delivery, or an event, again soon."""

    class Meta:
        scopes = (Scope.WEBHOOKS_MANAGE,)
        error_type = WebhookError
        audit = Audited(action="webhook_delivery.redeliver", record_type="webhook_delivery",
                        details=("input.event_id",))

    class Arguments:
        input = WebhookRedeliverInput(required=True)

    deliveries = graphene.List(graphene.NonNull("hub.api.webhooks.types.WebhookDelivery"),
                               description="The deliveries that will be sent.")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        refuse_partners(info)
        ctx = info.context
        delivery_id = input.get("delivery_id")
        event_id = input.get("event_id")
        if (delivery_id is None) == (event_id is None):
            raise UserError(WebhookErrorCode.INVALID, "Give a deliveryId or an eventId.")
        if delivery_id is not None:
            ids = [record_id(delivery_id, "WebhookDelivery", "deliveryId")]
            event_uuid = subscription_id = None
        else:
            ids = []
            event_uuid = _uuid(event_id)
            subscription_id = (record_id(input["subscription_id"], "WebhookSubscription",
                                         "subscriptionId")
                               if input.get("subscription_id") else None)

        chosen: list[uuid.UUID] = list(ids)

        async def write(conn: Any) -> Any:
            if event_uuid is not None:
                chosen[:] = await _deliveries_of_event(conn, event_uuid, subscription_id)
            found = await conn.run_sync(redeliver, chosen)
            need(found or None, "webhook delivery", "deliveryId")
            return chosen[0]

        await ctx.db.transaction(write)
        rows = await ctx.loader(WebhookDeliveryByIdLoader).load_many(chosen)
        return cls(deliveries=[row for row in rows if row is not None], errors=[])


async def _deliveries_of_event(conn: Any, event_id: uuid.UUID,
                               subscription_id: uuid.UUID | None) -> list[uuid.UUID]:
    need(await conn.scalar(select(events.c.id).where(events.c.id == event_id)),
         "event", "eventId")
    if subscription_id is not None:
        need(await conn.scalar(select(subscriptions.c.id)
                               .where(subscriptions.c.id == subscription_id)),
             "webhook subscription", "subscriptionId")
        return [await conn.run_sync(ensure_delivery, subscription_id, event_id)]
    found = list(await conn.scalars(select(deliveries.c.id)
                                    .where(deliveries.c.event_id == event_id)
                                    .order_by(deliveries.c.created_at, deliveries.c.id)))
    if not found:
        raise UserError(WebhookErrorCode.NOT_FOUND, "No subscription got this event; name one "
                        "(subscriptionId) to send it there.", "eventId")
    return found


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise UserError(WebhookErrorCode.NOT_FOUND, f"{value!r} is not an event id.",
                        "eventId") from None
