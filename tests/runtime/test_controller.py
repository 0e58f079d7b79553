"""Controller: retry policy per outcome, one pass per key at a time, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CollectorRegistry

from mizzen.runtime.clock import Clock, FakeClock, RealClock
from mizzen.runtime.controller import Controller
from mizzen.runtime.metrics import RuntimeMetrics
from mizzen.runtime.ratelimit import ItemExponentialBackoff, RateLimiter
from mizzen.runtime.reconcile import Request, Result, TerminalError
from tests.runtime.util import length_is, parked_until, settle, wait_until

KEY = Request("ns", "obj")


def backoff_1s(_clock: Clock) -> RateLimiter:
    return ItemExponentialBackoff(1.0, 60.0)


@asynccontextmanager
async def running(ctl: Controller) -> AsyncIterator[Controller]:
    task = asyncio.create_task(ctl.run())
    await wait_until(lambda: ctl.running)
    await settle()
    try:
        yield ctl
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def sample(metrics: RuntimeMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return value or 0.0


async def test_errors_are_retried_with_growing_backoff_then_forgotten() -> None:
    clock = FakeClock()
    calls: list[float] = []

    async def flaky(request: Request) -> Result:
        calls.append(clock.monotonic())
        if len(calls) <= 3:
            raise RuntimeError("not yet")
        return Result()

    metrics = RuntimeMetrics(CollectorRegistry())
    ctl = Controller("flaky", flaky, clock, rate_limiter=backoff_1s, metrics=metrics)
    async with running(ctl):
        ctl.queue.add(KEY)
        await wait_until(lambda: len(calls) == 1)
        for delay in (1.0, 2.0, 4.0):
            await parked_until(clock, calls[-1] + delay)
            clock.advance(delay - 0.001)
            await settle()
            assert ctl.queue.delayed == 1  # not a moment early
            clock.advance(0.001)
            await wait_until(length_is(calls, len(calls) + 1))
        await wait_until(lambda: ctl.queue.in_flight == 0)
        assert [t - calls[0] for t in calls] == [0.0, 1.0, 3.0, 7.0]
        assert ctl.queue.num_requeues(KEY) == 0  # success forgot the backoff
        assert sample(metrics, "controller_runtime_reconcile_total", controller="flaky",
                      result="error") == 3
        assert sample(metrics, "controller_runtime_reconcile_errors_total",
                      controller="flaky") == 3
        assert sample(metrics, "controller_runtime_reconcile_total", controller="flaky",
                      result="success") == 1


async def test_terminal_error_is_not_retried() -> None:
    clock = FakeClock()
    calls: list[Request] = []

    async def invalid(request: Request) -> Result:
        calls.append(request)
        raise TerminalError("spec.replicas must be a number")

    metrics = RuntimeMetrics(CollectorRegistry())
    ctl = Controller("terminal", invalid, clock, rate_limiter=backoff_1s, metrics=metrics)
    async with running(ctl):
        ctl.queue.add(KEY)
        await wait_until(lambda: calls and ctl.queue.in_flight == 0)
        clock.advance(3600)
        await settle()
        assert calls == [KEY]
        assert ctl.queue.delayed == 0 and len(ctl.queue) == 0
        assert sample(metrics, "controller_runtime_terminal_reconcile_errors_total",
                      controller="terminal") == 1


async def test_requeue_after_readds_the_key_after_that_delay() -> None:
    clock = FakeClock()
    calls: list[float] = []

    async def poll(request: Request) -> Result:
        calls.append(clock.monotonic())
        return Result(requeue_after=30.0) if len(calls) < 3 else Result()

    ctl = Controller("poll", poll, clock)
    async with running(ctl):
        ctl.queue.add(KEY)
        for n in (1, 2):
            await wait_until(length_is(calls, n))
            await parked_until(clock, calls[-1] + 30)
            clock.advance(30)
        await wait_until(lambda: len(calls) == 3)
        assert [t - calls[0] for t in calls] == [0.0, 30.0, 60.0]
        await settle()
        assert ctl.queue.delayed == 0


async def test_no_key_is_reconciled_by_two_workers_at_once() -> None:
    active: set[Request] = set()
    overlaps: list[Request] = []
    passes: dict[Request, int] = {}
    max_parallel = 0

    async def slow(request: Request) -> Result:
        nonlocal max_parallel
        if request in active:
            overlaps.append(request)
        active.add(request)
        max_parallel = max(max_parallel, len(active))
        await asyncio.sleep(0.005)
        active.discard(request)
        passes[request] = passes.get(request, 0) + 1
        return Result()

    ctl = Controller("slow", slow, RealClock(), workers=4)
    keys = [Request("ns", f"k{i}") for i in range(4)]
    async with running(ctl):
        for _ in range(20):  # a burst of events for every key, during passes
            for key in keys:
                ctl.queue.add(key)
            await asyncio.sleep(0.002)
        await wait_until(lambda: len(ctl.queue) == 0 and ctl.queue.in_flight == 0)
    assert overlaps == []
    assert max_parallel > 1  # the workers did run different keys in parallel
    assert all(passes[k] < 20 for k in keys)  # events during a pass were collapsed


async def test_restart_uses_a_fresh_queue() -> None:
    seen: list[Request] = []

    async def record(request: Request) -> Result:
        seen.append(request)
        return Result()

    ctl = Controller("restart", record, RealClock())
    async with running(ctl):
        first = ctl.queue
        first.add(KEY)
        await wait_until(lambda: seen == [KEY])
    assert first.shutting_down and not ctl.running
    async with running(ctl):
        assert ctl.queue is not first
        ctl.queue.add(KEY)
        await wait_until(lambda: seen == [KEY, KEY])
