"""Partners and their grants, each one statement per request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from hub.api.core.dataloaders import ByIdLoader, ListByKeyLoader, RequestLoader
from hub.models import Partner, SharingGrant, SharingGrantCustomer

partners = Partner.__table__
grants = SharingGrant.__table__
grant_customers = SharingGrantCustomer.__table__


class PartnerByIdLoader(ByIdLoader):
    table = partners


class GrantByIdLoader(ByIdLoader):
    table = grants


class GrantsByPartnerLoader(ListByKeyLoader):
    table = grants
    key = "partner_id"
    order = ("created_at", "id")


class GrantCustomerCountLoader(RequestLoader):
    """How many customers each explicit-list grant names."""

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[int]:
        rows = await self.ctx.db.all(
            select(grant_customers.c.grant_id, func.count())
            .where(grant_customers.c.grant_id.in_(keys))
            .group_by(grant_customers.c.grant_id)
        )
        counts = {grant_id: n for grant_id, n in rows}
        return [counts.get(key, 0) for key in keys]


class GrantCustomersLoader(RequestLoader):
    """The first ``limit`` customer ids of each explicit-list grant, in id order."""

    def __init__(self, ctx: Any, limit: int) -> None:
        super().__init__(ctx)
        self.limit = limit

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[list[Any]]:
        position = (
            func.row_number()
            .over(partition_by=grant_customers.c.grant_id, order_by=grant_customers.c.customer_id)
            .label("_position")
        )
        inner = (
            select(grant_customers, position).where(grant_customers.c.grant_id.in_(keys)).subquery()
        )
        rows = await self.ctx.db.all(
            select(inner.c.grant_id, inner.c.customer_id)
            .where(inner.c._position <= self.limit)
            .order_by(inner.c.grant_id, inner.c._position)
        )
        listed: dict[Any, list[Any]] = {key: [] for key in keys}
        for grant_id, customer_id in rows:
            listed[grant_id].append(customer_id)
        return [listed[key] for key in keys]
