"""caseCommentAdd: write on a case, for staff only (INTERNAL) or for the partner too (SHARED)."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import case as when
from sqlalchemy import insert, update

from hub.access.scopes import Scope
from hub.api.cases.errors import CaseError, CaseErrorCode
from hub.api.cases.types import CaseByIdLoader, CommentsByCaseLoader
from hub.api.cases.writes import case_for_change, cases, id_of, text_of
from hub.api.core.audited import Audited
from hub.api.core.enums import CommentVisibilityEnum, value_of
from hub.api.core.mutations import Mutation, UserError
from hub.events.outbox import emit
from hub.models import CaseComment, new_id, utcnow
from hub.models.enums import CaseStatus, CommentVisibility

comments = CaseComment.__table__
MAX_BODY = 20_000


class CaseCommentAddInput(graphene.InputObjectType):
    case_id = graphene.ID(required=True)
    body = graphene.String(required=True)
    visibility = graphene.Field(
        CommentVisibilityEnum,
        description="Staff default to INTERNAL (never shown to partners); "
        "partners write SHARED only.",
    )


class CaseCommentAdd(Mutation):
    """Comment on a case. Staff's first SHARED comment is the case's first response (a NEW case
    becomes OPEN); a partner comments SHARED, on cases shared with it only."""

    class Meta:
        scopes = (Scope.CASES_WRITE,)
        error_type = CaseError
        # One action on the case, as the audit log names it; the body stays out of the log.
        audit = Audited(
            action="case.comment",
            record_type="case",
            record="input.case_id",
            details=("input.visibility",),
        )

    class Arguments:
        input = CaseCommentAddInput(required=True)

    case = graphene.Field("hub.api.cases.types.Case")
    comment = graphene.Field("hub.api.cases.types.CaseComment")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        case_id = id_of(input["case_id"], "Case", "caseId")
        body = text_of(input["body"], "body", MAX_BODY, required=True)
        ctx = info.context
        principal = ctx.principal
        given = input.get("visibility")
        if principal.is_partner:
            if given is not None and value_of(given) != CommentVisibility.SHARED:
                raise UserError(
                    CaseErrorCode.NOT_ALLOWED, "Partners write SHARED comments only.", "visibility"
                )
            visibility = CommentVisibility.SHARED
        else:
            visibility = CommentVisibility(value_of(given or CommentVisibility.INTERNAL))
        comment_id = new_id()

        async def write(conn: Any) -> Any:
            row = await case_for_change(conn, principal, case_id, "caseId")
            if row.status == CaseStatus.CLOSED:
                raise UserError(
                    CaseErrorCode.CLOSED, "The case is closed; reopen it to comment.", "caseId"
                )
            now = utcnow()
            await conn.execute(
                insert(comments).values(
                    id=comment_id,
                    case_id=case_id,
                    body=body,
                    visibility=visibility,
                    author_user_id=principal.user_id,
                    author_client_id=principal.client_id,
                    author_partner_id=principal.partner_id,
                    created_at=now,
                )
            )
            values: dict[str, Any] = {}
            if visibility is CommentVisibility.SHARED:
                # An INTERNAL note is not a change a partner may notice, not even by the
                # case's updatedAt: only SHARED comments move it.
                values["updated_at"] = now
            if not principal.is_partner and visibility is CommentVisibility.SHARED:
                # Only the first such comment counts: the column is set when still empty.
                values["first_responded_at"] = when(
                    (cases.c.first_responded_at.is_(None), now), else_=cases.c.first_responded_at
                )
                values["status"] = when(
                    (cases.c.status == CaseStatus.NEW.value, CaseStatus.OPEN.value),
                    else_=cases.c.status,
                )
            if values:
                await conn.execute(update(cases).where(cases.c.id == case_id).values(**values))
            await emit(conn, "case.commented", {
                "number": row.number, "commentId": comment_id.hex,
                "visibility": visibility}, subject=("Case", case_id))
            return comment_id

        await ctx.db.transaction(write)
        ctx.forget_loaded()
        comment = next(
            c for c in await ctx.loader(CommentsByCaseLoader).load(case_id) if c.id == comment_id
        )
        return cls(case=await ctx.loader(CaseByIdLoader).load(case_id), comment=comment, errors=[])
