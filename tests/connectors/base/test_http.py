"""HttpSession: retries, Retry-After, typed failures, timeouts, budget, redaction."""

from __future__ import annotations

import logging
import socket
import traceback
from datetime import UTC, datetime

import pytest
import requests
from requests.adapters import HTTPAdapter

from connectors.base import (
    Action,
    ApiKeyAuth,
    AuthExpired,
    BadRequest,
    ConnectError,
    ConnectorError,
    Forbidden,
    HttpSession,
    NotFound,
    RateBudget,
    RateLimited,
    RetryPolicy,
    ServerError,
    Timeout,
)
from connectors.base.policy import parse_retry_after

OK = (200, {}, {"ok": True})
TOKEN = "sk_live_0123456789abcdef"


def session_for(api, fake_time, **kwargs) -> HttpSession:
    return HttpSession(api.url, sleep=fake_time.sleep, **kwargs)


@pytest.mark.parametrize(("header", "wait"), [("3", 3.0), ("2.0", 2.0)])
def test_429_waits_what_retry_after_says(api, fake_time, header, wait):
    api.route("GET", "/customers", [(429, {"Retry-After": header}, {"errors": "Exceeded"}), OK])
    response = session_for(api, fake_time).get("customers")
    assert response.json() == {"ok": True}
    assert fake_time.sleeps == [wait]
    assert len(api.seen) == 2


def test_retry_after_as_an_http_date():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None


def test_429_without_retry_after_backs_off_with_jitter_then_gives_up(api, fake_time):
    api.route("GET", "/x", [(429, {}, {})])
    session = session_for(api, fake_time, retry=RetryPolicy(max_attempts=4, backoff_base=1.0))
    with pytest.raises(RateLimited) as caught:
        session.get("x")
    assert caught.value.status_code == 429
    assert len(api.seen) == 4
    # Doubling, each wait jittered within the upper half of its step.
    for wait, ceiling in zip(fake_time.sleeps, (1, 2, 4), strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_retry_after_beyond_max_wait_fails_at_once_with_the_wait(api, fake_time):
    api.route("GET", "/x", [(429, {"Retry-After": "3600"}, {})])
    with pytest.raises(RateLimited) as caught:
        session_for(api, fake_time, retry=RetryPolicy(max_wait=60)).get("x")
    assert caught.value.retry_after == 3600
    assert fake_time.sleeps == []


def test_5xx_then_success(api, fake_time):
    api.route("GET", "/x", [(502, {}, "bad gateway"), (503, {"Retry-After": "1"}, ""), OK])
    assert session_for(api, fake_time).get("x").ok
    assert len(fake_time.sleeps) == 2 and fake_time.sleeps[1] == 1.0


def test_5xx_to_the_last_attempt_is_a_server_error(api, fake_time):
    api.route("GET", "/x", [(500, {}, "boom")])
    with pytest.raises(ServerError) as caught:
        session_for(api, fake_time, retry=RetryPolicy(max_attempts=3)).get("x")
    assert caught.value.status_code == 500 and len(api.seen) == 3


class FlakyAdapter(HTTPAdapter):
    """Fails the first ``failures`` sends as a dropped connection would, then sends for real."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.timeouts: list[object] = []

    def send(self, request, **kwargs):
        self.timeouts.append(kwargs.get("timeout"))
        if self.failures:
            self.failures -= 1
            raise requests.ConnectionError("connection reset by peer")
        return super().send(request, **kwargs)


def test_connection_errors_are_retried(api, fake_time):
    api.route("GET", "/x", [OK])
    session = session_for(api, fake_time)
    session.http.mount("http://", FlakyAdapter(failures=2))
    assert session.get("x").ok
    assert len(fake_time.sleeps) == 2 and len(api.seen) == 1


def test_a_refused_connection_ends_as_connect_error(fake_time):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    session = HttpSession(
        f"http://127.0.0.1:{port}", sleep=fake_time.sleep, retry=RetryPolicy(max_attempts=2)
    )
    with pytest.raises(ConnectError):
        session.get("x")
    assert len(fake_time.sleeps) == 1


def test_timeouts_are_always_set(api, fake_time):
    api.route("GET", "/x", [OK])
    session = session_for(api, fake_time, timeout=(2.0, 7.0))
    adapter = FlakyAdapter(failures=0)
    session.http.mount("http://", adapter)
    session.get("x")
    session.get("x", timeout=(1.0, 1.0))
    assert adapter.timeouts == [(2.0, 7.0), (1.0, 1.0)]
    for bad in (None, 0, (5, None), (0, 1), 30):
        with pytest.raises(ValueError):
            HttpSession(api.url, timeout=bad)
    with pytest.raises(ValueError):
        session.get("x", timeout=(1, 0))


def test_a_slow_server_is_a_timeout(api, fake_time):
    import time

    def slow(_request):
        time.sleep(0.3)
        return OK

    api.route("GET", "/slow", slow)
    session = session_for(api, fake_time, timeout=(1.0, 0.05), retry=RetryPolicy(max_attempts=2))
    with pytest.raises(Timeout):
        session.get("slow")


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, BadRequest), (401, AuthExpired), (403, Forbidden), (404, NotFound), (422, BadRequest)],
)
def test_other_4xx_are_fatal_and_typed(api, fake_time, status, error):
    api.route("GET", "/x", [(status, {}, {"error": "nope"})])
    with pytest.raises(error) as caught:
        session_for(api, fake_time).get("x")
    assert caught.value.status_code == status
    assert "nope" in str(caught.value)
    assert len(api.seen) == 1 and fake_time.sleeps == []


def test_the_error_mapping_is_data_a_connector_overrides(api, fake_time):
    api.route("GET", "/gone", [(404, {}, {})])
    api.route("GET", "/teapot", [(418, {}, {}), OK])
    session = session_for(api, fake_time, error_mapping={404: Action.IGNORE, 418: Action.RETRY})
    assert session.get("gone").status_code == 404
    assert session.get("teapot").ok


def test_a_provider_expired_token_signal_counts_as_401(api, fake_time):
    api.route("GET", "/me", [(400, {}, {"error": {"code": 190, "type": "OAuthException"}})])
    session = session_for(
        api, fake_time, auth_expired=lambda r: r.json().get("error", {}).get("code") == 190
    )
    with pytest.raises(AuthExpired):
        session.get("me")


def test_writes_are_retried_only_under_an_idempotency_key(api, fake_time):
    api.route("POST", "/notes", [(503, {}, ""), (201, {}, {"id": 1})])
    session = session_for(api, fake_time)
    with pytest.raises(ServerError):
        session.post("notes", json={"body": "hi"})
    api.route("POST", "/notes", [(503, {}, ""), (201, {}, {"id": 1})])
    with session.idempotency("action-42"):
        assert session.post("notes", json={"body": "hi"}).status_code == 201
    assert [s.headers.get("Idempotency-Key") for s in api.seen] == [None, "action-42", "action-42"]
    api.route("GET", "/notes", [OK])
    session.get("notes")
    assert "Idempotency-Key" not in api.seen[-1].headers


def test_links_off_the_platform_are_refused(api):
    session = HttpSession(api.url)
    with pytest.raises(ConnectorError, match="refusing"):
        session.get("https://evil.example/steal")


def test_the_rate_budget_blocks_with_the_injected_clock(api, fake_time):
    api.route("GET", "/x", [OK])
    budget = RateBudget(2, 1.0, clock=fake_time.clock, sleep=fake_time.sleep)
    session = session_for(api, fake_time, budget=budget)
    for _ in range(5):
        session.get("x")
    # Two in the burst, then one every half second.
    assert fake_time.sleeps == pytest.approx([0.5, 0.5, 0.5])
    fake_time.now += 10  # idle time refills the bucket, up to its capacity only
    session.get("x")
    session.get("x")
    assert len(fake_time.sleeps) == 3


def test_secrets_stay_out_of_errors_and_logs(api, fake_time, caplog):
    caplog.set_level(logging.DEBUG)
    api.route("GET", "/x", [(500, {}, f"internal error for token {TOKEN}")])
    api.route("GET", "/y", [(401, {}, {"error": "bad key"})])
    query_session = session_for(
        api, fake_time, auth=ApiKeyAuth(TOKEN, param="api_key"), retry=RetryPolicy(max_attempts=2)
    )
    header_session = session_for(
        api, fake_time, headers={"X-Shopify-Access-Token": TOKEN}, retry=RetryPolicy(max_attempts=2)
    )
    errors = []
    for session, path in ((query_session, "x"), (query_session, "y"), (header_session, "x")):
        with pytest.raises(ConnectorError) as caught:
            session.get(path)
        errors.append(caught.value)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = HttpSession(
        f"http://127.0.0.1:{port}",
        auth=ApiKeyAuth(TOKEN, param="access_token"),
        sleep=fake_time.sleep,
        retry=RetryPolicy(max_attempts=1),
    )
    with pytest.raises(ConnectError) as caught:
        dead.get("x")
    errors.append(caught.value)
    assert api.seen[0].query["api_key"] == TOKEN  # the key did go to the server
    texts = [caplog.text] + [
        "".join(traceback.format_exception(error)) + repr(error) for error in errors
    ]
    assert all(TOKEN not in text for text in texts)
    assert "api_key=***" in caplog.text
