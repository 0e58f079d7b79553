"""Benchmark: server-side apply and strategic merge patch beside plain update, in one run.

A Deployment with 50 containers (the size where field ownership and list
merging cost the most) is written over HTTPS to an in-process API server
three ways, each changing one container's image per request: a PUT of the
whole object read just before (the baseline, measured in the same run; its
GET is not counted), a strategic merge patch naming that container by its
merge key, and a server-side apply of the full configuration sent as JSON, as
kubectl sends it.  Each runs for a fixed count at concurrency 1 and 16, every
client on its own Deployment (no conflicts); the figures are writes per second
and the ratio to the PUT baseline.  Run: ``.venv/bin/python bench/apply.py [--ops N] [--record]``.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import ssl
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mizzen.apiserver.server import ApiServer, ServerConfig  # noqa: E402

DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"


def deployment(name: str, image_of: Callable[[int], str]) -> dict[str, Any]:
    labels = {"app": name}
    containers = [{"name": f"c{i}", "image": image_of(i),
                   "ports": [{"containerPort": 8000 + i}],
                   "env": [{"name": "INDEX", "value": str(i)}],
                   "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
                  for i in range(50)]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": containers}}}}


class Bench:
    def __init__(self, server: ApiServer, session: aiohttp.ClientSession) -> None:
        self.server, self.session = server, session
        self.auth = {"Authorization": f"Bearer {server.token}"}

    async def call(self, method: str, path: str, body: bytes, content_type: str) -> Any:
        async with self.session.request(method, self.server.url + path, data=body,
                                        headers={**self.auth,
                                                 "Content-Type": content_type}) as r:
            raw = await r.read()
            if r.status >= 300:
                raise RuntimeError(f"{method} {path}: {r.status} {raw[:300]!r}")
            return orjson.loads(raw)

    async def run(self, ops: int, concurrency: int, way: str) -> float:
        makers = {"put": self.put, "smp": self.smp, "apply": self.apply}
        writers = [await makers[way](f"{way}-{concurrency}-{w}") for w in range(concurrency)]
        counter = iter(range(ops))

        async def worker(one: Callable[[int], Awaitable[float]]) -> float:
            return sum([await one(i) for i in counter])

        start = time.perf_counter()
        excluded = sum(await asyncio.gather(*(worker(one) for one in writers)))
        return ops / (time.perf_counter() - start - excluded / concurrency)

    async def put(self, name: str) -> Callable[[int], Awaitable[float]]:
        await self.call("POST", DEPLOYS, orjson.dumps(deployment(name, lambda i: "app:1")),
                        "application/json")

        async def one(n: int) -> float:
            """PUT after a GET; returns the GET's seconds, which are not counted."""
            start = time.perf_counter()
            async with self.session.get(f"{self.server.url}{DEPLOYS}/{name}",
                                        headers=self.auth) as r:
                current = orjson.loads(await r.read())
            read = time.perf_counter() - start
            current["spec"]["template"]["spec"]["containers"][n % 50]["image"] = f"app:{n}"
            await self.call("PUT", f"{DEPLOYS}/{name}", orjson.dumps(current),
                            "application/json")
            return read
        return one

    async def smp(self, name: str) -> Callable[[int], Awaitable[float]]:
        await self.call("POST", DEPLOYS, orjson.dumps(deployment(name, lambda i: "app:1")),
                        "application/json")

        async def one(n: int) -> float:
            patch = {"spec": {"template": {"spec": {"containers": [
                {"name": f"c{n % 50}", "image": f"app:{n}"}]}}}}
            await self.call("PATCH", f"{DEPLOYS}/{name}", orjson.dumps(patch),
                            "application/strategic-merge-patch+json")
            return 0.0
        return one

    async def apply(self, name: str) -> Callable[[int], Awaitable[float]]:
        async def one(n: int) -> float:
            config = deployment(name, lambda i: f"app:{n}" if i == n % 50 else "app:1")
            await self.call("PATCH", f"{DEPLOYS}/{name}?fieldManager=bench&force=true",
                            orjson.dumps(config), "application/apply-patch+yaml")
            return 0.0
        await one(0)
        return one


async def main(ops: int, record: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="mizzen-bench-apply-") as tmp:
        config = ServerConfig(data_dir=Path(tmp), port=0, synchronous="NORMAL")
        async with ApiServer(config) as server:
            ctx = ssl.create_default_context(cadata=server.ca_pem.decode())
            connector = aiohttp.TCPConnector(ssl=ctx, limit=64)
            async with aiohttp.ClientSession(connector=connector) as session:
                bench = Bench(server, session)
                rows: list[tuple[str, int, float]] = []
                for concurrency in (1, 16):
                    for label, way in (("PUT (baseline)", "put"),
                                       ("strategic merge patch", "smp"),
                                       ("server-side apply", "apply")):
                        rate = await bench.run(ops, concurrency, way)
                        rows.append((label, concurrency, rate))
                        print(f"{label:24} c={concurrency:<3} {rate:8.0f} writes/s", flush=True)
    base = {c: r for label, c, r in rows if label.startswith("PUT")}
    table = ["| Write of a 50-container Deployment | Concurrency | Writes/s | vs PUT |",
             "|---|---:|---:|---:|"]
    table += [f"| {label} | {c} | {r:,.0f} | {r / base[c]:.2f}× |" for label, c, r in rows]
    print("\n".join(table))
    if record:
        heading = (f"\n## Apply and strategic merge — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
                   f"{platform.processor() or platform.machine()}, {ops} requests each, "
                   "in-process server over HTTPS, SQLite NORMAL\n\n")
        with (ROOT / "docs" / "benchmarks.md").open("a") as out:
            out.write(heading + "\n".join(table) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=300, help="requests per way and concurrency")
    parser.add_argument("--record", action="store_true", help="append to docs/benchmarks.md")
    args = parser.parse_args()
    asyncio.run(main(args.ops, args.record))
