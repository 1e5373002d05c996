"""DataLoader bases: every relation is one batched statement per request, whatever the page size.

A domain declares its loaders as small subclasses naming the table and key
column (see ``hub/api/customers/dataloaders.py``); the request context keeps
one instance of each. Loaders of rows that have a global id (by id, and the
pages and counts of nested connections) put the caller's row visibility
(``hub.access.rows.visible_rows``) into their statement.
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from aiodataloader import DataLoader
from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Row,
    Select,
    Table,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
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
    """All rows whose ``key`` column equals each key, in ``order`` order.

    What a batch loaded is also kept as plain lists, so that a resolver can answer
    ``get(key)`` at once when it is known (e.g. order lines that came with their
    orders' page, ``Relation.children``): graphql-core then completes the field
    synchronously instead of awaiting a future for each parent.
    """

    table: ClassVar[Table]
    key: ClassVar[str]
    order: ClassVar[tuple[str, ...]] = ()
    # Small lists of the same parents may load together, in one statement
    # (``ListsByKeyLoader``); each then reads only ``fields``, from ``source()``.
    together: ClassVar[type[ListsByKeyLoader] | None] = None
    fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: RequestContext, *_: Any) -> None:
        super().__init__(ctx)
        self.known: dict[Any, list[Any]] = {}

    @classmethod
    def source(cls) -> tuple[FromClause, list[Any]]:
        """What a list loaded together reads: its FROM and its columns (``fields`` by default)."""
        return cls.table, [cls.table.c[name] for name in cls.fields]

    def get(self, key: Any) -> Any:
        """The rows of ``key``: a list when this request loaded them already, else an awaitable."""
        found = self.known.get(key)
        return found if found is not None else self.load(key)

    async def fill(self, keys: Sequence[Any]) -> None:
        """Load the rows of these keys now, in one statement, for ``get`` to answer at once."""
        missing = [key for key in keys if key not in self.known]
        if missing:
            await self.batch_load_fn(missing)

    def statement(self, keys: Sequence[Any]) -> Select[Any]:
        column = self.table.c[self.key]
        stmt = select(self.table).where(column.in_(keys))
        return stmt.order_by(column, *self.order_clauses())

    @classmethod
    def order_clauses(cls) -> list[ColumnElement[Any]]:
        out = []
        for name in cls.order:
            desc = name.startswith("-")
            col = cls.table.c[name.lstrip("-")]
            out.append(col.desc() if desc else col.asc())
        return out

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[list[Any]]:
        if self.together is not None:
            return await self.ctx.loader(self.together).load_many([(type(self), k) for k in keys])
        # Built once per loader class (and partner's grants), the keys bound at execution:
        # ``statement`` may depend on the class and the caller only.
        shape = (type(self), _sharing(self.ctx.principal))
        stmt = _LIST_STATEMENTS.get(shape)
        if stmt is None:
            keys_param = bindparam(PARENT_KEYS, expanding=True, type_=self.table.c[self.key].type)
            stmt = _remember(_LIST_STATEMENTS, shape, self.statement(keys_param))
        grouped: dict[Any, list[Any]] = {key: [] for key in keys}
        for row in await self.ctx.db.using(_all, stmt, {PARENT_KEYS: list(keys)}):
            grouped[getattr(row, self.key)].append(row)
        self.known.update(grouped)
        return list(grouped.values())


class ListsByKeyLoader(RequestLoader):
    """Several ``ListByKeyLoader`` lists of the same parents in one statement.

    Its keys are ``(list loader class, parent key)``: the lists a query asks in one
    tick (a customer's tags, contact points, addresses...) are one ``UNION ALL``, each
    branch its own columns with typed NULLs for the others', and a ``_pos`` that keeps
    each list's order. What it loads fills each list loader's ``known``.
    """

    async def batch_load_fn(self, keys: Sequence[tuple[Any, Any]]) -> list[list[Any]]:
        kinds = tuple(sorted({cls for cls, _ in keys}, key=lambda cls: cls.__qualname__))
        parents = list(dict.fromkeys(key for _, key in keys))
        shape = (kinds, _sharing(self.ctx.principal))
        built = _LISTS_STATEMENTS.get(shape)
        if built is None:
            built = _LISTS_STATEMENTS[shape] = _lists_statement(kinds)
            if len(_LISTS_STATEMENTS) > _MAX_CACHED:
                _LISTS_STATEMENTS.clear()
        stmt, makers = built
        grouped: dict[tuple[Any, Any], list[Any]] = {(c, p): [] for c in kinds for p in parents}
        for row in await self.ctx.db.using(_all, stmt, {PARENT_KEYS: parents}):
            kind = row[0]
            grouped[(kinds[kind], row[1])].append(makers[kind](row))
        for cls in kinds:
            known = self.ctx.loader(cls).known
            for parent in parents:
                known[parent] = grouped[(cls, parent)]
        return [grouped[key] for key in keys]


def _lists_statement(kinds: tuple[type[ListByKeyLoader], ...]) -> tuple[Select[Any], list[Any]]:
    """The UNION ALL of ``kinds`` and, per kind, what makes its rows from the union's."""
    sources = [cls.source() for cls in kinds]
    slots = [[(f"_{i}_{col.key}", col) for col in columns] for i, (_, columns) in enumerate(sources)]
    branches = []
    for i, (cls, (from_, _)) in enumerate(zip(kinds, sources, strict=True)):
        key = cls.table.c[cls.key]
        head = [
            literal_column(str(i), Integer).label("_list"),
            key.label("_key"),
            func.row_number().over(partition_by=key, order_by=cls.order_clauses()).label("_pos"),
        ]
        body = [
            col.label(name) if j == i else cast(null(), col.type).label(name)
            for j, columns in enumerate(slots)
            for name, col in columns
        ]
        keys = bindparam(PARENT_KEYS, expanding=True, type_=key.type)
        branches.append(select(*head, *body).select_from(from_).where(key.in_(keys)))
    union = union_all(*branches).subquery()
    stmt = select(union).order_by(union.c._pos)
    makers = []
    offset = 3
    for columns in slots:
        shape = namedtuple("ListRow", [col.key for _, col in columns])  # type: ignore[misc]
        makers.append(_maker(shape, offset, len(columns)))
        offset += len(columns)
    return stmt, makers


def _maker(shape: Any, start: int, width: int) -> Callable[[Row[Any]], Any]:
    end = start + width
    return lambda row: shape._make(row[start:end])


@dataclass(frozen=True, eq=False)
class Relation:
    """A one-to-many relation served as a connection: the child table, its parent key, its sorts.

    ``children`` names list fields of the child type (``("lines", LinesByOrderLoader)``)
    whose rows are loaded with the page when the query asks for them, so that they
    resolve without an await per child row.
    """

    table: Table
    parent_key: str
    orderings: dict[str, Ordering]
    filters: Callable[[tuple[tuple[str, Any], ...]], Iterable[ColumnElement[bool]]] = (
        lambda _f: ()
    )
    children: tuple[tuple[str, type[ListByKeyLoader]], ...] = ()

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


@dataclass(frozen=True, slots=True)
class Wanted:
    """What a query asks of a nested connection besides its rows."""

    total_count: bool = False
    children: frozenset[str] = frozenset()
    # The columns its nodes' fields read (``connections.wanted_of``); None: every column.
    columns: tuple[str, ...] | None = None


class PageLoader(RequestLoader):
    """One page of children for each parent, all parents in one windowed statement.

    When the query asks for ``totalCount`` and the page has no cursor, the count rides
    along in the same statement (``COUNT(*) OVER (PARTITION BY parent)``); with a
    cursor the rows are only those beyond it, so ``CountLoader`` counts apart.
    """

    def __init__(
        self,
        ctx: RequestContext,
        relation: Relation,
        ordering: str,
        page: PageRequest,
        filters: tuple[tuple[str, Any], ...],
        wanted: Wanted = Wanted(),
    ) -> None:
        super().__init__(ctx)
        self.relation = relation
        self.ordering = relation.orderings[ordering]
        self.page = page
        self.filters = filters
        self.wanted = wanted
        self.known: dict[Any, Page] = {}

    def get(self, key: Any) -> Any:
        """The page of ``key`` when this request loaded it already (``fill``), else an awaitable."""
        found = self.known.get(key)
        return found if found is not None else self.load(key)

    async def fill(self, keys: Sequence[Any]) -> None:
        """Load the pages of these parents now, in one statement, for ``get`` to answer at once."""
        missing = [key for key in keys if key not in self.known]
        if missing:
            await self.batch_load_fn(missing)

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[Page]:
        relation, ordering, page = self.relation, self.ordering, self.page
        principal = self.ctx.principal
        bounds = page.bounds(ordering)
        counted = self.wanted.total_count and not bounds
        clauses = [*relation.filters(self.filters), *bounds]
        columns = self.wanted.columns
        if clauses:
            visible = _visible(principal, relation)
            stmt = _page_statement(
                relation, ordering, page, [*visible, *clauses], counted, columns
            )
        else:
            # Without filters or cursors the statement depends on the page's shape
            # and on whose rows it may return only.
            shape = (
                relation,
                ordering.name,
                page.backwards,
                page.limit,
                counted,
                columns,
                _sharing(principal),
            )
            stmt = _PAGE_STATEMENTS.get(shape)
            if stmt is None:
                visible = _visible(principal, relation)
                stmt = _remember(
                    _PAGE_STATEMENTS,
                    shape,
                    _page_statement(relation, ordering, page, visible, counted, columns),
                )
        grouped: dict[Any, list[Any]] = defaultdict(list)
        for row in await self.ctx.db.using(_all, stmt, {PARENT_KEYS: list(keys)}):
            grouped[getattr(row, relation.parent_key)].append(row)
        counter = self.ctx.loader(CountLoader, relation, self.filters)
        pages = []
        for key in keys:
            rows = grouped.get(key, [])
            total = (rows[0]._total if rows else 0) if counted else None
            pages.append(page.page(rows, ordering, _count_of(counter, key), total))
        await self._load_children(pages)
        self.known.update(zip(keys, pages))
        return pages

    async def _load_children(self, pages: list[Page]) -> None:
        wanted = [(n, cls) for n, cls in self.relation.children if n in self.wanted.children]
        if not wanted:
            return
        ids = [edge.node.id for page in pages for edge in page.edges]
        for _name, loader in wanted:
            await self.ctx.loader(loader).fill(ids)


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
_LIST_STATEMENTS: dict[tuple[Any, ...], Select[Any]] = {}
_LISTS_STATEMENTS: dict[tuple[Any, ...], tuple[Select[Any], list[Any]]] = {}
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
    counted: bool = False,
    columns: tuple[str, ...] | None = None,
) -> Select[Any]:
    position = (
        func.row_number()
        .over(partition_by=relation.partition, order_by=ordering.order_by(reverse=page.backwards))
        .label("_position")
    )
    total = [func.count().over(partition_by=relation.partition).label("_total")] if counted else []
    inner = (
        select(*_selected(relation.table, columns), position, *total)
        .where(relation.partition.in_(_parent_keys(relation)), *clauses)
        .subquery()
    )
    return (
        select(inner)
        .where(inner.c._position <= page.limit + 1)
        .order_by(inner.c[relation.parent_key], inner.c._position)
    )


def _selected(table: Table, columns: tuple[str, ...] | None) -> list[Any]:
    return [table] if columns is None else [table.c[name] for name in columns]


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
