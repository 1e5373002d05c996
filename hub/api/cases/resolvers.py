"""Root resolvers of the cases domain."""

from __future__ import annotations

from typing import Any

import graphene

from hub.access.rows import visible_rows
from hub.api.cases.types import CASE_SORTS, case_filters, cases
from hub.api.core.connections import root_page
from hub.api.core.dataloaders import filter_key


async def resolve_cases(root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
    ctx = info.context
    where = [*visible_rows(ctx.principal, cases), *case_filters(filter_key(args.get("filter")))]
    return await root_page(info, args, CASE_SORTS, cases, where)
