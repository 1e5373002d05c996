"""Declaring connections: sort inputs and the fields that page a relation through DataLoaders."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from typing import Any

import graphene
from graphene.types.resolver import dict_or_attr_resolver
from sqlalchemy import ColumnElement, FromClause, Table, func, select

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    get_argument_values,
)
from hub.access.scopes import Scope
from hub.api.core.dataloaders import PageLoader, Relation, Wanted, filter_key
from hub.api.core.fields import Field
from hub.api.core.node import CUSTOMER_KEYS
from hub.api.core.pagination import Ordering, Page, PageRequest, SortDirection, page_arguments


class Sorts:
    """The orderings a connection offers, as a GraphQL input ``{field, direction}``."""

    def __init__(
        self,
        type_name: str,
        table: Table,
        fields: dict[str, str],
        default: tuple[str, str],
    ) -> None:
        self.orderings = {
            f"{field}_{direction}": Ordering(
                f"{field}_{direction}", table.c[column], table.c.id, direction == "DESC"
            )
            for field, column in fields.items()
            for direction in ("ASC", "DESC")
        }
        self.default = f"{default[0]}_{default[1]}"
        enum = graphene.Enum(
            f"{type_name}OrderField",
            [(f, f) for f in fields],
            description=f"What {type_name} rows can be sorted by.",
        )
        self.input = type(
            f"{type_name}Order",
            (graphene.InputObjectType,),
            {
                "field": graphene.Field(enum, required=True),
                "direction": graphene.Field(SortDirection, default_value=default[1]),
                "__doc__": f"How to sort {type_name} rows; ties are broken by id.",
            },
        )

    def choose(self, order_by: Any) -> str:
        if order_by is None:
            return self.default
        field = getattr(order_by.field, "value", order_by.field)
        direction = getattr(order_by.direction, "value", order_by.direction) or "ASC"
        return f"{field}_{direction}"

    def ordering(self, order_by: Any) -> Ordering:
        return self.orderings[self.choose(order_by)]


async def root_page(
    info: graphene.ResolveInfo,
    args: dict[str, Any],
    sorts: Sorts,
    source: FromClause,
    where: Sequence[ColumnElement[bool]],
    columns: Sequence[Any] | None = None,
) -> Page:
    """One page of a root connection: the rows of ``source`` (or ``columns`` of it) matching
    ``where``, in the asked order, between the cursors.

    When the query asks for ``totalCount`` it rides along in the page's statement as an
    uncorrelated subquery (evaluated once); only an empty page needs a count of its own.
    """
    ctx = info.context
    page = PageRequest.from_args(ctx.settings.api, **args)
    ordering = sorts.ordering(args.get("order_by"))
    counted = select(func.count()).select_from(source).where(*where)
    wanted = wanted_of(
        info.field_nodes,
        info.fragments,
        return_type=info.return_type,
        always=("id", *(o.key.key for o in sorts.orderings.values())),
        table=source if columns is None and isinstance(source, Table) else None,
    )
    if columns is None:
        picked = wanted.columns
        columns = [source] if picked is None else [source.c[name] for name in picked]
    stmt = select(*columns).where(*where)
    asks_count = wanted.total_count
    if asks_count:
        stmt = stmt.add_columns(counted.correlate(None).scalar_subquery().label("_total"))
    rows = await ctx.db.all(page.apply(stmt, ordering))
    total = rows[0]._total if asks_count and rows else None
    if rows and not ctx.principal.is_partner:
        await _load_nested_pages(info, rows[: page.limit])

    async def count() -> int:
        return await ctx.db.scalar(counted)

    return page.page(rows, ordering, count, total)


async def _load_nested_pages(info: graphene.ResolveInfo, rows: Sequence[Any]) -> None:
    """Load the nested connections the query asks of each row (``edges { node { orders(...) } }``)
    now, all rows at once, so that each resolves with its page instead of a future apiece:
    graphql-core wraps every pending field in a coroutine and gathers them in tasks.

    Internal callers only (a partner's scopes are decided per customer, by the field guard,
    which still runs for every field). Whatever goes wrong here is left for the field's own
    resolver to report.
    """
    edge_type = _object_type(info.return_type).fields.get("edges")
    if edge_type is None:
        return
    node_field = _object_type(edge_type.type).fields.get("node")
    if node_field is None:
        return
    node_type = _object_type(node_field.type)
    edges = [f for f in _fields(info.field_nodes, info.fragments) if f.name.value == "edges"]
    nodes = [f for f in _fields(edges, info.fragments) if f.name.value == "node"]
    ids = [row.id for row in rows]
    ctx = info.context
    for field_node in _fields(nodes, info.fragments):
        field = node_type.fields.get(field_node.name.value)
        page_loader, required = _page_loader_of(field.resolve if field is not None else None)
        if page_loader is None or not required <= ctx.principal.scopes:
            continue
        try:
            args = get_argument_values(field, field_node, info.variable_values)
            loader = page_loader(ctx, [field_node], info.fragments, field.type, args)
            await loader.fill(ids)
        except Exception:  # noqa: BLE001 - the resolver reports it, per row, as ever
            continue


def _object_type(type_: Any) -> Any:
    while hasattr(type_, "of_type"):
        type_ = type_.of_type
    return type_


def _page_loader_of(resolve: Any) -> tuple[Any, frozenset[str]]:
    """The ``page_loader`` of a relation field's resolver, through the guards around it, and
    the scopes those guards require."""
    required: frozenset[str] = frozenset()
    while resolve is not None:
        required |= getattr(resolve, "required_scopes", frozenset())
        found = getattr(resolve, "page_loader", None)
        if found is not None:
            return found, required
        resolve = getattr(resolve, "__wrapped__", None)
    return None, required


def relation_field(
    connection: Any,
    relation: Relation,
    sorts: Sorts,
    *,
    filter_input: Any = None,
    scopes: Iterable[Scope] = (),
    description: str | None = None,
) -> Field:
    """A connection on a parent type, loaded for all parents of a page in one statement."""
    arguments = dict(page_arguments())
    arguments["order_by"] = graphene.Argument(sorts.input)
    if filter_input is not None:
        arguments["filter"] = graphene.Argument(filter_input)

    # Read whatever the query asks: rows are grouped by parent and ordered by key and id.
    always = ("id", relation.parent_key, *(o.key.key for o in relation.orderings.values()))

    def loader(
        ctx: Any, field_nodes: Sequence[FieldNode], fragments: Any, return_type: Any, args: Any
    ) -> Any:
        page = PageRequest.from_args(ctx.settings.api, **args)
        key = filter_key(args.get("filter"))
        wanted = wanted_of(field_nodes, fragments, relation, return_type, always)
        ordering = sorts.choose(args.get("order_by"))
        return ctx.loader(PageLoader, relation, ordering, page, key, wanted)

    def resolve(root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
        # The page itself when ``root_page`` loaded it with its parents, else a future.
        page_loader = loader(info.context, info.field_nodes, info.fragments, info.return_type, args)
        return page_loader.get(root.id)

    resolve.page_loader = loader  # type: ignore[attr-defined]

    return Field(
        connection,
        args=arguments,
        resolver=resolve,
        scopes=scopes,
        required=True,
        description=description,
    )


# Per field node of a cached document: what it asks of its connection. The node is kept
# with the answer, so its id cannot be reused by another while the entry lives.
_WANTED: dict[int, tuple[FieldNode, Wanted]] = {}
_MAX_WANTED = 4096


def wanted_of(
    field_nodes: Sequence[FieldNode],
    fragments: dict[str, FragmentDefinitionNode],
    relation: Relation | None = None,
    return_type: Any = None,
    always: Sequence[str] = ("id",),
    table: Table | None = None,
) -> Wanted:
    """What a connection's selection asks: ``totalCount``, which of the relation's
    ``children`` fields, and which columns its nodes read (with ``always``), when the
    connection's GraphQL type is given and every field asked says which (``_reads``)."""
    node = field_nodes[0]
    found = _WANTED.get(id(node))
    if found is not None and found[0] is node and len(field_nodes) == 1:
        return found[1]
    names = {f.name.value for f in _fields(field_nodes, fragments)}
    edges = [f for f in _fields(field_nodes, fragments) if f.name.value == "edges"]
    nodes = [f for f in _fields(edges, fragments) if f.name.value == "node"]
    node_fields = list(_fields(nodes, fragments))
    children: set[str] = set()
    if relation is not None and relation.children:
        asked = {to_snake(f.name.value) for f in node_fields}
        children = {name for name, _ in relation.children if name in asked}
    table = relation.table if relation is not None else table
    columns = None
    if return_type is not None and table is not None:
        columns = _columns(return_type, node_fields, always, table)
    wanted = Wanted("totalCount" in names, frozenset(children), columns)
    if len(field_nodes) == 1:
        if len(_WANTED) >= _MAX_WANTED:
            _WANTED.clear()
        _WANTED[id(node)] = (node, wanted)
    return wanted


def _columns(
    connection_type: Any, node_fields: Sequence[FieldNode], always: Sequence[str], table: Table
) -> tuple[str, ...] | None:
    """The columns of its table the nodes' asked fields read, or None when one of them does
    not say (a resolver without ``reads``): then every column."""
    edge_field = _object_type(connection_type).fields.get("edges")
    node_field = _object_type(edge_field.type).fields.get("node") if edge_field else None
    if node_field is None:
        return None
    node_type = _object_type(node_field.type)
    needed = set(always)
    customer_key = CUSTOMER_KEYS.get(node_type.name)
    if customer_key is not None:
        needed.add(customer_key)
    for field_node in node_fields:
        name = field_node.name.value
        if name.startswith("__"):
            continue
        field = node_type.fields.get(name)
        reads = _reads(field.resolve) if field is not None else None
        if reads is None:
            return None
        needed.update(reads)
    if not needed <= set(table.c.keys()):
        return None
    return tuple(column.name for column in table.c if column.name in needed)


def _reads(resolve: Any) -> tuple[str, ...] | None:
    """The columns a field's resolver reads: its own attribute for graphene's default
    resolver, what ``reads`` declared, the row's id for a nested connection."""
    while resolve is not None:
        if isinstance(resolve, partial) and resolve.func is dict_or_attr_resolver:
            return (resolve.args[0],)
        needs = getattr(resolve, "needs", None)
        if needs is not None:
            return tuple(needs)
        if getattr(resolve, "page_loader", None) is not None:
            return ("id",)
        resolve = getattr(resolve, "__wrapped__", None)
    return None


def _fields(
    field_nodes: Iterable[FieldNode], fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    """The fields selected directly under these fields, through fragments."""
    for field in field_nodes:
        yield from _selected(field.selection_set, fragments, set())


def _selected(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> Iterator[FieldNode]:
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _selected(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                seen.add(name)
                yield from _selected(fragment.selection_set, fragments, seen)


def to_snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
