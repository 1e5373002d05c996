"""Declaring connections: sort inputs and the fields that page a relation through DataLoaders."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import graphene
from sqlalchemy import Table

from hub.access.scopes import Scope
from hub.api.core.dataloaders import PageLoader, Relation, filter_key
from hub.api.core.fields import Field
from hub.api.core.pagination import Ordering, PageRequest, SortDirection, page_arguments


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

    async def resolve(root: Any, info: graphene.ResolveInfo, **args: Any) -> Any:
        ctx = info.context
        page = PageRequest.from_args(ctx.settings.api, **args)
        key = filter_key(args.get("filter"))
        loader = ctx.loader(PageLoader, relation, sorts.choose(args.get("order_by")), page, key)
        return await loader.load(root.id)

    return Field(
        connection,
        args=arguments,
        resolver=resolve,
        scopes=scopes,
        required=True,
        description=description,
    )
