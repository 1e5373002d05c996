"""How the session reacts to a status: policy as data, after Airbyte's error mapping.

``DEFAULT_ERROR_MAPPING`` maps a status to an ``Action``; a connector overrides
single entries (``{404: Action.IGNORE}``) without code. Statuses absent from
the mapping: 5xx retry, other 4xx fail.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


class Action(enum.StrEnum):
    RETRY = "RETRY"
    FAIL = "FAIL"
    IGNORE = "IGNORE"  # the response is handed back; a stream reads it as an empty last page
    RATE_LIMITED = "RATE_LIMITED"
    REFRESH_TOKEN_THEN_RETRY = "REFRESH_TOKEN_THEN_RETRY"


DEFAULT_ERROR_MAPPING: dict[int, Action] = {
    400: Action.FAIL,
    401: Action.REFRESH_TOKEN_THEN_RETRY,
    403: Action.FAIL,
    404: Action.FAIL,
    408: Action.RETRY,
    429: Action.RATE_LIMITED,
    500: Action.RETRY,
    502: Action.RETRY,
    503: Action.RETRY,
    504: Action.RETRY,
}


@dataclass(frozen=True)
class Verdict:
    """A connector's reading of a response beyond its status code.

    Some platforms say what went wrong in the body: Facebook sends throttling
    as a 400 with ``error.code`` 4/17/32/613, and its usage headers say how long
    to wait. ``Connector.interpret`` returns one of these; every field left None
    leaves the session's own policy in force.
    """

    action: Action | None = None  # replaces the status's action
    message: str | None = None  # the platform's words, instead of the raw body excerpt
    retry_after: float | None = None  # seconds to wait, instead of Retry-After or backoff


def action_for(status: int, mapping: dict[int, Action]) -> Action | None:
    """The action for ``status``; None for a success."""
    if status in mapping:
        return mapping[status]
    if status < 400:
        return None
    return Action.RETRY if status >= 500 else Action.FAIL


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying: attempts in all, and the longest single wait accepted."""

    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    # A Retry-After longer than this ends the run with RateLimited; the engine reschedules.
    max_wait: float = 300.0

    def backoff(self, attempt: int, rand: random.Random | None = None) -> float:
        """Jittered exponential wait after failed attempt ``attempt`` (counting from 1)."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return (rand or random).uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: ``"3"``, Shopify's ``"2.0"``, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
