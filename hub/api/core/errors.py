"""Top-level API errors: each carries a stable ``extensions.code``."""

from __future__ import annotations

import enum
from typing import Any

from graphql import GraphQLError


class ErrorCode(enum.StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    INVALID_ID = "INVALID_ID"
    PAGE_SIZE_EXCEEDED = "PAGE_SIZE_EXCEEDED"
    DEPTH_LIMIT_EXCEEDED = "DEPTH_LIMIT_EXCEEDED"
    ALIAS_LIMIT_EXCEEDED = "ALIAS_LIMIT_EXCEEDED"
    COST_LIMIT_EXCEEDED = "COST_LIMIT_EXCEEDED"
    RATE_LIMITED = "RATE_LIMITED"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class ApiError(GraphQLError):
    """An expected failure that the client should see, with its code."""

    def __init__(self, message: str, code: ErrorCode, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code.value, **extensions})


def forbidden(missing: frozenset[str]) -> ApiError:
    return ApiError(
        f"This field needs the scope(s): {', '.join(sorted(missing))}.",
        ErrorCode.FORBIDDEN,
        missingScopes=sorted(missing),
    )


def not_granted(missing: frozenset[str]) -> ApiError:
    """A partner holds the scopes, but no sharing grant gives them on this customer."""
    return ApiError(
        f"No sharing grant gives you {', '.join(sorted(missing))} on this customer.",
        ErrorCode.FORBIDDEN,
        missingScopes=sorted(missing),
    )
