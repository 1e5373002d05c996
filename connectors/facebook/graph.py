"""How the Graph API says what went wrong: error codes in the body, waits in usage headers.

Every failure comes as ``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}``, mostly with HTTP 400 whatever the cause, so the status alone
cannot tell a throttled call from a bad one. Codes (Graph API "Handling
Errors"): 190/102 the token is expired, revoked or invalid (subcodes 458–467
say why); 4 app, 17 user, 32 Page, 613 custom and 80001–80014 business-use-case
throttling, 341 application limit; 1 and 2 a passing outage. The
business-use-case header says how long a throttled token waits:
``X-Business-Use-Case-Usage: {"<id>": [{"estimated_time_to_regain_access": <min>, …}]}``.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from connectors.base.policy import Action, Verdict

TOKEN_CODES = frozenset({102, 190})
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, *range(80001, 80015)})
TRANSIENT_CODES = frozenset({1, 2})
TOKEN_SUBCODES = {
    458: "the app is no longer installed for the user who issued the token",
    459: "the user must log in to Facebook to fix their account",
    460: "the password of the user who issued the token changed",
    463: "the token expired",
    464: "the user who issued the token is not confirmed",
    467: "the token is invalid (logged out or revoked)",
    492: "the user who issued the token lost their role on the Page",
}
USAGE_HEADER = "X-Business-Use-Case-Usage"


def graph_error(response: requests.Response) -> dict[str, Any] | None:
    """The ``error`` object of a failed response, if the body is Graph's JSON."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def token_expired(response: requests.Response) -> bool:
    error = graph_error(response)
    return error is not None and error.get("code") in TOKEN_CODES


def interpret(response: requests.Response) -> Verdict | None:
    """Throttling and outages from the error code; the platform's words for the rest."""
    if response.ok:
        return None
    error = graph_error(response)
    throttled = response.status_code == 429 or (error or {}).get("code") in THROTTLE_CODES
    message = describe(error) if error is not None else None
    if throttled:
        return Verdict(Action.RATE_LIMITED, message, regain_seconds(response))
    if error is not None and error.get("code") in TRANSIENT_CODES:
        return Verdict(Action.RETRY, message)
    return Verdict(message=message) if message else None


def describe(error: dict[str, Any]) -> str:
    """``Facebook error 190/463 (OAuthException): <message> [fbtrace_id …]`` plus what to do."""
    code, subcode = error.get("code"), error.get("error_subcode")
    label = f"{code}/{subcode}" if subcode else f"{code}"
    kind = f" ({error['type']})" if error.get("type") else ""
    text = f"Facebook error {label}{kind}: {error.get('message') or 'no message'}"
    if code in TOKEN_CODES:
        why = TOKEN_SUBCODES.get(subcode, "the token was refused")
        text += f" — the Page access token no longer works ({why}); reconnect the Page"
    elif code in THROTTLE_CODES or code in TRANSIENT_CODES:
        text += " — throttled or unavailable; retried with backoff"
    if error.get("fbtrace_id"):
        text += f" [fbtrace_id {error['fbtrace_id']}]"
    return text


def regain_seconds(response: requests.Response) -> float | None:
    """The longest ``estimated_time_to_regain_access`` (minutes) as seconds; None if not said."""
    raw = response.headers.get(USAGE_HEADER)
    try:
        usage = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(usage, dict):
        return None
    minutes = [
        entry.get("estimated_time_to_regain_access")
        for entries in usage.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]
    longest = max((m for m in minutes if isinstance(m, int | float) and m > 0), default=None)
    return None if longest is None else float(longest) * 60
