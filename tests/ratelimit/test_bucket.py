"""The bucket's arithmetic and headers, and what happens when the store fails (no server needed)."""

from __future__ import annotations

import logging

import pytest

from hub.access import ratelimit
from hub.access.principal import Principal
from hub.access.ratelimit import Decision, MemoryBuckets, Policy, RateLimiter
from hub.models.enums import ClientKind
from hub.settings import Settings

POLICY = Policy(capacity=100, refill_per_second=10)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(ratelimit.time, "monotonic", clock)
    return clock


async def test_a_bucket_starts_full_spends_and_refills_up_to_its_capacity(clock):
    buckets = MemoryBuckets()
    assert await buckets.take("c", POLICY, 60) == (True, 40)
    assert await buckets.take("c", POLICY, 60) == (False, 40)
    clock.now += 2  # 20 tokens back
    assert await buckets.take("c", POLICY, 60) == (True, 0)
    clock.now += 3600
    assert await buckets.take("c", POLICY, 1) == (True, 99), "never more than the capacity"


def test_headers_of_an_admitted_and_a_refused_request():
    admitted = Decision(True, POLICY, 30, 70.0)
    assert admitted.headers() == {
        "RateLimit-Policy": '"cost";q=100;w=10',
        "RateLimit": '"cost";r=70;t=3',
    }
    refused = Decision(False, POLICY, 30, 4.5)
    assert refused.retry_after == 3  # 25.5 tokens at 10 a second
    assert refused.headers()["Retry-After"] == "3"
    assert refused.headers()["RateLimit"] == '"cost";r=4;t=10'
    # Dearer than the bucket: wait for a full bucket, not forever.
    assert Decision(False, POLICY, 5000, 0.0).retry_after == 10


def caller(rate_limit=None) -> Principal:
    return Principal("client", ClientKind.INTERNAL, frozenset(), rate_limit=rate_limit)


class BrokenStore:
    async def take(self, key, policy, cost):
        raise ConnectionError("redis is down")

    async def close(self) -> None:
        pass


async def test_a_failing_store_lets_requests_through_and_says_so(caplog):
    limiter = RateLimiter(Settings(), buckets=BrokenStore())
    with caplog.at_level(logging.ERROR, logger="crmhub.ratelimit"):
        assert await limiter.take(caller(), 10) is None
    assert "letting the request through" in caplog.text


async def test_defaults_come_from_the_settings():
    limiter = RateLimiter(Settings(rate_limit={"capacity": 7, "refill_per_second": 0.5}))
    decision = await limiter.take(caller(), 3)
    assert decision.allowed and decision.policy.capacity == 7 and decision.remaining == 4
    assert decision.headers()["RateLimit-Policy"] == '"cost";q=7;w=14'


async def test_a_clients_own_limits_are_merged_over_the_defaults_and_follow_changes():
    limiter = RateLimiter(Settings(rate_limit={"capacity": 7, "refill_per_second": 0.5}))
    own = await limiter.take(caller({"capacity": 3}), 1)
    assert (own.policy.capacity, own.policy.refill_per_second) == (3, 0.5)
    assert await limiter.take(caller({"enabled": False}), 1) is None
    assert (await limiter.take(caller({"capacity": 0}), 1)).policy.capacity == 7, "invalid: defaults"
