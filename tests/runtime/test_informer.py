"""SharedInformer against the in-process API server: list, watch, resume, relist, bookmarks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mizzen.apiserver.server import ApiServer
from mizzen.client.client import Client
from mizzen.client.resources import CONFIGMAPS
from mizzen.runtime.clock import RealClock
from mizzen.runtime.informer import FuncHandler, SharedInformer
from tests.runtime.conftest import client_for, custom_server
from tests.runtime.util import wait_until

NS = "default"


def cm(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
            "data": data}


class Log:
    """Records handler calls as (event, name) pairs."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def handler(self) -> FuncHandler:
        return FuncHandler(lambda o: self._rec("add", o), lambda _o, n: self._rec("update", n),
                           lambda o: self._rec("delete", o))

    def _rec(self, what: str, obj: dict[str, Any]) -> None:
        self.calls.append((what, obj["metadata"]["name"]))

    def of(self, what: str) -> list[str]:
        return [name for w, name in self.calls if w == what]


@asynccontextmanager
async def running(informer: SharedInformer) -> AsyncIterator[SharedInformer]:
    task = asyncio.create_task(informer.run())
    try:
        assert await asyncio.wait_for(informer.wait_for_sync(), 10)
        yield informer
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_lists_then_follows_adds_updates_and_deletes(client: Client) -> None:
    await client.create(CONFIGMAPS, cm("before", k="1"), NS)
    informer = SharedInformer(client, CONFIGMAPS, RealClock(), namespace=NS, page_size=1,
                              check_mutations=True)
    log = Log()
    informer.add_handler(log.handler())
    async with running(informer):
        assert log.of("add") == ["before"]
        cached = informer.cache.get("before", NS)
        assert cached is not None and cached["kind"] == "ConfigMap"
        assert cached["apiVersion"] == "v1"
        await client.create(CONFIGMAPS, cm("after", k="1"), NS)
        await client.patch(CONFIGMAPS, "before", {"data": {"k": "2"}}, NS)
        await client.delete(CONFIGMAPS, "after", NS)
        await wait_until(lambda: log.of("delete") == ["after"])
        assert log.of("add") == ["before", "after"]
        assert log.of("update") == ["before"]
        before = informer.cache.get("before", NS)
        assert before is not None and before["data"] == {"k": "2"}
        assert informer.cache.get("after", NS) is None
        assert informer.stats.lists == 1


async def test_handler_added_after_sync_gets_the_cache_and_errors_are_isolated(
        client: Client) -> None:
    await client.create(CONFIGMAPS, cm("one"), NS)
    informer = SharedInformer(client, CONFIGMAPS, RealClock(), namespace=NS)

    def explode(_obj: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    informer.add_handler(FuncHandler(add=explode))
    async with running(informer):
        late = Log()
        informer.add_handler(late.handler())
        assert late.of("add") == ["one"]
        await client.create(CONFIGMAPS, cm("two"), NS)
        await wait_until(lambda: late.of("add") == ["one", "two"])
        assert informer.stats.handler_errors == 2
        informer.remove_handler(late.handler())  # a different object: no-op


async def test_resumes_from_the_last_resource_version_when_the_watch_ends(
        client: Client) -> None:
    await client.create(CONFIGMAPS, cm("steady"), NS)
    informer = SharedInformer(client, CONFIGMAPS, RealClock(), namespace=NS, watch_timeout=1)
    log = Log()
    informer.add_handler(log.handler())
    async with running(informer):
        # Each watch ends after timeoutSeconds=1; wait for two of them to have ended.
        await wait_until(lambda: informer.stats.watches >= 3, timeout=15)
        created = await client.create(CONFIGMAPS, cm("later"), NS)
        await wait_until(lambda: "later" in log.of("add"))
        assert informer.stats.lists == 1  # never relisted
        assert informer.stats.relists_gone == 0
        assert log.of("add") == ["steady", "later"]  # nothing replayed
        assert informer.resource_version == created["metadata"]["resourceVersion"]


async def test_relists_after_410_when_its_position_left_the_window(tmp_path: Path) -> None:
    async with custom_server(tmp_path, watch_window=5) as server, client_for(server) as client:
        await client.create(CONFIGMAPS, cm("mine", {"app": "a"}), NS)
        # The informer sees only app=a, so writes to other objects do not move its position.
        informer = SharedInformer(client, CONFIGMAPS, RealClock(), namespace=NS,
                                  label_selector="app=a")
        log = Log()
        informer.add_handler(log.handler())
        async with running(informer):
            position = int(informer.resource_version)
            for i in range(20):
                await client.create(CONFIGMAPS, cm(f"other-{i}"), NS)
            server.store._compact()
            assert server.store.compacted_rv > position
            server.hub.close_all()  # the stream ends; resuming from `position` is 410
            await wait_until(lambda: informer.stats.relists_gone == 1)
            await wait_until(lambda: informer.stats.lists == 2)
            assert int(informer.resource_version) > position
            await client.create(CONFIGMAPS, cm("mine-2", {"app": "a"}), NS)
            await wait_until(lambda: "mine-2" in log.of("add"))
            assert log.of("add") == ["mine", "mine-2"]  # the relist changed nothing
            assert sorted(informer.cache.keys()) == ["default/mine", "default/mine-2"]


async def test_bookmarks_advance_the_position_so_resuming_needs_no_relist(
        tmp_path: Path) -> None:
    async with custom_server(tmp_path, watch_window=5, bookmark_interval=0.1) as server, \
            client_for(server) as client:
        informer = SharedInformer(client, CONFIGMAPS, RealClock(), namespace=NS,
                                  label_selector="app=a")
        async with running(informer):
            start = int(informer.resource_version)
            last = None
            for i in range(20):
                last = await client.create(CONFIGMAPS, cm(f"other-{i}"), NS)
            assert last is not None
            newest = int(last["metadata"]["resourceVersion"])
            server.store._compact()
            assert server.store.compacted_rv > start
            await wait_until(lambda: int(informer.resource_version) >= newest)
            assert informer.stats.bookmarks > 0
            assert informer.stats.events == 0
            watches = informer.stats.watches
            server.hub.close_all()
            await wait_until(lambda: informer.stats.watches > watches)
            await client.create(CONFIGMAPS, cm("mine", {"app": "a"}), NS)
            await wait_until(lambda: informer.cache.get("mine", NS) is not None)
            assert informer.stats.relists_gone == 0
            assert informer.stats.lists == 1


async def test_retries_with_backoff_while_the_server_is_unreachable(
        server: ApiServer, tmp_path: Path) -> None:
    from mizzen.client.config import ClientConfig
    from mizzen.runtime.clock import FakeClock

    clock = FakeClock()
    config = ClientConfig(server="https://127.0.0.1:1", ca_data=server.ca_pem,
                          token=server.token)
    async with Client(config, retries=0) as client:
        informer = SharedInformer(client, CONFIGMAPS, clock, backoff_base=1, backoff_cap=4)
        task = asyncio.create_task(informer.run())
        try:
            for expected in (1.0, 2.0, 4.0, 4.0):
                await wait_until(lambda: clock.sleepers == 1)
                deadline = clock.next_deadline()
                assert deadline is not None
                assert deadline - clock.monotonic() == expected
                clock.advance(expected)
            assert not informer.has_synced
            assert informer.stats.errors >= 4
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
