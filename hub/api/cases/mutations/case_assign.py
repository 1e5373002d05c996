"""caseAssign: give a case to a person to work it, or take it back."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import select, update

from hub.access.scopes import Scope
from hub.api.cases.errors import CaseError, CaseErrorCode
from hub.api.cases.types import CaseByIdLoader
from hub.api.cases.writes import case_for_change, cases, id_of
from hub.api.core.audited import Audited
from hub.api.core.mutations import Mutation, UserError
from hub.events.outbox import emit
from hub.models import User, utcnow
from hub.models.enums import CaseStatus

users = User.__table__


class CaseAssign(Mutation):
    """Assign a case to an active user, or unassign it (no assigneeId). Staff assign staff or
    users of the partner the case is shared with; a partner assigns its own users."""

    class Meta:
        scopes = (Scope.CASES_WRITE,)
        error_type = CaseError
        audit = Audited(details=("assignee_id",))

    class Arguments:
        case_id = graphene.ID(required=True)
        assignee_id = graphene.ID(description="Global id of the user; null unassigns.")

    case = graphene.Field("hub.api.cases.types.Case")

    @classmethod
    async def perform(
        cls, info: graphene.ResolveInfo, case_id: str, assignee_id: str | None = None
    ) -> Any:
        id_ = id_of(case_id, "Case", "caseId")
        user_id = id_of(assignee_id, "User", "assigneeId") if assignee_id is not None else None
        ctx = info.context
        principal = ctx.principal

        async def write(conn: Any) -> None:
            row = await case_for_change(conn, principal, id_, "caseId")
            if row.status == CaseStatus.CLOSED:
                raise UserError(
                    CaseErrorCode.CLOSED, "The case is closed; reopen it first.", "caseId"
                )
            if user_id is not None:
                user = (
                    await conn.execute(
                        select(users.c.partner_id).where(
                            users.c.id == user_id, users.c.is_active.is_(True)
                        )
                    )
                ).first()
                if user is None or (
                    principal.is_partner and user.partner_id != principal.partner_id
                ):
                    # A partner learns nothing about users that are not its own.
                    raise UserError(CaseErrorCode.NOT_FOUND, "No such user.", "assigneeId")
                if user.partner_id is not None and user.partner_id != row.shared_with_partner_id:
                    raise UserError(
                        CaseErrorCode.NOT_ALLOWED,
                        "This user works for a partner the case is not shared with.",
                        "assigneeId",
                    )
            if row.assignee_user_id == user_id:
                return
            await conn.execute(
                update(cases)
                .where(cases.c.id == id_)
                .values(assignee_user_id=user_id, updated_at=utcnow())
            )
            await emit(conn, "case.updated", {"number": row.number, "changed": ["assignee"],
                                              "status": row.status}, subject=("Case", id_))

        await ctx.db.transaction(write)
        ctx.forget_loaded()
        return cls(case=await ctx.loader(CaseByIdLoader).load(id_), errors=[])
