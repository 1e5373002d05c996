"""Write-back: a change the hub carries to a platform, queued in the transaction that made it."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, UTCDateTime, new_id, utcnow
from hub.models.enums import enum_type


class WriteBackStatus(enum.StrEnum):
    PENDING = "PENDING"  # waiting for its first run, or for the connection to be usable again
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"  # the platform failed for now (429, 5xx, unreachable): retried later
    DEAD = "DEAD"  # refused for good (bad request, gone) or out of attempts: never run again


class WriteBack(Base):
    """One run of one connector write action, with its idempotency key and its outcome.

    ``params`` is the action's validated input: ids, tags, a status, a reply's text;
    never credentials. ``last_error`` is redacted by the connector session.
    """

    __tablename__ = "write_backs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    connection_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("connections.id", ondelete="CASCADE")
    )
    action: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[WriteBackStatus] = mapped_column(
        enum_type(WriteBackStatus), default=WriteBackStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    # Who asked: kept as plain ids, like the audit log, so that it outlives them.
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    requested_by_client_id: Mapped[str | None] = mapped_column(String(64))
    requested_by_partner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The customer whose change it carries, when there is one (not a foreign key: an erased
    # customer's write-backs stay as the record of what was sent).
    customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("connection_id", "idempotency_key"),
        Index("ix_write_backs_connection_created", "connection_id", "created_at", "id"),
        Index("ix_write_backs_status_next", "status", "next_attempt_at"),
    )
