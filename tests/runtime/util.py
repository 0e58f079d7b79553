"""Helpers for runtime tests: wait on conditions (never fixed sleeps), build clients."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sized
from typing import TypeVar

from mizzen.runtime.clock import FakeClock

T = TypeVar("T")


async def wait_until(check: Callable[[], T], timeout: float = 10.0,
                     interval: float = 0.01, what: str = "") -> T:
    """Poll the synchronous ``check()`` until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"{what or 'condition'} not met within {timeout}s "
                                 f"(last: {result!r})")
        await asyncio.sleep(interval)


async def wait_for_async(check: Callable[[], Awaitable[T]], timeout: float = 10.0,
                         interval: float = 0.02, what: str = "") -> T:
    """Poll the asynchronous ``check()`` until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"{what or 'condition'} not met within {timeout}s "
                                 f"(last: {result!r})")
        await asyncio.sleep(interval)


async def settle() -> None:
    """Let every ready callback run (a few loop iterations)."""
    for _ in range(5):
        await asyncio.sleep(0)


def length_is(items: Sized, n: int) -> Callable[[], bool]:
    """A check for :func:`wait_until`: ``len(items) == n``."""
    return lambda: len(items) == n


async def parked_until(clock: FakeClock, due: float, timeout: float = 10.0) -> None:
    """Wait until some sleeper of the fake ``clock`` is due exactly at ``due``."""
    await wait_until(lambda: clock.next_deadline() == due, timeout,
                     what=f"a sleeper due at {due}")
