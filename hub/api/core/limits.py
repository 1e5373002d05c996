"""Limits checked before execution: depth, aliases, page sizes and estimated cost.

Depth and aliases depend on the document only, so they are validation rules
(and cached with the validated document). Cost and page sizes depend on the
variables too, so they are computed per request by one walk of the operation.
Introspection (``__schema``, ``__type``) is left out of depth and cost: the
standard introspection query of every GraphQL tool is deeper than any data query.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
)
from hub.api.core.errors import ApiError, ErrorCode
from hub.settings import ApiSettings

INTROSPECTION = frozenset({"__schema", "__type"})


def _fragments(context: ValidationContext) -> dict[str, FragmentDefinitionNode]:
    return {
        d.name.value: d
        for d in context.document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }


def depth_rule(max_depth: int) -> type[ValidationRule]:
    class DepthRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = _depth(node.selection_set, _fragments(self.context), 0, set())
            if depth > max_depth:
                self.report_error(
                    GraphQLError(
                        f"The query is {depth} levels deep; the limit is {max_depth}.",
                        node,
                        extensions={"code": ErrorCode.DEPTH_LIMIT_EXCEEDED.value},
                    )
                )

    return DepthRule


def _depth(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    level: int,
    seen: set[str],
) -> int:
    if selection_set is None:
        return level
    deepest = level
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value in INTROSPECTION:
                continue
            deepest = max(deepest, _depth(selection.selection_set, fragments, level + 1, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, level, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                deepest = max(
                    deepest, _depth(fragment.selection_set, fragments, level, seen | {name})
                )
    return deepest


def alias_rule(max_aliases: int) -> type[ValidationRule]:
    class AliasRule(ValidationRule):
        count = 0

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            if node.alias is not None:
                self.count += 1
                if self.count == max_aliases + 1:
                    self.report_error(
                        GraphQLError(
                            f"The query uses more than {max_aliases} aliases.",
                            node,
                            extensions={"code": ErrorCode.ALIAS_LIMIT_EXCEEDED.value},
                        )
                    )

    return AliasRule


def check_cost(
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any] | None,
    api: ApiSettings,
    walked: dict[tuple[Any, ...], int] | None = None,
) -> int:
    """Estimated cost: 1 per field, a page multiplies what is inside it by its size.

    Raises PAGE_SIZE_EXCEEDED for any ``first``/``last`` above the cap and
    COST_LIMIT_EXCEEDED above the budget; returns the cost otherwise. ``walked``
    keeps the costs of a cached document (``cost_key``), so that a repeated query
    is not walked again.
    """
    variables = variables or {}
    key = cost_key(operation, variables)
    cost = walked.get(key) if walked is not None else None
    if cost is None:
        cost = _cost(operation.selection_set, fragments, variables, api, frozenset())
        if walked is not None:
            walked[key] = cost
    if cost > api.max_cost:
        raise ApiError(
            f"The query's estimated cost is {cost}; the limit is {api.max_cost}. "
            "Ask for smaller pages or fewer fields.",
            ErrorCode.COST_LIMIT_EXCEEDED,
            cost=cost,
            maxCost=api.max_cost,
        )
    return cost


def cost_key(operation: OperationDefinitionNode, variables: dict[str, Any]) -> tuple[Any, ...]:
    """What a cost depends on besides the document: the operation and the values of its
    integer variables (only an integer ``first``/``last`` changes a page's size)."""
    return (
        id(operation),
        *((name, value) for name, value in variables.items() if type(value) is int),
    )


def _page_size(node: FieldNode, variables: dict[str, Any], api: ApiSettings) -> int | None:
    size = None
    for argument in node.arguments:
        if argument.name.value not in ("first", "last"):
            continue
        value = argument.value
        if isinstance(value, VariableNode):
            raw = variables.get(value.name.value)
        elif isinstance(value, IntValueNode):
            raw = int(value.value)
        else:
            raw = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            if raw > api.max_page_size:
                raise ApiError(
                    f"`{argument.name.value}: {raw}` on `{node.name.value}` is above "
                    f"the largest page, {api.max_page_size}.",
                    ErrorCode.PAGE_SIZE_EXCEEDED,
                    maxPageSize=api.max_page_size,
                )
            size = max(raw, 1)
        else:
            size = api.default_page_size
    if size is None and node.selection_set is not None:
        # A connection asked without first/last gets the default page.
        names = {s.name.value for s in node.selection_set.selections if isinstance(s, FieldNode)}
        if names & {"edges", "pageInfo", "totalCount"}:
            size = api.default_page_size
    return size


def _cost(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    api: ApiSettings,
    seen: frozenset[str],
) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value in INTROSPECTION:
                continue
            inner = _cost(selection.selection_set, fragments, variables, api, seen)
            size = _page_size(selection, variables, api)
            total += 1 + inner * (size or 1)
        elif isinstance(selection, InlineFragmentNode):
            total += _cost(selection.selection_set, fragments, variables, api, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                total += _cost(fragment.selection_set, fragments, variables, api, seen | {name})
    return total
