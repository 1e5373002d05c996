"""Root fields of the audit domain."""

from __future__ import annotations

from typing import Any

import graphene

from hub.api.audit.filters import AuditEventFilter, audit_query
from hub.api.audit.types import AUDIT_SCOPES, AUDIT_SORTS, AuditEventConnection, audit_events
from hub.api.core.connections import root_page
from hub.api.core.fields import Field
from hub.api.core.pagination import page_arguments


async def resolve_audit_events(root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
    where = audit_query(args.get("filter")).clauses()
    return await root_page(info, args, AUDIT_SORTS, audit_events, where)


class AuditQueries(graphene.ObjectType):
    audit_events = Field(
        AuditEventConnection,
        required=True,
        args={
            **page_arguments(),
            "filter": graphene.Argument(AuditEventFilter),
            "order_by": graphene.Argument(AUDIT_SORTS.input),
        },
        resolver=resolve_audit_events,
        scopes=AUDIT_SCOPES,
        description="The audit log: partners' reads of PII and every write, newest first.",
    )
