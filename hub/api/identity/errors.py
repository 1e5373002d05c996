"""Errors of the identity mutations: one code enum for merges, unmerges and suggestions."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

from hub.api.core.mutations import UserError, error_type, id_argument
from hub.identity.merge import MergeError
from hub.identity.suggestions import SuggestionError

T = TypeVar("T")


class IdentityErrorCode(enum.Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    SAME_CUSTOMER = "SAME_CUSTOMER"
    NOT_ACTIVE = "NOT_ACTIVE"
    NOT_MERGED = "NOT_MERGED"
    ALREADY_UNMERGED = "ALREADY_UNMERGED"
    SURVIVOR_MERGED = "SURVIVOR_MERGED"
    NOT_OPEN = "NOT_OPEN"


IdentityError = error_type(
    "IdentityError", IdentityErrorCode,
    "Why a merge, an unmerge or a suggestion's dismissal did nothing.",
)


def user_error(error: MergeError | SuggestionError) -> UserError:
    return UserError(IdentityErrorCode(error.code.value), error.message, error.field)


def id_of(global_id: str, type_name: str, field: str) -> object:
    """The uuid of a global id of this type, or a payload error naming the argument."""
    return id_argument(global_id, type_name, field, IdentityErrorCode.INVALID)


async def identity_write(ctx: Any, change: Callable[[Any], T]) -> T:
    """``change(db)`` in one transaction; a refused merge, unmerge or dismissal is a payload
    error. What this request loaded before is forgotten: the change moved it."""

    async def run(conn: Any) -> T:
        return await conn.run_sync(change)

    try:
        done = await ctx.db.transaction(run)
    except (MergeError, SuggestionError) as error:
        raise user_error(error) from None
    ctx.forget_loaded()
    return done
