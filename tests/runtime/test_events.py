"""EventRecorder: core/v1 Events written by a background task, repeats aggregated."""

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
        assert again["count"] == 1
        assert again["metadata"]["name"] != event["metadata"]["name"]


async def test_event_never_blocks_or_raises_on_api_trouble(client: Client) -> None:
    recorder = EventRecorder(client, FakeClock(START), "c", queue_size=2)
    bad = {"kind": "ConfigMap", "apiVersion": "v1",
           "metadata": {"name": "x", "namespace": "no-such-namespace"}}
    for _ in range(3):
        recorder.event(bad, NORMAL, "R", "m")  # the third does not fit: dropped
    assert recorder.stats.dropped == 1
    async with recording(recorder):
        await recorder.flush()
    assert recorder.stats.failed == 2  # both queued ones: the namespace does not exist
    assert recorder.stats.aggregated == 0
    with pytest.raises(ValueError):
        recorder.event(bad, "Info", "R", "m")


async def test_a_burst_of_drops_logs_a_few_lines(client: Client,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    recorder = EventRecorder(client, FakeClock(START), "burst", queue_size=1)
    obj = {"kind": "ConfigMap", "apiVersion": "v1",
           "metadata": {"name": "x", "namespace": "default"}}
    with caplog.at_level(logging.WARNING, logger="mizzen.runtime.events"):
        for _ in range(101):
            recorder.event(obj, NORMAL, "R", "m")  # 1 queued, 100 dropped
    assert recorder.stats.dropped == 100
    drops = [r for r in caplog.records if "queue full" in r.getMessage()]
    assert len(drops) == 7  # after 1, 2, 4, 8, 16, 32 and 64 drops
