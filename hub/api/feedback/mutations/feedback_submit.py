"""feedbackSubmit: record an NPS or CSAT score or a review, by us or by a partner."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import graphene
from sqlalchemy import Table, insert, select

from hub.access.rows import visible_rows
from hub.access.scopes import Scope
from hub.api.cases.writes import customer_open_to, id_of
from hub.api.core.audited import Audited
from hub.api.core.enums import ChannelEnum, FeedbackKindEnum, value_of
from hub.api.core.mutations import Mutation, UserError
from hub.api.core.scalars import DateTime
from hub.api.feedback.errors import FeedbackError, FeedbackErrorCode
from hub.api.feedback.types import FeedbackByIdLoader
from hub.events.outbox import emit, global_id
from hub.models import Case, Feedback, Order, new_id, utcnow
from hub.models.enums import Channel, FeedbackKind

feedback = Feedback.__table__
# The fixed scales; a REVIEW brings its own (1 to MAX_REVIEW_SCALE), scored from 0.
SCALES = {FeedbackKind.NPS: (0, 10), FeedbackKind.CSAT: (1, 5)}
MAX_REVIEW_SCALE = 100
MAX_COMMENT = 20_000
FUTURE_TOLERANCE = timedelta(minutes=5)


class FeedbackSubmitInput(graphene.InputObjectType):
    customer_id = graphene.ID(required=True)
    kind = graphene.Field(FeedbackKindEnum, required=True)
    score = graphene.Int(required=True, description="NPS 0-10, CSAT 1-5, a REVIEW 0-scaleMax.")
    scale_max = graphene.Int(description="Required for a REVIEW (e.g. 5 stars); NPS is 10, CSAT 5.")
    comment = graphene.String()
    channel = graphene.Field(ChannelEnum, default_value=Channel.WEB.value)
    case_id = graphene.ID(description="A case of the same customer this feedback is about.")
    order_id = graphene.ID(description="An order of the same customer this feedback is about.")
    occurred_at = DateTime(description="When the customer gave it; now if not given.")


def checked_scale(kind: FeedbackKind, score: int, scale_max: int | None) -> int:
    """The scale of a valid score; typed errors name the input at fault."""
    if kind in SCALES:
        low, high = SCALES[kind]
        if scale_max is not None and scale_max != high:
            raise UserError(
                FeedbackErrorCode.INVALID,
                f"{kind} is scored out of {high}, not {scale_max}.",
                "scaleMax",
            )
    else:
        if scale_max is None:
            raise UserError(FeedbackErrorCode.INVALID, "A REVIEW needs its scaleMax.", "scaleMax")
        if not 1 <= scale_max <= MAX_REVIEW_SCALE:
            raise UserError(
                FeedbackErrorCode.OUT_OF_RANGE,
                f"scaleMax is 1 to {MAX_REVIEW_SCALE}, not {scale_max}.",
                "scaleMax",
            )
        low, high = 0, scale_max
    if not low <= score <= high:
        raise UserError(
            FeedbackErrorCode.OUT_OF_RANGE,
            f"A {kind} score is {low} to {high}, not {score}.",
            "score",
        )
    return high


class FeedbackSubmit(Mutation):
    """Record a satisfaction score or review of a customer, optionally about one of their cases
    or orders. A partner's feedback is recorded as collected by that partner."""

    class Meta:
        scopes = (Scope.FEEDBACK_WRITE,)
        error_type = FeedbackError
        audit = Audited(details=("input.kind", "input.score", "input.case_id", "input.order_id"))

    class Arguments:
        input = FeedbackSubmitInput(required=True)

    feedback = graphene.Field("hub.api.feedback.types.Feedback")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        code = FeedbackErrorCode.INVALID
        customer_id = id_of(input["customer_id"], "Customer", "customerId", code)
        case_id = id_of(input["case_id"], "Case", "caseId", code) if input.get("case_id") else None
        order_id = (
            id_of(input["order_id"], "Order", "orderId", code) if input.get("order_id") else None
        )
        kind = FeedbackKind(value_of(input["kind"]))
        scale_max = checked_scale(kind, input["score"], input.get("scale_max"))
        comment = (input.get("comment") or "").strip() or None
        if comment and len(comment) > MAX_COMMENT:
            raise UserError(code, f"comment is over {MAX_COMMENT} characters.", "comment")
        now = utcnow()
        occurred_at = input.get("occurred_at") or now
        if occurred_at > now + FUTURE_TOLERANCE:
            raise UserError(code, "occurredAt is in the future.", "occurredAt")
        ctx = info.context
        principal = ctx.principal
        feedback_id = new_id()

        async def write(conn: Any) -> Any:
            if not await customer_open_to(conn, principal, customer_id, Scope.FEEDBACK_WRITE):
                raise UserError(FeedbackErrorCode.NOT_FOUND, "No such customer.", "customerId")
            for table, id_, field in (
                (Case.__table__, case_id, "caseId"),
                (Order.__table__, order_id, "orderId"),
            ):
                if id_ is not None:
                    await _same_customer(conn, principal, table, id_, customer_id, field)
            await conn.execute(
                insert(feedback).values(
                    id=feedback_id,
                    customer_id=customer_id,
                    kind=kind,
                    score=input["score"],
                    scale_max=scale_max,
                    comment=comment,
                    channel=Channel(value_of(input.get("channel") or Channel.WEB)),
                    case_id=case_id,
                    order_id=order_id,
                    partner_id=principal.partner_id if principal.is_partner else None,
                    occurred_at=occurred_at,
                )
            )
            await emit(conn, "feedback.created", {
                "customerId": global_id("Customer", customer_id), "kind": kind,
                "score": input["score"], "scaleMax": scale_max,
                "caseId": global_id("Case", case_id) if case_id else None,
                "orderId": global_id("Order", order_id) if order_id else None,
                "partnerId": global_id("Partner", principal.partner_id)
                if principal.is_partner else None,
            }, subject=("Feedback", feedback_id))
            return feedback_id

        await ctx.db.transaction(write)
        ctx.forget_loaded()
        return cls(feedback=await ctx.loader(FeedbackByIdLoader).load(feedback_id), errors=[])


async def _same_customer(
    conn: Any, principal: Any, table: Table, id_: Any, customer_id: Any, field: str
) -> None:
    """The linked case or order exists, the caller may see it, and it is this customer's."""
    owner = await conn.scalar(
        select(table.c.customer_id).where(table.c.id == id_, *visible_rows(principal, table))
    )
    if owner is None:
        raise UserError(FeedbackErrorCode.NOT_FOUND, f"No such {table.name[:-1]}.", field)
    if owner != customer_id:
        raise UserError(
            FeedbackErrorCode.OTHER_CUSTOMER,
            f"That {table.name[:-1]} belongs to another customer.",
            field,
        )
