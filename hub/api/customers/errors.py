"""Errors of customer mutations."""

from __future__ import annotations

import enum

from hub.api.core.mutations import error_type


class CustomerErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    TOO_MANY = "TOO_MANY"


CustomerError = error_type("CustomerError", CustomerErrorCode, "Why a customer mutation did nothing.")
