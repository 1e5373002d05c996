"""interactionReply: answer customers where they wrote (a Facebook comment or message).

The reply is a write-back of the platform the interaction came from (its
connector declares which action carries ``interaction.reply``), stored in this
request's transaction and sent by a job. It joins the timeline when the
platform's next sync or webhook brings it back, as everything from outside does.
"""

from __future__ import annotations

import enum
from typing import Any

import graphene
from sqlalchemy import select

from hub.access.rows import customer_is_writable
from hub.access.scopes import Scope
from hub.api.core.audited import Audited
from hub.api.core.mutations import Mutation, UserError, error_type, id_argument
from hub.api.interactions.types import InteractionByIdLoader, interactions
from hub.sync.writeback import WriteBackRefused, enqueue_write_backs, queue_change


class InteractionReplyErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    INVALID_PARAMS = "INVALID_PARAMS"
    NOT_REPLIABLE = "NOT_REPLIABLE"


InteractionReplyError = error_type(
    "InteractionReplyError", InteractionReplyErrorCode, "Why no reply was queued."
)
Code = InteractionReplyErrorCode
MAX_TEXT = 8000


class InteractionReply(Mutation):
    """Reply on the platform an interaction came from (a Facebook comment or Messenger message)."""

    class Meta:
        scopes = (Scope.CUSTOMERS_WRITE, Scope.INTERACTIONS_READ)
        error_type = InteractionReplyError
        # The reply's text stays out of the log, as a note's body does.
        audit = Audited(action="interaction.reply", record="interaction_id")

    class Arguments:
        interaction_id = graphene.ID(required=True)
        text = graphene.String(required=True)

    interaction = graphene.Field("hub.api.interactions.types.Interaction")
    queued = graphene.Int(description="Replies queued (one per platform record); null on errors.")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, interaction_id: str, text: str) -> Any:
        id_ = id_argument(
            interaction_id, "Interaction", "interactionId", Code.INVALID, "Not an interaction id."
        )
        text = text.strip()
        if not 0 < len(text) <= MAX_TEXT:
            raise UserError(Code.INVALID, f"text is 1-{MAX_TEXT} characters.", "text")
        ctx = info.context

        async def write(conn: Any) -> list[Any]:
            found = (await conn.execute(
                select(interactions.c.customer_id, interactions.c.source_record_id,
                       interactions.c.direction).where(interactions.c.id == id_)
            )).first()
            if found is None or not await customer_is_writable(
                    conn, ctx.principal, found.customer_id):
                raise UserError(Code.NOT_FOUND, "No such interaction.", "interactionId")
            queued = []
            if found.source_record_id is not None:
                queued = await queue_change(
                    conn, ctx.principal, found.customer_id, "interaction.reply",
                    {"text": text, "direction": getattr(found.direction, "value", found.direction)},
                    records=[found.source_record_id], refuse_invalid=True,
                )
            if not queued:
                raise UserError(Code.NOT_REPLIABLE, "This interaction did not come from a "
                                "platform the hub can reply on.", "interactionId")
            return queued

        try:
            queued = await ctx.db.transaction(write)
        except WriteBackRefused as refused:
            raise UserError(Code.INVALID_PARAMS, refused.message, "text") from None
        await enqueue_write_backs(queued)
        ctx.forget_loaded()
        interaction = await ctx.loader(InteractionByIdLoader).load(id_)
        return cls(interaction=interaction, queued=len(queued), errors=[])
