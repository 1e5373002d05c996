"""caseShare and caseUnshare: let one partner work a case with us, or stop that."""

from __future__ import annotations

import uuid
from typing import Any

import graphene
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.access.principal import Principal
from hub.access.rows import covered, customer_rows
from hub.access.scopes import Scope
from hub.access.sharing import with_grants
from hub.api.cases.errors import CaseError, CaseErrorCode
from hub.api.cases.types import CaseByIdLoader
from hub.api.cases.writes import InternalMutation, case_for_change, cases, customers, id_of
from hub.api.core.audited import Audited
from hub.api.core.mutations import UserError
from hub.events.outbox import emit
from hub.models import Partner, User, utcnow
from hub.models.enums import ClientKind

users = User.__table__
partners = Partner.__table__


async def partner_sees_case_of(
    conn: AsyncConnection, partner_id: uuid.UUID, customer_id: uuid.UUID
) -> bool:
    """Whether the partner's grants in force let it read this customer's cases (consent applied)."""
    # The partner as its own token would be, holding just what reading a case takes.
    reading = frozenset({Scope.CUSTOMERS_READ.value, Scope.CASES_READ.value})
    partner = await with_grants(
        conn,
        Principal(client_id="", kind=ClientKind.PARTNER, scopes=reading, partner_id=partner_id),
    )
    found = await conn.scalar(
        select(customers.c.id).where(
            customers.c.id == customer_id,
            *customer_rows(partner, customers),
            covered(partner, Scope.CASES_READ, customers),
        )
    )
    return found is not None


class CaseShare(InternalMutation):
    """Share a case with a partner (one at a time: sharing with another moves it). The partner
    then reads it and its SHARED comments, and comments and works it as its scopes allow; its
    grants must let it read cases of the customer. Internal callers only."""

    class Meta:
        scopes = (Scope.CASES_WRITE,)
        error_type = CaseError
        audit = Audited(details=("partner_id",))

    class Arguments:
        case_id = graphene.ID(required=True)
        partner_id = graphene.ID(required=True)

    case = graphene.Field("hub.api.cases.types.Case")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, case_id: str, partner_id: str) -> Any:
        id_ = id_of(case_id, "Case", "caseId")
        partner = id_of(partner_id, "Partner", "partnerId")
        ctx = info.context

        async def write(conn: Any) -> None:
            row = await case_for_change(conn, ctx.principal, id_, "caseId")
            if await conn.scalar(select(partners.c.id).where(partners.c.id == partner)) is None:
                raise UserError(CaseErrorCode.NOT_FOUND, "No such partner.", "partnerId")
            if not await partner_sees_case_of(conn, partner, row.customer_id):
                raise UserError(
                    CaseErrorCode.NOT_ALLOWED,
                    "The partner has no sharing grant in force with cases:read for this customer "
                    "(or the customer withdrew partner sharing); it could not see the case.",
                    "partnerId",
                )
            await _share_with(conn, row, id_, partner)

        await ctx.db.transaction(write)
        ctx.forget_loaded()
        return cls(case=await ctx.loader(CaseByIdLoader).load(id_), errors=[])


class CaseUnshare(InternalMutation):
    """Stop sharing a case: the partner no longer sees it, and its user no longer works it.
    Internal callers only."""

    class Meta:
        scopes = (Scope.CASES_WRITE,)
        error_type = CaseError

    class Arguments:
        case_id = graphene.ID(required=True)

    case = graphene.Field("hub.api.cases.types.Case")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, case_id: str) -> Any:
        id_ = id_of(case_id, "Case", "caseId")
        ctx = info.context

        async def write(conn: Any) -> None:
            row = await case_for_change(conn, ctx.principal, id_, "caseId")
            await _share_with(conn, row, id_, None)

        await ctx.db.transaction(write)
        ctx.forget_loaded()
        return cls(case=await ctx.loader(CaseByIdLoader).load(id_), errors=[])


async def _share_with(
    conn: AsyncConnection, row: Any, id_: uuid.UUID, partner: uuid.UUID | None
) -> None:
    """Share the case with ``partner`` (None: with nobody); nothing changes when it already is."""
    if row.shared_with_partner_id == partner:
        return
    await conn.execute(
        update(cases)
        .where(cases.c.id == id_)
        .values(
            shared_with_partner_id=partner,
            assignee_user_id=await _kept_assignee(conn, row, partner),
            updated_at=utcnow(),
        )
    )
    await emit(
        conn,
        "case.updated",
        {"number": row.number, "changed": ["sharedWithPartner"], "status": row.status},
        subject=("Case", id_),
    )


async def _kept_assignee(conn: AsyncConnection, row: Any, partner: uuid.UUID | None) -> Any:
    """The assignee stays unless they work for a partner that no longer has the case."""
    if row.assignee_user_id is None:
        return None
    works_for = await conn.scalar(
        select(users.c.partner_id).where(users.c.id == row.assignee_user_id)
    )
    return row.assignee_user_id if works_for is None or works_for == partner else None
