"""Outbound webhooks: the event outbox, subscriptions, one delivery per subscription and event,
and the log of every attempt (docs/events.md)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, UTCDateTime, new_id, utcnow
from hub.models.enums import enum_type


class WebhookDeliveryStatus(enum.StrEnum):
    PENDING = "PENDING"  # waiting for its (next) attempt
    DELIVERED = "DELIVERED"  # the receiver answered 2xx
    FAILED = "FAILED"  # given up after max_attempts; webhookRedeliver sends it again


class OutboxEvent(Base):
    """One change, written in the transaction of the change; its id is the ``webhook-id``."""

    __tablename__ = "outbox_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the event is about (a customer, a case, a connection), for looking events up.
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Set once deliveries exist for every matching subscription; the sweep fans out the rest.
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_outbox_events_fanned_out_at", "fanned_out_at", "occurred_at"),
        Index("ix_outbox_events_subject", "subject_type", "subject_id"),
    )


class WebhookSubscription(Base):
    """A receiver's URL, the event types it wants, and the secret its deliveries are signed with."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The ``whsec_…`` secret sealed with the hub's secret keys (MultiFernet), shown once.
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(1000))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # The first failed attempt since the last success; persistent failure disables.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_client_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """One event for one subscription: delivered once, retried with backoff until then."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("outbox_events.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[WebhookDeliveryStatus] = mapped_column(
        enum_type(WebhookDeliveryStatus), default=WebhookDeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the next attempt may start; a worker taking the delivery pushes it forward (a lease).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )


class WebhookDeliveryAttempt(Base):
    """One POST of a delivery: what came back, how long it took, or why it failed."""

    __tablename__ = "webhook_delivery_attempts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    # Safe to show: the secret is never part of a request, a response or an error here.
    error: Mapped[str | None] = mapped_column(Text)
    response_excerpt: Mapped[str | None] = mapped_column(String(1000))

    __table_args__ = (
        Index("ix_webhook_delivery_attempts_delivery", "delivery_id", "attempted_at"),
    )
