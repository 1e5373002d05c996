"""A connector's Verdict on a response: an action, a message and a wait the status cannot give."""

from __future__ import annotations

import pytest

from connectors.base import (
    AuthExpired,
    BadRequest,
    Connector,
    HttpSession,
    RateLimited,
    RetryPolicy,
)
from connectors.base.policy import Action, Verdict

OK = (200, {}, {"ok": True})
THROTTLED = (400, {"X-Wait": "7"}, {"error": {"code": 32, "message": "Page request limit"}})


def read_body(response):
    """Throttling and expiry the way Facebook reports them: codes inside a 400."""
    if response.ok:
        return None
    code = response.json().get("error", {}).get("code")
    if code == 32:
        wait = response.headers.get("X-Wait")
        return Verdict(Action.RATE_LIMITED, "page throttled", float(wait) if wait else None)
    return Verdict(message=f"platform error {code}")


def session_for(api, fake_time, **kwargs) -> HttpSession:
    return HttpSession(api.url, sleep=fake_time.sleep, interpret=read_body, **kwargs)


def test_a_verdict_turns_a_400_into_a_retry_with_its_own_wait(api, fake_time):
    api.route("GET", "/feed", [THROTTLED, OK])
    assert session_for(api, fake_time).get("feed").json() == {"ok": True}
    assert fake_time.sleeps == [7.0]


def test_without_a_wait_the_verdict_backs_off_and_ends_rate_limited(api, fake_time):
    api.route("GET", "/feed", [(400, {}, {"error": {"code": 32}})])
    session = session_for(api, fake_time, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(RateLimited) as caught:
        session.get("feed")
    assert len(api.seen) == 3 and len(fake_time.sleeps) == 2
    assert "page throttled" in str(caught.value) and caught.value.status_code == 400


def test_a_wait_beyond_max_wait_ends_at_once_with_the_wait(api, fake_time):
    api.route("GET", "/feed", [(400, {"X-Wait": "3600"}, {"error": {"code": 32}})])
    with pytest.raises(RateLimited) as caught:
        session_for(api, fake_time, retry=RetryPolicy(max_wait=60)).get("feed")
    assert caught.value.retry_after == 3600 and fake_time.sleeps == []


def test_a_message_only_verdict_keeps_the_status_policy_and_words_the_error(api, fake_time):
    api.route("GET", "/x", [(400, {}, {"error": {"code": 100, "message": "raw words"}})])
    with pytest.raises(BadRequest) as caught:
        session_for(api, fake_time).get("x")
    assert "platform error 100" in str(caught.value) and "raw words" not in str(caught.value)
    assert len(api.seen) == 1


def test_the_verdict_message_goes_with_an_expired_token(api, fake_time):
    api.route("GET", "/me", [(400, {}, {"error": {"code": 190}})])
    session = session_for(api, fake_time, auth_expired=lambda r: r.json()["error"]["code"] == 190)
    with pytest.raises(AuthExpired, match="platform error 190"):
        session.get("me")


def test_connectors_interpret_nothing_by_default_and_pass_their_reading_on(api, fake_time):
    class Plain(Connector):
        name = title = "plain"
        base_url = api.url

    class Reading(Plain):
        def interpret(self, response):
            return read_body(response)

    assert Plain().interpret(None) is None
    api.route("GET", "/feed", [THROTTLED, OK])
    session = Reading().session({}, None, sleep=fake_time.sleep)
    assert session.get("feed").ok and fake_time.sleeps == [7.0]
