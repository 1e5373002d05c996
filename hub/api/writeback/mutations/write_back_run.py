"""writeBackRun: queue any write action of a connection, with its input, under an idempotency key.

The action and its input are checked against the connector's declaration before
anything is stored; the write-back then runs as a job (``hub.sync.writeback``)
and shows under ``Connection.writeBacks``. Asking again with the same key
returns the write-back already queued under it.
"""

from __future__ import annotations

from typing import Any

import graphene
from graphene.types.generic import GenericScalar

from hub.access.scopes import Scope
from hub.api.core.audited import Audited
from hub.api.core.mutations import Mutation, UserError, id_argument
from hub.api.writeback.dataloaders import WriteBackByIdLoader
from hub.api.writeback.errors import WriteBackError
from hub.api.writeback.errors import WriteBackErrorCode as Code
from hub.sync.writeback import WriteBackRefused, enqueue_write_backs, request_write_back


class WriteBackRunInput(graphene.InputObjectType):
    connection_id = graphene.ID(required=True)
    action = graphene.String(required=True, description="One of the connector's write actions.")
    params = GenericScalar(required=True, description="The action's input, a JSON object.")
    idempotency_key = graphene.String(
        description="Sent with the write; the same key on the same connection is queued once. "
        "A new one if not given."
    )


class WriteBackRun(Mutation):
    """Queue a connector write action (tag, subscribe, reply, ...) of a connection."""

    class Meta:
        scopes = (Scope.CONNECTIONS_ADMIN,)
        error_type = WriteBackError
        # The input may hold free text (a reply): only the action goes into the log.
        audit = Audited(
            action="connection.write_back", record="input.connection_id", details=("input.action",)
        )

    class Arguments:
        input = WriteBackRunInput(required=True)

    write_back = graphene.Field("hub.api.writeback.types.WriteBack")

    @classmethod
    async def perform(cls, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        connection_id = id_argument(
            input["connection_id"], "Connection", "connectionId", Code.INVALID,
            "Not a connection id.",
        )
        params = input["params"]
        if not isinstance(params, dict):
            raise UserError(Code.INVALID_PARAMS, "params must be a JSON object.", "params")
        ctx = info.context

        async def write(conn: Any) -> Any:
            return await request_write_back(
                conn, connection_id, input["action"], params, input.get("idempotency_key"),
                ctx.principal, require_usable=True,
            )

        try:
            write_back_id = await ctx.db.transaction(write)
        except WriteBackRefused as refused:
            raise UserError(refused.code, refused.message, refused.field) from None
        await enqueue_write_backs([write_back_id])
        ctx.forget_loaded()
        write_back = await ctx.loader(WriteBackByIdLoader).load(write_back_id)
        return cls(write_back=write_back, errors=[])
