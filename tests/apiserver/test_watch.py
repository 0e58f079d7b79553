"""Watch over HTTPS: initial events, resume from a resourceVersion, 410, bookmarks, timeouts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from mizzen.apiserver.server import ApiServer, ServerConfig
from tests.conftest import Api, client_ssl

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]}}


class Stream:
    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self.resp = resp

    async def next(self) -> dict[str, Any]:
        line = await self.resp.content.readline()
        assert line, "watch stream ended"
        event: dict[str, Any] = orjson.loads(line)
        return event

    async def take(self, n: int) -> list[dict[str, Any]]:
        return [await self.next() for _ in range(n)]

    async def ended(self) -> bool:
        return await self.resp.content.readline() == b""


@asynccontextmanager
async def watch(api: Api, query: str) -> AsyncIterator[Stream]:
    url = f"{api.server.url}{PODS}?watch=true&{query}"
    async with api.session.get(url, headers={"Authorization": f"Bearer {api.server.token}"},
                               timeout=aiohttp.ClientTimeout(total=30)) as resp:
        assert resp.status == 200
        yield Stream(resp)


async def test_watch_without_rv_starts_with_current_objects(api: Api) -> None:
    await api.post(PODS, pod("a"))
    async with watch(api, "") as s:
        first = await s.next()
        assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "a"
        await api.post(PODS, pod("b"))
        await api.patch(f"{PODS}/b", {"metadata": {"labels": {"x": "y"}}})
        await api.delete(f"{PODS}/b")
        events = await s.take(3)
        assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        assert rvs == sorted(rvs)


async def test_watch_from_rv_replays_later_events_only(api: Api) -> None:
    _, a = await api.post(PODS, pod("a"))
    await api.post(PODS, pod("b"))
    await api.post(PODS, pod("c"))
    async with watch(api, f"resourceVersion={a['metadata']['resourceVersion']}") as s:
        events = await s.take(2)
        assert [e["object"]["metadata"]["name"] for e in events] == ["b", "c"]


async def test_selector_watch_sees_objects_enter_and_leave(api: Api) -> None:
    _, created = await api.post(PODS, pod("a", {"tier": "fe"}))
    rv = created["metadata"]["resourceVersion"]
    async with watch(api, f"resourceVersion={rv}&labelSelector=tier%3Dbe") as s:
        await api.patch(f"{PODS}/a", {"metadata": {"labels": {"tier": "be"}}})
        await api.patch(f"{PODS}/a", {"metadata": {"labels": {"tier": "fe"}}})
        events = await s.take(2)
        assert [e["type"] for e in events] == ["ADDED", "DELETED"]


async def test_bookmarks_only_when_asked_and_timeout_ends_stream(tmp_path: Path) -> None:
    config = ServerConfig(data_dir=tmp_path, port=0, synchronous="NORMAL",
                          bookmark_interval=0.2)
    async with ApiServer(config) as srv:
        connector = aiohttp.TCPConnector(ssl=client_ssl(srv))
        async with aiohttp.ClientSession(connector=connector) as session:
            api = Api(srv, session)
            _, created = await api.post(PODS, pod("a"))
            rv = created["metadata"]["resourceVersion"]
            async with watch(api, f"resourceVersion={rv}&allowWatchBookmarks=true"
                                  "&timeoutSeconds=2") as s:
                ev = await s.next()
                assert ev["type"] == "BOOKMARK"
                assert int(ev["object"]["metadata"]["resourceVersion"]) >= int(rv)
                while True:  # the server ends the stream at timeoutSeconds
                    line = await s.resp.content.readline()
                    if not line:
                        break
                    assert orjson.loads(line)["type"] == "BOOKMARK"
            async with watch(api, f"resourceVersion={rv}&timeoutSeconds=1") as s:
                assert await s.ended()  # no bookmarks unless asked


async def test_too_old_resource_version_is_an_in_stream_410(tmp_path: Path) -> None:
    config = ServerConfig(data_dir=tmp_path, port=0, synchronous="NORMAL", watch_window=5)
    async with ApiServer(config) as srv:
        connector = aiohttp.TCPConnector(ssl=client_ssl(srv))
        async with aiohttp.ClientSession(connector=connector) as session:
            api = Api(srv, session)
            _, first = await api.post(PODS, pod("first"))
            for i in range(300):
                await api.post(PODS, pod(f"p{i}"))
            old = first["metadata"]["resourceVersion"]
            srv.store._compact()
            async with watch(api, f"resourceVersion={old}") as s:
                ev = await s.next()
                assert ev["type"] == "ERROR"
                assert ev["object"]["code"] == 410 and ev["object"]["reason"] == "Expired"
                assert ev["object"]["message"].startswith(f"too old resource version: {old}")


async def test_send_initial_events_ends_with_annotated_bookmark(api: Api) -> None:
    await api.post(PODS, pod("a"))
    await api.post(PODS, pod("b"))
    q = ("sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion="
         "&allowWatchBookmarks=true")
    async with watch(api, q) as s:
        events = await s.take(3)
        assert [e["type"] for e in events] == ["ADDED", "ADDED", "BOOKMARK"]
        annotations = events[2]["object"]["metadata"]["annotations"]
        assert annotations == {"k8s.io/initial-events-end": "true"}


async def test_replay_from_a_resource_version_holds_only_that_resource(api: Api) -> None:
    _, first = await api.post(PODS, pod("a"))
    await api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "cm"}})
    await api.post(PODS, pod("b"))
    async with watch(api, f"resourceVersion={first['metadata']['resourceVersion']}") as s:
        ev = await s.next()
        assert (ev["object"]["kind"], ev["object"]["metadata"]["name"]) == ("Pod", "b")
