"""Root resolvers of the cases domain."""

from __future__ import annotations

from typing import Any

import graphene
from sqlalchemy import func, select

from hub.access.rows import visible_rows
from hub.api.cases.types import CASE_SORTS, case_filters, cases
from hub.api.core.dataloaders import filter_key
from hub.api.core.pagination import PageRequest


async def resolve_cases(root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
    ctx = info.context
    page = PageRequest.from_args(ctx.settings.api, **args)
    ordering = CASE_SORTS.ordering(args.get("order_by"))
    where = [*visible_rows(ctx.principal, cases), *case_filters(filter_key(args.get("filter")))]
    rows = await ctx.db.all(page.apply(select(cases).where(*where), ordering))

    async def count() -> int:
        return await ctx.db.scalar(select(func.count()).select_from(cases).where(*where))

    return page.page(rows, ordering, count)
