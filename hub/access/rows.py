"""Row visibility, applied inside the SQL that loads rows (never by filtering afterwards)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, select

from hub.access.principal import Principal


def customer_rows(principal: Principal) -> list[ColumnElement[bool]]:
    """Conditions on the customers table for what this caller may see.

    Internal clients see every customer. Partner clients see nothing until
    sharing grants decide otherwise: refusing by default keeps a partner token
    from ever reading unshared rows.
    """
    from hub.models import Customer

    if principal.is_partner:
        return [Customer.id.is_(None)]
    return []


async def customer_is_writable(conn: Any, principal: Principal, customer_id: uuid.UUID) -> bool:
    """Whether this caller may change this customer: it exists, is active, and is visible to them."""
    from hub.models import Customer
    from hub.models.enums import CustomerStatus

    found = await conn.scalar(
        select(Customer.id).where(
            Customer.id == customer_id,
            Customer.status == CustomerStatus.ACTIVE,
            *customer_rows(principal),
        )
    )
    return found is not None
