"""The work queue: de-duplicated keys, one in flight per key, delayed and rate-limited adds.

The queue is the seam between "something changed" (event handlers, timers,
failures) and "bring it into line" (workers).  Its rules are client-go's:

* **De-duplication.**  A key that is already waiting is not queued twice:
  ``dirty`` holds every key that needs a pass and is not yet handed out.
* **One in flight per key.**  :meth:`get` moves a key to ``processing``; if it
  is added again meanwhile it only becomes dirty, and :meth:`done` puts it
  back in the queue.  So no two workers ever reconcile the same key at once,
  and an event during a pass is never lost — it causes exactly one more pass.
* **Delays.**  :meth:`add_after` parks a key until a clock deadline (keeping
  the earliest deadline when a key is parked twice); :meth:`add_rate_limited`
  asks the :class:`~mizzen.runtime.ratelimit.RateLimiter` for the delay, and
  :meth:`forget` resets the key's backoff after a success.
* **Shutdown.**  :meth:`shutdown` makes every :meth:`get` (waiting or future)
  raise :class:`QueueShutDown` and ignores further adds, so workers exit.

Everything is on one event loop, so plain sets and a deque need no locks; the
only background task is the delay timer, started lazily on the first delayed
add and sleeping on the injected clock until the next deadline (or until an
earlier one arrives).  The queue knows nothing of Prometheus: it keeps plain
counters in :class:`QueueStats` that ``metrics.py`` reads at scrape time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from mizzen.runtime.clock import Clock, wait_event
from mizzen.runtime.ratelimit import RateLimiter, default_controller_rate_limiter

__all__ = ["QueueShutDown", "QueueStats", "WorkQueue"]

T = TypeVar("T", bound=Hashable)


class QueueShutDown(Exception):
    """The queue was shut down; the worker calling :meth:`WorkQueue.get` should exit."""


@dataclass
class QueueStats:
    """Cumulative counters since the queue was made (gauges are read off the queue)."""

    adds: int = 0  # keys that entered the queue (dedup'd adds are not counted)
    retries: int = 0  # add_rate_limited calls
    gets: int = 0  # keys handed to workers
    wait_seconds: float = 0.0  # summed time keys spent queued before a get


class WorkQueue(Generic[T]):
    """A de-duplicating, rate-limited, delaying queue of keys for async workers."""

    def __init__(self, clock: Clock, rate_limiter: RateLimiter | None = None,
                 name: str = "") -> None:
        self.name = name
        self.stats = QueueStats()
        self._clock = clock
        self._limiter = rate_limiter or default_controller_rate_limiter(clock)
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._queued_at: dict[T, float] = {}
        self._nonempty = asyncio.Event()
        self._shutting_down = False
        # Delayed adds: item -> its (earliest) deadline, plus a heap that may hold stale entries.
        self._waiting: dict[T, float] = {}
        self._heap: list[tuple[float, int, T]] = []
        self._seq = itertools.count()
        self._timer_wake = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None

    # -- adding ----------------------------------------------------------------------

    def add(self, item: T) -> None:
        """Queue ``item`` for a pass unless it is already waiting for one."""
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if item in self._processing:
            return  # re-queued by done()
        self._push(item)

    def _push(self, item: T) -> None:
        self._queue.append(item)
        self._queued_at[item] = self._clock.monotonic()
        self.stats.adds += 1
        self._nonempty.set()

    def add_after(self, item: T, delay: float) -> None:
        """Queue ``item`` once ``delay`` seconds of clock time have passed."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        deadline = self._clock.monotonic() + delay
        current = self._waiting.get(item)
        if current is not None and current <= deadline:
            return
        self._waiting[item] = deadline
        heapq.heappush(self._heap, (deadline, next(self._seq), item))
        self._timer_wake.set()
        if self._timer is None or self._timer.done():
            self._timer = asyncio.get_running_loop().create_task(
                self._delay_loop(), name=f"workqueue-delay-{self.name}")

    def add_rate_limited(self, item: T) -> None:
        """Queue ``item`` after the rate limiter's delay (one more failure recorded)."""
        self.stats.retries += 1
        self.add_after(item, self._limiter.when(item))

    def forget(self, item: T) -> None:
        """Stop tracking ``item``'s failures (call after a successful pass)."""
        self._limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        """Failures of ``item`` the rate limiter remembers."""
        return self._limiter.retries(item)

    # -- handing out -----------------------------------------------------------------

    async def get(self) -> T:
        """The next key; it stays "in flight" until :meth:`done` is called for it."""
        while not self._queue:
            if self._shutting_down:
                raise QueueShutDown(self.name)
            self._nonempty.clear()
            await self._nonempty.wait()
        if self._shutting_down:
            raise QueueShutDown(self.name)
        item = self._queue.popleft()
        if not self._queue:
            self._nonempty.clear()
        self._processing.add(item)
        self._dirty.discard(item)
        queued = self._queued_at.pop(item, None)
        self.stats.gets += 1
        if queued is not None:
            self.stats.wait_seconds += self._clock.monotonic() - queued
        return item

    def done(self, item: T) -> None:
        """The pass over ``item`` ended; re-queue it if it was added meanwhile."""
        self._processing.discard(item)
        if item in self._dirty and not self._shutting_down:
            self._push(item)

    # -- lifecycle and introspection -------------------------------------------------

    def shutdown(self) -> None:
        """Wake and fail every :meth:`get`; drop delayed items; ignore later adds."""
        self._shutting_down = True
        self._nonempty.set()
        self._waiting.clear()
        self._heap.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def __len__(self) -> int:
        """Keys ready to be handed out (the "depth")."""
        return len(self._queue)

    @property
    def in_flight(self) -> int:
        return len(self._processing)

    @property
    def delayed(self) -> int:
        """Keys parked by :meth:`add_after` / :meth:`add_rate_limited`."""
        return len(self._waiting)

    def is_pending(self, item: T) -> bool:
        """``item`` is queued, in flight, or parked for later."""
        return item in self._dirty or item in self._processing or item in self._waiting

    async def _delay_loop(self) -> None:
        while not self._shutting_down:
            now = self._clock.monotonic()
            while self._heap and self._heap[0][0] <= now:
                deadline, _, item = heapq.heappop(self._heap)
                if self._waiting.get(item) == deadline:
                    del self._waiting[item]
                    self.add(item)
            self._timer_wake.clear()
            if not self._heap:
                await self._timer_wake.wait()
            else:
                await wait_event(self._clock, self._timer_wake, self._heap[0][0] - now)
