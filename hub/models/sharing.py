"""What is shared with partners: sharing grants and the customers they list.

A grant shares either an explicit list of customers (``sharing_grant_customers``)
or those matching a segment rule (JSON, see ``hub.access.segments``), with a set
of scopes, until it expires or is revoked. Grants are never deleted by the hub:
a revoked grant stays as a record of what was shared.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, UTCDateTime, new_id, utcnow


class SharingGrant(Base):
    __tablename__ = "sharing_grants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    partner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("partners.id", ondelete="CASCADE")
    )
    # The segment rule; null when the grant lists its customers explicitly.
    segment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Space-separated, like an OAuth client's scope.
    scope: Mapped[str] = mapped_column(String(1000))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_sharing_grants_partner", "partner_id", "created_at"),)


class SharingGrantCustomer(Base):
    __tablename__ = "sharing_grant_customers"

    grant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("sharing_grants.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (Index("ix_sharing_grant_customers_customer", "customer_id", "grant_id"),)
