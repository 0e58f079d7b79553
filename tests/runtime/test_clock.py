"""FakeClock semantics and the clock-based timeout helpers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from mizzen.runtime.clock import FakeClock, RealClock, wait_event, with_timeout
from tests.runtime.util import settle, wait_until


async def test_fake_clock_wakes_sleepers_in_deadline_order_when_advanced() -> None:
    clock = FakeClock()
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("late", 5)), asyncio.create_task(sleeper("early", 1))]
    await wait_until(lambda: clock.sleepers == 2)
    clock.advance(0.5)
    await settle()
    assert woke == []
    clock.advance(0.5)
    await wait_until(lambda: woke == ["early"])
    clock.advance(10)
    await wait_until(lambda: woke == ["early", "late"])
    await asyncio.gather(*tasks)


async def test_fake_clock_wall_time_moves_with_monotonic_time() -> None:
    start = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    clock = FakeClock(start)
    clock.advance(90)
    assert clock.now() == datetime(2030, 5, 1, 12, 1, 30, tzinfo=UTC)
    assert clock.monotonic() == 1090.0
    with pytest.raises(ValueError):
        clock.advance(-1)


async def test_cancelled_sleeper_is_skipped() -> None:
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(3))
    await wait_until(lambda: clock.sleepers == 1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert clock.sleepers == 0
    assert clock.next_deadline() is None
    clock.advance(5)  # must not fail on the cancelled future


async def test_with_timeout_uses_the_injected_clock() -> None:
    clock = FakeClock()
    never = asyncio.Event()
    task = asyncio.create_task(with_timeout(clock, never.wait(), 30))
    await wait_until(lambda: clock.sleepers == 1)
    clock.advance(29)
    await settle()
    assert not task.done()
    clock.advance(1)
    with pytest.raises(TimeoutError):
        await task


async def test_with_timeout_returns_the_result_and_wait_event() -> None:
    clock = FakeClock()

    async def answer() -> int:
        return 42

    assert await with_timeout(clock, answer(), 1) == 42
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_event(clock, event, 10))
    await settle()
    event.set()
    assert await waiter is True
    event.clear()
    waiter = asyncio.create_task(wait_event(clock, event, 10))
    await wait_until(lambda: clock.sleepers == 1)
    clock.advance(10)
    assert await waiter is False


async def test_real_clock() -> None:
    clock = RealClock()
    before = clock.monotonic()
    await clock.sleep(0)
    assert clock.monotonic() >= before
    assert clock.now().tzinfo is UTC
