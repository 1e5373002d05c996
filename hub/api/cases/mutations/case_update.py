"""caseUpdate: change a case's text, priority, category or status (through the workflow)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import graphene
from sqlalchemy import update

from hub.access.scopes import Scope
from hub.api.cases.errors import CaseError, CaseErrorCode
from hub.api.cases.mutations.case_create import MAX_DESCRIPTION, MAX_SUBJECT
from hub.api.cases.types import CaseByIdLoader
from hub.api.cases.writes import (
    case_for_change,
    cases,
    clock_of,
    id_of,
    text_of,
)
from hub.api.core.audited import Audited
from hub.api.core.enums import CaseCategoryEnum, CasePriorityEnum, CaseStatusEnum, value_of
from hub.api.core.mutations import Mutation, UserError
from hub.cases.workflow import InvalidTransition, workflow_of
from hub.events.outbox import changed, emit
from hub.models import utcnow
from hub.models.enums import CaseCategory, CasePriority, CaseStatus


class CaseUpdateInput(graphene.InputObjectType):
    id = graphene.ID(required=True)
    subject = graphene.String()
    description = graphene.String(description="An empty string removes it.")
    priority = graphene.Field(CasePriorityEnum, description="Moves the SLA due times still open.")
    category = graphene.Field(CaseCategoryEnum, description="Moves the SLA due times still open.")
    status = graphene.Field(
        CaseStatusEnum, description="A move the workflow allows (see Case.allowedStatuses)."
    )


class CaseUpdate(Mutation):
    """Change a case. Status moves follow the workflow; a refused move is INVALID_TRANSITION."""

    class Meta:
        scopes = (Scope.CASES_WRITE,)
        error_type = CaseError
        audit = Audited(details=("input.status", "input.priority", "input.category"))

    class Arguments:
        input = CaseUpdateInput(required=True)

    case = graphene.Field("hub.api.cases.types.Case")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        case_id = id_of(input["id"], "Case", "id")
        ctx = info.context
        changes: dict[str, Any] = {}
        if input.get("subject") is not None:
            changes["subject"] = text_of(input["subject"], "subject", MAX_SUBJECT, required=True)
        if input.get("description") is not None:
            changes["description"] = text_of(input["description"], "description", MAX_DESCRIPTION)
        if input.get("priority") is not None:
            changes["priority"] = CasePriority(value_of(input["priority"]))
        if input.get("category") is not None:
            changes["category"] = CaseCategory(value_of(input["category"]))
        status = CaseStatus(value_of(input["status"])) if input.get("status") is not None else None
        clock, flow = clock_of(ctx.settings), workflow_of(ctx.settings)

        async def write(conn: Any) -> None:
            row = await case_for_change(conn, ctx.principal, case_id)
            now = utcnow()
            values = {k: v for k, v in changes.items() if getattr(row, k) != v}
            case = SimpleNamespace(**{**row._asdict(), **values})
            if "priority" in values or "category" in values:
                # The targets still open follow the new policy; met ones keep theirs.
                due = clock.due_times(
                    row.created_at, case.priority, case.category, row.resolution_paused_seconds
                )
                if row.first_responded_at is None:
                    values["first_response_due_at"] = case.first_response_due_at = (
                        due.first_response
                    )
                if row.resolved_at is None:
                    values["resolution_due_at"] = case.resolution_due_at = due.resolution
            if status is not None:
                try:
                    values.update(flow.move(case, status, now, clock))
                except InvalidTransition as refused:
                    raise UserError(
                        CaseErrorCode.INVALID_TRANSITION, str(refused), "status"
                    ) from None
            if not values:
                return
            if row.status == CaseStatus.CLOSED and status is not CaseStatus.OPEN:
                raise UserError(CaseErrorCode.CLOSED, "The case is closed; reopen it first.", "id")
            result = await conn.execute(
                update(cases)
                .where(cases.c.id == case_id, cases.c.status == row.status)
                .values(**values, updated_at=now)
            )
            if result.rowcount != 1:
                # SQLite has no row locks: another change won the race.
                raise UserError(
                    CaseErrorCode.CONFLICT,
                    "The case changed meanwhile; read it and try again.",
                    "id",
                )
            await emit(conn, "case.updated", {"number": row.number, "changed": changed(values),
                                              "status": values.get("status", row.status)},
                       subject=("Case", case_id))

        await ctx.db.transaction(write)
        ctx.forget_loaded()
        return cls(case=await ctx.loader(CaseByIdLoader).load(case_id), errors=[])
