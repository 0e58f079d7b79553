"""Benchmark of the embedded API server, end to end over HTTPS, against the disk's own limit.

Run with ``.venv/bin/python bench/apiserver.py`` (or ``make bench``); ``--quick`` is a smoke
run of a few seconds, ``--record`` appends the results to ``docs/benchmarks.md``.

Method
------
* **Baseline first.**  Before the server starts, a plain Python loop commits one ~1.2 KB row
  per transaction to a fresh SQLite database in WAL mode, in the same temporary directory
  (so on the same disk) as the server's data, with ``synchronous=FULL`` and then ``NORMAL``
  (the median of three timed rounds).  That is the cost of one durable commit on this
  machine; every API write rate is also printed as a ratio to the figure for the server's
  own ``--sync`` mode.  A ratio above 1 is only possible through group commit.
* **The server is a separate process**: ``python -m mizzen apiserver --data-dir TMP
  --port 0 --sync FULL|NORMAL``, exactly as operators run it.  The benchmark reads the URL
  from its stdout and the CA and bearer token from ``TMP/kubeconfig``, and drives it from
  this process with one ``aiohttp.ClientSession`` (keep-alive, connector limit above the
  concurrency plus the watchers).  An untimed warm-up opens the TLS connections first.
* **Writes** are closed-loop: *c* workers each send a request, wait for the answer and send
  the next, for a fixed number of operations.  Creates POST a realistic pod (~1.2 KB of
  JSON: labels, annotations, two containers with ports, env, resources, a probe, a volume);
  updates are, by default, a PUT of the full object as the create returned it, carrying its
  resourceVersion (optimistic concurrency, what a controller's Update does), with one label
  changed; ``--update patch`` sends a JSON merge patch of that label instead.  Every body is
  encoded before the clock starts, so the client's own work per request is only aiohttp.
  Latency is measured per request, from just before sending to the end of the response body.
* **LIST** reads one namespace holding exactly ``--list-pods`` pods (created first), as
  plain JSON and as the ``Table`` that ``kubectl get`` asks for (``Accept:
  application/json;as=Table;v=v1;g=meta.k8s.io``); the time is to the last byte of the body
  (client-side decoding excluded), the median of ``--list-repeats`` requests.
* **Watch delivery**: ``--watchers`` streams watch all pods from the current resourceVersion;
  then ``--watch-writes`` pod creates are sent one at a time, ``--watch-interval`` apart.
  Each watcher timestamps each line as it arrives (decoding happens after the run); events
  are matched to writes by name and resourceVersion, and the delay is receipt minus the
  write's start, over all watchers x writes.  All watchers share this process's event loop,
  so the figure includes the client's own time to read 100 sockets.
* **Accounting**: ``/metrics`` is scraped around each write phase (outside the timed part)
  for the SQLite commits, writes per commit and commit time (as the server's commit thread
  timed it), and at the end for the requests by verb.  Server CPU (all its threads) comes
  from ``/proc/PID/stat`` and that of its event-loop thread alone (which serves every
  request, and so caps the rates) from ``/proc/PID/task/PID/stat``, client CPU from
  ``time.process_time``, and the rest of the machine's busy time from ``/proc/stat``: client
  and server share the cores, and a phase during which other processes were busy is flagged,
  on screen and in the record.

Every unexpected answer (a non-2xx status, a transport error, a missed watch event) is
counted; the script exits 1 if there was any.  Missed targets do not change the exit code:
this is a measurement, not a test, and it is not part of ``make test``.

``bench/write_cpu.py`` measures the server's CPU per write alone, in process and without
HTTP, by step (defaults, validation, managedFields); use it to see where a write's CPU goes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime
import os
import platform
import re
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp
import orjson
import yaml

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "benchmarks.md"
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io"
UPDATE_LABEL = "bench.mizzen.dev/updated"

# Targets from the performance issue.
TARGET_WRITES_PER_S = 2500.0
TARGET_WRITE_P99_S = 0.025
TARGET_LIST_S = 0.5
TARGET_WATCH_P99_S = 0.050

NS_SERIAL = "bench-serial"
NS_CONCURRENT = "bench"
NS_WATCH = "bench-watch"
NS_WARMUP = "bench-warmup"


# -- settings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    sync: str
    update: str  # "put" or "patch"
    concurrency: int
    serial_ops: int
    concurrent_ops: int
    list_pods: int
    list_repeats: int
    watchers: int
    watch_writes: int
    watch_interval: float
    raw_seconds: float
    quick: bool
    record: bool
    docs: Path
    tmp_dir: str | None


FULL_RUN = {"serial_ops": 2000, "concurrent_ops": 10_000, "list_pods": 10_000,
            "list_repeats": 5, "watchers": 100, "watch_writes": 200, "raw_seconds": 1.5}
QUICK_RUN = {"serial_ops": 100, "concurrent_ops": 500, "list_pods": 500,
             "list_repeats": 2, "watchers": 10, "watch_writes": 20, "raw_seconds": 0.2}


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--sync", choices=("FULL", "NORMAL"), default="FULL", type=str.upper,
                   help="the server's SQLite synchronous mode (default FULL)")
    p.add_argument("--update", choices=("put", "patch"), default="put",
                   help="how pods are updated: PUT of the full object with its "
                        "resourceVersion (default) or a JSON merge patch of a label")
    p.add_argument("--concurrency", type=int, default=64, help="concurrent clients (64)")
    p.add_argument("--serial-ops", type=int, help="creates and updates at c=1 (2,000)")
    p.add_argument("--concurrent-ops", type=int,
                   help="creates and updates at the full concurrency (10,000)")
    p.add_argument("--list-pods", type=int, help="pods in the listed namespace (10,000)")
    p.add_argument("--list-repeats", type=int, help="LIST requests per format; median (5)")
    p.add_argument("--watchers", type=int, help="watch streams (100)")
    p.add_argument("--watch-writes", type=int, help="writes during the watch phase (200)")
    p.add_argument("--watch-interval", type=float, default=0.02,
                   help="seconds between watch-phase writes (0.02)")
    p.add_argument("--raw-seconds", type=float,
                   help="length of one raw SQLite round; three rounds per mode (1.5)")
    p.add_argument("--quick", action="store_true", help="a small smoke run")
    p.add_argument("--record", action="store_true",
                   help=f"append the results to {DOCS.relative_to(REPO)}")
    p.add_argument("--docs", type=Path, default=DOCS, help=argparse.SUPPRESS)
    p.add_argument("--tmp-dir", help="where the temporary data lives (default: system temp)")
    a = p.parse_args(argv)
    base = QUICK_RUN if a.quick else FULL_RUN

    def pick(name: str) -> Any:
        value = getattr(a, name)
        return base[name] if value is None else value

    s = Settings(sync=a.sync, update=a.update, concurrency=a.concurrency,
                 serial_ops=pick("serial_ops"), concurrent_ops=pick("concurrent_ops"),
                 list_pods=pick("list_pods"), list_repeats=pick("list_repeats"),
                 watchers=pick("watchers"), watch_writes=pick("watch_writes"),
                 watch_interval=a.watch_interval, raw_seconds=pick("raw_seconds"),
                 quick=a.quick, record=a.record, docs=a.docs, tmp_dir=a.tmp_dir)
    for name in ("concurrency", "serial_ops", "concurrent_ops", "list_pods", "list_repeats",
                 "watchers", "watch_writes"):
        if getattr(s, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return s


# -- small helpers ------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def rate(n: float) -> str:
    return f"{n:,.0f}"


class Failures:
    """Unexpected answers: counted, and the first few kept for the report."""

    def __init__(self) -> None:
        self.count = 0
        self.samples: list[str] = []

    def add(self, what: str) -> None:
        self.count += 1
        if len(self.samples) < 10:
            self.samples.append(what)


def machine_info(data_dir: Path) -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    mem = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    info = {
        "Platform": platform.platform(),
        "CPU": cpu,
        "Cores": f"{cores} (usable by this process: {usable})",
        "Memory": mem or "unknown",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "Data directory": str(data_dir),
    }
    if hasattr(os, "getloadavg"):
        info["Load average at start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        rev = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10, check=False)
        if rev.returncode == 0 and rev.stdout.strip():
            info["Mizzen commit"] = rev.stdout.strip()
    return info


def machine_busy_seconds() -> float | None:
    """CPU seconds spent busy by the whole machine so far (all cores), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def make_pod(ns: str, name: str, i: int) -> dict[str, Any]:
    """A realistic pod of about 1.2 KB of JSON, as a Deployment's ReplicaSet would send it."""
    app = f"shop-{i % 16}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {
                "app.kubernetes.io/name": app,
                "app.kubernetes.io/part-of": "shop",
                "tier": "frontend",
                "pod-template-hash": "7d9c8b6f5d",
            },
            "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "registry.example.com/shop/web:1.27.3",
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                              {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}],
                    "env": [
                        {"name": "LOG_LEVEL", "value": "info"},
                        {"name": "POD_NAME",
                         "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "POD_IP",
                         "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    ],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                  "limits": {"cpu": "500m", "memory": "256Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                       "periodSeconds": 5},
                    "volumeMounts": [{"name": "config", "mountPath": "/etc/shop"}],
                },
                {
                    "name": "proxy",
                    "image": "registry.example.com/infra/proxy:2.4.1",
                    "ports": [{"name": "proxy", "containerPort": 15001, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                                  "limits": {"cpu": "200m", "memory": "128Mi"}},
                },
            ],
            "volumes": [{"name": "config", "configMap": {"name": "shop-config"}}],
            "terminationGracePeriodSeconds": 30,
        },
    }


# -- raw SQLite baseline ------------------------------------------------------------------


def raw_sqlite_commits(directory: Path, synchronous: str, seconds: float, row: bytes,
                       rounds: int = 3) -> float:
    """Commits/s of one ``row`` per transaction in WAL mode; the median of ``rounds``."""
    path = directory / f"raw-sqlite-{synchronous.lower()}.db"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                   "value BLOB NOT NULL)")
        n = 0

        def one() -> None:
            nonlocal n
            db.execute("BEGIN")
            db.execute("INSERT INTO rows (name, value) VALUES (?, ?)", (f"pod-{n}", row))
            db.execute("COMMIT")
            n += 1

        for _ in range(20):  # warm-up: WAL file creation, page cache
            one()
        results = []
        for _ in range(rounds):
            done, start = 0, time.perf_counter()
            deadline = start + seconds
            while True:
                one()
                done += 1
                if done % 8 == 0 and time.perf_counter() >= deadline:
                    break
            results.append(done / (time.perf_counter() - start))
        return statistics.median(results)
    finally:
        db.close()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                Path(f"{path}{suffix}").unlink()


# -- the server process -------------------------------------------------------------------


@dataclass
class Server:
    proc: asyncio.subprocess.Process
    url: str
    token: str
    ca_pem: bytes
    log_path: Path
    drain: asyncio.Task[None] | None = None

    def cpu_seconds(self) -> float | None:
        """User + system CPU of the server process (all threads), from /proc."""
        return _proc_cpu(f"/proc/{self.proc.pid}/stat")

    def loop_cpu_seconds(self) -> float | None:
        """User + system CPU of the server's main thread: its event loop, which serves
        every request (SQLite commits and checkpoints run on threads of their own)."""
        return _proc_cpu(f"/proc/{self.proc.pid}/task/{self.proc.pid}/stat")

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _proc_cpu(stat_path: str) -> float | None:
    try:
        stat = Path(stat_path).read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def start_server(data_dir: Path, sync: str, log: IO[bytes],
                       command: Sequence[str] | None = None) -> Server:
    """Start ``mizzen apiserver`` (or ``command``) and wait for its URL and kubeconfig."""
    argv = list(command) if command else [sys.executable, "-m", "mizzen", "apiserver"]
    argv += ["--data-dir", str(data_dir), "--port", "0", "--sync", sync]
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=log, cwd=REPO)
    server = Server(proc, "", "", b"", Path(log.name))
    try:
        await _await_ready(server, data_dir)
    except BaseException:  # timeout, bad kubeconfig, Ctrl-C: never leave the server behind
        await stop_server(server)
        raise
    return server


async def _await_ready(server: Server, data_dir: Path) -> None:
    proc = server.proc
    assert proc.stdout is not None
    pattern = re.compile(rb"listening on (https://\S+)")
    deadline = time.monotonic() + 120
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError("the API server did not report its URL within 120 s")
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), remaining)
        except TimeoutError:
            raise RuntimeError("the API server did not report its URL within 120 s") from None
        if not line:
            code = await proc.wait()
            raise RuntimeError(f"the API server exited with code {code}:\n{server.log_tail()}")
        match = pattern.search(line)
        if match:
            server.url = match.group(1).decode()
            break
    server.drain = asyncio.create_task(_drain(proc.stdout))
    config = yaml.safe_load((data_dir / "kubeconfig").read_text())
    server.ca_pem = base64.b64decode(config["clusters"][0]["cluster"]
                                     ["certificate-authority-data"])
    server.token = config["users"][0]["user"]["token"]


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


async def stop_server(server: Server) -> None:
    proc = server.proc
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    if server.drain is not None:
        server.drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server.drain


# -- the client ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Op:
    method: str
    path: str
    body: bytes
    headers: dict[str, str]


class Aborted(Exception):
    """The server went away: no point in going on."""


class Api:
    """The benchmark's HTTPS client: one session, pooled keep-alive connections."""

    def __init__(self, session: aiohttp.ClientSession, server: Server, failures: Failures):
        self.session = session
        self.server = server
        self.base = server.url
        self.failures = failures
        self.auth = f"Bearer {server.token}"

    def headers(self, content_type: str = JSON, accept: str = JSON) -> dict[str, str]:
        return {"Authorization": self.auth, "Content-Type": content_type, "Accept": accept}

    async def call(self, method: str, path: str, body: Any = None, *, accept: str = JSON,
                   expect: tuple[int, ...] = (200, 201)) -> tuple[int, bytes]:
        data = None if body is None else orjson.dumps(body)
        try:
            async with self.session.request(method, self.base + path, data=data,
                                            headers=self.headers(accept=accept)) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.failures.add(f"{method} {path}: {type(exc).__name__}: {exc}")
            self.check_alive()
            return 0, b""
        if status not in expect:
            self.failures.add(f"{method} {path}: HTTP {status}: {raw[:300]!r}")
        return status, raw

    def check_alive(self) -> None:
        code = self.server.proc.returncode
        if code is not None:
            raise Aborted(f"the API server exited with code {code}:\n{self.server.log_tail()}")

    async def run(self, ops: Sequence[Op], concurrency: int,
                  expect: int) -> tuple[float, list[float], list[bytes | None]]:
        """Closed loop: ``concurrency`` workers send ``ops`` in order; (seconds, latencies of
        the successful requests, bodies), a body being None for a failed request."""
        n = len(ops)
        dead = False
        latencies: list[float] = []
        bodies: list[bytes | None] = [None] * n
        it = iter(range(n))
        request = self.session.request
        base = self.base
        clock = time.perf_counter

        async def worker() -> None:
            nonlocal dead
            for i in it:
                if dead:
                    return
                op = ops[i]
                t0 = clock()
                try:
                    async with request(op.method, base + op.path, data=op.body,
                                       headers=op.headers) as resp:
                        raw = await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    self.failures.add(f"{op.method} {op.path}: {type(exc).__name__}: {exc}")
                    dead = dead or self.server.proc.returncode is not None
                    continue
                if status == expect:
                    latencies.append(clock() - t0)
                    bodies[i] = raw
                else:
                    self.failures.add(f"{op.method} {op.path}: HTTP {status}: {raw[:300]!r}")

        start = clock()
        await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))
        elapsed = clock() - start
        self.check_alive()
        return elapsed, latencies, bodies

    async def metrics(self) -> list[tuple[str, dict[str, str], float]]:
        status, raw = await self.call("GET", "/metrics", accept="text/plain")
        return parse_metrics(raw.decode()) if status == 200 else []


_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Samples of a Prometheus text exposition: (name, labels, value)."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m is None:
            continue
        labels = dict(_LABEL.findall(m.group(2) or ""))
        with contextlib.suppress(ValueError):
            samples.append((m.group(1), labels, float(m.group(3))))
    return samples


def metric_sum(samples: Sequence[tuple[str, dict[str, str], float]], name: str) -> float:
    return sum(v for n, _, v in samples if n == name)


COMMITS = "mizzen_storage_commits_total"
COMMITTED_WRITES = "mizzen_storage_committed_writes_total"
COMMIT_SECONDS = "mizzen_storage_commit_duration_seconds_sum"
REQUESTS = "apiserver_request_total"


# -- phases -------------------------------------------------------------------------------


@dataclass
class Phase:
    """One timed run of writes."""

    label: str
    ops: int  # successful requests; failed ones are not counted in the rate
    seconds: float
    latencies: list[float]
    server_cpu: float | None
    client_cpu: float
    commits: float
    writes: float
    machine_cpu: float | None = None
    failed: int = 0
    commit_seconds: float = 0.0  # summed over the phase's commits, as the server timed them
    loop_cpu: float | None = None  # the server's event-loop thread alone

    @property
    def others_cpu(self) -> float | None:
        """CPU used by other processes on the machine during the phase."""
        if self.machine_cpu is None or self.server_cpu is None:
            return None
        return max(0.0, self.machine_cpu - self.server_cpu - self.client_cpu)

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)

    def describe(self, raw: float, sync: str) -> str:
        cpu = ""
        if self.server_cpu is not None and self.seconds > 0:
            cpu = (f"; server CPU {self.server_cpu / self.seconds:.0%} of a core "
                   f"({self.server_cpu / max(self.ops, 1) * 1e6:,.0f} µs/op")
            if self.loop_cpu is not None:
                cpu += (f"; event loop {self.loop_cpu / self.seconds:.0%}, "
                        f"{self.loop_cpu / max(self.ops, 1) * 1e6:,.0f} µs/op")
            cpu += ")"
        cpu += (f", client CPU {self.client_cpu / self.seconds:.0%} "
                f"({self.client_cpu / max(self.ops, 1) * 1e6:,.0f} µs/op)")
        others = self.others_cpu
        if others is not None and self.seconds > 0 and others / self.seconds >= 0.05:
            cpu += f"; OTHER PROCESSES {others / self.seconds:.0%} of a core"
        per_commit = self.writes / self.commits if self.commits else float("nan")
        commit = self.commit_seconds / self.commits if self.commits else float("nan")
        failed = f" ({self.failed:,} FAILED)" if self.failed else ""
        return (f"{self.label}: {rate(self.rate)}/s ({self.rate / raw:.2f}× raw SQLite {sync} "
                f"commits/s); {self.ops:,} ops{failed} in {self.seconds:.2f} s; latency p50 "
                f"{ms(self.p50)}, p99 {ms(self.p99)}; {self.commits:,.0f} commits, "
                f"{per_commit:.1f} writes/commit, {ms(commit)}/commit{cpu}")


async def timed(api: Api, server: Server, label: str, ops: Sequence[Op], concurrency: int,
                expect: int) -> tuple[Phase, list[bytes | None]]:
    before = await api.metrics()
    cpu0, ccpu0, mcpu0 = server.cpu_seconds(), time.process_time(), machine_busy_seconds()
    loop0 = server.loop_cpu_seconds()
    seconds, latencies, bodies = await api.run(ops, concurrency, expect)
    cpu1, ccpu1, mcpu1 = server.cpu_seconds(), time.process_time(), machine_busy_seconds()
    loop1 = server.loop_cpu_seconds()
    after = await api.metrics()
    phase = Phase(label, len(latencies), seconds, latencies,
                  None if cpu0 is None or cpu1 is None else cpu1 - cpu0, ccpu1 - ccpu0,
                  metric_sum(after, COMMITS) - metric_sum(before, COMMITS),
                  metric_sum(after, COMMITTED_WRITES) - metric_sum(before, COMMITTED_WRITES),
                  None if mcpu0 is None or mcpu1 is None else mcpu1 - mcpu0,
                  len(ops) - len(latencies),
                  metric_sum(after, COMMIT_SECONDS) - metric_sum(before, COMMIT_SECONDS),
                  None if loop0 is None or loop1 is None else loop1 - loop0)
    return phase, bodies


def create_ops(api: Api, ns: str, prefix: str, count: int, first: int = 0) -> list[Op]:
    headers = api.headers()
    path = f"/api/v1/namespaces/{ns}/pods"
    return [Op("POST", path, orjson.dumps(make_pod(ns, f"{prefix}-{i:05d}", i)), headers)
            for i in range(first, first + count)]


def update_ops(api: Api, mode: str, created: Sequence[bytes | None]) -> list[Op]:
    """One update per successfully created pod, from the object the create returned."""
    ops = []
    put_headers, patch_headers = api.headers(), api.headers(content_type=MERGE_PATCH)
    patch = orjson.dumps({"metadata": {"labels": {UPDATE_LABEL: "true"}}})
    for raw in created:
        if raw is None:
            continue
        obj = orjson.loads(raw)
        meta = obj["metadata"]
        path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
        if mode == "patch":
            ops.append(Op("PATCH", path, patch, patch_headers))
        else:
            meta.setdefault("labels", {})[UPDATE_LABEL] = "true"
            ops.append(Op("PUT", path, orjson.dumps(obj), put_headers))
    return ops


@dataclass
class ListResult:
    label: str
    items: int
    times: list[float]
    size: int

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")


async def timed_list(api: Api, label: str, path: str, accept: str, repeats: int,
                     count_items: Callable[[Any], int]) -> ListResult:
    headers = api.headers(accept=accept)
    times: list[float] = []
    items, size = 0, 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        try:
            async with api.session.get(api.base + path, headers=headers) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            api.failures.add(f"LIST {path}: {type(exc).__name__}: {exc}")
            continue
        elapsed = time.perf_counter() - t0
        if status != 200:
            api.failures.add(f"LIST {path}: HTTP {status}: {raw[:300]!r}")
            continue
        times.append(elapsed)
        items, size = count_items(orjson.loads(raw)), len(raw)
    return ListResult(label, items, times, size)


@dataclass
class WatchResult:
    watchers: int
    writes: int
    delays: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    missing: int = 0
    server_cpu: float | None = None


async def watch_phase(api: Api, server: Server, s: Settings) -> WatchResult:
    result = WatchResult(s.watchers, s.watch_writes)
    status, raw = await api.call("GET", f"/api/v1/namespaces/{NS_WATCH}/pods")
    if status != 200:
        return result
    rv = orjson.loads(raw)["metadata"]["resourceVersion"]
    received: list[list[tuple[float, bytes]]] = [[] for _ in range(s.watchers)]
    settled = 0
    all_settled = asyncio.Event()
    all_done = asyncio.Event()
    complete = 0
    headers = api.headers()
    url = f"{api.base}/api/v1/pods?watch=true&resourceVersion={rv}&timeoutSeconds=3600"
    no_timeout = aiohttp.ClientTimeout(total=None, sock_read=None)

    def settle() -> None:
        nonlocal settled
        settled += 1
        if settled == s.watchers:
            all_settled.set()

    async def watcher(k: int) -> None:
        nonlocal complete
        got = received[k]
        try:
            async with api.session.get(url, headers=headers, timeout=no_timeout) as resp:
                if resp.status != 200:
                    api.failures.add(f"WATCH: HTTP {resp.status}: {(await resp.read())[:300]!r}")
                    settle()
                    return
                settle()
                content, clock = resp.content, time.perf_counter
                while True:
                    line = await content.readline()
                    if not line:
                        break
                    got.append((clock(), line))
                    if len(got) == s.watch_writes:
                        complete += 1
                        if complete == s.watchers:
                            all_done.set()
        except (aiohttp.ClientError, TimeoutError) as exc:
            api.failures.add(f"WATCH: {type(exc).__name__}: {exc}")
            if not all_settled.is_set():
                settle()

    tasks = [asyncio.create_task(watcher(k)) for k in range(s.watchers)]
    try:
        await asyncio.wait_for(all_settled.wait(), 60)
        await asyncio.sleep(0.5)  # let every stream register before the first write
        write_start: dict[tuple[str, str], float] = {}
        pod_headers = api.headers()
        path = f"/api/v1/namespaces/{NS_WATCH}/pods"
        bodies = [orjson.dumps(make_pod(NS_WATCH, f"watch-{i:05d}", i))
                  for i in range(s.watch_writes)]
        cpu0 = server.cpu_seconds()
        begin = time.perf_counter()
        for i, body in enumerate(bodies):
            delay = begin + i * s.watch_interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            t0 = time.perf_counter()
            try:
                async with api.session.post(api.base + path, data=body,
                                            headers=pod_headers) as resp:
                    out = await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                api.failures.add(f"POST {path}: {type(exc).__name__}: {exc}")
                continue
            result.acks.append(time.perf_counter() - t0)
            if status != 201:
                api.failures.add(f"POST {path}: HTTP {status}: {out[:300]!r}")
                continue
            meta = orjson.loads(out)["metadata"]
            write_start[(meta["name"], meta["resourceVersion"])] = t0
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_done.wait(), 10)
        cpu1 = server.cpu_seconds()
        if cpu0 is not None and cpu1 is not None:
            result.server_cpu = cpu1 - cpu0
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for got in received:
        seen = 0
        for arrived, line in got:
            ev = orjson.loads(line)
            meta = (ev.get("object") or {}).get("metadata") or {}
            start = write_start.get((str(meta.get("name")), str(meta.get("resourceVersion"))))
            if ev.get("type") == "ADDED" and start is not None:
                result.delays.append(arrived - start)
                seen += 1
        result.missing += len(write_start) - seen
    api.check_alive()
    if result.missing:
        api.failures.add(f"WATCH: {result.missing} of {len(write_start) * s.watchers} "
                         "expected events never arrived")
        api.failures.count += result.missing - 1
    return result


# -- the run ------------------------------------------------------------------------------


@dataclass
class Results:
    settings: Settings
    machine: dict[str, str]
    raw: dict[str, float]
    phases: dict[str, Phase] = field(default_factory=dict)
    lists: list[ListResult] = field(default_factory=list)
    watch: WatchResult | None = None
    requests_by_verb: dict[str, float] = field(default_factory=dict)
    errors_by_code: dict[str, float] = field(default_factory=dict)
    commits: float = 0.0
    committed_writes: float = 0.0
    commit_seconds: float = 0.0
    pod_bytes: int = 0
    stored_pod_bytes: int = 0


async def run(s: Settings, tmp: Path, failures: Failures) -> Results:
    data_dir = tmp / "server"
    row = orjson.dumps(make_pod(NS_CONCURRENT, "pod-00000", 0))
    results = Results(s, machine_info(tmp), {}, pod_bytes=len(row))
    print("Machine:")
    for k, v in results.machine.items():
        print(f"  {k}: {v}")
    how = "PUT of the full object with its resourceVersion" if s.update == "put" else \
        "JSON merge patch of a label"
    print(f"Pod: {len(row):,} bytes of JSON as sent; server --sync {s.sync}; updates by {how}")
    print("\nRaw SQLite, one row per transaction, WAL, from a Python loop:")
    for mode in ("FULL", "NORMAL"):
        results.raw[mode] = raw_sqlite_commits(tmp, mode, s.raw_seconds, row)
        print(f"  synchronous={mode}: {rate(results.raw[mode])} commits/s")
    raw = results.raw[s.sync]

    with open(tmp / "server.log", "wb") as log:
        server = await start_server(data_dir, s.sync, log)
        try:
            print(f"\nServer: {server.url} (pid {server.proc.pid})")
            await drive(server, s, results, failures, raw)
        finally:
            await stop_server(server)
            tail = server.log_tail()
            if tail.strip():
                print(f"\nServer log (last lines):\n{tail}")
    return results


async def drive(server: Server, s: Settings, results: Results, failures: Failures,
                raw: float) -> None:
    ssl_ctx = ssl.create_default_context(cadata=server.ca_pem.decode())
    limit = s.concurrency + s.watchers + 8
    connector = aiohttp.TCPConnector(ssl=ssl_ctx, limit=limit, keepalive_timeout=600)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        api = Api(session, server, failures)
        for ns in (NS_WARMUP, NS_SERIAL, NS_CONCURRENT, NS_WATCH):
            await api.call("POST", "/api/v1/namespaces", {
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                expect=(201,))
        # Warm-up, untimed: opens every connection (TLS handshakes) and warms code paths.
        warm = create_ops(api, NS_WARMUP, "warm", max(4 * s.concurrency, 200))
        _, _, bodies = await api.run(warm, s.concurrency, 201)
        await api.run(update_ops(api, s.update, bodies), s.concurrency, 200)
        stored = next((b for b in bodies if b is not None), b"")
        results.stored_pod_bytes = len(stored)
        print(f"Warm-up: {len(warm):,} creates and updates (pod as stored: "
              f"{len(stored):,} bytes)\n")

        c = s.concurrency
        verb = "PUT" if s.update == "put" else "merge-patch"
        print("Writes:")
        created: dict[str, list[bytes | None]] = {}
        for key, label, ns, count, conc in (
                ("create1", "pod creates at c=1", NS_SERIAL, s.serial_ops, 1),
                ("createN", f"pod creates at c={c}", NS_CONCURRENT, s.concurrent_ops, c)):
            phase, bodies = await timed(api, server, label, create_ops(api, ns, "pod", count),
                                        conc, 201)
            results.phases[key] = phase
            created[key] = bodies
            print("  " + phase.describe(raw, s.sync))
        for key, label, source, conc in (
                ("update1", f"pod updates ({verb}) at c=1", "create1", 1),
                ("updateN", f"pod updates ({verb}) at c={c}", "createN", c)):
            phase, _ = await timed(api, server, label,
                                   update_ops(api, s.update, created[source]), conc, 200)
            results.phases[key] = phase
            print("  " + phase.describe(raw, s.sync))
        created.clear()

        # LIST: the namespace must hold exactly list_pods pods (top it up, untimed).
        path = f"/api/v1/namespaces/{NS_CONCURRENT}/pods"
        status, body = await api.call("GET", path)
        have = len(orjson.loads(body)["items"]) if status == 200 else 0
        if have < s.list_pods:
            extra = create_ops(api, NS_CONCURRENT, "extra", s.list_pods - have)
            await api.run(extra, s.concurrency, 201)
        elif have > s.list_pods:
            print(f"  (the namespace holds {have:,} pods, more than --list-pods)")
        print("\nLIST:")
        for label, accept, count_items in (
                ("JSON", JSON, lambda d: len(d["items"])),
                ("Table", TABLE_ACCEPT, lambda d: len(d["rows"]))):
            lr = await timed_list(api, label, path, accept, s.list_repeats, count_items)
            results.lists.append(lr)
            print(f"  {lr.items:,} pods as {label}: median {lr.median:.3f} s of "
                  f"{', '.join(f'{t:.3f}' for t in lr.times)}; {lr.size / 1e6:.1f} MB")

        print(f"\nWatch: {s.watchers} watchers, {s.watch_writes} creates "
              f"{s.watch_interval * 1000:.0f} ms apart")
        w = await watch_phase(api, server, s)
        results.watch = w
        print(f"  delivery (receipt - write start) over {len(w.delays):,} events: p50 "
              f"{ms(percentile(w.delays, 50))}, p99 {ms(percentile(w.delays, 99))}, max "
              f"{ms(max(w.delays, default=float('nan')))}; write ack p50 "
              f"{ms(percentile(w.acks, 50))}, p99 {ms(percentile(w.acks, 99))}; "
              f"missing {w.missing}")

        samples = await api.metrics()
        for name, labels, value in samples:
            if name == REQUESTS:
                results.requests_by_verb[labels.get("verb", "")] = \
                    results.requests_by_verb.get(labels.get("verb", ""), 0) + value
                code = labels.get("code", "")
                if not code.startswith("2"):
                    results.errors_by_code[code] = results.errors_by_code.get(code, 0) + value
        results.commits = metric_sum(samples, COMMITS)
        results.committed_writes = metric_sum(samples, COMMITTED_WRITES)
        results.commit_seconds = metric_sum(samples, COMMIT_SECONDS)


# -- reporting ----------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "pass" if ok else "**fail**"


def results_table(r: Results) -> str:
    s = r.settings
    raw = r.raw[s.sync]
    c = s.concurrency
    verb = "PUT" if s.update == "put" else "merge patch"
    rows: list[tuple[str, str, str, str, str]] = []
    for mode in ("FULL", "NORMAL"):
        rows.append((f"Raw SQLite commits/s, synchronous={mode} (baseline)",
                     rate(r.raw[mode]), "1.00×" if mode == s.sync else "", "—", ""))

    def write_row(key: str, what: str, target: bool) -> None:
        p = r.phases.get(key)
        if p is None:
            return
        goal = f"≥ {TARGET_WRITES_PER_S:,.0f}" if target else "—"
        rows.append((what, rate(p.rate), f"{p.rate / raw:.2f}×", goal,
                     verdict(p.rate >= TARGET_WRITES_PER_S) if target else ""))

    write_row("create1", "Pod creates/s, c=1", False)
    write_row("createN", f"Pod creates/s, c={c}", c >= 64)
    write_row("update1", f"Pod updates ({verb})/s, c=1", False)
    write_row("updateN", f"Pod updates ({verb})/s, c={c}", c >= 64)
    for key, what in (("createN", "Create"), ("updateN", "Update")):
        p = r.phases.get(key)
        if p is not None:
            rows.append((f"{what} latency p50 / p99, c={c}", f"{ms(p.p50)} / {ms(p.p99)}", "",
                         f"p99 ≤ {ms(TARGET_WRITE_P99_S)}",
                         verdict(p.p99 <= TARGET_WRITE_P99_S)))
    for lr in r.lists:
        rows.append((f"LIST {lr.items:,} pods ({lr.label}), median", f"{lr.median:.3f} s", "",
                     f"≤ {TARGET_LIST_S} s", verdict(lr.median <= TARGET_LIST_S)))
    w = r.watch
    if w is not None:
        p99 = percentile(w.delays, 99)
        rows.append((f"Watch delivery p50 / p99, {w.watchers} watchers x {w.writes} writes",
                     f"{ms(percentile(w.delays, 50))} / {ms(p99)}", "",
                     f"p99 ≤ {ms(TARGET_WATCH_P99_S)}",
                     verdict(p99 <= TARGET_WATCH_P99_S and not w.missing)))
    lines = [f"| Figure (server --sync {s.sync}) | Measured | vs raw SQLite {s.sync} | Target "
             "| Result |", "|---|---:|---:|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def accounting(r: Results) -> list[str]:
    out = []
    verbs = ", ".join(f"{v} {n:,.0f}" for v, n in sorted(r.requests_by_verb.items(),
                                                          key=lambda kv: -kv[1]))
    if r.watch is not None and not {"watch", "WATCH"} & set(r.requests_by_verb):
        verbs += f" (WATCH not counted by the server; this run opened {r.watch.watchers})"
    out.append(f"API requests by verb (whole run, warm-up included): {verbs}")
    if r.errors_by_code:
        out.append("Non-2xx answers by code: " + ", ".join(
            f"{code} {n:,.0f}" for code, n in sorted(r.errors_by_code.items())))
    per = r.committed_writes / r.commits if r.commits else float("nan")
    avg = r.commit_seconds / r.commits if r.commits else float("nan")
    out.append(f"SQLite commits: {r.commits:,.0f} for {r.committed_writes:,.0f} writes "
               f"({per:.1f} writes per commit on average; {ms(avg)} per commit, "
               f"{r.commit_seconds:.1f} s in all)")
    phases = "; ".join(f"{p.label} {p.writes / p.commits if p.commits else float('nan'):.1f}"
                       for p in r.phases.values())
    out.append(f"Writes per commit by phase: {phases}")
    times = "; ".join(f"{p.label} {ms(p.commit_seconds / p.commits if p.commits else 0)}"
                      for p in r.phases.values())
    out.append(f"Average SQLite commit time by phase (timed in the server's commit thread): "
               f"{times}")
    cpu = "; ".join(f"{p.label} {p.server_cpu / max(p.ops, 1) * 1e6:,.0f} µs"
                    for p in r.phases.values() if p.server_cpu is not None)
    if cpu:
        out.append(f"Server CPU per write (all threads): {cpu}")
    loop = "; ".join(f"{p.label} {p.loop_cpu / max(p.ops, 1) * 1e6:,.0f} µs"
                     for p in r.phases.values() if p.loop_cpu is not None)
    if loop:
        out.append(f"Server CPU per write, event-loop thread alone: {loop}")
    busy = [(p.label, o / p.seconds) for p in r.phases.values()
            if (o := p.others_cpu) is not None and p.seconds > 0 and o / p.seconds >= 0.05]
    if busy:
        out.append("Warning, other processes were busy during: " + "; ".join(
            f"{label} ({share:.0%} of a core)" for label, share in busy))
    return out


def record(r: Results, path: Path, when: datetime.datetime) -> None:
    s = r.settings
    intro = not path.exists()
    with path.open("a", encoding="utf-8") as f:
        if intro:
            f.write(INTRO)
        f.write(f"\n## {when:%Y-%m-%d %H:%M} UTC — {r.machine['CPU']}, "
                f"{r.machine['Cores'].split()[0]} cores, --sync {s.sync}"
                f"{' (quick run)' if s.quick else ''}\n\n")
        for k, v in r.machine.items():
            if k != "Data directory":
                f.write(f"- {k}: {v}\n")
        f.write(f"- Run: `bench/apiserver.py --sync {s.sync} --update {s.update} "
                f"--concurrency {s.concurrency} --serial-ops {s.serial_ops} --concurrent-ops "
                f"{s.concurrent_ops} --list-pods {s.list_pods} --watchers {s.watchers} "
                f"--watch-writes {s.watch_writes}`; pod {r.pod_bytes:,} bytes as sent, "
                f"{r.stored_pod_bytes:,} as stored\n\n")
        f.write(results_table(r) + "\n\n")
        for line in accounting(r):
            f.write(f"- {line}\n")


INTRO = """\
# API server benchmarks

`bench/apiserver.py` measures the embedded API server end to end: it starts `mizzen apiserver`
as its own process, drives it over HTTPS from an asyncio (aiohttp) client, and compares every
write rate with what the same disk can do for raw SQLite commits. Run it with

```
make bench                                   # or: .venv/bin/python bench/apiserver.py
.venv/bin/python bench/apiserver.py --quick  # smoke run, a few seconds
.venv/bin/python bench/apiserver.py --record # also append the results here
```

Options: `--sync NORMAL` (the server's SQLite mode; default FULL), `--update patch` (merge
patch of a label instead of a PUT of the full object), `--concurrency`, `--serial-ops`,
`--concurrent-ops`, `--list-pods`, `--watchers`, `--watch-writes`; see `--help`. The module
docstring describes the method in detail.

What the figures mean:

- **Raw SQLite commits/s**: a plain Python loop committing one ~1.2 KB row per transaction in
  WAL mode, on the same disk, with `synchronous=FULL` (every commit fsynced) and `NORMAL`. It is
  the rate of durable commits this disk allows; an API write rate above it is only possible by
  putting several writes in one commit (group commit). "vs raw SQLite" divides by the figure for
  the mode the server ran with.
- **Pod creates/s, updates/s at c=1 and c=64**: closed-loop clients (each waits for its answer
  before sending the next request) creating realistic ~1.2 KB pods, then updating each once
  (PUT of the object as returned, with its resourceVersion, one label changed; or a merge patch).
- **Latency p50 / p99 at c=64**: per request, from sending to the end of the response body.
- **LIST 10,000 pods**: one namespace with exactly 10,000 pods, as plain JSON and as the Table
  `kubectl get` asks for; time to the last byte, median of 5.
- **Watch delivery**: 100 watch streams on pods; 200 creates 20 ms apart; for every watcher and
  write, the time from the write's start to the event's arrival at that watcher.
- **Requests and commits** come from the server's `/metrics`; "writes per commit" is the group
  commit's batching.

Targets (from the performance issue), shown beside each figure: ≥ 2,500 creates/s and ≥ 2,500
updates/s at 64 clients; p99 write latency ≤ 25 ms at that load; LIST of 10,000 pods ≤ 0.5 s;
watch delivery p99 ≤ 50 ms to 100 watchers.

Other scripts in `bench/` may append their own sections here; this script's sections are the
ones whose "Run" line names `bench/apiserver.py`.

The client shares the machine with the server: each section gives the server's CPU per write
(the figure least disturbed by noise) and warns when other processes were busy during a phase,
which lowers rates and raises latencies. Compare runs from the same machine only.
"""


def main(argv: Sequence[str] | None = None) -> int:
    s = parse_args(argv)
    failures = Failures()
    started = datetime.datetime.now(datetime.UTC)
    with tempfile.TemporaryDirectory(prefix="mizzen-bench-", dir=s.tmp_dir) as tmp:
        try:
            results = asyncio.run(run(s, Path(tmp), failures))
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
        except Exception as exc:
            print(f"\nbenchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            for sample in failures.samples:
                print(f"  {sample}", file=sys.stderr)
            return 1
    print("\n" + results_table(results) + "\n")
    for line in accounting(results):
        print(line)
    if s.record:
        record(results, s.docs, started)
        print(f"\nRecorded in {s.docs}")
    if failures.count:
        print(f"\n{failures.count} request(s) failed unexpectedly, e.g.:", file=sys.stderr)
        for sample in failures.samples:
            print(f"  {sample}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
