"""Errors of the webhook mutations."""

from __future__ import annotations

import enum

from hub.api.core.mutations import UserError, error_type
from hub.events.ssrf import TargetRefused


class WebhookErrorCode(enum.Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    INVALID_URL = "INVALID_URL"
    HTTPS_REQUIRED = "HTTPS_REQUIRED"
    PRIVATE_ADDRESS = "PRIVATE_ADDRESS"
    UNRESOLVABLE = "UNRESOLVABLE"
    UNKNOWN_EVENT_TYPE = "UNKNOWN_EVENT_TYPE"
    PARTNER_NOT_ALLOWED = "PARTNER_NOT_ALLOWED"


WebhookError = error_type(
    "WebhookError", WebhookErrorCode, "Why a webhook mutation did nothing."
)


def refused(error: TargetRefused) -> UserError:
    return UserError(WebhookErrorCode(error.code), f"The URL is refused: {error.message}.", "url")
