"""Leader election on a Lease: acquire, renew, hand over on release or expiry, step down."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import pytest

from mizzen.client.client import Client
from mizzen.client.resources import LEASES
from mizzen.runtime.clock import RealClock
from mizzen.runtime.leaderelection import (
    MICROTIME_FORMAT,
    LeaderElectionConfig,
    LeaderElector,
    LeaderRecord,
)
from tests.runtime.util import wait_for_async, wait_until

NS = "kube-system"
LEASE = 1.0
RENEW = 0.6
RETRY = 0.2


def config(identity: str, release: bool = True) -> LeaderElectionConfig:
    return LeaderElectionConfig("mizzen-test", NS, identity, lease_duration=LEASE,
                                renew_deadline=RENEW, retry_period=RETRY,
                                release_on_cancel=release)


class Candidate:
    """An elector plus a record of when its leading coroutine ran and how it ended."""

    def __init__(self, client: Client, identity: str, release: bool = True) -> None:
        self.elector = LeaderElector(client, config(identity, release), RealClock())
        self.leading = asyncio.Event()
        self.stopped = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _lead(self) -> None:
        self.leading.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.stopped.set()

    def start(self) -> None:
        self.task = asyncio.create_task(self.elector.run(self._lead))

    async def kill(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def test_config_is_validated_like_client_go() -> None:
    LeaderElectionConfig("l", "ns", "me")  # 15 / 10 / 2
    with pytest.raises(ValueError):
        LeaderElectionConfig("l", "ns", "me", lease_duration=10, renew_deadline=10)
    with pytest.raises(ValueError):
        LeaderElectionConfig("l", "ns", "me", renew_deadline=2, retry_period=2)
    with pytest.raises(ValueError):
        LeaderElectionConfig("l", "ns", "")


def test_record_round_trips_and_microtime_format() -> None:
    t = datetime(2006, 1, 2, 15, 4, 5, 123456, tzinfo=UTC)
    assert t.strftime(MICROTIME_FORMAT) == "2006-01-02T15:04:05.123456Z"
    record = LeaderRecord("me", 15, "2006-01-02T15:04:05.000000Z",
                          "2006-01-02T15:04:06.000000Z", 3)
    assert LeaderRecord.from_lease({"spec": record.to_spec()}) == record


async def run_with_timing(coro: Callable[[], Coroutine[Any, Any, None]]) -> float:
    loop = asyncio.get_running_loop()
    start = loop.time()
    await coro()
    return loop.time() - start


async def test_first_candidate_creates_the_lease_and_keeps_renewing(client: Client) -> None:
    a = Candidate(client, "a")
    a.start()
    try:
        await asyncio.wait_for(a.leading.wait(), 5)
        assert a.elector.is_leader and a.elector.leader == "a"
        lease = await client.get(LEASES, "mizzen-test", NS)
        spec = lease["spec"]
        assert spec["holderIdentity"] == "a"
        assert spec["leaseDurationSeconds"] == 1
        assert spec["leaseTransitions"] == 0
        datetime.strptime(spec["renewTime"], MICROTIME_FORMAT)
        first_renew = spec["renewTime"]

        async def renewed() -> bool:
            current = await client.get(LEASES, "mizzen-test", NS)
            return bool(current["spec"]["renewTime"] != first_renew)

        await wait_for_async(renewed, timeout=5)
        again = await client.get(LEASES, "mizzen-test", NS)
        assert again["spec"]["acquireTime"] == spec["acquireTime"]
    finally:
        await a.kill()
    assert a.stopped.is_set() and not a.elector.is_leader
    released = await client.get(LEASES, "mizzen-test", NS)
    assert released["spec"]["holderIdentity"] == ""


async def test_released_lease_is_taken_over_within_the_lease_duration(client: Client) -> None:
    a, b = Candidate(client, "a"), Candidate(client, "b")
    a.start()
    await asyncio.wait_for(a.leading.wait(), 5)
    b.start()
    await wait_until(lambda: b.elector.leader == "a")
    assert not b.leading.is_set()
    try:
        elapsed = await run_with_timing(lambda: _kill_and_wait(a, b))
        assert elapsed < LEASE  # released: no waiting for expiry
        lease = await client.get(LEASES, "mizzen-test", NS)
        assert lease["spec"]["holderIdentity"] == "b"
        assert lease["spec"]["leaseTransitions"] == 1
    finally:
        await b.kill()


async def test_crashed_leader_is_replaced_after_its_lease_expires(client: Client) -> None:
    a, b = Candidate(client, "a", release=False), Candidate(client, "b", release=False)
    a.start()
    await asyncio.wait_for(a.leading.wait(), 5)
    b.start()
    await wait_until(lambda: b.elector.leader == "a")
    try:
        elapsed = await run_with_timing(lambda: _kill_and_wait(a, b))
        # Not before the lease could have expired (a renewed at most one retry period
        # before dying), and within one lease duration plus two jittered retry periods.
        assert LEASE - RETRY - 0.1 <= elapsed <= LEASE + 2 * 2.2 * RETRY + 0.5
        lease = await client.get(LEASES, "mizzen-test", NS)
        assert lease["spec"]["holderIdentity"] == "b"
    finally:
        await b.kill()


async def _kill_and_wait(leader: Candidate, successor: Candidate) -> None:
    await leader.kill()
    await asyncio.wait_for(successor.leading.wait(), 10)


async def test_leader_that_cannot_renew_steps_down_and_stops_leading(client: Client) -> None:
    a = Candidate(client, "a")
    a.start()
    await asyncio.wait_for(a.leading.wait(), 5)
    lease = await client.get(LEASES, "mizzen-test", NS)
    lease["spec"]["holderIdentity"] = "usurper"
    lease["spec"]["leaseDurationSeconds"] = 60
    await client.update(LEASES, lease)
    assert a.task is not None
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.wait_for(a.task, 5)  # run() returns: leadership over
    assert loop.time() - start <= RETRY + RENEW + 0.5
    assert a.stopped.is_set() and not a.elector.is_leader
    assert a.elector.leader == "usurper"
    current = await client.get(LEASES, "mizzen-test", NS)
    assert current["spec"]["holderIdentity"] == "usurper"  # not released: not ours
