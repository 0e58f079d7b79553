"""The client-side token bucket, measured on a fake clock (no wall-time assertions)."""

from __future__ import annotations

import asyncio

import pytest

from mizzen.apiserver.server import ApiServer
from mizzen.client import CONFIGMAPS, Client
from mizzen.client.throttle import TokenBucket
from tests.client.conftest import InstantClock, server_config


class ManualClock:
    """Time moves only when the test says; sleepers wait for it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waiting: list[tuple[float, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((self.now + seconds, fut))
        await fut

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for deadline, fut in self.waiting:
            if deadline <= self.now + 1e-9 and not fut.done():
                fut.set_result(None)


def test_burst_then_one_token_per_interval() -> None:
    clock = InstantClock()
    bucket = TokenBucket(qps=10, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.1)  # queued behind the empty bucket
    assert bucket.reserve() == pytest.approx(0.2)
    clock.now += 10.0  # a long pause refills only up to the burst
    assert bucket.tokens == pytest.approx(3.0)
    clock.now += 0.05
    assert bucket.tokens == pytest.approx(3.0)


def test_refill_is_proportional_to_elapsed_time() -> None:
    clock = InstantClock()
    bucket = TokenBucket(qps=4, burst=1, clock=clock)
    assert bucket.reserve() == 0.0
    clock.now += 0.125
    assert bucket.tokens == pytest.approx(0.5)
    assert bucket.reserve() == pytest.approx(0.125)


def test_invalid_settings() -> None:
    with pytest.raises(ValueError):
        TokenBucket(qps=0, burst=1, clock=InstantClock())
    with pytest.raises(ValueError):
        TokenBucket(qps=1, burst=0, clock=InstantClock())


async def test_waiters_are_served_in_order_and_cancellation_returns_the_token() -> None:
    clock = ManualClock()
    bucket = TokenBucket(qps=2, burst=1, clock=clock)
    done: list[int] = []

    async def take(i: int) -> None:
        await bucket.acquire()
        done.append(i)

    tasks = [asyncio.create_task(take(i)) for i in range(3)]
    await asyncio.sleep(0)
    assert done == [0] and bucket.tokens == pytest.approx(-2.0)
    tasks[2].cancel()
    await asyncio.sleep(0)
    assert bucket.tokens == pytest.approx(-1.0)
    clock.advance(0.5)
    await asyncio.sleep(0)
    assert done == [0, 1]
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_client_waits_for_tokens_only_when_qps_is_set(server: ApiServer) -> None:
    clock = InstantClock()
    async with Client(server_config(server), qps=5, burst=2, clock=clock) as client:
        assert client.limiter is not None
        for _ in range(4):
            await client.list(CONFIGMAPS, "default")
    # Two from the burst, then one every 1/5 s; the clock only moves when the client sleeps.
    assert clock.sleeps == [pytest.approx(0.2), pytest.approx(0.2)]
    unlimited = InstantClock()
    async with Client(server_config(server), clock=unlimited) as client:
        assert client.limiter is None
        await asyncio.gather(*(client.list(CONFIGMAPS, "default") for _ in range(20)))
    assert unlimited.sleeps == []
