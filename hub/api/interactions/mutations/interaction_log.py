"""interactionLog: put a call, meeting or note on a customer's timeline."""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import Any

import graphene
from sqlalchemy import insert, update

from hub.access.rows import customer_is_writable
from hub.access.scopes import Scope
from hub.api.core.audited import Audited
from hub.api.core.enums import ChannelEnum, DirectionEnum, value_of
from hub.api.core.mutations import Mutation, UserError, error_type, id_argument
from hub.api.core.scalars import DateTime
from hub.api.interactions.types import InteractionByIdLoader
from hub.models import Customer, Interaction, new_id, utcnow
from hub.models.enums import InteractionKind


class InteractionErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"


InteractionError = error_type(
    "InteractionError", InteractionErrorCode, "Why an interaction was not logged."
)

LoggedKind = graphene.Enum(
    "LoggedInteractionKind",
    [(k.value, k.value) for k in (InteractionKind.CALL, InteractionKind.MEETING, InteractionKind.NOTE)],
    description="What staff or partners can log by hand; the rest arrives from connectors.",
)

MAX_BODY = 20_000
# A little clock skew is fine; a date far in the future is a typo.
FUTURE_TOLERANCE = timedelta(minutes=5)


class InteractionLogInput(graphene.InputObjectType):
    customer_id = graphene.ID(required=True)
    kind = graphene.Field(LoggedKind, required=True)
    channel = graphene.Field(ChannelEnum, default_value="PHONE")
    direction = graphene.Field(DirectionEnum, default_value="OUTBOUND")
    occurred_at = DateTime(description="When it happened; now if not given.")
    subject = graphene.String()
    body = graphene.String()


class InteractionLog(Mutation):
    """Log a call, meeting or note on a customer's timeline."""

    class Meta:
        scopes = (Scope.CUSTOMERS_WRITE,)
        error_type = InteractionError
        # Logged against the customer whose timeline it joins; the body stays out of the log.
        audit = Audited(
            record_type="customer",
            record="input.customer_id",
            details=("input.kind", "input.channel", "input.direction"),
        )

    class Arguments:
        input = InteractionLogInput(required=True)

    interaction = graphene.Field("hub.api.interactions.types.Interaction")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        customer_id = id_argument(
            input["customer_id"], "Customer", "customerId", InteractionErrorCode.INVALID,
            "Not a customer id.",
        )
        now = utcnow()
        occurred_at = input.get("occurred_at") or now
        if occurred_at > now + FUTURE_TOLERANCE:
            raise UserError(InteractionErrorCode.INVALID, "occurredAt is in the future.", "occurredAt")
        body, subject = input.get("body"), input.get("subject")
        if not (body or subject):
            raise UserError(InteractionErrorCode.INVALID, "Give a subject or a body.", "body")
        if body and len(body) > MAX_BODY:
            raise UserError(InteractionErrorCode.INVALID, f"body is over {MAX_BODY} characters.", "body")
        if subject and len(subject) > 500:
            raise UserError(InteractionErrorCode.INVALID, "subject is over 500 characters.", "subject")
        ctx = info.context
        interaction_id = new_id()

        async def write(conn: Any) -> None:
            if not await customer_is_writable(conn, ctx.principal, customer_id):
                # Inside the transaction, so that it and its audit event roll back.
                raise UserError(InteractionErrorCode.NOT_FOUND, "No such customer.", "customerId")
            await conn.execute(
                insert(Interaction).values(
                    id=interaction_id,
                    customer_id=customer_id,
                    channel=value_of(input.get("channel")),
                    kind=value_of(input["kind"]),
                    direction=value_of(input.get("direction")),
                    occurred_at=occurred_at,
                    subject=subject,
                    body=body,
                )
            )
            await conn.execute(
                update(Customer).where(Customer.id == customer_id).values(updated_at=now)
            )

        await ctx.db.transaction(write)
        ctx.forget_loaded()
        return cls(interaction=await ctx.loader(InteractionByIdLoader).load(interaction_id), errors=[])
