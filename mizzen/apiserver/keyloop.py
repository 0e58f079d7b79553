"""One background task that works through keys marked dirty by commit listeners.

The server's own controllers — namespace lifecycle, garbage collection, CRD
status and cleanup — are all shaped alike: a store listener decides, per
committed event, which keys an event could affect and marks them; a single
task then processes marked keys one at a time until none are left, and
sleeps until the next mark.  Keys marked again while being processed are
simply processed again.  This class is that loop, so each controller only
says how to mark and how to process one key.

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
                 quiet_codes: tuple[int, ...] = ()) -> None:
        self.name = name
        self._process = process
        self._log = log
        self._retry_codes = retry_codes
        self._quiet_codes = quiet_codes
        self._dirty: set[K] = set()
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
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._dirty:
                key = self._dirty.pop()
                try:
                    await self._process(key)
                except errors.ApiError as exc:
                    if exc.code in self._retry_codes:
                        self._dirty.add(key)
                    elif exc.code not in self._quiet_codes:
                        self._log.warning("%s: %s: %s", self.name, key, exc)
                except Exception:
                    self._log.exception("%s: %s failed", self.name, key)
