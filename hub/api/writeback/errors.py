"""Errors of write-back mutations."""

from __future__ import annotations

import enum

from hub.api.core.mutations import error_type


class WriteBackErrorCode(enum.Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    UNKNOWN_ACTION = "UNKNOWN_ACTION"
    INVALID_PARAMS = "INVALID_PARAMS"
    PAUSED = "PAUSED"
    NEEDS_REAUTH = "NEEDS_REAUTH"


WriteBackError = error_type("WriteBackError", WriteBackErrorCode, "Why nothing was queued.")
