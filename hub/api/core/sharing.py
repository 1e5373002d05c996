"""What a partner may do with one customer: the scopes its grants give on it, loaded per request.

The field guard (``hub/api/core/fields.py``) asks this for every scoped field of
a type that belongs to a customer (``NodeObjectType.customer_key``), so that a
field declared with ``customers:read_pii`` answers for a partner only on the
customers whose grants carry that scope.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.access.principal import Principal
from hub.access.rows import scope_statement, scopes_of
from hub.api.core.dataloaders import RequestLoader
from hub.models import Customer


class CustomerScopesLoader(RequestLoader):
    """Per customer id, the partner's scopes on it (empty when it is not shared), one statement.

    Loaders that select customers' rows with ``grant_columns`` tell it what they
    learnt (``know``), so that the guard usually answers without awaiting anything.
    """

    def __init__(self, ctx: Any, *_: Any) -> None:
        super().__init__(ctx)
        self.known: dict[uuid.UUID, frozenset[str]] = {}

    def know(self, rows: Sequence[Any]) -> None:
        principal = self.ctx.principal
        for row in rows:
            self.known[row.id] = scopes_of(principal, row)

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[frozenset[str]]:
        principal = self.ctx.principal
        if not principal.grants:
            return [frozenset() for _ in keys]
        rows = await self.ctx.db.using(_all, _statement(principal), {_KEYS: list(keys)})
        self.know(rows)
        return [self.known.get(key, frozenset()) for key in keys]


def known_scopes(ctx: Any, customer_id: uuid.UUID) -> frozenset[str] | None:
    """The partner's scopes on the customer if this request already knows them, else None."""
    return ctx.loader(CustomerScopesLoader).known.get(customer_id)


async def scopes_on_customer(ctx: Any, customer_id: uuid.UUID | None) -> frozenset[str]:
    if customer_id is None:
        return frozenset()
    return await ctx.loader(CustomerScopesLoader).load(customer_id)


# Built once per partner's set of grants, the customer ids bound at execution (building
# the statement and its cache key costs more than running it); a full cache starts afresh.
_KEYS = "customer_ids"
_STATEMENTS: dict[tuple[Any, ...], Select[Any]] = {}
_MAX_CACHED = 1024


def _statement(principal: Principal) -> Select[Any]:
    shape = (principal.partner_id, principal.grants)
    found = _STATEMENTS.get(shape)
    if found is None:
        if len(_STATEMENTS) >= _MAX_CACHED:
            _STATEMENTS.clear()
        keys = bindparam(_KEYS, expanding=True, type_=Customer.__table__.c.id.type)
        found = _STATEMENTS[shape] = scope_statement(principal, keys)
    return found


async def _all(conn: AsyncConnection, statement: Select[Any], params: dict[str, Any]) -> Any:
    return (await conn.execute(statement, params)).all()
