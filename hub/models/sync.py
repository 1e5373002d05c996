"""What syncing leaves behind: bookmarks, runs, records that failed, and the webhook inbox."""

from __future__ import annotations

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
from hub.models.enums import SyncRunStatus, enum_type


class StreamState(Base):
    """Where a stream of a connection got to; written in the transaction of the records it covers."""

    __tablename__ = "stream_states"

    connection_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(100), primary_key=True)
    bookmark: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncRun(Base):
    """One run of one stream (or of a whole connection when ``stream`` is null)."""

    __tablename__ = "sync_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    connection_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("connections.id", ondelete="CASCADE")
    )
    stream: Mapped[str | None] = mapped_column(String(100))
    full_refresh: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[SyncRunStatus] = mapped_column(
        enum_type(SyncRunStatus), default=SyncRunStatus.RUNNING
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    records_read: Mapped[int] = mapped_column(Integer, default=0)
    records_created: Mapped[int] = mapped_column(Integer, default=0)
    records_updated: Mapped[int] = mapped_column(Integer, default=0)
    records_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    records_deleted: Mapped[int] = mapped_column(Integer, default=0)
    records_failed: Mapped[int] = mapped_column(Integer, default=0)
    # Safe to show: secrets are redacted before the message is stored.
    error: Mapped[str | None] = mapped_column(Text)
    # The lease of a RUNNING run: who runs it, and when it last showed life
    # (hub/sync/heartbeat.py); a run whose process died is finished as abandoned.
    worker: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_sync_runs_connection_stream_started", "connection_id", "stream", "started_at"),
        Index("ix_sync_runs_status", "status", "started_at"),
    )


class DeadLetter(Base):
    """A record that could not be mapped or written, kept whole so that nothing is lost."""

    __tablename__ = "dead_letters"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    sync_run_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("sync_runs.id", ondelete="SET NULL"), index=True
    )
    connection_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("connections.id", ondelete="CASCADE")
    )
    stream: Mapped[str] = mapped_column(String(100))
    # Null when the mapping failed before it could say which record this is.
    external_id: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[Any] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_dead_letters_connection_stream", "connection_id", "stream", "resolved_at"),
    )


class InboundEvent(Base):
    """A verified webhook delivery, stored before it is acknowledged and processed at most once."""

    __tablename__ = "inbound_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    connection_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("connections.id", ondelete="CASCADE")
    )
    provider_event_id: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(200))
    # Signature and authorization headers are dropped before storing.
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("connection_id", "provider_event_id"),
        Index("ix_inbound_events_pending", "processed_at", "received_at"),
    )
