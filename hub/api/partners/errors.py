"""Errors of partner and sharing-grant mutations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from hub.access.sharing import SharingError, SharingErrorCode
from hub.api.core.mutations import UserError, error_type

T = TypeVar("T")

PartnerError = error_type(
    "PartnerError", SharingErrorCode, "Why a partner or sharing-grant mutation did nothing."
)


def user_error(error: SharingError) -> UserError:
    return UserError(error.code, error.message, _camel(error.field))


# The inputs the sharing functions name, as the GraphQL inputs call them.
_INPUTS = {"partner": "partnerId", "customers": "customerIds"}


def _camel(field: str | None) -> str | None:
    if field is None:
        return None
    if field in _INPUTS:
        return _INPUTS[field]
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


async def sharing_write(ctx: Any, change: Callable[..., T], *args: Any) -> T:
    """``change(conn, *args)`` in one transaction; what the sharing rules refuse is a payload
    error. What this request loaded before is forgotten: the change moved it."""

    async def run(conn: Any) -> T:
        return await conn.run_sync(change, *args)

    try:
        done = await ctx.db.transaction(run)
    except SharingError as error:
        raise user_error(error) from None
    ctx.forget_loaded()
    return done
