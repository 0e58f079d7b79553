"""WorkQueue: de-duplication, one in flight per key, delays and backoff on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from mizzen.runtime.clock import FakeClock
from mizzen.runtime.queue import QueueShutDown, WorkQueue
from mizzen.runtime.ratelimit import ItemExponentialBackoff
from tests.runtime.util import settle, wait_until


def make_queue(clock: FakeClock | None = None) -> WorkQueue[str]:
    clock = clock or FakeClock()
    return WorkQueue(clock, ItemExponentialBackoff(1.0, 60.0), name="test")


async def test_adds_of_a_waiting_key_are_deduplicated() -> None:
    q = make_queue()
    for key in ("a", "b", "a", "a", "c", "b"):
        q.add(key)
    assert len(q) == 3
    assert [await q.get() for _ in range(3)] == ["a", "b", "c"]
    assert q.stats.adds == 3


async def test_key_added_while_in_flight_is_handed_out_again_only_after_done() -> None:
    q = make_queue()
    q.add("a")
    assert await q.get() == "a"
    q.add("a")
    q.add("a")
    assert len(q) == 0  # not handed to a second worker while the first holds it
    assert q.is_pending("a")
    q.done("a")
    assert len(q) == 1
    assert await q.get() == "a"
    q.done("a")
    assert not q.is_pending("a")


async def test_get_waits_for_an_add() -> None:
    q = make_queue()
    getter = asyncio.create_task(q.get())
    await settle()
    assert not getter.done()
    q.add("x")
    assert await asyncio.wait_for(getter, 5) == "x"


async def test_add_after_waits_for_the_clock_and_keeps_the_earliest_deadline() -> None:
    clock = FakeClock()
    q = make_queue(clock)
    q.add_after("a", 10)
    q.add_after("a", 20)  # later: ignored
    q.add_after("b", 5)
    await wait_until(lambda: clock.sleepers >= 1)
    assert len(q) == 0 and q.delayed == 2
    clock.advance(5)
    await wait_until(lambda: len(q) == 1)
    assert await q.get() == "b"
    q.add_after("a", 1)  # earlier than 10: replaces it
    await settle()
    clock.advance(1)
    await wait_until(lambda: len(q) == 1)
    assert await q.get() == "a"
    clock.advance(100)  # the stale 10 s and 20 s entries add nothing
    await settle()
    assert len(q) == 0 and q.delayed == 0


async def test_rate_limited_adds_back_off_exponentially_until_forgotten() -> None:
    clock = FakeClock()
    q = make_queue(clock)
    delays: list[float] = []
    for _ in range(4):
        start = clock.monotonic()
        q.add_rate_limited("k")
        while len(q) == 0:  # step the fake clock until the key comes back
            await wait_until(lambda: clock.next_deadline() is not None or len(q) > 0)
            if len(q) == 0:
                deadline = clock.next_deadline()
                assert deadline is not None
                clock.advance(deadline - clock.monotonic())
                await settle()
        delays.append(clock.monotonic() - start)
        assert await q.get() == "k"
        q.done("k")
    assert delays == [1.0, 2.0, 4.0, 8.0]
    assert q.num_requeues("k") == 4
    assert q.stats.retries == 4
    q.forget("k")
    assert q.num_requeues("k") == 0


async def test_shutdown_wakes_getters_and_ignores_adds() -> None:
    q = make_queue()
    getters = [asyncio.create_task(q.get()) for _ in range(3)]
    await settle()
    q.shutdown()
    for getter in getters:
        with pytest.raises(QueueShutDown):
            await getter
    q.add("late")
    q.add_after("later", 1)
    assert len(q) == 0 and q.delayed == 0
    with pytest.raises(QueueShutDown):
        await q.get()


async def test_workers_never_hold_the_same_key_at_once() -> None:
    q = make_queue()
    in_flight: set[str] = set()
    overlaps: list[str] = []
    passes: dict[str, int] = {}

    async def worker() -> None:
        while True:
            try:
                key = await q.get()
            except QueueShutDown:
                return
            if key in in_flight:
                overlaps.append(key)
            in_flight.add(key)
            await asyncio.sleep(0.001)
            if passes.setdefault(key, 0) < 3:
                q.add(key)  # an event during the pass
            passes[key] += 1
            in_flight.discard(key)
            q.done(key)

    workers = [asyncio.create_task(worker()) for _ in range(8)]
    for _ in range(5):
        for key in "abcd":
            q.add(key)
    await wait_until(lambda: all(passes.get(k, 0) >= 4 for k in "abcd") and len(q) == 0
                     and q.in_flight == 0)
    q.shutdown()
    await asyncio.gather(*workers)
    assert overlaps == []
