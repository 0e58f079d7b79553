"""EventRecorder: core/v1 Events written by background tasks, correlated as client-go does."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from mizzen.client.client import Client
from mizzen.client.resources import CONFIGMAPS, EVENTS
from mizzen.runtime.clock import FakeClock
from mizzen.runtime.events import NORMAL, WARNING, EventRecorder

START = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)


@asynccontextmanager
async def recording(recorder: EventRecorder) -> AsyncIterator[EventRecorder]:
    task = asyncio.create_task(recorder.run())
    try:
        yield recorder
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def events_in(client: Client, ns: str) -> list[dict[str, Any]]:
    items, _ = await client.list_all(EVENTS, ns)
    return sorted(items, key=lambda e: (e["reason"], e["message"]))


async def test_repeats_become_one_event_with_a_count(client: Client) -> None:
    clock = FakeClock(START)
    owner = await client.create(CONFIGMAPS, {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "default"}}, "default")
    owner.setdefault("kind", "ConfigMap")
    owner.setdefault("apiVersion", "v1")
    recorder = EventRecorder(client, clock, "mirror-controller", host="node-a")
    async with recording(recorder):
        for _ in range(3):
            recorder.event(owner, NORMAL, "Synced", "mirrored 2 keys")
            await recorder.flush()
            clock.advance(10)
        recorder.event(owner, WARNING, "Failed", "secret is immutable")
        await recorder.flush()
    synced, failed = None, None
    for ev in await events_in(client, "default"):
        if ev["reason"] == "Synced":
            synced = ev
        elif ev["reason"] == "Failed":
            failed = ev
    assert synced is not None and failed is not None
    assert synced["count"] == 3
    assert synced["firstTimestamp"] == "2031-03-04T05:06:07Z"
    assert synced["lastTimestamp"] == "2031-03-04T05:06:27Z"
    assert synced["type"] == "Normal" and synced["message"] == "mirrored 2 keys"
    assert synced["source"] == {"component": "mirror-controller", "host": "node-a"}
    involved = synced["involvedObject"]
    assert (involved["kind"], involved["name"], involved["namespace"], involved["uid"]) == (
        "ConfigMap", "cfg", "default", owner["metadata"]["uid"])
    assert synced["metadata"]["name"].startswith("cfg.")
    assert failed["count"] == 1 and failed["type"] == "Warning"
    assert recorder.stats.created == 2 and recorder.stats.aggregated == 2


async def test_cluster_scoped_objects_report_to_default_and_deleted_events_are_recreated(
        client: Client) -> None:
    clock = FakeClock(START)
    node = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "n1", "uid": "u-n1"}}
    recorder = EventRecorder(client, clock, "kubelet")
    async with recording(recorder):
        recorder.event(node, NORMAL, "Ready", "node is ready")
        await recorder.flush()
        (event,) = await events_in(client, "default")
        assert event["involvedObject"] == {"kind": "Node", "apiVersion": "v1", "name": "n1",
                                           "uid": "u-n1"}
        await client.delete(EVENTS, event["metadata"]["name"], "default")
        recorder.event(node, NORMAL, "Ready", "node is ready")
        await recorder.flush()
        (again,) = await events_in(client, "default")
        # As client-go: the patch 404s, the Event is created again under its name, and
        # its count still covers both occurrences.
        assert again["count"] == 2
        assert again["metadata"]["name"] == event["metadata"]["name"]
    assert recorder.stats.created == 2 and recorder.stats.aggregated == 0


def configmap(name: str, ns: str = "default") -> dict[str, Any]:
    return {"kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}"}}


async def test_event_never_blocks_or_raises_on_api_trouble(client: Client) -> None:
    recorder = EventRecorder(client, FakeClock(START), "c", queue_size=2)
    for name in ("x", "y", "z"):  # three distinct Events; the third does not fit: dropped
        recorder.event(configmap(name, "no-such-namespace"), NORMAL, "R", "m")
    assert recorder.stats.dropped == 1
    async with recording(recorder):
        await recorder.flush()
    assert recorder.stats.failed == 2  # both queued ones: the namespace does not exist
    assert recorder.stats.aggregated == 0
    with pytest.raises(ValueError):
        recorder.event(configmap("x"), "Info", "R", "m")


async def test_a_burst_of_drops_logs_a_few_lines(client: Client,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    recorder = EventRecorder(client, FakeClock(START), "burst", queue_size=1)
    with caplog.at_level(logging.WARNING, logger="mizzen.runtime.events"):
        for i in range(101):
            recorder.event(configmap(f"x{i}"), NORMAL, "R", "m")  # 1 queued, 100 dropped
    assert recorder.stats.dropped == 100
    drops = [r for r in caplog.records if "queue full" in r.getMessage()]
    assert len(drops) == 7  # after 1, 2, 4, 8, 16, 32 and 64 drops


async def test_repeats_waiting_to_be_written_cost_one_write(client: Client) -> None:
    recorder = EventRecorder(client, FakeClock(START), "c")
    for _ in range(20):
        recorder.event(configmap("cfg"), NORMAL, "Synced", "same again")
    async with recording(recorder):
        await recorder.flush()
    (event,) = await events_in(client, "default")
    assert event["count"] == 20
    assert (recorder.stats.created, recorder.stats.coalesced) == (1, 19)


async def test_similar_events_are_combined_from_the_tenth_on(client: Client) -> None:
    clock = FakeClock(START)
    recorder = EventRecorder(client, clock, "replicaset-controller")
    async with recording(recorder):
        for i in range(12):
            recorder.event(configmap("rs"), NORMAL, "SuccessfulCreate", f"Created pod: p{i}")
            await recorder.flush()
    events = await events_in(client, "default")
    combined = [e for e in events if e["message"].startswith("(combined")]
    assert len(events) == 10 and len(combined) == 1
    assert combined[0]["count"] == 3
    assert combined[0]["message"] == "(combined from similar events): Created pod: p11"
    assert recorder.stats.created == 10 and recorder.stats.aggregated == 2


async def test_spam_filter_holds_back_floods_and_counts_them(client: Client) -> None:
    clock = FakeClock(START)
    recorder = EventRecorder(client, clock, "c")
    async with recording(recorder):
        for i in range(30):  # distinct reasons: never combined, one bucket of 25
            recorder.event(configmap("noisy"), NORMAL, f"Reason{i}", "m")
        for _ in range(3):  # a repeat of the first: held back, but counted
            recorder.event(configmap("noisy"), NORMAL, "Reason0", "m")
        recorder.event(configmap("quiet"), NORMAL, "Reason0", "m")  # another object's bucket
        await recorder.flush()
        assert (recorder.stats.created, recorder.stats.filtered) == (26, 8)
        clock.advance(300)  # one token back
        recorder.event(configmap("noisy"), NORMAL, "Reason0", "m")
        await recorder.flush()
    first = [e for e in await events_in(client, "default")
             if e["reason"] == "Reason0" and e["involvedObject"]["name"] == "noisy"]
    assert [e["count"] for e in first] == [5]
    assert recorder.stats.aggregated == 1


async def test_a_repeat_during_its_write_is_written_after_it(client: Client) -> None:
    recorder = EventRecorder(client, FakeClock(START), "c")
    recorder.event(configmap("cfg"), NORMAL, "Synced", "again")
    async with recording(recorder):
        for _ in range(100):  # until a writer has taken the create
            if recorder.in_flight:
                break
            await asyncio.sleep(0)
        assert recorder.in_flight == 1
        recorder.event(configmap("cfg"), NORMAL, "Synced", "again")
        await recorder.flush()
    (event,) = await events_in(client, "default")
    assert event["count"] == 2
    assert (recorder.stats.created, recorder.stats.aggregated) == (1, 1)
