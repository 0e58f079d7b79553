"""One background task that works through keys marked dirty by commit listeners.

The server's own controllers — namespace lifecycle, garbage collection, CRD
status and cleanup — are all shaped alike: a store listener decides, per
committed event, which keys an event could affect and marks them; a single
task then processes marked keys until none are left, and sleeps until the
next mark.  Keys marked again while being processed are simply processed
again.  This class is that loop, so each controller only says how to mark and
how to process one key.  With ``workers`` above one, that many keys are
processed at once (never the same key twice at once): each step awaits a
commit, so one at a time caps a loop at one key per commit latency.

Errors never stop the loop: an ``ApiError`` whose code is in ``retry_codes``
(a conflict with a concurrent write) marks the key again; other API errors
are logged as warnings, anything else with a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

from mizzen.apiserver import errors

K = TypeVar("K", bound=Hashable)


class KeyLoop(Generic[K]):
    """Processes marked keys in one task, until none are left, then waits for more."""

    def __init__(self, name: str, process: Callable[[K], Awaitable[None]],
                 log: logging.Logger, *, retry_codes: tuple[int, ...] = (),
                 quiet_codes: tuple[int, ...] = (), workers: int = 1) -> None:
        self.name = name
        self._process = process
        self._log = log
        self._retry_codes = retry_codes
        self._quiet_codes = quiet_codes
        self._dirty: set[K] = set()
        self._busy: set[K] = set()
        self._workers = workers
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def mark(self, key: K) -> None:
        self._dirty.add(key)
        self._wake.set()

    def mark_all(self, keys: Iterable[K]) -> None:
        for key in keys:
            self._dirty.add(key)
        if self._dirty:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._dirty)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        await asyncio.gather(*(self._work() for _ in range(self._workers)))

    async def _work(self) -> None:
        while True:
            key = next((k for k in self._dirty if k not in self._busy), None)
            if key is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            self._dirty.discard(key)
            self._busy.add(key)
            try:
                await self._process(key)
            except errors.ApiError as exc:
                if exc.code in self._retry_codes:
                    self._dirty.add(key)
                elif exc.code not in self._quiet_codes:
                    self._log.warning("%s: %s: %s", self.name, key, exc)
            except Exception:
                self._log.exception("%s: %s failed", self.name, key)
            finally:
                self._busy.discard(key)
                if self._dirty:
                    self._wake.set()
