"""The work ``bench/cluster.py`` asks of the cluster: the objects, the closed loop, the baseline.

Also the small helpers around the run (the warning counter, the commit).  Split from the
driver only to keep each file short.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.cluster_probe import Sample
from bench.cluster_report import Baseline, Settings
from bench.server_proc import start_view
from mizzen.client.client import Client
from mizzen.client.config import ClientConfig
from mizzen.client.resources import NAMESPACES, PODS

REPO = Path(__file__).resolve().parent.parent
NS = "bench"
Obj = dict[str, Any]


def pod_spec() -> Obj:
    return {"containers": [{"name": "app", "image": "nginx:1.25",
                            "ports": [{"containerPort": 80, "name": "http"}],
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}


def replicaset(name: str, replicas: int) -> Obj:
    labels = {"app": "bench", "rs": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": NS, "labels": {"app": "bench"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": pod_spec()}}}


def plain_pod(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "labels": {"app": "bench"}},
            "spec": pod_spec()}


async def closed_loop(n: int, concurrency: int, op: Callable[[int], Awaitable[Any]]) -> None:
    """``op(0..n-1)`` with ``concurrency`` in flight; the first failure propagates."""
    it = iter(range(n))

    async def worker() -> None:
        for i in it:
            await op(i)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))


class WarningCounter(logging.Handler):
    """Counts warnings by logger; prints the first of each logger."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        n = self.counts.get(record.name, 0)
        self.counts[record.name] = n + 1
        if n == 0:
            print(f"  [log] {record.levelname} {record.name}: {record.getMessage()[:300]}")


# -- around the run -----------------------------------------------------------------------


def git_commit() -> str:
    """The checked-out commit, "+ local changes" when the tree differs (read-only git)."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True,
                             capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, text=True, capture_output=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha or "unknown") + (" + local changes" if dirty.strip() else "")


def others(before: Sample, after: Sample) -> float | None:
    """CPU seconds other processes used on this machine between two samples."""
    if before.machine is None or after.machine is None:
        return None
    return max(0.0, after.machine - before.machine - (after.cpu - before.cpu))


async def baseline(s: Settings, data: Path) -> Baseline:
    """N plain pod creates and N deletes through the API, no controllers."""
    data.mkdir(parents=True, exist_ok=True)
    log = (data.parent / f"{data.name}-server.log").open("wb")
    server = await start_view(s.processes, data, s.sync, log)
    client = Client(ClientConfig(server=server.url, ca_data=server.ca_pem, token=server.token))
    try:
        await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                         "metadata": {"name": NS}})
        await closed_loop(min(s.concurrency, 50), s.concurrency,  # warm the connections
                          lambda i: client.get(NAMESPACES, NS))
        s0 = Sample.now(server)
        await closed_loop(s.pods, s.concurrency,
                          lambda i: client.create(PODS, plain_pod(f"base-{i}")))
        s1 = Sample.now(server)
        await closed_loop(s.pods, s.concurrency,
                          lambda i: client.delete(PODS, f"base-{i}", NS, grace_period_seconds=0))
        s2 = Sample.now(server)
        return Baseline(s1.wall - s0.wall, s1.cpu - s0.cpu, s2.wall - s1.wall, s2.cpu - s1.cpu,
                        others(s0, s2))
    finally:
        await client.close()
        await server.stop()
        log.close()
