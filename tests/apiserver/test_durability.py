"""Durability: acknowledged writes survive SIGKILL of the server process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import ssl
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml

PODS = "/api/v1/namespaces/default/pods"


class Proc:
    def __init__(self, proc: asyncio.subprocess.Process, url: str, token: str,
                 ca: str) -> None:
        self.proc, self.url, self.token, self.ca = proc, url, token, ca


async def start(data_dir: Path) -> Proc:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mizzen", "apiserver", "--data-dir", str(data_dir), "--port", "0",
        "--sync", "FULL", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert proc.stdout is not None
    url = ""
    async with asyncio.timeout(60):
        while not url:
            line = (await proc.stdout.readline()).decode()
            assert line, "server exited before listening"
            m = re.search(r"listening on (https://\S+)", line)
            if m:
                url = m.group(1)
    kubeconfig = yaml.safe_load((data_dir / "kubeconfig").read_text())
    token = kubeconfig["users"][0]["user"]["token"]
    import base64
    ca = base64.b64decode(kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"])
    return Proc(proc, url, token, ca.decode())


async def writer(p: Proc, session: aiohttp.ClientSession, prefix: str, acked: dict[str, int],
                 stop: asyncio.Event) -> None:
    i = 0
    while not stop.is_set():
        name = f"{prefix}-{i}"
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                "data": {"i": str(i)}}
        try:
            async with session.post(f"{p.url}/api/v1/namespaces/default/configmaps",
                                    data=orjson.dumps(body),
                                    headers={"Authorization": f"Bearer {p.token}",
                                             "Content-Type": "application/json"}) as resp:
                payload: dict[str, Any] = orjson.loads(await resp.read())
                if resp.status == 201:
                    acked[name] = int(payload["metadata"]["resourceVersion"])
        except (aiohttp.ClientError, ConnectionError, orjson.JSONDecodeError):
            return
        i += 1


async def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    data_dir = tmp_path / "state"
    p = await start(data_dir)
    ctx = ssl.create_default_context(cadata=p.ca)
    acked: dict[str, int] = {}
    stop = asyncio.Event()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as session:
        writers = [asyncio.create_task(writer(p, session, f"w{k}", acked, stop))
                   for k in range(8)]

        async def enough() -> None:
            while len(acked) < 300:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(enough(), 60)
        os.kill(p.proc.pid, signal.SIGKILL)  # mid-flight: writers still sending
        await p.proc.wait()
        stop.set()
        await asyncio.gather(*writers)
    assert len(acked) >= 300
    max_rv = max(acked.values())

    p2 = await start(data_dir)
    try:
        ctx = ssl.create_default_context(cadata=p2.ca)
        headers = {"Authorization": f"Bearer {p2.token}"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as session:
            async with session.get(f"{p2.url}/api/v1/namespaces/default/configmaps",
                                   headers=headers) as resp:
                listing = orjson.loads(await resp.read())
            stored = {i["metadata"]["name"]: int(i["metadata"]["resourceVersion"])
                      for i in listing["items"]}
            missing = [n for n in acked if stored.get(n) != acked[n]]
            assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:5]}"
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after"}}
            async with session.post(f"{p2.url}/api/v1/namespaces/default/configmaps",
                                    data=orjson.dumps(body),
                                    headers={**headers, "Content-Type": "application/json"}) as r:
                after = orjson.loads(await r.read())
            assert int(after["metadata"]["resourceVersion"]) > max_rv
    finally:
        p2.proc.send_signal(signal.SIGTERM)
        await p2.proc.wait()


async def churn(p: Proc, session: aiohttp.ClientSession, prefix: str,
                acked: dict[str, tuple[int, str] | None], uncertain: set[str],
                stop: asyncio.Event) -> None:
    """Create, update and delete ConfigMaps one request at a time.  ``acked[name]`` is the
    state the last acknowledged write left — ``(resourceVersion, data)`` or None for
    deleted; a name whose write was in flight when the server died is in ``uncertain``."""
    url = f"{p.url}/api/v1/namespaces/default/configmaps"
    headers = {"Authorization": f"Bearer {p.token}", "Content-Type": "application/json"}
    i = 0
    while not stop.is_set():
        name = f"{prefix}-{i}"
        steps: list[tuple[str, str, bytes | None, str, dict[str, str]]] = [
            ("POST", url, orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": name}, "data": {"v": "1"}}),
             "application/json", {"v": "1"}),
            ("PATCH", f"{url}/{name}", orjson.dumps({"data": {"v": "2"}}),
             "application/merge-patch+json", {"v": "2"})]
        if i % 3 == 0:
            steps.append(("DELETE", f"{url}/{name}", None, "application/json", {}))
        for method, target, body, ctype, data in steps:
            uncertain.add(name)
            try:
                async with session.request(method, target, data=body,
                                           headers={**headers, "Content-Type": ctype}) as resp:
                    payload: dict[str, Any] = orjson.loads(await resp.read())
                    if resp.status not in (200, 201):
                        return
            except (aiohttp.ClientError, ConnectionError, orjson.JSONDecodeError):
                return
            uncertain.discard(name)
            acked[name] = None if method == "DELETE" else \
                (int(payload["metadata"]["resourceVersion"]), data["v"])
        i += 1


def acceptable(acked: tuple[int, str] | None, now: tuple[int, str] | None,
               in_flight: bool) -> bool:
    """What the restarted server holds is what the last acknowledged write left — or, if
    a write was in flight when the server died, possibly what that write made: a patch
    (a newer resourceVersion) or a delete (gone)."""
    if now == acked:
        return True
    if not in_flight or acked is None:
        return False
    return now is None or now[0] > acked[0]


async def test_acknowledged_updates_and_deletes_survive_sigkill(tmp_path: Path) -> None:
    data_dir = tmp_path / "state"
    p = await start(data_dir)
    ctx = ssl.create_default_context(cadata=p.ca)
    acked: dict[str, tuple[int, str] | None] = {}
    uncertain: set[str] = set()
    stop = asyncio.Event()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as session:
        tasks = [asyncio.create_task(churn(p, session, f"c{k}", acked, uncertain, stop))
                 for k in range(8)]

        async def enough() -> None:
            while sum(1 for v in acked.values() if v is None) < 50 or len(acked) < 200:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(enough(), 60)
        os.kill(p.proc.pid, signal.SIGKILL)
        await p.proc.wait()
        stop.set()
        await asyncio.gather(*tasks)

    p2 = await start(data_dir)
    try:
        ctx = ssl.create_default_context(cadata=p2.ca)
        headers = {"Authorization": f"Bearer {p2.token}"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as session, \
                session.get(f"{p2.url}/api/v1/namespaces/default/configmaps",
                            headers=headers) as resp:
            listing = orjson.loads(await resp.read())
    finally:
        p2.proc.send_signal(signal.SIGTERM)
        await p2.proc.wait()
    stored = {i["metadata"]["name"]: (int(i["metadata"]["resourceVersion"]), i["data"]["v"])
              for i in listing["items"]}
    lost = [(name, state, stored.get(name)) for name, state in acked.items()
            if not acceptable(state, stored.get(name), name in uncertain)]
    assert not lost, f"{len(lost)} acknowledged writes lost or undone: {lost[:5]}"
    assert any(state is None for state in acked.values())
    assert any(state is not None and state[1] == "2" for state in acked.values())
