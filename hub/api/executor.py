"""Running GraphQL documents: parse and validate once per distinct document, check limits, execute.

Validation is most of the cost of a small query, so a validated document is
kept in an LRU cache keyed by its text. Errors from parsing or validation are
cached too: a client repeating a bad query costs a dictionary lookup.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from functools import partial
from operator import attrgetter
from types import CoroutineType
from typing import Any

from graphene.types.resolver import dict_or_attr_resolver
from graphql.execution.values import get_variable_values
from graphql.pyutils import Path, Undefined
from graphql.validation import NoSchemaIntrospectionCustomRule

from graphql import (
    DocumentNode,
    ExecutionContext,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
    parse,
    specified_rules,
    validate,
)
from hub.api.core.errors import ApiError, ErrorCode
from hub.api.core.limits import alias_rule, check_cost, depth_rule
from hub.settings import ApiSettings

log = logging.getLogger("crmhub.api")


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed and validated document, or the errors that stop it."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    fragments: dict[str, FragmentDefinitionNode]
    # Estimated costs already walked, per operation and page-size variables (``cost_key``).
    costs: dict[tuple[Any, ...], int] = field(default_factory=dict, compare=False)

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        assert self.document is not None
        operations = [
            d for d in self.document.definitions if isinstance(d, OperationDefinitionNode)
        ]
        if name is None:
            return operations[0] if len(operations) == 1 else None
        return next((o for o in operations if o.name and o.name.value == name), None)


def is_awaitable(value: Any) -> bool:
    """Whether graphql-core must await a resolved value; checked on every value it completes.

    graphql-core's own check ends in ``hasattr(value, "__await__")``, which on a
    SQLAlchemy ``Row`` (the objects our resolvers return) goes through
    ``Row.__getattr__`` and raises and catches an exception each time: about 4 µs
    per row, a tenth of a large page's time. Asking the type instead (coroutines
    first, then ``collections.abc.Awaitable``, whose answer Python caches per class)
    gives the same answer for everything resolvers return: coroutines, futures,
    tasks and plain values.
    """
    cls = type(value)
    if cls in _NEVER_AWAITED:
        return False
    return cls is CoroutineType or isinstance(value, Awaitable)


# What most completed values are: asked first, before the abstract-class check.
_NEVER_AWAITED = frozenset({str, int, float, bool, type(None), list, dict})


# How a plain field is answered without graphql-core's general path: read, then serialise.
Reader = tuple[Callable[[Any], Any], Callable[[Any], Any], bool]
_NOT_PLANNED: Any = object()


class HubExecutionContext(ExecutionContext):
    """graphql-core's execution, with a short cut for scalar fields that only read an attribute.

    Most of a response is such fields (a page of 50 customers with their orders and
    lines has some 2,500), and graphql-core gives each the full treatment: a
    ``ResolveInfo``, its arguments, the resolver through ``functools.partial``, the
    awaitable checks and the completion dispatch, about 5 µs of which reading
    the attribute and serialising it are a tenth. A field qualifies when graphene
    would answer it with its default resolver (no ``resolve_*``, no scopes), takes
    no arguments and is a scalar or enum. Whatever is not plain on the way (a
    missing attribute, null for a non-null field, a value the scalar refuses) goes
    back to the general path, which reports it as it always has.
    """

    _readers: dict[tuple[GraphQLObjectType, str], Reader | None] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        fields: dict[str, list[FieldNode]],
    ) -> Any:
        results: dict[str, Any] = {}
        pending: list[str] = []
        readers = self._readers
        plain_source = not isinstance(source_value, dict)
        for response_name, field_nodes in fields.items():
            key = (parent_type, field_nodes[0].name.value)
            reader = readers.get(key, _NOT_PLANNED)
            if reader is _NOT_PLANNED:
                reader = readers[key] = self._reader(parent_type, key[1])
            if reader is not None and plain_source:
                read, serialize, non_null = reader
                try:
                    value = read(source_value)
                    if value is None:
                        if not non_null:
                            results[response_name] = None
                            continue
                    else:
                        serialized = serialize(value)
                        if serialized is not None and serialized is not Undefined:
                            results[response_name] = serialized
                            continue
                except Exception:  # noqa: BLE001 - the general path reports it
                    pass
            result = self.execute_field(
                parent_type, source_value, field_nodes, Path(path, response_name, parent_type.name)
            )
            if result is not Undefined:
                results[response_name] = result
                if is_awaitable(result):
                    pending.append(response_name)
        if not pending:
            return results
        return _settled(results, pending)

    _objects: dict[Any, GraphQLObjectType | None] = {}

    def complete_value(
        self,
        return_type: Any,
        field_nodes: list[FieldNode],
        info: Any,
        path: Path,
        result: Any,
    ) -> Any:
        # An object (or non-null object) of a concrete type that checks nothing of its
        # values goes straight to its fields: graphql-core would get there the same way,
        # through two calls and five type tests per object. Null, errors and every other
        # type take the general path.
        object_type = self._objects.get(return_type, _NOT_PLANNED)
        if object_type is _NOT_PLANNED:
            inner = get_nullable_type(return_type)
            plain = is_object_type(inner) and inner.is_type_of is None
            object_type = self._objects[return_type] = inner if plain else None
        if object_type is not None and result is not None and not isinstance(result, Exception):
            fields = self.collect_subfields(object_type, field_nodes)
            return self.execute_fields(object_type, result, path, fields)
        return super().complete_value(return_type, field_nodes, info, path, result)

    def _reader(self, parent_type: GraphQLObjectType, name: str) -> Reader | None:
        field: GraphQLField | None = parent_type.fields.get(name)
        if field is None or field.args or self.middleware_manager is not None:
            return None
        resolve = field.resolve
        leaf = get_nullable_type(field.type)
        if not is_leaf_type(leaf):
            return None
        non_null = is_non_null_type(field.type)
        # A resolver that needs nothing of the ResolveInfo but its type's name can say how
        # to read the field without one (``NodeObjectType.resolve_id``).
        reader_for = getattr(resolve, "plain_reader", None)
        if reader_for is not None:
            return reader_for(parent_type.name), leaf.serialize, non_null
        if not (
            isinstance(resolve, partial)
            and resolve.func is dict_or_attr_resolver
            and len(resolve.args) == 2
            and resolve.args[1] is None
            and not resolve.keywords
        ):
            return None
        return attrgetter(resolve.args[0]), leaf.serialize, non_null


async def _settled(results: dict[str, Any], pending: list[str]) -> dict[str, Any]:
    """The fields' results once those still pending are awaited, side by side.

    Most objects have one pending field (a customer's orders, an edge's node): that
    one is awaited directly, without the task ``gather`` would wrap it in.
    """
    if len(pending) == 1:
        name = pending[0]
        results[name] = await results[name]
        return results
    values = await asyncio.gather(*(results[name] for name in pending))
    results.update(zip(pending, values))
    return results


class RequestError(Exception):
    """The request cannot run at all (HTTP 400 under graphql-response+json)."""

    def __init__(self, errors: list[GraphQLError]) -> None:
        super().__init__(errors[0].message)
        self.errors = errors


class Executor:
    def __init__(self, schema: GraphQLSchema, api: ApiSettings) -> None:
        self.schema = schema
        self.api = api
        self.rules = [*specified_rules, depth_rule(api.max_depth), alias_rule(api.max_aliases)]
        if not api.introspection:
            self.rules.append(NoSchemaIntrospectionCustomRule)
        self._cache: OrderedDict[str, Prepared] = OrderedDict()

    def prepare(self, query: str) -> Prepared:
        found = self._cache.get(query)
        if found is not None:
            self._cache.move_to_end(query)
            return found
        prepared = self._prepare(query)
        if self.api.document_cache_size:
            self._cache[query] = prepared
            if len(self._cache) > self.api.document_cache_size:
                self._cache.popitem(last=False)
        return prepared

    def _prepare(self, query: str) -> Prepared:
        try:
            document = parse(query)
        except GraphQLError as error:
            error.extensions = {**(error.extensions or {}), "code": ErrorCode.GRAPHQL_PARSE_FAILED}
            return Prepared(None, (error,), {})
        errors = validate(self.schema, document, self.rules)
        for error in errors:
            if not (error.extensions or {}).get("code"):
                error.extensions = {
                    **(error.extensions or {}),
                    "code": ErrorCode.GRAPHQL_VALIDATION_FAILED.value,
                }
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        return Prepared(document, tuple(errors), fragments)

    def operation_for(
        self, prepared: Prepared, operation_name: str | None
    ) -> OperationDefinitionNode:
        if prepared.errors:
            raise RequestError(list(prepared.errors))
        operation = prepared.operation(operation_name)
        if operation is None:
            message = (
                f"Unknown operation named {operation_name!r}."
                if operation_name
                else "The document has several operations: pass `operationName`."
            )
            raise RequestError([ApiError(message, ErrorCode.BAD_USER_INPUT)])
        return operation

    async def run(
        self,
        prepared: Prepared,
        operation: OperationDefinitionNode,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
        admit: Callable[[int], Coroutine[Any, Any, None]] | None = None,
    ) -> tuple[ExecutionResult, int]:
        """Coerce the variables, check the cost, then execute; returns the result and the cost.

        ``admit(cost)`` is awaited between the cost check and execution: the
        caller's rate limit, which refuses by raising.
        """
        # Coerced here rather than left to execute(): a variable that does not
        # coerce is a request error (400 under graphql-response+json), and the
        # cost must see the values execution will use, defaults included.
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), variables or {}, max_errors=20
        )
        if isinstance(coerced, list):
            code = ErrorCode.BAD_USER_INPUT.value
            for error in coerced:
                error.extensions = {**(error.extensions or {}), "code": code}
            raise RequestError(coerced)
        try:
            cost = check_cost(operation, prepared.fragments, coerced, self.api, prepared.costs)
        except ApiError as error:
            raise RequestError([error]) from None
        if admit is not None:
            await admit(cost)
        assert prepared.document is not None
        result = execute(
            self.schema,
            prepared.document,
            variable_values=variables,
            operation_name=operation_name,
            context_value=context,
            is_awaitable=is_awaitable,
            execution_context_class=HubExecutionContext,
        )
        if not isinstance(result, ExecutionResult):
            result = await result
        return result, cost


def is_mutation(operation: OperationDefinitionNode) -> bool:
    return operation.operation is not OperationType.QUERY


def public_error(error: GraphQLError, debug: bool) -> dict[str, Any]:
    """An error as the client sees it: never a stack trace, unexpected errors masked."""
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        log.exception("unexpected error in resolver at %s", error.path, exc_info=original)
        if not debug:
            masked = GraphQLError(
                "Internal error; it has been logged.",
                path=error.path,
                nodes=error.nodes,
                extensions={"code": ErrorCode.INTERNAL_SERVER_ERROR.value},
            )
            return masked.formatted
    return error.formatted
