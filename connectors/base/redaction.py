"""Keeping secrets out of logs and error messages.

Three nets, because a secret can leak by name or by value: header names
(``Authorization``, ``Cookie``, ``X-…-Token``), query parameter names
(``access_token``, ``api_key``…) and the literal secret values an auth object
declares. Every text the connector base logs or raises passes through here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

MASK = "***"

_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
_SECRET_HEADER_PATTERN = re.compile(
    r"^x-.*-(token|key|secret|signature|sha256)$|api[-_]?key|access[-_]?token", re.IGNORECASE
)
SECRET_PARAMS: set[str] = {
    "access_token",
    "api_key",
    "apikey",
    "appsecret_proof",
    "client_secret",
    "code",
    "consumer_key",
    "consumer_secret",
    "fb_exchange_token",
    "key",
    "password",
    "refresh_token",
    "token",
}


def register_secret_param(name: str) -> None:
    """Treat query parameter ``name`` as a secret everywhere (an auth in the query declares it)."""
    SECRET_PARAMS.add(name.lower())


def is_secret_header(name: str) -> bool:
    return name.lower() in _SECRET_HEADERS or bool(_SECRET_HEADER_PATTERN.search(name))


def redact_headers(headers: Mapping[str, str], extra: Iterable[str] = ()) -> dict[str, str]:
    """A copy of ``headers`` fit to log: secret-looking and ``extra`` names masked."""
    named = {name.lower() for name in extra}
    return {
        key: MASK if is_secret_header(key) or key.lower() in named else value
        for key, value in headers.items()
    }


def _param_pattern() -> re.Pattern[str]:
    names = "|".join(re.escape(name) for name in sorted(SECRET_PARAMS, key=len, reverse=True))
    return re.compile(rf"(?i)([?&;](?:{names})=)[^&#\s\"'<>]*")


def redact_text(text: str, values: Iterable[str] = ()) -> str:
    """``text`` with secret query parameters and every literal secret value masked."""
    text = _param_pattern().sub(rf"\g<1>{MASK}", text)
    for value in sorted((v for v in values if v and len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Masks secret query parameters in records of a library logger (urllib3 logs full URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def guard_library_loggers() -> None:
    """Install the filter on urllib3's request logger, once."""
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
