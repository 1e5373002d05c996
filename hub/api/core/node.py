"""The Relay ``Node`` interface and ``node(id:)``: every type names its loader and scopes once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import graphene

from hub.access.scopes import Scope
from hub.api.core.errors import forbidden
from hub.api.core.ids import from_global_id, to_global_id


class Node(graphene.Interface):
    """An object with a global id."""

    id = graphene.ID(required=True, description="Global, opaque id.")

    @classmethod
    def resolve_type(cls, instance: Any, info: graphene.ResolveInfo) -> Any:
        return NODE_TYPES[instance.type_name].object_type


@dataclass(frozen=True)
class NodeType:
    object_type: Any
    loader: Any
    scopes: frozenset[str]


def reads(*columns: str) -> Any:
    """Declare the columns of its row a resolver reads, so that pages can select just those
    (``hub/api/core/connections.py``); a field without a resolver reads its own column."""

    def declare(resolver: Any) -> Any:
        resolver.needs = columns
        return resolver

    return declare


NODE_TYPES: dict[str, NodeType] = {}
# How many merges ``load_node`` follows from an old id before it gives up (a cycle guard).
MAX_SUCCESSORS = 16
# GraphQL type name -> the attribute of its rows holding the id of the customer they belong to.
CUSTOMER_KEYS: dict[str, str] = {}


def customer_of(type_name: str, row: Any) -> Any:
    """The id of the customer a row of this type belongs to, or None for types of no customer."""
    key = CUSTOMER_KEYS.get(type_name)
    return getattr(row, key) if key is not None else None


class NodeObjectType(graphene.ObjectType):
    """An ObjectType reachable through ``node(id:)``.

    Subclasses set ``node_loader`` (a ByIdLoader) and ``node_scopes``; they
    inherit a global ``id`` made from the row's uuid. Types whose rows belong to
    a customer name the column that says which (``customer_key``): a partner's
    scoped fields on them are then checked against that customer's grants.
    """

    node_loader: ClassVar[Any] = None
    node_scopes: ClassVar[tuple[Scope, ...]] = ()
    customer_key: ClassVar[str | None] = None

    class Meta:
        abstract = True

    @classmethod
    def __init_subclass_with_meta__(cls, **options: Any) -> None:
        options.setdefault("interfaces", (Node,))
        super().__init_subclass_with_meta__(**options)
        if cls.node_loader is not None:
            name = cls._meta.name
            NODE_TYPES[name] = NodeType(cls, cls.node_loader, frozenset(s.value for s in cls.node_scopes))
        if cls.customer_key is not None:
            CUSTOMER_KEYS[cls._meta.name] = cls.customer_key

    @staticmethod
    @reads("id")
    def resolve_id(root: Any, info: graphene.ResolveInfo) -> str:
        return to_global_id(info.parent_type.name, root.id)

    @staticmethod
    def successor_id(row: Any) -> Any:
        """The id a retired row now answers as (a merged customer's survivor); None for most."""
        return None


# The same id for the executor's short cut, which reads fields without a ResolveInfo
# (``plain_reader`` in hub/api/executor.py): keep the two in step.
NodeObjectType.resolve_id.plain_reader = (  # type: ignore[attr-defined]
    lambda type_name: lambda row: to_global_id(type_name, row.id)
)


class Typed:
    """A loaded row that remembers its GraphQL type, for the abstract ``node`` field."""

    __slots__ = ("row", "type_name")

    def __init__(self, row: Any, type_name: str) -> None:
        self.row = row
        self.type_name = type_name

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)


async def load_node(info: graphene.ResolveInfo, global_id: str, expect: str | None = None) -> Any:
    """Resolve a global id; unknown types, missing rows and rows hidden from the caller all answer null.

    Rows hidden from a partner never leave the database: the type's loader puts
    the caller's row visibility into its statement (``ByIdLoader``).
    """
    type_name, id_ = from_global_id(global_id)
    spec = NODE_TYPES.get(type_name)
    if spec is None or (expect is not None and type_name != expect):
        return None
    principal = info.context.principal
    if not spec.scopes <= principal.scopes:
        raise forbidden(spec.scopes - principal.scopes)
    row = await info.context.loader(spec.loader).load(id_)
    # An id retired by a merge answers as the record it went into (followed to the end).
    for _ in range(MAX_SUCCESSORS):
        successor = None if row is None else spec.object_type.successor_id(row)
        if successor is None:
            break
        row = await info.context.loader(spec.loader).load(successor)
    return None if row is None else Typed(row, type_name)


class NodeQuery(graphene.ObjectType):
    node = graphene.Field(Node, id=graphene.ID(required=True), description="Any object by its global id.")

    @staticmethod
    async def resolve_node(root: Any, info: graphene.ResolveInfo, id: str) -> Any:
        return await load_node(info, id)
