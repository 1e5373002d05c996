"""A per-connection rate budget: a token bucket of N requests per period that waits, never fails.

The clock and the sleep are injectable so that tests advance time instead of
waiting for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateBudget:
    """At most ``requests`` calls per ``period`` seconds, with bursts up to ``requests``."""

    def __init__(
        self,
        requests: int,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests < 1 or period <= 0:
            raise ValueError("a rate budget needs requests >= 1 and period > 0")
        self.capacity = float(requests)
        self.rate = requests / period  # tokens per second
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is free; returns the seconds slept."""
        slept = 0.0
        with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return slept
                wait = (1 - self._tokens) / self.rate
                self._sleep(wait)
                slept += wait
