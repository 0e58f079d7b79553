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
