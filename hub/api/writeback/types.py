"""A write-back as admins see it: what is sent where, under which key, and how it went.

Partners never see one: the rows have no sharing rule (``hub.access.rows``), and
every field that leads to them needs ``connections:admin``.
"""

from __future__ import annotations

from typing import Any

import graphene
from graphene.types.generic import GenericScalar
from sqlalchemy import ColumnElement

from hub.access.scopes import Scope
from hub.api.connections.dataloaders import ConnectionByIdLoader
from hub.api.core.connections import Sorts
from hub.api.core.dataloaders import Relation
from hub.api.core.node import NodeObjectType
from hub.api.core.pagination import CountableConnection
from hub.api.core.scalars import DateTime
from hub.api.writeback.dataloaders import WriteBackByIdLoader, write_backs
from hub.models import WriteBackStatus

WriteBackStatusEnum = graphene.Enum.from_enum(
    WriteBackStatus,
    name="WriteBackStatus",
    description="PENDING (queued, or waiting for the connection), RUNNING, DONE, FAILED (tried "
    "again later) or DEAD (refused for good, or out of attempts).",
)


class WriteBack(NodeObjectType):
    """One write action of a connection, run once under its idempotency key."""

    node_loader = WriteBackByIdLoader
    node_scopes = (Scope.CONNECTIONS_ADMIN,)

    connection = graphene.Field("hub.api.connections.types.Connection", required=True)
    action = graphene.String(required=True, description="The connector's write action.")
    params = GenericScalar(required=True, description="The action's input (JSON).")
    idempotency_key = graphene.String(required=True)
    status = graphene.Field(WriteBackStatusEnum, required=True)
    attempts = graphene.Int(required=True)
    last_error = graphene.String(description="Why the last attempt failed; secrets are masked.")
    result = GenericScalar(description="What the platform answered (JSON), once DONE.")
    requested_by_client_id = graphene.String(description="The OAuth client that asked.")
    created_at = graphene.Field(DateTime, required=True)
    next_attempt_at = graphene.Field(DateTime, description="When a FAILED one is tried again.")
    finished_at = graphene.Field(DateTime)

    @staticmethod
    async def resolve_connection(root: Any, info: graphene.ResolveInfo) -> Any:
        return await info.context.loader(ConnectionByIdLoader).load(root.connection_id)


class WriteBackConnection(CountableConnection):
    class Meta:
        node = WriteBack


class WriteBackFilter(graphene.InputObjectType):
    statuses = graphene.List(graphene.NonNull(WriteBackStatusEnum))
    action = graphene.String()


def write_back_filters(key: tuple[tuple[str, Any], ...]) -> list[ColumnElement[bool]]:
    f = dict(key)
    clauses: list[ColumnElement[bool]] = []
    if f.get("statuses"):
        clauses.append(write_backs.c.status.in_([getattr(s, "value", s) for s in f["statuses"]]))
    if f.get("action"):
        clauses.append(write_backs.c.action == f["action"])
    return clauses


WRITE_BACK_SORTS = Sorts(
    "WriteBack", write_backs, {"CREATED_AT": "created_at"}, ("CREATED_AT", "DESC")
)
WRITE_BACKS_OF_CONNECTION = Relation(
    write_backs, "connection_id", WRITE_BACK_SORTS.orderings, write_back_filters
)
