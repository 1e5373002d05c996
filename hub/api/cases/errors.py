"""Errors of case mutations."""

from __future__ import annotations

import enum

from hub.api.core.mutations import error_type


class CaseErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    NOT_ALLOWED = "NOT_ALLOWED"
    CLOSED = "CLOSED"
    CONFLICT = "CONFLICT"


CaseError = error_type("CaseError", CaseErrorCode, "Why a case mutation did nothing.")
