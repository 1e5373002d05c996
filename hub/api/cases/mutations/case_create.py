"""caseCreate: open a case on a customer, its SLA clocks started and its number taken."""

from __future__ import annotations

from typing import Any

import graphene

from hub.access.scopes import Scope
from hub.api.cases.errors import CaseError, CaseErrorCode
from hub.api.cases.types import CaseByIdLoader
from hub.api.cases.writes import clock_of, customer_open_to, id_of, text_of
from hub.api.core.audited import Audited
from hub.api.core.enums import CaseCategoryEnum, CasePriorityEnum, ChannelEnum, value_of
from hub.api.core.mutations import Mutation, UserError
from hub.cases.opening import NewCase, open_case
from hub.models import utcnow
from hub.models.enums import CaseCategory, CasePriority, Channel

MAX_SUBJECT = 500
MAX_DESCRIPTION = 20_000


class CaseCreateInput(graphene.InputObjectType):
    customer_id = graphene.ID(required=True)
    subject = graphene.String(required=True)
    description = graphene.String()
    category = graphene.Field(CaseCategoryEnum, required=True)
    priority = graphene.Field(CasePriorityEnum, default_value=CasePriority.NORMAL.value)
    channel = graphene.Field(
        ChannelEnum, default_value=Channel.WEB.value, description="Where the customer raised it."
    )


class CaseCreate(Mutation):
    """Open a NEW case on a customer. A partner's case is shared with that partner."""

    class Meta:
        scopes = (Scope.CASES_WRITE,)
        error_type = CaseError
        audit = Audited(details=("input.category", "input.priority", "input.channel"))

    class Arguments:
        input = CaseCreateInput(required=True)

    case = graphene.Field("hub.api.cases.types.Case")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        customer_id = id_of(input["customer_id"], "Customer", "customerId")
        ctx = info.context
        principal = ctx.principal
        new = NewCase(
            customer_id=customer_id,
            subject=text_of(input["subject"], "subject", MAX_SUBJECT, required=True),
            description=text_of(input.get("description"), "description", MAX_DESCRIPTION),
            category=CaseCategory(value_of(input["category"])),
            priority=CasePriority(value_of(input.get("priority") or CasePriority.NORMAL)),
            channel=Channel(value_of(input.get("channel") or Channel.WEB)),
            shared_with_partner_id=principal.partner_id if principal.is_partner else None,
        )
        clock = clock_of(ctx.settings)

        async def write(conn: Any) -> Any:
            if not await customer_open_to(conn, principal, customer_id, Scope.CASES_WRITE):
                # Hidden and missing answer alike.
                raise UserError(CaseErrorCode.NOT_FOUND, "No such customer.", "customerId")
            opened = await conn.run_sync(open_case, new, utcnow(), clock)
            return opened.id

        case_id = await ctx.db.transaction(write)
        ctx.forget_loaded()
        return cls(case=await ctx.loader(CaseByIdLoader).load(case_id), errors=[])
