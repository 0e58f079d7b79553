"""Scheduler throughput, in-process: how many pods per second get bound.

Run: ``.venv/bin/python -m tests.cluster.scheduler.bench_scheduler [pods] [nodes] [workers]``

One process, one event loop — the embedded API server (SQLite, synchronous
NORMAL), a client creating pods, and a manager running only the scheduler —
as ``mizzen up`` would run them.  Two numbers:

* **backlog**: all pods exist (pending) before the scheduler starts; from its
  start until the last binding is visible in its informer;
* **stream**: the scheduler is running while the pods are created, 200 at a
  time; from the first create until the last binding is visible.

Not collected by pytest (the file name does not start with ``test_``).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mizzen.apiserver.server import ApiServer, ServerConfig
from mizzen.client.client import Client
from mizzen.client.config import ClientConfig
from mizzen.client.resources import NODES, PODS
from mizzen.cluster.scheduler import SchedulerOptions, add_scheduler
from mizzen.runtime.clock import RealClock
from mizzen.runtime.informer import FuncHandler
from mizzen.runtime.manager import Manager
from tests.cluster.scheduler.builders import node, pod


async def _create_pods(client: Client, prefix: str, count: int) -> None:
    for start in range(0, count, 200):
        await asyncio.gather(*(
            client.create(PODS, _pod(f"{prefix}-{i}"), "default")
            for i in range(start, min(count, start + 200))))


def _pod(name: str) -> dict[str, Any]:
    p = pod(name, "100m", "128Mi", labels={"app": name.rsplit("-", 1)[0]})
    p["metadata"].pop("uid")
    return p


class _BoundCounter:
    """Counts pods whose binding the informer has delivered (no polling of the cache)."""

    def __init__(self) -> None:
        self.bound = 0
        self.changed = asyncio.Event()

    def update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        if new["spec"].get("nodeName") and not old["spec"].get("nodeName"):
            self.bound += 1
            self.changed.set()

    async def wait_for(self, total: int) -> None:
        while self.bound < total:
            self.changed.clear()
            await self.changed.wait()


async def run(pods: int, nodes: int, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = ServerConfig(data_dir=Path(tmp), port=0, synchronous="NORMAL")
        async with ApiServer(config) as server:
            cfg = ClientConfig(server=server.url, ca_data=server.ca_pem, token=server.token)
            async with Client(cfg) as client, Client(cfg) as own:
                for i in range(nodes):
                    await client.create(NODES, node(f"node-{i}", f"zone-{i % 3}", cpu="32",
                                                    memory="256Gi", pods=110))
                await _create_pods(client, "backlog", pods)
                manager = Manager(own, RealClock())
                add_scheduler(manager, SchedulerOptions(workers=workers))
                counter = _BoundCounter()
                manager.informer(PODS).add_handler(FuncHandler(update=counter.update))
                async with manager:
                    start = time.perf_counter()
                    await counter.wait_for(pods)
                    backlog = time.perf_counter() - start
                    start = time.perf_counter()
                    await _create_pods(client, "stream", pods)
                    created = time.perf_counter() - start
                    await counter.wait_for(2 * pods)
                    stream = time.perf_counter() - start
                counts = own.metrics.counts()
    print(f"{pods} pods, {nodes} nodes, {workers} workers")
    print(f"backlog: {backlog:.2f}s  {pods / backlog:.0f} pods/s")
    print(f"stream:  {stream:.2f}s  {pods / stream:.0f} pods/s (creating alone took "
          f"{created:.2f}s)")
    print(f"bindings: {counts.get(('create', 'pods/binding'))}, "
          f"status patches: {counts.get(('patch', 'pods/status'), 0)}")


def main() -> None:
    args = [int(a) for a in sys.argv[1:]]
    pods, nodes, workers = (args + [5000, 100, 32][len(args):])[:3]
    asyncio.run(run(pods, nodes, workers))


if __name__ == "__main__":
    main()
