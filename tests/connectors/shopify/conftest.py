"""Cassettes, a session with a recorded sleep, and the payloads shared by the Shopify tests."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vcr

from connectors.base import HttpSession
from connectors.shopify import ShopifyConnector

HERE = Path(__file__).parent
CASSETTES = HERE / "cassettes"
PAYLOADS = HERE / "payloads"

SHOP = "crmhub-test.myshopify.com"
CONFIG = {"shop_domain": SHOP}
TOKEN = "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"
WEBHOOK_SECRET = "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"
CREDENTIALS = {"access_token": TOKEN, "webhook_secret": WEBHOOK_SECRET}


def idempotency_key(live: Any, recorded: Any) -> None:
    """A write must carry the idempotency key its recording carries."""
    expected = recorded.headers.get("Idempotency-Key")
    if expected is not None and live.headers.get("Idempotency-Key") != expected:
        raise AssertionError(
            f"Idempotency-Key {live.headers.get('Idempotency-Key')!r} != recorded {expected!r}"
        )


def _vcr() -> vcr.VCR:
    replay = vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode="none",
        filter_headers=["X-Shopify-Access-Token", "Authorization"],
        match_on=["method", "scheme", "host", "port", "path", "query", "body", "idempotency_key"],
    )
    replay.register_matcher("idempotency_key", idempotency_key)
    return replay


REPLAY = _vcr()


class RecordedSleep:
    """The session's injectable sleep: remembers what it was asked to wait, waits nothing."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cassettes answer everything; a request that reaches a socket is a bug in the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"a Shopify test tried to open a connection: {args[:2]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def connector() -> ShopifyConnector:
    return ShopifyConnector()


@pytest.fixture
def session(connector: ShopifyConnector, sleep: RecordedSleep) -> Iterator[HttpSession]:
    with connector.session(CONFIG, CREDENTIALS, clock=sleep.clock, sleep=sleep) as session:
        yield session


@pytest.fixture
def cassette():
    """``with cassette("name.yaml") as played:`` replays a cassette; every interaction must play."""

    def use(name: str):
        return REPLAY.use_cassette(name, allow_playback_repeats=False)

    return use


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())
