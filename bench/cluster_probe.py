"""What ``bench/cluster.py`` measures with: a counting watch, request tallies, the process.

Kept apart from the driver so that ``cluster.py`` reads as the method.  Nothing here knows
about ReplicaSets; a :class:`Follower` watches one resource in one namespace through its own
client and keeps, per object, a few flag bits that a ``classify`` function computes from the
object — never the object itself, so the benchmark's own memory stays small next to the
control plane's.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import platform
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.server_proc import ServerView
from mizzen.client.client import Client
from mizzen.client.errors import ApiError, TransportError
from mizzen.client.metrics import WRITE_VERBS
from mizzen.client.resources import Resource

Obj = dict[str, Any]

# Flag bits of a pod, as the benchmark client sees it.
BOUND, RUNNING, READY, TERMINATING = 1, 2, 4, 8


def pod_flags(pod: Obj) -> int:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    flags = BOUND if spec.get("nodeName") else 0
    if status.get("phase") == "Running":
        flags |= RUNNING
    if any(c.get("type") == "Ready" and c.get("status") == "True"
           for c in status.get("conditions") or ()):
        flags |= READY
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        flags |= TERMINATING
    return flags


def replicaset_flags(rs: Obj) -> int:
    """READY when the status (for the current generation) counts every replica ready."""
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    want = spec.get("replicas", 1)
    current = status.get("observedGeneration") == (rs.get("metadata") or {}).get("generation")
    return READY if current and status.get("readyReplicas", 0) == want else 0


class Follower:
    """One watch (with resume and relist) keeping flag bits per object, and milestones."""

    def __init__(self, client: Client, res: Resource, namespace: str,
                 classify: Callable[[Obj], int]) -> None:
        self.client, self.res, self.namespace, self.classify = client, res, namespace, classify
        self.flags: dict[str, int] = {}
        self.ever = 0  # objects ever seen (names are never reused here)
        self.deleted = 0
        self.events = 0
        self.restarts = 0  # watch streams that ended or broke and were resumed
        self.relists = 0
        self._bits: Counter[int] = Counter()
        self._waiters: list[tuple[str, Callable[[Follower], bool], asyncio.Future[float]]] = []
        self._rv = ""

    def count(self, bit: int) -> int:
        return self._bits[bit]

    @property
    def present(self) -> int:
        return len(self.flags)

    def milestone(self, label: str, reached: Callable[[Follower], bool]) -> asyncio.Future[float]:
        """A future resolved with ``time.perf_counter()`` when ``reached`` first holds."""
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters.append((label, reached, fut))
        self._check()
        return fut

    def _check(self) -> None:
        if not self._waiters:
            return
        now = time.perf_counter()
        keep = []
        for label, reached, fut in self._waiters:
            if fut.done():
                continue
            if reached(self):
                fut.set_result(now)
            else:
                keep.append((label, reached, fut))
        self._waiters = keep

    def _set(self, name: str, flags: int | None) -> None:
        old = self.flags.get(name)
        if old is None and flags is not None:
            self.ever += 1
        for bit in (1, 2, 4, 8):
            had, has = bool(old is not None and old & bit), bool(flags is not None and flags & bit)
            if had != has:
                self._bits[bit] += 1 if has else -1
        if flags is None:
            if old is not None:
                self.deleted += 1
                del self.flags[name]
        else:
            self.flags[name] = flags

    async def _relist(self) -> None:
        items, self._rv = await self.client.list_all(self.res, self.namespace)
        fresh = {str(o["metadata"]["name"]): self.classify(o) for o in items}
        for name in [n for n in self.flags if n not in fresh]:
            self._set(name, None)
        for name, flags in fresh.items():
            self._set(name, flags)
        self._check()

    async def run(self) -> None:
        await self._relist()
        while True:
            try:
                async for ev in self.client.watch(self.res, self.namespace,
                                                  resource_version=self._rv):
                    self._rv = ev.resource_version or self._rv
                    if ev.type == "BOOKMARK":
                        continue
                    self.events += 1
                    name = str(ev.object["metadata"]["name"])
                    self._set(name, None if ev.type == "DELETED" else self.classify(ev.object))
                    self._check()
            except ApiError as exc:
                if not exc.gone:
                    raise
                self.relists += 1
                await self._relist()
            except TransportError:
                await asyncio.sleep(0.1)
            self.restarts += 1


# -- request tallies -------------------------------------------------------------------

RequestKey = tuple[str, str, str, str]  # verb, resource, subresource, code


def server_requests(families: Iterable[Any]) -> Counter[RequestKey]:
    """``apiserver_request_total`` from the server's metric families (watches are not in it,
    as upstream)."""
    out: Counter[RequestKey] = Counter()
    for family in families:
        for s in family.samples:
            if s.name == "apiserver_request_total":
                lb = s.labels
                out[(lb["verb"], lb["resource"], lb["subresource"], lb["code"])] = int(s.value)
    return out


def server_storage(families: Iterable[Any]) -> tuple[int, int]:
    """(commit batches, object writes committed) — internal writes (GC, namespaces) too."""
    commits = writes = 0
    for family in families:
        for s in family.samples:
            if s.name == "mizzen_storage_commits_total":
                commits = int(s.value)
            elif s.name == "mizzen_storage_committed_writes_total":
                writes = int(s.value)
    return commits, writes


def subtract(after: Counter[Any], before: Counter[Any]) -> Counter[Any]:
    return Counter({k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)})


def is_write(verb: str) -> bool:
    return verb in WRITE_VERBS


async def api_writes(server: ServerView) -> int:
    """Writes the server answered so far, node Lease renewals (heartbeats) aside."""
    return sum(n for (verb, res, _, _), n in server_requests(await server.families()).items()
               if is_write(verb) and res != "leases")


async def settle(server: ServerView, quiet: float = 0.5, limit: float = 60.0) -> float:
    """Wait until no API write (heartbeats aside) happened for ``quiet`` seconds."""
    t0 = time.perf_counter()
    last = await api_writes(server)
    while time.perf_counter() - t0 < limit:
        await asyncio.sleep(quiet)
        now = await api_writes(server)
        if now == last:
            break
        last = now
    return time.perf_counter() - t0


# -- the process -----------------------------------------------------------------------


def cpu_seconds() -> float:
    """User + system CPU of the whole process (every thread: event loop, SQLite, executor)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def machine_busy_seconds() -> float | None:
    """CPU seconds all processes on the machine spent busy (``/proc/stat``), steal included."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def max_rss_mib() -> float:
    """Peak resident set size so far (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    """Resident set size now."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class GcTimer:
    """Time the cyclic collector spends, by generation (``gc.callbacks``; the process's).

    CPython's collections stop the event loop; cProfile charges them to whatever function
    happened to allocate, so they are timed here apart.  Enter it once around a run."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._start = 0.0

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.collections[info["generation"]] += 1

    def snapshot(self) -> tuple[float, tuple[int, ...]]:
        return self.seconds, tuple(self.collections)


@dataclass
class Sample:
    """The control plane's clock, CPU and the server's counters at one instant.

    ``cpu`` is the whole control plane's: this process (every thread) plus the API server's
    process when it runs in one of its own (``mizzen up``'s default)."""

    wall: float = field(default_factory=time.perf_counter)
    cpu: float = field(default_factory=cpu_seconds)
    loop_cpu: float = field(default_factory=time.thread_time)  # call from the loop thread
    machine: float | None = field(default_factory=machine_busy_seconds)
    requests: Counter[RequestKey] = field(default_factory=Counter)
    commits: int = 0
    committed: int = 0

    @classmethod
    def now(cls, server: ServerView) -> Sample:
        """The clock and CPU only (no counters): cheap, at a milestone."""
        out = cls()
        out.cpu += server.cpu_seconds()
        return out

    @classmethod
    async def take(cls, server: ServerView) -> Sample:
        families = list(await server.families())
        commits, committed = server_storage(families)
        out = cls(requests=server_requests(families), commits=commits, committed=committed)
        out.cpu += server.cpu_seconds()
        return out


def peak_rss_mib(server: ServerView) -> float:
    """The control plane's peak memory: this process's plus a server process's."""
    return max_rss_mib() + server.peak_rss_mib()


def plane_rss_mib(server: ServerView) -> float:
    """The control plane's resident memory now (this process and a server process)."""
    return rss_mib() + server.rss_mib()


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    return {"CPU": cpu, "Cores": str(os.cpu_count() or 0), "Memory": mem,
            "Python": f"{platform.python_implementation()} {platform.python_version()}",
            "Platform": platform.platform()}
