"""Subscriptions, deliveries, their events and attempts, one statement per relation per request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select

from hub.access.rows import visible_rows
from hub.api.core.dataloaders import ByIdLoader, ListByKeyLoader
from hub.models import OutboxEvent, WebhookDelivery, WebhookDeliveryAttempt, WebhookSubscription

subscriptions = WebhookSubscription.__table__
deliveries = WebhookDelivery.__table__
attempts = WebhookDeliveryAttempt.__table__
events = OutboxEvent.__table__

# The sealed secret never leaves the database through the API, not even into a loaded row.
SUBSCRIPTION_COLUMNS = tuple(c for c in subscriptions.c if c.name != "secret_encrypted")


class WebhookSubscriptionByIdLoader(ByIdLoader):
    table = subscriptions

    def statement(self, keys: Sequence[Any]) -> Select[Any]:
        return select(*SUBSCRIPTION_COLUMNS).where(
            subscriptions.c.id.in_(keys), *visible_rows(self.ctx.principal, subscriptions))


class WebhookDeliveryByIdLoader(ByIdLoader):
    table = deliveries


class OutboxEventByIdLoader(ByIdLoader):
    table = events


class AttemptsByDeliveryLoader(ListByKeyLoader):
    table = attempts
    key = "delivery_id"
    order = ("attempted_at", "id")
