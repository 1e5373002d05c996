"""Replaying Graph API cassettes with the token filtered out, and a clock tests move by hand."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import vcr

from connectors.facebook import FacebookConnector

CASSETTES = Path(__file__).parent / "cassettes"
TOKEN = "EAAGtestPageToken0123456789abcdefZZ"
APP_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
VERIFY_TOKEN = "crmhub-verify-7f3a"
PAGE = "2121008874780932"
DEV_PAGE = "19292868552"
CREDENTIALS = {"page_access_token": TOKEN, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
_ECHOED_TOKEN = re.compile(r"((?:access_token|appsecret_proof)=)[^&\"'\s]+")


def scrub_response(response: dict) -> dict:
    """Graph echoes the token into ``paging.next``: mask it in bodies before they are stored."""
    body = response["body"]["string"]
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = _ECHOED_TOKEN.sub(r"\1access_token", text)
    response["body"]["string"] = text.encode() if isinstance(body, bytes) else text
    return response


recorder = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="none",
    filter_query_parameters=["access_token", "appsecret_proof"],
    filter_headers=["Authorization"],
    before_record_response=scrub_response,
    match_on=["method", "scheme", "host", "port", "path", "query", "body"],
    decode_compressed_response=True,
)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def connector() -> FacebookConnector:
    return FacebookConnector()


@pytest.fixture
def graph(connector, fake_time):
    """``graph(cassette, page_id)``: a session replaying that cassette, and the config."""
    opened = []

    def open_session(cassette: str, page_id: str = PAGE):
        context = recorder.use_cassette(f"{cassette}.yaml")
        tape = context.__enter__()
        opened.append(context)
        config = {"page_id": page_id}
        session = connector.session(
            config, CREDENTIALS, clock=fake_time.clock, sleep=fake_time.sleep
        )
        sent: list = []
        session.http.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))
        return session, config, tape, sent

    yield open_session
    for context in reversed(opened):
        context.__exit__(None, None, None)


def records(stream, session, bookmark=None) -> Iterator[dict]:
    for page in stream.pages(session, bookmark):
        yield from page.records
