"""LIST pagination and WATCH streams against the in-process server, including the 410 path."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from pathlib import Path

import pytest

from mizzen.apiserver.server import ApiServer, ServerConfig
from mizzen.client import CONFIGMAPS, PODS, ApiError, Client, WatchEvent
from mizzen.client.watch import decode_line
from tests.client.conftest import configmap, pod, server_config


async def test_list_all_follows_continue_across_pages(client: Client) -> None:
    for i in range(7):
        await client.create(CONFIGMAPS, configmap(f"c{i}", labels={"set": "a"}), "default")
    await client.create(CONFIGMAPS, configmap("other"), "default")
    first = await client.list(CONFIGMAPS, "default", label_selector="set=a", limit=3)
    assert len(first["items"]) == 3 and first["metadata"]["continue"]
    items, rv = await client.list_all(CONFIGMAPS, "default", label_selector="set=a", limit=3)
    assert sorted(i["metadata"]["name"] for i in items) == [f"c{i}" for i in range(7)]
    assert rv == first["metadata"]["resourceVersion"]
    # 7 items in pages of 3: three requests (plus the single one above).
    assert client.metrics.counts()[("list", "configmaps")] == 4


async def test_list_all_namespaces_and_field_selector(client: Client) -> None:
    await client.create(PODS, pod("a"), "default")
    await client.create(PODS, pod("b"), "kube-system")
    items, _ = await client.list_all(PODS)
    assert {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in items} == {
        ("default", "a"), ("kube-system", "b")}
    items, _ = await client.list_all(PODS, field_selector="metadata.name=b")
    assert [p["metadata"]["name"] for p in items] == ["b"]


async def test_watch_from_a_resource_version(client: Client) -> None:
    await client.create(CONFIGMAPS, configmap("before"), "default")
    _, rv = await client.list_all(CONFIGMAPS, "default")
    await client.create(CONFIGMAPS, configmap("after"), "default")
    await client.patch(CONFIGMAPS, "after", {"data": {"k": "v"}}, "default")
    await client.delete(CONFIGMAPS, "after", "default")
    seen: list[WatchEvent] = []
    async with aclosing(client.watch(CONFIGMAPS, "default", resource_version=rv)) as stream:
        async for event in stream:
            seen.append(event)
            if len(seen) == 3:
                break
    assert [(e.type, e.object["metadata"]["name"]) for e in seen] == [
        ("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "after")]
    assert seen[1].object["data"] == {"k": "v"}
    assert int(seen[2].resource_version) > int(rv)
    assert client.metrics.counts()[("watch", "configmaps")] == 1


async def test_watch_sees_live_events_with_a_selector(client: Client) -> None:
    _, rv = await client.list_all(PODS, "default")

    async def first_event() -> WatchEvent:
        async with aclosing(client.watch(PODS, "default", resource_version=rv,
                                         label_selector="app=web")) as stream:
            async for event in stream:
                return event
        raise AssertionError("stream ended")

    task = asyncio.create_task(first_event())
    await client.create(PODS, pod("other"), "default")
    await client.create(PODS, pod("web", {"app": "web"}), "default")
    event = await asyncio.wait_for(task, 10)
    assert event.type == "ADDED" and event.object["metadata"]["name"] == "web"


async def test_watch_ends_when_the_server_times_it_out(client: Client) -> None:
    _, rv = await client.list_all(CONFIGMAPS, "default")
    events = [e async for e in client.watch(CONFIGMAPS, "default", resource_version=rv,
                                            timeout_seconds=1, allow_bookmarks=False)]
    assert events == []


async def test_send_initial_events_ends_with_a_bookmark(client: Client) -> None:
    await client.create(CONFIGMAPS, configmap("a"), "default")
    await client.create(CONFIGMAPS, configmap("b"), "default")
    seen: list[WatchEvent] = []
    async with aclosing(client.watch(CONFIGMAPS, "default", send_initial_events=True)) as s:
        async for event in s:
            seen.append(event)
            if event.type == "BOOKMARK":
                break
    assert [e.type for e in seen] == ["ADDED", "ADDED", "BOOKMARK"]
    assert seen[-1].object["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_too_old_resource_version_raises_gone(tmp_path: Path) -> None:
    config = ServerConfig(data_dir=tmp_path, port=0, synchronous="NORMAL", watch_window=5)
    async with ApiServer(config) as server, Client(server_config(server)) as client:
        first = await client.create(CONFIGMAPS, configmap("first"), "default")
        for i in range(20):
            await client.create(CONFIGMAPS, configmap(f"c{i}"), "default")
        server.store._compact()
        old = first["metadata"]["resourceVersion"]
        with pytest.raises(ApiError) as err:
            async for _ in client.watch(CONFIGMAPS, "default", resource_version=old):
                pass
        assert err.value.gone and err.value.status == 410 and err.value.reason == "Expired"
        # Re-listing gives a resourceVersion to watch from again.
        items, rv = await client.list_all(CONFIGMAPS, "default")
        assert len(items) == 21 and int(rv) > int(old)


def test_decode_line_maps_error_events() -> None:
    event = decode_line(b'{"type":"MODIFIED","object":{"metadata":{"resourceVersion":"7"}}}')
    assert event == WatchEvent("MODIFIED", {"metadata": {"resourceVersion": "7"}})
    with pytest.raises(ApiError) as err:
        decode_line(b'{"type":"ERROR","object":{"kind":"Status","code":500,'
                    b'"reason":"InternalError","message":"boom"}}')
    assert err.value.status == 500 and err.value.message == "boom"
