"""Row visibility, applied inside the SQL that loads rows (never by filtering afterwards)."""

from __future__ import annotations

from sqlalchemy import ColumnElement

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
