"""Client-side rate limiting: a token bucket, and the clock it (and retry backoff) waits on.

A real cluster's API server protects itself with priority and fairness, but
a controller that floods it still gets 429s and slows every other client, so
client-go limits each client to a QPS with a burst.  :class:`TokenBucket` is
that limiter: ``burst`` tokens, refilled at ``qps`` per second; a request
takes one token or waits until one is due.

Waiting works by reservation, as in Go's ``rate.Limiter``: a request that
finds no token takes one anyway (the balance goes negative) and sleeps until
the refill covers it.  Reservations are made in call order on the event
loop's single thread, so waiters are served first come, first served with no
lock and no wake-up storm; a waiter cancelled mid-sleep hands its token back.

The embedded API server needs no protection from its own controllers and
benchmarks want every request sent at once, so the client builds no bucket
unless it is given a ``qps``.

Time comes from a :class:`Clock` passed in: ``monotonic`` to refill, ``sleep``
to wait.  The runtime's clocks satisfy this protocol structurally, so one
fake clock can drive a whole test; :class:`SystemClock` is the default.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "SystemClock", "TokenBucket"]


class Clock(Protocol):
    """Steady time and a way to wait on it."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """``time.monotonic`` and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class TokenBucket:
    """``qps`` tokens a second, at most ``burst`` saved up; starts full."""

    def __init__(self, qps: float, burst: int, clock: Clock) -> None:
        if qps <= 0:
            raise ValueError(f"qps must be positive, got {qps}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock.monotonic()

    @property
    def tokens(self) -> float:
        """Tokens available now (negative while requests are queued for one)."""
        self._refill()
        return self._tokens

    def _refill(self) -> None:
        now = self._clock.monotonic()
        elapsed = now - self._stamp
        if elapsed > 0:
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.qps)
            self._stamp = now

    def reserve(self) -> float:
        """Take a token and return how many seconds to wait before using it (0 if none)."""
        self._refill()
        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.qps

    def cancel(self) -> None:
        """Give back a reserved token that will not be used."""
        self._refill()
        self._tokens = min(float(self.burst), self._tokens + 1.0)

    async def acquire(self) -> float:
        """Wait for a token; return the seconds waited."""
        delay = self.reserve()
        if delay <= 0:
            return 0.0
        try:
            await self._clock.sleep(delay)
        except asyncio.CancelledError:
            self.cancel()
            raise
        return delay
