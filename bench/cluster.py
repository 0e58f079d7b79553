"""Benchmark of the simulated cluster: N pods from ReplicaSets to Ready, then deleted.

Run with ``.venv/bin/python bench/cluster.py`` (10,000 pods, one ReplicaSet);
``--shape many`` makes N/10 ReplicaSets of 10 instead, ``--quick`` runs 1,000 pods,
``--record`` appends the results to ``docs/benchmarks.md``, ``--profile FILE`` runs the two
timed phases under cProfile (``--profile-timer wall`` or ``cpu``) and prints the top 25
functions by cumulative and by own time.

Method
------
* **Two processes, as ``mizzen up``.**  The embedded API server (a temporary data
  directory, SQLite ``--sync`` FULL by default like ``mizzen up``) runs as ``mizzen
  apiserver`` in a process of its own (``bench/server_proc.py``), and a Manager with
  ``add_simulated_cluster`` (``--nodes`` nodes of 110 pods, three zones, the zero latency
  profile: nodes, kubelets, scheduler, ReplicaSet and Deployment controllers) runs on this
  process's event loop; the manager's client speaks HTTPS to the server exactly as it would
  to a real cluster.  ``--processes 1`` puts the server on this process's loop too, as
  ``mizzen up --processes 1`` does.  Peak RSS (``ru_maxrss`` here, ``VmHWM`` of the
  server's process; tracemalloc is off) and CPU (``ru_utime + ru_stime``, every thread, of
  both processes) are the control plane's — plus the benchmark's own client, which only
  creates and deletes the ReplicaSets and holds two watches.
* **The event loop ``mizzen up`` runs on** (:func:`mizzen.cli.eventloop.run`: uvloop);
  ``--loop asyncio`` runs the standard loop instead.
* **The garbage collector as ``mizzen up`` sets it** (``--gc up``, the default): the CLI's
  thresholds (:func:`mizzen.cli.main.tune_gc`) and the heap frozen once the server has
  started, as ``run_up`` does.  ``--gc default`` keeps CPython's thresholds instead, to show
  what the collector costs; either way its collections are timed per phase
  (``gc.callbacks``: cProfile charges them to whichever function allocated).
* **The benchmark's client** is a separate :class:`~mizzen.client.client.Client`.  Before
  a phase it starts watching the pods and the ReplicaSets of the benchmark namespace (no
  polling; the watches resume and relist on their own), keeping a few flag bits per
  object.  Milestones are the instants the watch first shows all N pods created, bound,
  Running, Ready (and the ReplicaSet status counting them all ready).
* **Create phase**: from the first ReplicaSet create to all N pods Running and Ready.
  **Delete phase**: ReplicaSets deleted with ``propagationPolicy=Background``; to the last
  pod gone (the server's garbage collector marks the pods terminating, each kubelet writes
  the final status and deletes the pod with ``gracePeriodSeconds=0``).  After each
  milestone the benchmark waits for the API writes to stop (event writers draining), so
  each phase is charged its own writes; the time figures stop at the milestone.
* **Requests** come from the server's ``apiserver_request_total`` read in-process before
  and after each phase (every client, every code), broken down by the controllers' and the
  benchmark's ClientMetrics (which also name ``pods/binding``).  "Writes per pod" counts
  every create, update, patch and delete except the nodes' Lease renewals (heartbeats cost
  nodes/10 s whatever the pods do; printed apart); storage commits include the server's
  internal writes (garbage collection), which are not API requests.
* **Baseline**, after the measured run (so it cannot raise the peak memory): a fresh
  server with no controllers in the same process; the same client creates N pods of the
  same template (by name, ``--concurrency`` in flight) and then deletes them with
  ``gracePeriodSeconds=0``.  End-to-end times are also given as a ratio to those.

Missed targets do not change the exit code; a phase that times out (``--timeout``) does.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime
import gc
import logging
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(REPO))

from bench.cluster_probe import (  # noqa: E402
    BOUND,
    READY,
    RUNNING,
    TERMINATING,
    Follower,
    GcTimer,
    Sample,
    api_writes,
    machine_info,
    peak_rss_mib,
    plane_rss_mib,
    pod_flags,
    replicaset_flags,
    rss_mib,
    settle,
)
from bench.cluster_report import (  # noqa: E402
    Phase,
    Results,
    Settings,
    print_profile,
    print_results,
    record,
)
from bench.cluster_work import (  # noqa: E402
    NS,
    WarningCounter,
    baseline,
    closed_loop,
    git_commit,
    others,
    replicaset,
)
from bench.server_proc import InProcessServer, ServerView, start_view  # noqa: E402
from mizzen.cli import eventloop  # noqa: E402
from mizzen.cli.main import tune_gc  # noqa: E402
from mizzen.client.client import Client  # noqa: E402
from mizzen.client.config import ClientConfig  # noqa: E402
from mizzen.client.metrics import ClientMetrics  # noqa: E402
from mizzen.client.resources import NAMESPACES, NODES, PODS, REPLICASETS  # noqa: E402
from mizzen.cluster.config import ClusterConfig  # noqa: E402
from mizzen.cluster.setup import SimulatedCluster, add_simulated_cluster  # noqa: E402
from mizzen.runtime.clock import RealClock  # noqa: E402
from mizzen.runtime.manager import Manager  # noqa: E402

DOCS = REPO / "docs" / "benchmarks.md"
RECORDERS = ("replicaset-controller", "default-scheduler")  # event recorders of the cluster
Obj = dict[str, Any]
log = logging.getLogger("bench.cluster")


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--pods", type=int, default=None, help="pods in all (10,000)")
    p.add_argument("--shape", choices=("one", "many"), default="one",
                   help="one ReplicaSet of N pods, or N/10 ReplicaSets of 10 (one)")
    p.add_argument("--nodes", type=int, default=100, help="simulated nodes, 110 pods each (100)")
    p.add_argument("--quick", action="store_true", help="1,000 pods")
    p.add_argument("--sync", choices=("FULL", "NORMAL"), default="FULL", type=str.upper,
                   help="the server's SQLite synchronous mode (FULL, as mizzen up)")
    p.add_argument("--concurrency", type=int, default=32,
                   help="the benchmark client's requests in flight (32)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per phase (600)")
    p.add_argument("--loop", choices=("up", "asyncio"), default="up",
                   help="the event loop mizzen up runs (uvloop), or asyncio's own (up)")
    p.add_argument("--processes", type=int, choices=(1, 2), default=2,
                   help="as mizzen up --processes: the API server in a process of its own "
                        "(2), or on this process's event loop with everything else (1) (2)")
    p.add_argument("--gc", choices=("up", "default"), default="up",
                   help="the cyclic collector as mizzen up tunes it, or CPython's defaults (up)")
    p.add_argument("--record", action="store_true", help="append the results to docs/")
    p.add_argument("--profile", type=Path, help="cProfile the two phases into this file")
    p.add_argument("--profile-timer", choices=("cpu", "wall"), default="wall",
                   help="cProfile's clock: wall (perf_counter, cheap; the default) or cpu "
                        "(the loop thread's CPU time: immune to other processes, but each "
                        "reading is a system call, which inflates functions called often)")
    p.add_argument("--docs", type=Path, default=DOCS, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    pods = a.pods if a.pods is not None else (1000 if a.quick else 10_000)
    if pods < 10 or (a.shape == "many" and pods % 10):
        p.error("--pods must be at least 10 (and a multiple of 10 with --shape many)")
    if a.nodes * 110 < pods:
        p.error(f"{pods} pods need at least {-(-pods // 110)} nodes of 110 pods")
    return Settings(pods, a.shape, a.nodes, a.sync, a.concurrency, a.timeout, a.quick,
                    a.record, a.profile, a.profile_timer, a.docs, a.gc, a.loop, a.processes)


# -- the run ------------------------------------------------------------------------------


class Run:
    """The control plane and the benchmark's client for one measured run."""

    def __init__(self, s: Settings, data: Path, gc_timer: GcTimer) -> None:
        self.s = s
        self.gc = gc_timer
        self.data = data
        self.server: ServerView = InProcessServer(data, s.sync)  # replaced by start()
        self.metrics = ClientMetrics()
        self.manager: Manager | None = None
        self.cluster: SimulatedCluster | None = None
        self.client: Client | None = None
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> float:
        """Server, manager and nodes; returns seconds until every node was Ready."""
        t0 = time.perf_counter()
        self.data.mkdir(parents=True, exist_ok=True)
        self._log = (self.data.parent / f"{self.data.name}-server.log").open("wb")
        self.server = await start_view(self.s.processes, self.data, self.s.sync, self._log)
        if self.s.gc == "up":
            gc.freeze()  # as run_up: the loaded state is long-lived
        config = ClientConfig(server=self.server.url, ca_data=self.server.ca_pem,
                              token=self.server.token)
        self.manager = Manager.from_config(config, RealClock())
        self.cluster = add_simulated_cluster(self.manager, ClusterConfig.with_nodes(self.s.nodes))
        self.tasks.append(asyncio.create_task(self.manager.run(), name="manager"))
        self.client = Client(config, metrics=self.metrics, field_manager="bench",
                             user_agent="mizzen-bench")
        while True:  # a handful of node LISTs, before anything is measured
            nodes = (await self.client.list(NODES))["items"]
            ready = sum(1 for n in nodes if any(c["type"] == "Ready" and c["status"] == "True"
                                                for c in n["status"].get("conditions", ())))
            if ready >= self.s.nodes and all(i.has_synced for i in self.manager.informers):
                break
            if time.perf_counter() - t0 > self.s.timeout:
                raise TimeoutError(f"only {ready}/{self.s.nodes} nodes Ready")
            await asyncio.sleep(0.25)
        took = time.perf_counter() - t0
        await self.client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": NS}})
        self.pods = Follower(self.client, PODS, NS, pod_flags)
        self.rss = Follower(self.client, REPLICASETS, NS, replicaset_flags)
        self.tasks += [asyncio.create_task(self.pods.run()), asyncio.create_task(self.rss.run())]
        await self.settle(quiet=1.0)
        return took

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.client is not None:
            await self.client.close()
        await self.server.stop()
        self._log.close()

    def dropped_events(self) -> int:
        """Events the controllers' recorders dropped (queue full) so far: writes not made."""
        assert self.manager is not None
        return sum(self.manager.event_recorder(n).stats.dropped for n in RECORDERS)

    async def api_writes(self) -> int:
        """Writes the server answered so far, node Lease renewals aside."""
        return await api_writes(self.server)

    async def settle(self, quiet: float = 0.5, limit: float = 60.0) -> float:
        """Wait until no API write (heartbeats aside) happened for ``quiet`` seconds."""
        return await settle(self.server, quiet, limit)

    async def progress(self, label: str, t0: float) -> None:
        while True:
            await asyncio.sleep(5)
            p = self.pods
            print(f"  {label} {time.perf_counter() - t0:5.0f}s: pods seen {p.ever:,}, "
                  f"present {p.present:,}, bound {p.count(BOUND):,}, running "
                  f"{p.count(RUNNING):,}, ready {p.count(READY):,}, terminating "
                  f"{p.count(TERMINATING):,}; rss {plane_rss_mib(self.server):,.0f} MiB",
                  flush=True)

    async def phase(self, name: str, act: Callable[[], Awaitable[None]],
                    marks: dict[str, asyncio.Future[float]]) -> Phase:
        assert self.manager is not None
        before = await Sample.take(self.server)
        mc0, bc0 = self.manager.client.metrics.counts(), self.metrics.counts()
        dropped0 = self.dropped_events()
        gc0, gcn0 = self.gc.snapshot()
        ticker = asyncio.create_task(self.progress(name, before.wall))
        timed_out, submitted = False, float("nan")
        try:
            await act()
            submitted = time.perf_counter()
            await asyncio.wait_for(asyncio.gather(*marks.values()), self.s.timeout)
        except TimeoutError:
            timed_out = True
            print(f"  {name}: TIMED OUT after {self.s.timeout:.0f}s", flush=True)
        finally:
            ticker.cancel()
        end = time.perf_counter()
        done = Sample.now(self.server)  # the clock and CPU at the milestone, before the settle
        gc1, gcn1 = self.gc.snapshot()
        settled = await self.settle()
        after = await Sample.take(self.server)
        return Phase(
            name=name, seconds=end - before.wall, submitted=submitted - before.wall,
            marks={k: (f.result() - before.wall if f.done() else None) for k, f in marks.items()},
            cpu=done.cpu - before.cpu, loop_cpu=done.loop_cpu - before.loop_cpu,
            settle=settled, requests=after.requests - before.requests,
            commits=after.commits - before.commits,
            committed=after.committed - before.committed,
            controllers=self.manager.client.metrics.delta(mc0), bench=self.metrics.delta(bc0),
            max_rss=peak_rss_mib(self.server), rss=plane_rss_mib(self.server),
            timed_out=timed_out,
            others=others(before, done), dropped_events=self.dropped_events() - dropped0,
            gc_seconds=gc1 - gc0, gc_collections=tuple(b - a for a, b in zip(gcn0, gcn1,
                                                                              strict=True)))

    def names(self) -> list[tuple[str, int]]:
        n = self.s.pods
        return [("bench", n)] if self.s.shape == "one" else \
            [(f"bench-{i:04d}", 10) for i in range(n // 10)]

    async def create(self) -> Phase:
        n, rss, client = self.s.pods, self.names(), self.client
        assert client is not None
        p, r = self.pods, self.rss
        marks = {"created": p.milestone("created", lambda f: f.ever >= n),
                 "bound": p.milestone("bound", lambda f: f.count(BOUND) >= n),
                 "running": p.milestone("running", lambda f: f.count(RUNNING) >= n),
                 "ready": p.milestone("ready", lambda f: f.count(READY) >= n),
                 "rs status": r.milestone("rs", lambda f: f.count(READY) >= len(rss))}

        async def act() -> None:
            await closed_loop(len(rss), self.s.concurrency,
                              lambda i: client.create(REPLICASETS, replicaset(*rss[i])))
        return await self.phase("create", act, marks)

    async def delete(self) -> Phase:
        rss, client = self.names(), self.client
        assert client is not None
        p, r = self.pods, self.rss
        marks = {"terminating": p.milestone("t", lambda f: f.present == f.count(TERMINATING)),
                 "rs gone": r.milestone("rs", lambda f: f.present == 0),
                 "gone": p.milestone("gone", lambda f: f.present == 0)}

        async def act() -> None:
            await closed_loop(len(rss), self.s.concurrency, lambda i: client.delete(
                REPLICASETS, rss[i][0], NS, propagation_policy="Background"))
        return await self.phase("delete", act, marks)


async def main_async(s: Settings, gc_timer: GcTimer) -> Results:
    machine = machine_info()
    machine["Commit"] = git_commit()
    machine["Loop"] = type(asyncio.get_running_loop()).__module__.partition(".")[0]
    machine["Processes"] = ("2: the API server in its own (mizzen apiserver), the rest in this"
                            if s.processes == 2 else "1: everything on this process's loop")
    with tempfile.TemporaryDirectory(prefix="mizzen-bench-cluster-") as tmp:
        run = Run(s, Path(tmp) / "main", gc_timer)
        start_rss = rss_mib()
        timer = time.thread_time if s.profile_timer == "cpu" else time.perf_counter
        profiler = cProfile.Profile(timer) if s.profile else None
        try:
            nodes_ready = await run.start()
            idle_rss = plane_rss_mib(run.server)
            print(f"{s.nodes} nodes Ready in {nodes_ready:.1f}s; RSS {idle_rss:,.0f} MiB "
                  f"(at start {start_rss:,.0f}); creating {s.pods:,} pods "
                  f"({s.shape} ReplicaSet{'s' if s.shape == 'many' else ''})", flush=True)
            if profiler is not None:
                profiler.enable()
            create = await run.create()
            print(f"  create: all Ready at {create.marks['ready'] or float('nan'):.1f}s; "
                  f"deleting", flush=True)
            delete = await run.delete()
            if profiler is not None:
                profiler.disable()
            peak = peak_rss_mib(run.server)
            assert run.cluster is not None and run.manager is not None
            extra = {
                "replicaset passes": dict(run.cluster.replicasets.passes),
                "event recorders": {n: vars(run.manager.event_recorder(n).stats)
                                    for n in RECORDERS},
                "informers": {i.resource.plural: vars(i.stats) for i in run.manager.informers},
                "benchmark watches": {"pods": (run.pods.events, run.pods.restarts,
                                               run.pods.relists),
                                      "replicasets": (run.rss.events, run.rss.restarts,
                                                      run.rss.relists)},
            }
        finally:
            await run.stop()
        print("baseline: plain pod creates and deletes, no controllers…", flush=True)
        base = await baseline(s, Path(tmp) / "baseline")
    if profiler is not None and s.profile is not None:
        profiler.dump_stats(str(s.profile))
    return Results(s, machine, nodes_ready, start_rss, idle_rss, peak, create, delete, base,
                   extra)


def main(argv: Sequence[str] | None = None) -> int:
    s = parse_args(argv)
    assert not tracemalloc.is_tracing()
    counter = WarningCounter()
    logging.basicConfig(level=logging.WARNING, handlers=[counter])
    if s.gc == "up":
        tune_gc()
    with GcTimer() as gc_timer:
        run = eventloop.run if s.loop == "up" else asyncio.run
        r = run(main_async(s, gc_timer))
    r.warnings = dict(counter.counts)
    print_results(r)
    if s.profile is not None:
        print_profile(s.profile)
    if s.record:
        record(r, s.docs, datetime.datetime.now(datetime.UTC))
        print(f"\nRecorded in {s.docs}")
    return 1 if r.create.timed_out or r.delete.timed_out else 0


if __name__ == "__main__":
    sys.exit(main())
