"""The supervisor (mizzen.cli.supervisor) with real child processes that speak its protocol.

The children are small Python scripts, not ``mizzen up-agent``, so each test takes a
fraction of a second and can make the child misbehave on purpose: die before it is ready,
exit right after, ignore SIGTERM.  ``mizzen up`` with the real agent is tested in
``test_up.py``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from mizzen.cli.agent import Readiness
from mizzen.cli.supervisor import AgentFailed, Backoff, Supervisor, describe_exit
from mizzen.runtime.clock import FakeClock, RealClock
from tests.cli.processes import alive
from tests.conftest import eventually

# argv[1] is the behaviour; the supervisor appends --parent-fd N.
CHILD = """
import os, signal, socket, sys
mode = sys.argv[1]
sock = socket.socket(fileno=int(sys.argv[sys.argv.index("--parent-fd") + 1]))
if mode == "die-early":
    sys.exit(3)
if mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
ready = ('{"pid": %d, "controllers": ["cloneset"], "crds": ["c.example.com"], '
         '"webhooks": null}\\n' % os.getpid())
sock.sendall(ready.encode())
if mode == "exit-after-ready":
    sys.exit(4)
while sock.recv(4096):  # until the parent's end closes
    pass
"""


def child(mode: str) -> list[str]:
    return [sys.executable, "-c", CHILD, mode]


async def gone(pid: int, timeout: float = 10.0) -> None:
    async def check() -> bool:
        return not alive(pid)
    await eventually(check, timeout=timeout, interval=0.02)


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(first=0.5, cap=3.0)
    assert [backoff.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_exits_are_described_by_code_or_signal() -> None:
    assert describe_exit(1) == "exited with code 1"
    assert describe_exit(-signal.SIGKILL) == "was killed by SIGKILL"


def test_a_readiness_report_round_trips_and_garbage_is_refused() -> None:
    ready = Readiness(42, ("cloneset",), ("clonesets.apps.kruise.io",), "https://127.0.0.1:1")
    assert Readiness.from_line(ready.to_line()) == ready
    with pytest.raises(ValueError, match="not a readiness report"):
        Readiness.from_line(b'{"pid": 1}\n')


async def test_start_waits_for_the_report_and_stop_terminates_the_child() -> None:
    sup = Supervisor(child("serve"), RealClock())
    ready = await sup.start()
    assert ready == Readiness(sup.pid or 0, ("cloneset",), ("c.example.com",), None)
    assert sup.pid is not None and alive(sup.pid)
    assert await sup.stop() == -signal.SIGTERM
    assert not alive(sup.pid)


async def test_a_child_that_dies_before_it_is_ready_fails_the_start() -> None:
    sup = Supervisor(child("die-early"), RealClock())
    with pytest.raises(AgentFailed, match="exited with code 3 before it was ready"):
        await sup.start()


async def test_a_child_deaf_to_sigterm_is_killed_after_the_stop_timeout() -> None:
    sup = Supervisor(child("ignore-term"), RealClock(), stop_timeout=0.3)
    await sup.start()
    assert await sup.stop() == -signal.SIGKILL


async def test_exited_children_are_restarted_with_a_growing_capped_delay() -> None:
    clock = FakeClock()
    sup = Supervisor(child("exit-after-ready"), clock, backoff=Backoff(first=1, cap=4))
    await sup.start()
    task = asyncio.create_task(sup.wait())
    delays = []
    try:
        for restarts in range(4):
            async def backing_off() -> bool:
                return clock.sleepers == 1
            await eventually(backing_off)
            assert sup.restarts == restarts  # no new child before the delay is over
            deadline = clock.next_deadline()
            assert deadline is not None
            delays.append(deadline - clock.monotonic())
            clock.advance(delays[-1])
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sup.stop()
    assert delays == [1, 2, 4, 4]


async def test_a_child_that_ran_long_enough_is_restarted_after_the_first_delay() -> None:
    clock = FakeClock()
    sup = Supervisor(child("serve"), clock, backoff=Backoff(first=1, cap=30, stable=60))
    await sup.start()
    task = asyncio.create_task(sup.wait())

    async def next_delay(ran: float) -> float:
        pid = sup.pid
        assert pid is not None
        clock.advance(ran)  # the child has been up this long when it is killed
        os.kill(pid, signal.SIGKILL)

        async def backing_off() -> bool:
            return clock.sleepers == 1
        await eventually(backing_off)
        deadline = clock.next_deadline()
        assert deadline is not None
        delay = deadline - clock.monotonic()
        restarts = sup.restarts
        clock.advance(delay)

        async def restarted() -> bool:
            return sup.restarts == restarts + 1
        await eventually(restarted)
        assert sup.pid != pid and sup.pid is not None and alive(sup.pid)
        return delay

    try:
        assert [await next_delay(ran) for ran in (1, 1, 1, 60, 1)] == [1, 2, 4, 1, 2]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        last = sup.pid
        await sup.stop()
    assert last is not None
    await gone(last)

