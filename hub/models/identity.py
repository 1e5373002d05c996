"""Merges, their undo, review suggestions and the provenance of the golden record (DESIGN §5).

- ``SourceProfile``: what one source record says a person is called (and their
  locale), as the source gave it; the candidates survivorship picks from.
- ``FieldProvenance``: per customer and golden-record field, which source's
  value won, by which rule, and when that value was given.
- ``CustomerMerge``: one merge, with what an exact unmerge needs: a snapshot
  of both customers' rows, tags and provenance as they were, and the ids of
  every row that moved.
- ``MergeSuggestion``: a pair in the probabilistic review band, with the
  evidence (each field's comparison level and weight), waiting for a person.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, UTCDateTime, new_id, utcnow
from hub.models.enums import CustomerKind, enum_type


class MergeSuggestionStatus(enum.StrEnum):
    OPEN = "OPEN"
    MERGED = "MERGED"
    DISMISSED = "DISMISSED"


class SourceProfile(Base):
    __tablename__ = "source_profiles"

    source_record_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("source_records.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[CustomerKind] = mapped_column(enum_type(CustomerKind), default=CustomerKind.PERSON)
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    organization_name: Mapped[str | None] = mapped_column(String(300))
    locale: Mapped[str | None] = mapped_column(String(35))
    # When the source says it last changed the person (else when the hub saw it).
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FieldProvenance(Base):
    __tablename__ = "customer_field_provenance"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    field: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    source_record_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("source_records.id", ondelete="SET NULL")
    )
    rule: Mapped[str] = mapped_column(String(32))
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerMerge(Base):
    __tablename__ = "customer_merges"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    survivor_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="CASCADE")
    )
    absorbed_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="CASCADE")
    )
    # "email", "phone", "identity" (deterministic), "probability" or "manual".
    rule: Mapped[str] = mapped_column(String(32))
    probability: Mapped[float | None] = mapped_column(Float)
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    merged_by: Mapped[str] = mapped_column(String(200))
    # Both customers' rows, the absorbed one's tags, both provenance sets, as they were.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Table name -> ids of the rows moved to the survivor; "tags_added": tags it gained.
    moved: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The survivor's version right after the merge: unchanged since means its snapshot is current.
    survivor_version: Mapped[int] = mapped_column(Integer)
    unmerged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unmerged_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_customer_merges_absorbed", "absorbed_id", "merged_at"),
        Index("ix_customer_merges_survivor", "survivor_id", "merged_at"),
    )


class MergeSuggestion(Base):
    __tablename__ = "merge_suggestions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    # The pair in a fixed order (the smaller id first), so a pair has one suggestion.
    left_customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="CASCADE")
    )
    right_customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="CASCADE")
    )
    probability: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float)
    # [{"field", "level", "weight"}, ...]: each field's comparison level and its log2 weight.
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[MergeSuggestionStatus] = mapped_column(
        enum_type(MergeSuggestionStatus), default=MergeSuggestionStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    merge_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("customer_merges.id", ondelete="SET NULL")
    )

    __table_args__ = (
        UniqueConstraint("left_customer_id", "right_customer_id"),
        Index("ix_merge_suggestions_status", "status", "probability", "id"),
        Index("ix_merge_suggestions_right", "right_customer_id"),
    )
