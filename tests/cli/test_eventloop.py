"""The CLI's event loop (mizzen.cli.eventloop): uvloop, with asyncio.run's semantics, the
embedded API server behaving on it as on the standard loop the other tests use, and the
stop signal every long-running command waits on."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
from pathlib import Path

import aiohttp
import orjson
import pytest
import uvloop

from mizzen.apiserver.server import ApiServer, ServerConfig
from mizzen.cli import eventloop


def test_run_returns_the_result_on_uvloop_and_cancels_what_is_left() -> None:
    leftover: list[asyncio.Task[None]] = []

    async def main() -> str:
        leftover.append(asyncio.create_task(asyncio.sleep(3600)))
        return type(asyncio.get_running_loop()).__module__

    assert eventloop.run(main()).startswith("uvloop")
    assert leftover[0].cancelled()


def test_run_raises_what_the_coroutine_raises() -> None:
    async def main() -> None:
        raise OSError("address in use")

    with pytest.raises(OSError, match="address in use"):
        eventloop.run(main())


def test_api_server_serves_writes_reads_and_watches_on_uvloop(tmp_path: Path) -> None:
    async def main() -> list[str]:
        assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
        config = ServerConfig(data_dir=tmp_path / "data", port=0, synchronous="NORMAL")
        async with ApiServer(config) as server:
            ctx = ssl.create_default_context(cadata=server.ca_pem.decode())
            headers = {"Authorization": f"Bearer {server.token}"}
            pods = server.url + "/api/v1/namespaces/default/pods"
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                   "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx),
                                             headers=headers) as s:
                async with s.get(pods) as resp:
                    rv = orjson.loads(await resp.read())["metadata"]["resourceVersion"]
                async with s.get(f"{pods}?watch=1&resourceVersion={rv}") as watch:
                    async with s.post(pods, data=orjson.dumps(pod)) as resp:
                        assert resp.status == 201
                    async with s.delete(f"{pods}/web?gracePeriodSeconds=0") as resp:
                        assert resp.status == 200
                    types: list[str] = []
                    while len(types) < 2:
                        line = await asyncio.wait_for(watch.content.readline(), 10)
                        types.append(orjson.loads(line)["type"])
                async with s.get(f"{pods}/web") as resp:
                    assert resp.status == 404
        return types

    assert eventloop.run(main()) == ["ADDED", "DELETED"]


def test_sigterm_sets_the_stop_event_instead_of_killing_the_process() -> None:
    async def main() -> bool:
        stop = eventloop.stop_event()
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(stop.wait(), 10)
        return stop.is_set()

    assert eventloop.run(main())


async def test_until_stopped_returns_the_result_or_none_once_stopped() -> None:
    stop = asyncio.Event()
    assert await eventloop.until_stopped(asyncio.sleep(0, "done"), stop) == "done"
    started = asyncio.Event()

    async def forever() -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    work = asyncio.ensure_future(forever())
    waiting = asyncio.create_task(eventloop.until_stopped(work, stop))
    await started.wait()
    stop.set()
    assert await asyncio.wait_for(waiting, 10) is None
    assert work.cancelled()


async def test_until_stopped_raises_what_the_work_raises() -> None:
    async def fail() -> None:
        raise OSError("port taken")

    with pytest.raises(OSError, match="port taken"):
        await eventloop.until_stopped(fail(), asyncio.Event())
