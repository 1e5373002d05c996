"""What customers said and did: the timeline, service cases, feedback and consent."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, UTCDateTime, new_id, utcnow
from hub.models.enums import (
    CaseCategory,
    CasePriority,
    CaseStatus,
    Channel,
    CommentVisibility,
    ConsentPurpose,
    ConsentStatus,
    Direction,
    FeedbackKind,
    InteractionKind,
    enum_type,
)


class Interaction(Base):
    __tablename__ = "interactions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="CASCADE")
    )
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    kind: Mapped[InteractionKind] = mapped_column(enum_type(InteractionKind))
    direction: Mapped[Direction] = mapped_column(enum_type(Direction))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(2000))
    source_record_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("source_records.id", ondelete="SET NULL")
    )

    __table_args__ = (
        Index("ix_interactions_customer_occurred", "customer_id", "occurred_at", "id"),
    )


class Case(Base):
    """A service case: a complaint, question, request or incident."""

    __tablename__ = "cases"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="CASCADE")
    )
    subject: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[CaseStatus] = mapped_column(enum_type(CaseStatus), default=CaseStatus.NEW)
    priority: Mapped[CasePriority] = mapped_column(
        enum_type(CasePriority), default=CasePriority.NORMAL
    )
    category: Mapped[CaseCategory] = mapped_column(enum_type(CaseCategory))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shared_with_partner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("partners.id", ondelete="SET NULL"), index=True
    )
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Set while the case is PENDING: the resolution clock stands still from then on.
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How long the resolution clock has stood still so far, in (business) seconds.
    resolution_paused_seconds: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0"
    )
    # The inbound interaction a complaint rule opened this case for; at most one case each.
    source_interaction_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("interactions.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_cases_customer_created", "customer_id", "created_at", "id"),
        Index("ix_cases_status", "status", "created_at"),
    )


class CaseCounter(Base):
    """The last case number issued, one row per counter (``case``).

    Taking a number updates the row in the case's own transaction, so numbers
    are unique and gapless on both backends; the row lock makes concurrent
    openers take turns for the rest of their transaction.
    """

    __tablename__ = "case_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class CaseComment(Base):
    __tablename__ = "case_comments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("cases.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    visibility: Mapped[CommentVisibility] = mapped_column(
        enum_type(CommentVisibility), default=CommentVisibility.INTERNAL
    )
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    author_client_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("oauth_clients.client_id", ondelete="SET NULL")
    )
    author_partner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("partners.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_case_comments_case_created", "case_id", "created_at", "id"),)


class Feedback(Base):
    """A satisfaction score or review: NPS 0-10, CSAT 1-5, or a review on its own scale."""

    __tablename__ = "feedback"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="CASCADE")
    )
    kind: Mapped[FeedbackKind] = mapped_column(enum_type(FeedbackKind))
    score: Mapped[int] = mapped_column(Integer)
    scale_max: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("cases.id", ondelete="SET NULL")
    )
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("orders.id", ondelete="SET NULL")
    )
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("partners.id", ondelete="SET NULL"), index=True
    )
    source_record_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("source_records.id", ondelete="SET NULL")
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_feedback_customer_occurred", "customer_id", "occurred_at", "id"),
        Index("ix_feedback_kind_occurred", "kind", "occurred_at"),
    )


class Consent(Base):
    """One recorded consent decision; the newest per purpose is in force."""

    __tablename__ = "consents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="CASCADE")
    )
    purpose: Mapped[ConsentPurpose] = mapped_column(enum_type(ConsentPurpose))
    status: Mapped[ConsentStatus] = mapped_column(enum_type(ConsentStatus))
    source: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_consents_customer_purpose", "customer_id", "purpose", "recorded_at"),
    )
