"""Shared fixtures: an in-process API server on a free port and an HTTPS client for it."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from mizzen.apiserver.server import ApiServer, ServerConfig


class Api:
    """A tiny raw client for tests: JSON in, (status, JSON) out."""

    def __init__(self, server: ApiServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session

    async def request(self, method: str, path: str, body: Any = None, *,
                      content_type: str = "application/json",
                      headers: dict[str, str] | None = None,
                      raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
        hdrs = {"Authorization": f"Bearer {self.server.token}"}
        if data is not None:
            hdrs["Content-Type"] = content_type
        hdrs.update(headers or {})
        async with self.session.request(method, self.server.url + path, data=data,
                                        headers=hdrs) as resp:
            text = await resp.read()
            try:
                return resp.status, orjson.loads(text) if text else None
            except orjson.JSONDecodeError:
                return resp.status, text.decode()

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any, **kw: Any) -> tuple[int, Any]:
        return await self.request("POST", path, body, **kw)

    async def put(self, path: str, body: Any, **kw: Any) -> tuple[int, Any]:
        return await self.request("PUT", path, body, **kw)

    async def patch(self, path: str, body: Any, content_type: str = "application/merge-patch+json",
                    **kw: Any) -> tuple[int, Any]:
        return await self.request("PATCH", path, body, content_type=content_type, **kw)

    async def delete(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.request("DELETE", path, body, **kw)


def client_ssl(server: ApiServer) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=server.ca_pem.decode())
    return ctx


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ApiServer]:
    async with ApiServer(ServerConfig(data_dir=tmp_path / "data", port=0,
                                      synchronous="NORMAL")) as srv:
        yield srv


@pytest.fixture
async def api(server: ApiServer) -> AsyncIterator[Api]:
    connector = aiohttp.TCPConnector(ssl=client_ssl(server))
    async with aiohttp.ClientSession(connector=connector) as session:
        yield Api(server, session)


async def eventually(check: Any, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Await ``check()`` until it returns a truthy value; fail after ``timeout`` seconds."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)


class ServerThread:
    """An API server on its own event loop in a background thread, for synchronous clients
    (kubectl subprocesses, the ``kubernetes`` package) that would block the test's loop."""

    def __init__(self, config: ServerConfig) -> None:
        import asyncio
        import threading

        self.server = ApiServer(config)
        self.loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="apiserver", daemon=True)

    def _run(self) -> None:
        import asyncio

        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.start())
        except BaseException as exc:  # surfaced to the starting thread
            self._error = exc
            self._started.set()
            return
        self._started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.server.stop())
        self.loop.close()

    def start(self) -> ApiServer:
        self._thread.start()
        if not self._started.wait(60):
            raise RuntimeError("API server did not start within 60s")
        if self._error is not None:
            raise self._error
        return self.server

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)

    def call(self, coro: Any) -> Any:
        """Run a coroutine on the server's loop (e.g. to inspect or compact its store)."""
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)


@pytest.fixture
def threaded_server(tmp_path: Path) -> Any:
    """An API server in a background thread; yields the ``ServerThread``."""
    st = ServerThread(ServerConfig(data_dir=tmp_path / "data", port=0, synchronous="NORMAL"))
    st.start()
    try:
        yield st
    finally:
        st.stop()
