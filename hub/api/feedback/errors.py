"""Errors of feedback mutations."""

from __future__ import annotations

import enum

from hub.api.core.mutations import error_type


class FeedbackErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    OTHER_CUSTOMER = "OTHER_CUSTOMER"


FeedbackError = error_type("FeedbackError", FeedbackErrorCode, "Why feedback was not recorded.")
