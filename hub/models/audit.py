"""The audit log: who read or changed which record, which fields, and when.

Actors are kept as plain ids, not foreign keys: the log must outlive the users,
clients and partners it names, and it is append-only.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, UTCDateTime, new_id, utcnow
from hub.models.enums import enum_type


class ActorKind(enum.StrEnum):
    USER = "USER"
    CLIENT = "CLIENT"
    SYSTEM = "SYSTEM"
    CONNECTOR = "CONNECTOR"


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_kind: Mapped[ActorKind] = mapped_column(enum_type(ActorKind))
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    client_id: Mapped[str | None] = mapped_column(String(64))
    partner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Dotted, record type first: "customer.read_pii", "customer.tag", "case.comment".
    action: Mapped[str] = mapped_column(String(64))
    record_type: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(String(64))
    # The fields read or written, by their GraphQL names.
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))

    # Every listing is newest-first within a filter, so each index ends in the time.
    __table_args__ = (
        Index("ix_audit_events_occurred", "occurred_at", "id"),
        Index("ix_audit_events_client", "client_id", "occurred_at"),
        Index("ix_audit_events_partner", "partner_id", "occurred_at"),
        Index("ix_audit_events_user", "user_id", "occurred_at"),
        Index("ix_audit_events_action", "action", "occurred_at"),
        Index("ix_audit_events_record", "record_type", "record_id", "occurred_at"),
    )
