"""Scalars with the strictness an API needs: aware timestamps, exact money."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

import graphene

from graphql import GraphQLError, StringValueNode, ValueNode


class DateTime(graphene.Scalar):
    """An ISO 8601 timestamp. Output is always UTC; input without an offset is taken as UTC."""

    @staticmethod
    def serialize(value: dt.datetime) -> str:
        return value.isoformat()

    @staticmethod
    def parse_value(value: Any) -> dt.datetime:
        if not isinstance(value, str):
            raise GraphQLError(f"DateTime must be an ISO 8601 string, not {value!r}.")
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise GraphQLError(f"{value!r} is not an ISO 8601 timestamp.") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)

    @classmethod
    def parse_literal(cls, node: ValueNode, _variables: Any = None) -> dt.datetime:
        if not isinstance(node, StringValueNode):
            raise GraphQLError("DateTime must be an ISO 8601 string.")
        return cls.parse_value(node.value)


class Money(graphene.Scalar):
    """An exact decimal amount as a string, e.g. "129.90"; read it with a decimal type, never a float."""

    @staticmethod
    def serialize(value: Decimal) -> str:
        # Trailing zeros beyond the cents go: Decimal("129.9000") -> "129.90".
        text = format(value, "f")
        if "." in text:
            whole, frac = text.split(".")
            frac = frac.rstrip("0").ljust(2, "0")
            return f"{whole}.{frac}"
        return f"{text}.00"

    @staticmethod
    def parse_value(value: Any) -> Decimal:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise GraphQLError(f"{value!r} is not a decimal amount.") from None

    @classmethod
    def parse_literal(cls, node: ValueNode, _variables: Any = None) -> Decimal:
        return cls.parse_value(getattr(node, "value", None))
