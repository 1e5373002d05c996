"""Per-client rate limits: a token bucket per OAuth client, paid in query cost (DESIGN §7).

A client's bucket holds up to ``capacity`` tokens and refills at
``refill_per_second``. A GraphQL request takes its estimated cost (the same
number the cost limit checks and ``extensions.cost`` reports) before it runs;
when the bucket holds less, the request is refused with HTTP 429 and told when
to come back. A query dearer than the whole bucket is let through on a full
bucket and empties it, so a small capacity never locks a client out.

Defaults come from ``[rate_limit]``; a client's own limits from its
``OAuthClient.settings``: ``{"rate_limit": {"capacity": 5000, "refill_per_second": 50}}``,
or ``{"rate_limit": {"enabled": false}}`` to exempt it. They arrive with the
principal (read with the token, so a change applies to the next request and
costs no statement of its own).

Buckets live in process memory (embedded, one process) or, when ``redis_url``
is set, in Redis, updated by one Lua script so that every API process shares
them. When Redis cannot be reached requests are let through and the failure
logged: the limit protects capacity, it does not decide who may read what.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from hub.access.principal import Principal
from hub.settings import RateLimitSettings, Settings

log = logging.getLogger("crmhub.ratelimit")

POLICY_NAME = "cost"


class Policy(BaseModel):
    """One client's limits; what ``OAuthClient.settings["rate_limit"]`` may say."""

    model_config = {"extra": "forbid"}

    enabled: bool = True
    capacity: int = Field(ge=1)
    refill_per_second: float = Field(gt=0)

    @property
    def window_seconds(self) -> int:
        """How long an empty bucket takes to fill: the ``w`` of ``RateLimit-Policy``."""
        return max(1, math.ceil(self.capacity / self.refill_per_second))


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    policy: Policy
    cost: int
    tokens: float  # left after this request (before it, when refused)

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.tokens))

    @property
    def retry_after(self) -> int:
        """Seconds until the bucket holds this request's cost (0 when it was let through)."""
        if self.allowed:
            return 0
        needed = min(self.cost, self.policy.capacity) - self.tokens
        return max(1, math.ceil(needed / self.policy.refill_per_second))

    @property
    def reset(self) -> int:
        """Seconds until the bucket is full again: the ``t`` of ``RateLimit``."""
        missing = self.policy.capacity - self.tokens
        return max(0, math.ceil(missing / self.policy.refill_per_second))

    def headers(self) -> dict[str, str]:
        """``RateLimit-Policy`` and ``RateLimit`` (draft-ietf-httpapi-ratelimit-headers), and
        ``Retry-After`` when refused."""
        out = {
            "RateLimit-Policy": f'"{POLICY_NAME}";q={self.policy.capacity};w={self.policy.window_seconds}',
            "RateLimit": f'"{POLICY_NAME}";r={self.remaining};t={self.reset}',
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class MemoryBuckets:
    """Buckets of this process; the event loop runs ``take`` without interruption, so it is atomic."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}

    async def take(self, key: str, policy: Policy, cost: int) -> tuple[bool, float]:
        now = time.monotonic()
        tokens, then = self._buckets.get(key, (float(policy.capacity), now))
        tokens = min(policy.capacity, tokens + (now - then) * policy.refill_per_second)
        price = min(cost, policy.capacity)
        allowed = tokens >= price
        if allowed:
            tokens -= price
        self._buckets[key] = (tokens, now)
        return allowed, tokens

    async def close(self) -> None:
        self._buckets.clear()


# KEYS[1] the bucket; ARGV capacity, refill per second, price. The clock is Redis's
# own, so API processes on different machines agree on it. Returns {allowed, tokens}.
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local price = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= price then
  tokens = tokens - price
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


class RedisBuckets:
    """Buckets shared by every process using the same Redis and key prefix."""

    def __init__(self, url: str, prefix: str) -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(url)
        self.prefix = prefix
        self._take = self.redis.register_script(_TAKE)

    async def take(self, key: str, policy: Policy, cost: int) -> tuple[bool, float]:
        price = min(cost, policy.capacity)
        allowed, tokens = await self._take(
            keys=[self.prefix + key], args=[policy.capacity, repr(policy.refill_per_second), price]
        )
        return bool(int(allowed)), float(tokens)

    async def close(self) -> None:
        await self.redis.aclose()


class RateLimiter:
    """Decides, per client, whether a request of a given cost may run now."""

    def __init__(self, settings: Settings, buckets: Any = None) -> None:
        self.config: RateLimitSettings = settings.rate_limit
        self.default = Policy(
            enabled=self.config.enabled,
            capacity=self.config.capacity,
            refill_per_second=self.config.refill_per_second,
        )
        if buckets is None:
            if settings.redis_url:
                buckets = RedisBuckets(settings.redis_url, self.config.redis_prefix)
            else:
                buckets = MemoryBuckets()
        self.buckets = buckets
        # client id -> (its own settings, the policy made of them): parsed once per change.
        self._policies: dict[str, tuple[Any, Policy]] = {}

    def policy(self, client_id: str, own: Any) -> Policy:
        """The policy of a client whose settings say ``own`` (its "rate_limit", or None)."""
        if not own:
            return self.default
        cached = self._policies.get(client_id)
        if cached is not None and cached[0] == own:
            return cached[1]
        try:
            policy = Policy.model_validate({**self.default.model_dump(), **own})
        except (ValidationError, TypeError) as error:
            log.warning("client %s: ignoring its rate_limit settings: %s", client_id, error)
            policy = self.default
        self._policies[client_id] = (own, policy)
        return policy

    async def take(self, principal: Principal, cost: int) -> Decision | None:
        """Take ``cost`` tokens from the caller's client's bucket; None when no limit applies."""
        client_id = principal.client_id
        policy = self.policy(client_id, principal.rate_limit)
        if not policy.enabled:
            return None
        cost = max(1, cost)
        try:
            allowed, tokens = await self.buckets.take(client_id, policy, cost)
        except Exception:  # an unreachable Redis must not take the API down
            log.exception("rate limit store failed; letting the request through")
            return None
        return Decision(allowed, policy, cost, tokens)

    async def close(self) -> None:
        await self.buckets.close()


class RateLimited(Exception):
    """The request's cost is more than the client's bucket holds now."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(
            f"Rate limit exceeded: this request costs {decision.cost} and "
            f"{decision.remaining} of {decision.policy.capacity} remain; "
            f"retry in {decision.retry_after} s."
        )
        self.decision = decision
