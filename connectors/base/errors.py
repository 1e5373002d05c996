"""What can go wrong when talking to a platform, as types the sync engine can act on.

    ConnectorError
     ├── TransportError ─ no usable response after the retries
     │    ├── ConnectError
     │    ├── Timeout
     │    └── DecodingError ─ a success whose body is not the JSON expected
     ├── HTTPStatusError ─ the error policy calls this status fatal
     │    ├── BadRequest ─ 400 and any other 4xx without a type of its own
     │    ├── AuthExpired ─ 401, a provider's expired-token signal, a failed refresh
     │    ├── Forbidden ─ 403
     │    ├── NotFound ─ 404
     │    ├── RateLimited ─ 429 after the last attempt, or a Retry-After beyond max_wait
     │    └── ServerError ─ 5xx after the last attempt
     ├── CredentialsError ─ stored credentials cannot be decrypted
     └── SignatureError ─ a webhook whose signature or timestamp does not verify

Messages carry the method, the redacted URL, the status and a redacted excerpt
of the body; errors never hold the request or its headers.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class of every error a connector raises on purpose."""


class TransportError(ConnectorError):
    """The platform could not be reached, or did not answer in time."""


class ConnectError(TransportError):
    """The connection failed (refused, reset, DNS)."""


class Timeout(TransportError):
    """The connect or read timeout expired."""


class DecodingError(TransportError):
    """A 2xx response whose body is not JSON (a gateway or a bot-challenge page)."""


class HTTPStatusError(ConnectorError):
    """A response whose status the error policy treats as fatal."""

    def __init__(self, message: str, *, status_code: int | None = None, url: str | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.url = url


class BadRequest(HTTPStatusError):
    """The platform refused the request as malformed (400, 422, other 4xx)."""


class AuthExpired(HTTPStatusError):
    """The credentials no longer work; the connection needs re-authorisation."""


class Forbidden(HTTPStatusError):
    """The credentials are valid but lack a permission (403)."""


class NotFound(HTTPStatusError):
    """The resource does not exist (404)."""


class RateLimited(HTTPStatusError):
    """Still throttled after the last attempt; ``retry_after`` seconds, when the platform said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(HTTPStatusError):
    """The platform kept failing (5xx) until the last attempt."""


class CredentialsError(ConnectorError):
    """Encrypted credentials that no configured key opens."""


class SignatureError(ConnectorError):
    """A webhook delivery that cannot be trusted: bad or missing signature, stale timestamp."""
