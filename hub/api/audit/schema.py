"""Root fields of the audit domain."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import func, select

from hub.api.audit.filters import AuditEventFilter, audit_query
from hub.api.audit.types import AUDIT_SCOPES, AUDIT_SORTS, AuditEventConnection, audit_events
from hub.api.core.fields import Field
from hub.api.core.pagination import PageRequest, page_arguments


async def resolve_audit_events(root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
    ctx = info.context
    page = PageRequest.from_args(ctx.settings.api, **args)
    ordering = AUDIT_SORTS.ordering(args.get("order_by"))
    where = audit_query(args.get("filter")).clauses()
    rows = await ctx.db.all(page.apply(select(audit_events).where(*where), ordering))

    async def count() -> int:
        return await ctx.db.scalar(select(func.count()).select_from(audit_events).where(*where))

    return page.page(rows, ordering, count)


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
