"""What the case and feedback mutations share: ids, the rows a caller may change, the clocks.

Who may change what is decided in SQL with the hooks of ``hub.access.rows``:
a case the caller can see (``visible_rows``: for a partner, shared with it and
its customer shared through a grant with ``cases:read``) and, for a partner, a
grant carrying the write scope on that case's customer (``covered``). A case
the caller may not change answers NOT_FOUND exactly like a missing one.
"""

from __future__ import annotations

import enum
import uuid
from typing import Any

import graphene
from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.access.principal import Principal
from hub.access.rows import covered, customer_is_writable, customer_rows, visible_rows
from hub.access.scopes import Scope
from hub.api.cases.errors import CaseErrorCode
from hub.api.core.errors import ApiError, ErrorCode
from hub.api.core.mutations import Mutation, UserError, id_argument
from hub.cases.sla import SlaClock
from hub.models import Case, Customer
from hub.models.enums import CustomerStatus
from hub.settings import Settings

cases = Case.__table__
customers = Customer.__table__


def id_of(
    value: str, type_name: str, field: str, code: enum.Enum = CaseErrorCode.INVALID
) -> uuid.UUID:
    """The uuid of a global id of ``type_name``; a typed error on ``field`` for anything else."""
    return id_argument(value, type_name, field, code)


def changeable_cases(principal: Principal) -> list[ColumnElement[bool]]:
    """Conditions on the cases table: the ones this caller may change."""
    where = list(visible_rows(principal, cases))
    if principal.is_partner:
        customer = customers.alias("case_customer")
        where.append(
            exists(
                select(customer.c.id).where(
                    customer.c.id == cases.c.customer_id,
                    covered(principal, Scope.CASES_WRITE, customer),
                )
            )
        )
    return where


async def case_for_change(
    conn: AsyncConnection, principal: Principal, case_id: uuid.UUID, field: str = "id"
) -> Any:
    """The case row, locked for this transaction on PostgreSQL; NOT_FOUND when hidden or missing."""
    row = (
        await conn.execute(
            select(cases)
            .where(cases.c.id == case_id, *changeable_cases(principal))
            .with_for_update()
        )
    ).first()
    if row is None:
        raise UserError(CaseErrorCode.NOT_FOUND, "No such case.", field)
    return row


async def customer_open_to(
    conn: AsyncConnection, principal: Principal, customer_id: uuid.UUID, scope: Scope
) -> bool:
    """Whether the caller may add a case or feedback (``scope``) to this active customer.

    Internal callers: the customer exists and is active. Partners: it is also
    shared with them, through a grant that carries ``scope``.
    """
    if not principal.is_partner:
        return await customer_is_writable(conn, principal, customer_id)
    found = await conn.scalar(
        select(customers.c.id).where(
            customers.c.id == customer_id,
            customers.c.status == CustomerStatus.ACTIVE,
            *customer_rows(principal, customers),
            covered(principal, scope, customers),
        )
    )
    return found is not None


def clock_of(settings: Settings) -> SlaClock:
    return SlaClock(settings.sla)


class InternalMutation(Mutation):
    """A mutation for internal callers only: a partner gets a top-level FORBIDDEN, nothing runs."""

    class Meta:
        abstract = True

    @classmethod
    async def mutate(cls, root: Any, info: graphene.ResolveInfo, **data: Any) -> Any:
        if info.context.principal.is_partner:
            raise ApiError(f"{info.field_name} is for internal callers only.", ErrorCode.FORBIDDEN)
        return await super().mutate(root, info, **data)


def text_of(value: str | None, field: str, limit: int, *, required: bool = False) -> str | None:
    """Trimmed text within ``limit`` characters; None for blank unless ``required``."""
    text = (value or "").strip()
    if not text:
        if required:
            raise UserError(CaseErrorCode.INVALID, f"{field} must not be empty.", field)
        return None
    if len(text) > limit:
        raise UserError(CaseErrorCode.INVALID, f"{field} is over {limit} characters.", field)
    return text

