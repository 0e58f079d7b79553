"""Expectations: satisfied by observed events (by name), or by timeout on the clock."""

from __future__ import annotations

import asyncio
from typing import Any

from mizzen.client.client import Client
from mizzen.client.resources import CONFIGMAPS, SECRETS
from mizzen.runtime.clock import FakeClock, RealClock
from mizzen.runtime.expectations import Expectations, observe_owned
from mizzen.runtime.informer import SharedInformer
from mizzen.runtime.reconcile import Request
from tests.runtime.util import wait_until

OWNER = Request("ns", "owner")


def child(name: str, rv: str = "1", deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name, "namespace": "ns", "resourceVersion": rv,
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                             "uid": "u", "controller": True}]}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta}


def test_creates_and_deletes_are_satisfied_once_each_name_is_observed() -> None:
    exp = Expectations(FakeClock())
    assert exp.satisfied(OWNER)
    exp.expect_create(OWNER, "a", "b")
    exp.expect_delete(OWNER, "old")
    handler = observe_owned(exp, CONFIGMAPS)
    handler.on_add(child("a"))
    handler.on_add(child("a"))  # a replayed event does not count twice
    handler.on_add(child("unrelated-but-owned"))
    assert not exp.satisfied(OWNER)
    pending = exp.pending(OWNER)
    assert pending is not None
    assert pending.creates == {"b"} and pending.deletes == {"old"}
    handler.on_add(child("b"))
    handler.on_update(child("old"), child("old", rv="2", deleting=True))  # graceful delete
    assert exp.satisfied(OWNER)
    assert exp.pending(OWNER) is None and len(exp) == 0


def test_updates_are_satisfied_when_the_cache_reaches_the_written_version() -> None:
    exp = Expectations(FakeClock())
    exp.expect_update(OWNER, "a", "42")
    handler = observe_owned(exp, CONFIGMAPS)
    handler.on_update(child("a", "40"), child("a", "41"))
    assert not exp.satisfied(OWNER)
    handler.on_update(child("a", "41"), child("a", "43"))  # later writes count too
    assert exp.satisfied(OWNER)


def test_failed_write_lowers_the_expectation_itself() -> None:
    exp = Expectations(FakeClock())
    exp.expect_create(OWNER, "a")
    exp.observe_create(OWNER, "a")  # the create call failed: no event will come
    assert exp.satisfied(OWNER)


def test_pending_expectations_time_out_on_the_injected_clock() -> None:
    clock = FakeClock()
    exp = Expectations(clock, timeout=60)
    exp.expect_create(OWNER, "never-observed")
    clock.advance(59)
    assert not exp.satisfied(OWNER)
    exp.expect_create(OWNER, "another")  # does not reset the oldest one's age
    clock.advance(1)
    assert exp.satisfied(OWNER)  # timed out: dropped, the controller may act again
    assert exp.pending(OWNER) is None
    exp.expect_create(OWNER, "fresh")  # a new round starts a new clock
    pending = exp.pending(OWNER)
    assert pending is not None and pending.age == 0
    exp.forget(OWNER)
    assert exp.satisfied(OWNER)


async def test_informer_events_satisfy_expectations_for_real_writes(client: Client) -> None:
    owner = await client.create(CONFIGMAPS, {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "owner", "namespace": "default"}}, "default")
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
           "uid": owner["metadata"]["uid"], "controller": True}
    informer = SharedInformer(client, SECRETS, RealClock(), namespace="default")
    exp = Expectations(RealClock())
    informer.add_handler(observe_owned(exp, CONFIGMAPS))
    task = asyncio.create_task(informer.run())
    try:
        await informer.wait_for_sync(10)
        key = Request("default", "owner")
        exp.expect_create(key, "s1", "s2")
        for name in ("s1", "s2"):
            await client.create(SECRETS, {
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "namespace": "default", "ownerReferences": [ref]}},
                "default")
        await wait_until(lambda: exp.satisfied(key))
        exp.expect_delete(key, "s1")
        assert not exp.satisfied(key)
        await client.delete(SECRETS, "s1", "default")
        await wait_until(lambda: exp.satisfied(key))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
