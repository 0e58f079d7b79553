"""Retries against a scripted aiohttp server: which failures are repeated, and how long after.

The scripted server answers each request with the next entry of a list: a status (with
optional headers), or DROP to close the connection without answering.  Clients here use
an InstantClock, so backoff sleeps are recorded, not waited.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web

from mizzen.client import CONFIGMAPS, PODS, ApiError, Client, ClientConfig, TransportError
from mizzen.client.retry import Backoff, Failure, classify_status, retry_after
from tests.client.conftest import InstantClock, configmap, pod

DROP = "drop"
OK_BODY = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "cfg"}}


@dataclass
class Script:
    """Responses to give in order (the last one repeats); requests seen."""

    steps: list[Any]
    seen: list[tuple[str, str, bytes, dict[str, str]]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append((request.method, request.path_qs, body, dict(request.headers)))
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if step == DROP:
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if callable(step):
            result: web.StreamResponse = await step(request)
            return result
        status, headers = (step, {}) if isinstance(step, int) else step
        payload = OK_BODY if status < 400 else {
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": status,
            "reason": "Scripted", "message": f"scripted {status}"}
        return web.json_response(payload, status=status, headers=headers)


@asynccontextmanager
async def scripted(*steps: Any) -> AsyncIterator[tuple[Script, str]]:
    script = Script(list(steps))
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", script.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield script, f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def make_client(url: str, clock: InstantClock, retries: int = 5, **kw: Any) -> Client:
    return Client(ClientConfig(server=url, token="t0k"), retries=retries, clock=clock,
                  backoff=Backoff(base=0.1, cap=1.0), **kw)


async def test_503_twice_then_200() -> None:
    clock = InstantClock()
    async with scripted(503, 503, 200) as (script, url), make_client(url, clock) as client:
        got = await client.get(CONFIGMAPS, "cfg", "default")
    assert got == OK_BODY and len(script.seen) == 3
    assert len(clock.sleeps) == 2
    assert 0.05 <= clock.sleeps[0] <= 0.1 and 0.1 <= clock.sleeps[1] <= 0.2  # equal jitter
    assert client.metrics.counts() == {("get", "configmaps"): 3}
    assert script.seen[0][3]["Authorization"] == "Bearer t0k"
    assert script.seen[0][3]["User-Agent"] == "mizzen"


async def test_429_honours_retry_after() -> None:
    clock = InstantClock()
    steps = [(429, {"Retry-After": "0"}), (429, {"Retry-After": "2"}), 200]
    async with scripted(*steps) as (script, url), make_client(url, clock) as client:
        await client.get(CONFIGMAPS, "cfg", "default")
    assert clock.sleeps == [0.0, 2.0] and len(script.seen) == 3


async def test_gives_up_after_the_retry_budget() -> None:
    clock = InstantClock()
    async with scripted(503) as (script, url), make_client(url, clock, retries=2) as client:
        with pytest.raises(ApiError) as err:
            await client.list(PODS)
    assert err.value.status == 503 and err.value.message == "scripted 503"
    assert len(script.seen) == 3 and len(clock.sleeps) == 2


async def test_conflicts_and_other_verdicts_are_never_retried() -> None:
    clock = InstantClock()
    async with scripted(409, 404, 422) as (script, url), make_client(url, clock) as client:
        for _ in range(3):
            with pytest.raises(ApiError):
                await client.update(CONFIGMAPS, {**configmap("cfg"), "metadata": {
                    "name": "cfg", "namespace": "default", "resourceVersion": "1"}})
    assert len(script.seen) == 3 and clock.sleeps == []


async def test_ambiguous_500_retries_named_creates_but_not_generate_name() -> None:
    clock = InstantClock()
    async with scripted(500, 201) as (script, url), make_client(url, clock) as client:
        await client.create(PODS, pod("web"), "default")
    assert len(script.seen) == 2

    generated = pod("")
    generated["metadata"] = {"generateName": "web-"}
    async with scripted(500, 201) as (script, url), make_client(url, clock) as client:
        with pytest.raises(ApiError) as err:
            await client.create(PODS, generated, "default")
    assert err.value.status == 500 and len(script.seen) == 1
    # A 503 means "not processed": even a generateName create is repeated.
    async with scripted(503, 201) as (script, url), make_client(url, clock) as client:
        await client.create(PODS, generated, "default")
    assert len(script.seen) == 2


async def test_dropped_connection_after_sending() -> None:
    clock = InstantClock()
    generated = pod("")
    generated["metadata"] = {"generateName": "web-"}
    async with scripted(DROP, 201) as (script, url), make_client(url, clock) as client:
        with pytest.raises(TransportError) as err:
            await client.create(PODS, generated, "default")
        assert err.value.method == "POST" and err.value.__cause__ is not None
        assert len(script.seen) == 1
        # Reads, updates and named creates are safe to repeat.
        script.steps = [DROP, 200]
        await client.get(PODS, "web", "default")
        script.steps = [DROP, 201]
        await client.create(PODS, pod("web"), "default")
    assert len(script.seen) == 5
    assert client.metrics.counts()[("create", "pods")] == 3


async def test_json_patch_is_not_repeated_after_an_ambiguous_failure() -> None:
    clock = InstantClock()
    ops = [{"op": "add", "path": "/metadata/finalizers/-", "value": "x"}]
    async with scripted(504, 200) as (script, url), make_client(url, clock) as client:
        with pytest.raises(ApiError) as err:
            await client.patch(PODS, "web", ops, "default", patch_type="json")
        assert err.value.status == 504 and len(script.seen) == 1
        script.steps = [504, 200]
        await client.patch(PODS, "web", {"metadata": {"labels": {"a": "b"}}}, "default")
    assert len(script.seen) == 3
    method, path, body, headers = script.seen[-1]
    assert method == "PATCH" and "fieldManager=mizzen" in path
    assert headers["Content-Type"] == "application/merge-patch+json"
    assert orjson.loads(body) == {"metadata": {"labels": {"a": "b"}}}


async def test_connection_refused_is_retried_then_raised() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    clock = InstantClock()
    generated = pod("")
    generated["metadata"] = {"generateName": "web-"}
    async with make_client(f"http://127.0.0.1:{port}", clock, retries=3) as client:
        with pytest.raises(TransportError):
            await client.create(PODS, generated, "default")
    assert len(clock.sleeps) == 3  # nothing was sent, so even this create was repeated
    assert client.metrics.counts() == {("create", "pods"): 4}


async def test_401_refreshes_a_refreshable_token_once() -> None:
    class Rotating:
        def __init__(self) -> None:
            self.token, self.invalidated = "old", 0

        async def __call__(self) -> str:
            return self.token

        def invalidate(self) -> None:
            self.invalidated += 1
            self.token = "new"

    provider = Rotating()
    async with scripted(401, 200) as (script, url):
        config = ClientConfig(server=url, token="ignored", token_provider=provider)
        async with Client(config) as client:
            await client.get(CONFIGMAPS, "cfg", "default")
        assert [s[3]["Authorization"] for s in script.seen] == ["Bearer old", "Bearer new"]
        assert provider.invalidated == 1
        script.steps = [401]
        async with Client(ClientConfig(server=url, token="static")) as client:
            with pytest.raises(ApiError) as err:
                await client.get(CONFIGMAPS, "cfg", "default")
        assert err.value.status == 401 and len(script.seen) == 3


async def test_watch_stream_split_lines_large_objects_and_retry_before_streaming() -> None:
    big = {"metadata": {"name": "big", "resourceVersion": "5"}, "data": {"k": "x" * 300_000}}
    lines = b"".join(orjson.dumps(e) + b"\n" for e in [
        {"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "4"}}},
        {"type": "MODIFIED", "object": big},
        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "6"}}},
        {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired",
                                     "message": "too old resource version: 1 (6)"}}])

    async def stream(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.content_type = "application/json"
        await resp.prepare(request)
        for i in range(0, len(lines), 7_777):  # chunk boundaries fall mid-line
            await resp.write(lines[i:i + 7_777])
            await asyncio.sleep(0)
        return resp

    clock = InstantClock()
    async with scripted(503, stream) as (script, url), make_client(url, clock) as client:
        seen = []
        with pytest.raises(ApiError) as err:
            async for event in client.watch(CONFIGMAPS, "default", resource_version="3"):
                seen.append(event)
    assert err.value.gone
    assert [e.type for e in seen] == ["ADDED", "MODIFIED", "BOOKMARK"]
    assert seen[1].object == big and seen[2].resource_version == "6"
    assert len(script.seen) == 2
    query = script.seen[1][1]
    assert "watch=true" in query and "resourceVersion=3" in query
    assert "allowWatchBookmarks=true" in query


def test_classification_and_retry_after_parsing() -> None:
    assert classify_status(429) is Failure.UNPROCESSED
    assert classify_status(502) is Failure.AMBIGUOUS
    assert classify_status(409) is None
    assert retry_after("3", None) == 3.0
    assert retry_after(None, {"details": {"retryAfterSeconds": 4}}) == 4.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", None) == 0.0  # in the past
    assert retry_after(None, None) is None
    backoff = Backoff(base=1.0, cap=4.0, max_retry_after=10.0)
    assert backoff.delay(0, server_hint=30.0) == 10.0
    assert all(2.0 <= backoff.delay(5) <= 4.0 for _ in range(20))  # capped, jittered


async def test_list_all_relists_in_full_when_the_continue_token_expires() -> None:
    def page(names: list[str], rv: str, cont: str = "") -> Any:
        async def respond(request: web.Request) -> web.StreamResponse:
            meta = {"resourceVersion": rv, **({"continue": cont} if cont else {})}
            return web.json_response({"kind": "ConfigMapList", "metadata": meta,
                                      "items": [{"metadata": {"name": n}} for n in names]})
        return respond

    async def expired(request: web.Request) -> web.StreamResponse:
        return web.json_response({"kind": "Status", "code": 410, "reason": "Expired",
                                  "message": "continue token expired"}, status=410)

    steps = [page(["a", "b"], "10", "tok"), expired, page(["a", "b", "c"], "12")]
    async with scripted(*steps) as (script, url), make_client(url, InstantClock()) as client:
        items, rv = await client.list_all(CONFIGMAPS, "default", limit=2)
    assert [i["metadata"]["name"] for i in items] == ["a", "b", "c"] and rv == "12"
    queries = [s[1] for s in script.seen]
    assert "limit=2" in queries[0] and "continue=tok" in queries[1]
    assert "limit" not in queries[2] and "continue" not in queries[2]
