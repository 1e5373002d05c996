"""DataLoader bases: every relation is one batched statement per request, whatever the page size.

A domain declares its loaders as small subclasses naming the table and key
column (see ``hub/api/customers/dataloaders.py``); the request context keeps
one instance of each. Loaders of rows that have a global id (by id, and the
pages and counts of nested connections) put the caller's row visibility
(``hub.access.rows.visible_rows``) into their statement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from aiodataloader import DataLoader
from sqlalchemy import ColumnElement, Row, Select, Table, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import KeyedColumnElement

from hub.access.principal import Principal
from hub.access.rows import visible_rows
from hub.api.context import RequestContext
from hub.api.core.pagination import Ordering, Page, PageRequest


class RequestLoader(DataLoader):
    def __init__(self, ctx: RequestContext, *_: Any) -> None:
        super().__init__()
        self.ctx = ctx


class ByIdLoader(RequestLoader):
    """One row per primary key, or None: rows the caller may not see are None too."""

    table: ClassVar[Table]

    def columns(self) -> list[Any]:
        """Columns selected besides the table's (they must depend on the caller's sharing only)."""
        return []

    def loaded(self, rows: Sequence[Any]) -> None:
        """Called with the rows of each batch."""

    def statement(self, keys: Sequence[Any]) -> Select[Any]:
        return select(self.table, *self.columns()).where(
            self.table.c.id.in_(keys), *visible_rows(self.ctx.principal, self.table)
        )

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[Any]:
        if type(self).statement is ByIdLoader.statement:
            # Built once per loader (and partner's grants), the ids bound at execution.
            shape = (type(self), _sharing(self.ctx.principal))
            stmt = _BY_ID_STATEMENTS.get(shape)
            if stmt is None:
                stmt = _remember(_BY_ID_STATEMENTS, shape, self.statement(_ids(self.table)))
            rows = await self.ctx.db.using(_all, stmt, {PARENT_KEYS: list(keys)})
        else:
            rows = await self.ctx.db.all(self.statement(keys))
        self.loaded(rows)
        by_id = {row.id: row for row in rows}
        return [by_id.get(key) for key in keys]


class ListByKeyLoader(RequestLoader):
    """All rows whose ``key`` column equals each key, in ``order`` order."""

    table: ClassVar[Table]
    key: ClassVar[str]
    order: ClassVar[tuple[str, ...]] = ()

    def statement(self, keys: Sequence[Any]) -> Select[Any]:
        column = self.table.c[self.key]
        stmt = select(self.table).where(column.in_(keys))
        return stmt.order_by(column, *self.order_clauses())

    def order_clauses(self) -> list[ColumnElement[Any]]:
        out = []
        for name in self.order:
            desc = name.startswith("-")
            col = self.table.c[name.lstrip("-")]
            out.append(col.desc() if desc else col.asc())
        return out

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[list[Any]]:
        grouped: dict[Any, list[Any]] = defaultdict(list)
        for row in await self.ctx.db.all(self.statement(keys)):
            grouped[getattr(row, self.key)].append(row)
        return [grouped.get(key, []) for key in keys]


@dataclass(frozen=True, eq=False)
class Relation:
    """A one-to-many relation served as a connection: the child table, its parent key, its sorts."""

    table: Table
    parent_key: str
    orderings: dict[str, Ordering]
    filters: Callable[[tuple[tuple[str, Any], ...]], Iterable[ColumnElement[bool]]] = (
        lambda _f: ()
    )

    @property
    def partition(self) -> KeyedColumnElement[Any]:
        return self.table.c[self.parent_key]


def filter_key(filters: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """A hashable form of a filter input, so that equal filters share one loader."""
    if not filters:
        return ()
    return tuple(sorted((k, _freeze(v)) for k, v in filters.items() if v is not None))


def _freeze(value: Any) -> Hashable:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


class PageLoader(RequestLoader):
    """One page of children for each parent, all parents in one windowed statement."""

    def __init__(
        self,
        ctx: RequestContext,
        relation: Relation,
        ordering: str,
        page: PageRequest,
        filters: tuple[tuple[str, Any], ...],
    ) -> None:
        super().__init__(ctx)
        self.relation = relation
        self.ordering = relation.orderings[ordering]
        self.page = page
        self.filters = filters

    def clauses(self) -> list[ColumnElement[bool]]:
        return [*self.relation.filters(self.filters), *self.page.bounds(self.ordering)]

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[Page]:
        relation, ordering, page = self.relation, self.ordering, self.page
        principal = self.ctx.principal
        clauses = self.clauses()
        if clauses:
            visible = _visible(principal, relation)
            stmt = _page_statement(relation, ordering, page, [*visible, *clauses])
        else:
            # Without filters or cursors the statement depends on the page's shape
            # and on whose rows it may return only.
            shape = (relation, ordering.name, page.backwards, page.limit, _sharing(principal))
            stmt = _PAGE_STATEMENTS.get(shape)
            if stmt is None:
                visible = _visible(principal, relation)
                stmt = _remember(
                    _PAGE_STATEMENTS, shape, _page_statement(relation, ordering, page, visible)
                )
        grouped: dict[Any, list[Any]] = defaultdict(list)
        for row in await self.ctx.db.using(_all, stmt, {PARENT_KEYS: list(keys)}):
            grouped[getattr(row, relation.parent_key)].append(row)
        counter = self.ctx.loader(CountLoader, relation, self.filters)
        return [
            page.page(grouped.get(key, []), ordering, _count_of(counter, key)) for key in keys
        ]


# The parents' keys are bound at execution, so that a statement can be built once and
# reused: building a windowed subquery (its column proxies) and its cache key costs
# about 0.5 ms, more than running it. The cache holds one statement per relation,
# ordering, direction and page size (at most max_page_size + 1 of these), filters and
# cursors aside, which are built per request.
PARENT_KEYS = "parent_keys"
# A partner's statements also depend on its grants (``_sharing``); so that many
# partners cannot grow the caches without bound, a full cache starts afresh.
_PAGE_STATEMENTS: dict[tuple[Any, ...], Select[Any]] = {}
_COUNT_STATEMENTS: dict[tuple[Any, ...], Select[Any]] = {}
_BY_ID_STATEMENTS: dict[tuple[Any, ...], Select[Any]] = {}
_MAX_CACHED = 2048


def _sharing(principal: Principal) -> Hashable:
    """What a partner's row visibility is built from; None for internal callers."""
    return (principal.partner_id, principal.grants) if principal.is_partner else None


def _remember(cache: dict[Any, Select[Any]], key: Any, statement: Select[Any]) -> Select[Any]:
    if len(cache) >= _MAX_CACHED:
        cache.clear()
    cache[key] = statement
    return statement


def _parent_keys(relation: Relation) -> Any:
    return bindparam(PARENT_KEYS, expanding=True, type_=relation.partition.type)


def _visible(principal: Principal, relation: Relation) -> list[ColumnElement[bool]]:
    """The caller's row visibility; children of customers have them decided once per parent."""
    among = _parent_keys(relation) if relation.parent_key == "customer_id" else None
    return visible_rows(principal, relation.table, among)


def _ids(table: Table) -> Any:
    return bindparam(PARENT_KEYS, expanding=True, type_=table.c.id.type)


def _page_statement(
    relation: Relation,
    ordering: Ordering,
    page: PageRequest,
    clauses: Sequence[ColumnElement[bool]],
) -> Select[Any]:
    position = (
        func.row_number()
        .over(partition_by=relation.partition, order_by=ordering.order_by(reverse=page.backwards))
        .label("_position")
    )
    inner = (
        select(relation.table, position)
        .where(relation.partition.in_(_parent_keys(relation)), *clauses)
        .subquery()
    )
    return (
        select(inner)
        .where(inner.c._position <= page.limit + 1)
        .order_by(inner.c[relation.parent_key], inner.c._position)
    )


def _count_statement(relation: Relation, clauses: Sequence[ColumnElement[bool]]) -> Select[Any]:
    partition = relation.partition
    return (
        select(partition, func.count())
        .where(partition.in_(_parent_keys(relation)), *clauses)
        .group_by(partition)
    )


async def _all(
    conn: AsyncConnection, statement: Select[Any], params: dict[str, Any]
) -> Sequence[Row[Any]]:
    return (await conn.execute(statement, params)).all()


def _count_of(loader: CountLoader, key: Any) -> Callable[[], Any]:
    return lambda: loader.load(key)


class CountLoader(RequestLoader):
    """``totalCount`` of a nested connection for many parents at once."""

    def __init__(
        self, ctx: RequestContext, relation: Relation, filters: tuple[tuple[str, Any], ...]
    ) -> None:
        super().__init__(ctx)
        self.relation = relation
        self.filters = filters

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[int]:
        relation, principal = self.relation, self.ctx.principal
        clauses = list(relation.filters(self.filters))
        if clauses:
            stmt = _count_statement(relation, [*_visible(principal, relation), *clauses])
        else:
            shape = (relation, _sharing(principal))
            stmt = _COUNT_STATEMENTS.get(shape)
            if stmt is None:
                visible = _visible(principal, relation)
                stmt = _remember(_COUNT_STATEMENTS, shape, _count_statement(relation, visible))
        rows = await self.ctx.db.using(_all, stmt, {PARENT_KEYS: list(keys)})
        counts = {key: n for key, n in rows}
        return [counts.get(key, 0) for key in keys]
