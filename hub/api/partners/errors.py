"""Errors of partner and sharing-grant mutations."""

from __future__ import annotations

from hub.access.sharing import SharingError, SharingErrorCode
from hub.api.core.mutations import UserError, error_type

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
