"""Graph's error codes through the session: throttling waits, an expired token needs re-auth."""

from __future__ import annotations

import json
import logging
import re
import traceback

import pytest
import requests

from connectors.base import AuthExpired, ConnectorError
from connectors.base.policy import Action
from connectors.facebook import graph as graph_errors
from tests.connectors.facebook.conftest import APP_SECRET, CASSETTES, TOKEN

# The recorded Graph error body (python-facebook testdata/base/error_data.json).
RECORDED_ERROR = {
    "error": {
        "message": (
            "(#100) Object does not exist, cannot be loaded due to missing permission or revi"
            "ewable feature, or does not support this operation. This endpoint requires the '"
            "pages_read_engagement' permission or the 'Page Public Content Access' feature or"
            " the 'Page Public Metadata Access' feature. Refer to https://developers.facebook"
            ".com/docs/apps/review/login-permissions#manage-pages, https://developers.faceboo"
            "k.com/docs/apps/review/feature#reference-PAGES_ACCESS and https://developers.fac"
            "ebook.com/docs/apps/review/feature#page-public-metadata-access for details."
        ),
        "type": "OAuthException",
        "code": 100,
        "fbtrace_id": "AQt_hJ68vFybS4TnupatNtX",
    }
}


def test_throttling_codes_wait_as_told_then_back_off_then_succeed(graph, connector, fake_time):
    session, config, tape, sent = graph("throttled")
    stream = connector.stream("ratings", config)
    pages = list(stream.pages(session))
    assert tape.all_played and len(sent) == 4
    assert sum(len(p.records) for p in pages) == 3
    # Code 32 with estimated_time_to_regain_access = 1 minute, then code 4: jittered backoff.
    assert fake_time.sleeps[0] == 60.0
    assert 1.0 <= fake_time.sleeps[1] <= 2.0
    assert len(fake_time.sleeps) == 2


def test_a_wait_beyond_the_policy_ends_the_run_rate_limited_with_the_wait(connector):
    response = _response(
        400,
        {"error": {"code": 80001, "message": "(#80001) too many calls"}},
        {
            "X-Business-Use-Case-Usage": json.dumps(
                {"1": [{"type": "pages", "estimated_time_to_regain_access": 45}]}
            )
        },
    )
    verdict = connector.interpret(response)
    assert verdict.action is Action.RATE_LIMITED and verdict.retry_after == 2700.0
    assert "Facebook error 80001" in verdict.message


def test_an_expired_token_is_auth_expired_with_a_clear_message(graph, connector, fake_time):
    session, config, tape, _ = graph("expired_token")
    with pytest.raises(AuthExpired) as caught:
        list(connector.stream("conversations", config).pages(session))
    message = str(caught.value)
    assert "Facebook error 190/463 (OAuthException)" in message
    assert "Session has expired" in message
    assert "the token expired" in message and "reconnect the Page" in message
    assert caught.value.status_code == 400
    assert tape.all_played and fake_time.sleeps == []  # no retry: nothing to refresh with


def test_other_graph_errors_keep_their_status_policy_in_graphs_words(connector):
    recorded = RECORDED_ERROR
    verdict = connector.interpret(_response(400, recorded))
    assert verdict.action is None
    assert verdict.message.startswith(
        "Facebook error 100 (OAuthException): (#100) Object does not exist, cannot be loaded"
    )
    assert verdict.message.endswith("[fbtrace_id AQt_hJ68vFybS4TnupatNtX]")
    assert connector.interpret(_response(500, {"error": {"code": 2}})).action is Action.RETRY
    assert connector.interpret(_response(200, {"data": []})) is None
    assert connector.interpret(_response(502, "<html>bad gateway</html>")) is None
    assert not connector.token_expired(_response(400, recorded))
    assert connector.token_expired(_response(401, {"error": {"code": 102}}))


def test_429_without_a_body_is_throttling_too(connector):
    verdict = connector.interpret(_response(429, ""))
    assert verdict.action is Action.RATE_LIMITED and verdict.retry_after is None
    assert (
        graph_errors.regain_seconds(_response(429, "", {"X-Business-Use-Case-Usage": "{"})) is None
    )


def test_the_token_is_in_no_cassette_error_or_log(graph, connector, caplog):
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    session, config, _, _ = graph("expired_token")
    with pytest.raises(ConnectorError) as caught:
        list(connector.stream("conversations", config).pages(session))
    errors.append(caught.value)
    session, config, _, _ = graph("messages")
    list(connector.stream("messages", config).pages(session))
    # vcrpy's own DEBUG lines show the live request it replays to; they are the harness, not us.
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("vcr"))
    assert "appsecret_proof=***" in logged  # urllib3's request line, redacted by the base
    texts = [logged] + ["".join(traceback.format_exception(e)) + repr(e) for e in errors]
    texts += [path.read_text() for path in CASSETTES.glob("*.yaml")]
    proof = session.auth.proof.reveal()
    for text in texts:
        assert TOKEN not in text and APP_SECRET not in text and proof not in text
    for path in CASSETTES.glob("*.yaml"):
        text = path.read_text()
        assert "Authorization" not in text and "appsecret_proof" not in text
        # Graph echoes a token into paging links; the recordings hold only the placeholder.
        assert set(graph_token_values(text)) <= {"access_token"}


def graph_token_values(text: str) -> list[str]:
    return re.findall(r"access_token=([^&\"'\s]+)", text)


def _response(status: int, body, headers: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = (body if isinstance(body, str) else json.dumps(body)).encode()
    response.headers.update(headers or {})
    return response
