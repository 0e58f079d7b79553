"""Time as a dependency: every runtime piece that waits or measures takes a :class:`Clock`.

Backoff, delayed requeues, expectation timeouts, lease expiry and event timestamps all
depend on time.  Reading ``time.monotonic()`` or calling ``asyncio.sleep()`` directly
would make each of them untestable except by really waiting, so they receive a clock
through their constructors instead, and there is no module-level default instance.

:class:`Clock` is a three-method protocol:

* ``now()`` — wall-clock UTC, for timestamps written to the API (Events, Leases);
* ``monotonic()`` — seconds on a steady clock, for every duration and deadline;
* ``sleep(seconds)`` — an awaitable pause measured on that same steady clock.

:class:`RealClock` maps them onto ``datetime``, ``time.monotonic`` and
``asyncio.sleep``.  :class:`FakeClock` only moves when a test calls
:meth:`FakeClock.advance`; every sleeper whose deadline has been reached then
wakes, in deadline order, so a test can step a backoff schedule or a lease expiry
without real waiting.  Both clocks share one monotonic and one wall origin, so
``now()`` advances together with ``monotonic()`` on the fake one.

Two helpers build on the protocol rather than on the event loop's timer, so they
obey a fake clock too: :func:`with_timeout` (race an awaitable against
``clock.sleep``) and :func:`wait_event` (wait for an ``asyncio.Event`` for at most
some clock time).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

__all__ = ["Clock", "FakeClock", "RealClock", "wait_event", "with_timeout"]

T = TypeVar("T")


class Clock(Protocol):
    """Wall time for timestamps, steady time for durations, and a way to wait."""

    def now(self) -> datetime:
        """The current wall-clock time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return after ``seconds`` of :meth:`monotonic` time (at once if ``<= 0``)."""
        ...


class RealClock:
    """The process clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that moves only when :meth:`advance` is called.

    ``sleep`` parks the caller on a heap of deadlines; ``advance`` moves time
    forward and resolves every sleeper whose deadline is reached.  A sleeper
    that is cancelled simply leaves a cancelled future behind, which ``advance``
    skips.  ``sleep(0)`` (or a negative duration) yields to the loop once.
    """

    def __init__(self, start: datetime | None = None, monotonic_start: float = 1000.0) -> None:
        self._wall0 = start or datetime(2024, 1, 1, tzinfo=UTC)
        self._mono0 = monotonic_start
        self._now = monotonic_start
        self._seq = itertools.count()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._wall0 + timedelta(seconds=self._now - self._mono0)

    def monotonic(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), fut))
        await fut

    @property
    def sleepers(self) -> int:
        """How many callers are parked in :meth:`sleep` right now."""
        return sum(1 for _, _, fut in self._sleepers if not fut.done())

    def next_deadline(self) -> float | None:
        """The earliest pending sleeper's deadline, if any."""
        for deadline, _, fut in sorted(self._sleepers):
            if not fut.done():
                return deadline
        return None

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` and wake every sleeper now due.

        The woken coroutines run on the next loop iterations; tests usually
        follow ``advance`` with a condition wait (or ``await asyncio.sleep(0)``).
        """
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)


async def with_timeout(clock: Clock, awaitable: Awaitable[T], seconds: float) -> T:
    """Await ``awaitable`` for at most ``seconds`` of ``clock`` time.

    Raises :class:`TimeoutError` (after cancelling the awaitable) when the clock
    runs out first; like ``asyncio.wait_for`` but measured on the injected clock.
    """
    task = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    timed_out = False
    try:
        await asyncio.wait((task, timer), return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        if not task.done():
            timed_out = True
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if timed_out:
        raise TimeoutError(f"timed out after {seconds}s")
    return task.result()


async def wait_event(clock: Clock, event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until ``event`` is set; ``False`` if ``timeout`` clock-seconds pass first."""
    if event.is_set():
        return True
    if timeout is None:
        await event.wait()
        return True
    try:
        await with_timeout(clock, event.wait(), timeout)
    except TimeoutError:
        return event.is_set()
    return True
