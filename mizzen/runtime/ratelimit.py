"""Rate limiters: how long a failed key waits before it is handed out again.

A :class:`RateLimiter` answers one question — "``item`` failed (again); in how
many seconds may it run?" — and forgets an item once it succeeds.  It is an
object given to the work queue, not logic inside it, so controllers can choose
their policy and tests can drive it with a fake clock.

Three pieces, as in client-go's ``workqueue``:

* :class:`ItemExponentialBackoff` — per item: ``base * 2**failures``, capped.
  With the defaults (5 ms, cap 1000 s) a key that keeps failing is retried
  after 5 ms, 10 ms, 20 ms ... and, after about 18 failures, every 1000 s.
* :class:`TokenBucket` — global: ``qps`` tokens per second, up to ``burst``
  banked.  Each call reserves one token; if the bucket is empty the caller is
  told how long until its token exists (tokens may go negative, so concurrent
  reservations queue up instead of all waiting for the same token).  This
  stops a mass failure (API server down, every key erroring) from turning
  into a retry storm.
* :class:`MaxOf` — the longest delay any of its limiters asks for.

:func:`default_controller_rate_limiter` combines them like controller-runtime
(per-item 5 ms..1000 s, global 10 qps with a burst of 100).  Only the bucket
reads the clock; the backoff is pure arithmetic on a failure count.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from mizzen.runtime.clock import Clock

__all__ = [
    "ItemExponentialBackoff",
    "MaxOf",
    "RateLimiter",
    "TokenBucket",
    "default_controller_rate_limiter",
]


class RateLimiter(Protocol):
    """Decides the delay before a failed item is retried."""

    def when(self, item: Hashable) -> float:
        """Record one more failure of ``item``; return its delay in seconds."""
        ...

    def forget(self, item: Hashable) -> None:
        """``item`` succeeded (or was dropped): reset whatever is tracked for it."""
        ...

    def retries(self, item: Hashable) -> int:
        """How many failures of ``item`` are currently remembered."""
        ...


class ItemExponentialBackoff:
    """``base * 2**n`` seconds for an item's n-th consecutive failure, at most ``cap``."""

    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        if base <= 0 or cap < base:
            raise ValueError("need 0 < base <= cap")
        self.base = base
        self.cap = cap
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        n = self._failures.get(item, 0)
        self._failures[item] = n + 1
        if n >= 64:  # 2**64 * base overflows nothing in Python, but is past any cap
            return self.cap
        return min(self.cap, self.base * float(2**n))

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def retries(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class TokenBucket:
    """A global ``qps``/``burst`` bucket; every :meth:`when` reserves one token."""

    def __init__(self, qps: float, burst: int, clock: Clock) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError("need qps > 0 and burst >= 1")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock.monotonic()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now

    def when(self, item: Hashable) -> float:
        self._refill()
        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.qps

    def forget(self, item: Hashable) -> None:
        """Tokens are spent for good; nothing is tracked per item."""

    def retries(self, item: Hashable) -> int:
        return 0

    @property
    def tokens(self) -> float:
        """Tokens available now (negative while reservations are queued)."""
        self._refill()
        return self._tokens


class MaxOf:
    """The longest delay of several limiters (each one still records the failure)."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOf needs at least one limiter")
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self.limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def retries(self, item: Hashable) -> int:
        return max(limiter.retries(item) for limiter in self.limiters)


def default_controller_rate_limiter(clock: Clock) -> RateLimiter:
    """Per-item 5 ms doubling up to 1000 s, and 10 qps / burst 100 overall."""
    return MaxOf(ItemExponentialBackoff(0.005, 1000.0), TokenBucket(10.0, 100, clock))
