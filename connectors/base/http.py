"""The one place a connector talks HTTP: ``HttpSession`` around a single ``requests.Session``.

Every request gets (connect, read) timeouts, the rate budget, the auth, and the
error policy: 429 and 5xx and transport errors are retried with jittered
exponential backoff honouring ``Retry-After``; 401 refreshes the token once
and retries; other 4xx raise typed errors (see ``errors``). A connector's
``interpret`` may overrule the status from the body (a ``Verdict``: Facebook
throttles with a 400 and error code 32). POST and PATCH are
retried only inside ``idempotency(key)``, which also sends the key. Nothing
logged or raised carries a secret.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import requests

from connectors.base.budget import RateBudget
from connectors.base.errors import (
    AuthExpired,
    BadRequest,
    ConnectError,
    ConnectorError,
    Forbidden,
    HTTPStatusError,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
    TransportError,
)
from connectors.base.policy import (
    DEFAULT_ERROR_MAPPING,
    Action,
    RetryPolicy,
    Verdict,
    action_for,
    parse_retry_after,
)
from connectors.base.redaction import guard_library_loggers, is_secret_header, redact_text

log = logging.getLogger(__name__)

Timeouts = tuple[float, float]
DEFAULT_TIMEOUTS: Timeouts = (5.0, 30.0)
DEFAULT_RETRY = RetryPolicy()
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENT_METHODS = SAFE_METHODS | {"PUT", "DELETE"}
_STATUS_ERRORS: dict[int, type[HTTPStatusError]] = {
    400: BadRequest,
    401: AuthExpired,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
}


def _check_timeouts(timeout: Any) -> Timeouts:
    if (
        not isinstance(timeout, tuple)
        or len(timeout) != 2
        or not all(isinstance(t, int | float) and t > 0 for t in timeout)
    ):
        raise ValueError("timeout must be a (connect, read) pair of positive seconds")
    return (float(timeout[0]), float(timeout[1]))


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class HttpSession:
    """A connection's HTTP client: base URL, default headers, auth, timeouts, retries, budget."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: requests.auth.AuthBase | None = None,
        timeout: Timeouts = DEFAULT_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_RETRY,
        error_mapping: Mapping[int, Action] | None = None,
        auth_expired: Callable[[requests.Response], bool] | None = None,
        interpret: Callable[[requests.Response], Verdict | None] | None = None,
        budget: RateBudget | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: random.Random | None = None,
        idempotency_header: str = "Idempotency-Key",
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = _check_timeouts(timeout)
        self.retry = retry
        self.error_mapping = {**DEFAULT_ERROR_MAPPING, **(error_mapping or {})}
        # Provider-specific expired-token signal, e.g. Facebook's 400 with error code 190.
        self.auth_expired = auth_expired
        # Provider-specific reading of a body the status does not explain (see ``Verdict``).
        self.interpret = interpret
        self.budget = budget
        self.idempotency_header = idempotency_header
        self._sleep = sleep
        self._rand = rand
        self._idempotency_key: str | None = None
        self.http = requests.Session()
        self.http.headers.update({"User-Agent": "crmhub", "Accept": "application/json"})
        self.http.headers.update(headers or {})
        self.auth = auth
        if hasattr(auth, "bind"):
            auth.bind(self)
        guard_library_loggers()

    # -- public API -------------------------------------------------------------------------

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeouts | None = None,
    ) -> requests.Response:
        """Send with the policy; a success or an IGNOREd status comes back, the rest raises."""
        method = method.upper()
        target = self.url(url)
        headers = dict(headers or {})
        if self._idempotency_key and method not in SAFE_METHODS:
            headers[self.idempotency_header] = self._idempotency_key
        # Resending a POST that may have reached the server is safe only with an idempotency key.
        resend_safe = method in IDEMPOTENT_METHODS or self._idempotency_key is not None
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            if self.budget is not None:
                self.budget.acquire()
            try:
                response = self.send(
                    method,
                    target,
                    params=params,
                    json=json,
                    data=data,
                    headers=headers,
                    timeout=timeout,
                    auth=self.auth,
                )
            except TransportError as error:
                if not resend_safe or attempt >= self.retry.max_attempts:
                    raise
                self._wait(self.retry.backoff(attempt, self._rand), str(error))
                continue
            action = action_for(response.status_code, self.error_mapping)
            verdict = self.interpret(response) if self.interpret is not None else None
            if verdict is not None and verdict.action is not None:
                action = verdict.action
            if self.auth_expired is not None and action is not None and self.auth_expired(response):
                action = Action.REFRESH_TOKEN_THEN_RETRY
            if action is None or action is Action.IGNORE:
                return response
            if action is Action.REFRESH_TOKEN_THEN_RETRY:
                if refreshed or not hasattr(self.auth, "refresh"):
                    raise self._status_error(response, AuthExpired, verdict=verdict)
                self.auth.refresh()
                refreshed = True
                continue
            if action is Action.FAIL:
                raise self._status_error(response, verdict=verdict)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if verdict is not None and verdict.retry_after is not None:
                retry_after = verdict.retry_after
            wait = self.retry.backoff(attempt, self._rand) if retry_after is None else retry_after
            if (
                attempt >= self.retry.max_attempts
                or wait > self.retry.max_wait
                or (action is Action.RETRY and not resend_safe)
            ):
                if action is Action.RATE_LIMITED:
                    raise self._status_error(
                        response, RateLimited, verdict=verdict, retry_after=retry_after
                    )
                raise self._status_error(response, ServerError, verdict=verdict)
            self._wait(wait, self.describe(response))

    @contextmanager
    def idempotency(self, key: str) -> Iterator[HttpSession]:
        """Within the block, writes carry ``key`` and may be retried like reads."""
        previous, self._idempotency_key = self._idempotency_key, key
        try:
            yield self
        finally:
            self._idempotency_key = previous

    def send(
        self, method: str, url: str, *, timeout: Timeouts | None = None, **kwargs: Any
    ) -> requests.Response:
        """One attempt, no policy: the only call into requests. Transport errors come back typed."""
        timeout = _check_timeouts(timeout) if timeout is not None else self.timeout
        started = time.monotonic()
        try:
            response = self.http.request(method, url, timeout=timeout, **kwargs)
        except requests.Timeout as error:
            raise Timeout(self.redact(f"{method} {url}: timed out ({error})")) from None
        except requests.ConnectionError as error:
            raise ConnectError(self.redact(f"{method} {url}: {error}")) from None
        except requests.RequestException as error:
            raise TransportError(self.redact(f"{method} {url}: {error}")) from None
        log.debug(
            "%s %s -> %s in %.0f ms",
            method,
            self.redact(response.url),
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    def url(self, path_or_url: str) -> str:
        """Join a path to the base URL; an absolute URL (a next link) must share its origin."""
        if "://" not in path_or_url:
            return urljoin(self.base_url, path_or_url.lstrip("/"))
        if _origin(path_or_url) != _origin(self.base_url):
            # Our auth headers would go with it: never follow a link off the platform's host.
            raise ConnectorError(f"refusing to send credentials to {_origin(path_or_url)[1]}")
        return path_or_url

    def redact(self, text: str) -> str:
        values = [v for k, v in self.http.headers.items() if is_secret_header(k)]
        values += list(getattr(self.auth, "secret_values", list)())
        return redact_text(text, values)

    def describe(self, response: requests.Response) -> str:
        return self.redact(f"{response.request.method} {response.url} -> {response.status_code}")

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------

    def _wait(self, seconds: float, reason: str) -> None:
        log.warning("retrying in %.2f s after %s", seconds, reason)
        self._sleep(seconds)

    def _status_error(
        self,
        response: requests.Response,
        kind: type[HTTPStatusError] | None = None,
        verdict: Verdict | None = None,
        **extra: Any,
    ) -> HTTPStatusError:
        status = response.status_code
        kind = kind or _STATUS_ERRORS.get(status) or (ServerError if status >= 500 else BadRequest)
        if verdict is not None and verdict.message:
            excerpt = verdict.message
        else:
            excerpt = " ".join(response.text[:300].split())
        message = self.redact(f"{self.describe(response)}: {excerpt}")
        return kind(message, status_code=status, url=self.redact(response.url), **extra)
