"""CloneSet benchmarks (issue #5): an in-place update at scale, and rollouts under latencies.

Run with ``.venv/bin/python bench/cloneset.py`` (both parts, full size; ``make bench``);
``--quick`` runs 1,000 pods for (1), 200 per rollout for (2) and the profile's latencies
divided by four; ``--parts scale`` or ``--parts rollouts`` runs one part; ``--record``
appends the results to ``docs/benchmarks.md``; ``--profile FILE`` runs part (1)'s update
under cProfile and prints the top functions.

Method
------
* **The control plane** runs as ``mizzen up`` runs it — the API server as ``mizzen
  apiserver`` in a process of its own (``--processes 1``: on this process's loop), the rest
  in this process, on the event loop
  it runs (uvloop, :mod:`mizzen.cli.eventloop`; ``--loop asyncio`` for the standard one)
  with the cyclic collector tuned as it tunes it (:func:`mizzen.cli.main.tune_gc`; ``--gc
  default`` for CPython's thresholds; collection time is reported per phase) — every
  writer on its own client (see ``cloneset_plane.py``), so writes are split by writer
  exactly.  Each
  phase is measured from the benchmark's first request to the last of its milestones,
  which a watch of the namespace's pods (and of the workload) reports; after them the
  benchmark waits for the API writes to stop, so a phase is charged its trailing writes
  too.  CPU is both processes' (``getrusage``, ``/proc``); memory their peak RSS summed.
* **(1) In place at scale**, zero latency: a CloneSet of N pods (10,000;
  ``InPlaceIfPossible``, maxUnavailable 20%, maxSurge 0) is created and left to settle
  (timed, not a target), then its image is changed (one JSON patch).  Milestones: every
  pod's spec names the new image; every pod runs it and is Ready; the CloneSet's status
  counts every replica updated and ready for the new generation.  **Baseline**, in a fresh
  control plane after the measured one (so it cannot raise the peak memory): N bare pods,
  then the benchmark patches each pod's image itself (``--concurrency`` in flight) and the
  kubelet restarts the containers in place — the same update with no controller.
* **(2) Rollouts under the profile** (``cloneset_work.py``): in one control plane, one
  after another, a Deployment (the baseline), a CloneSet ``InPlaceIfPossible`` and a
  CloneSet ``ReCreate``, each of M pods (1,000) with maxUnavailable 20% and maxSurge 0, in
  its own namespace, created and settled, then its image changed, then deleted before the
  next.  Each rollout's time (every pod on the new image and Ready, and the workload's
  status saying so) is set against its floor: the batches times the per-pod latency.

Missed targets do not change the exit code; a phase that times out (``--timeout``) does.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime
import logging
import math
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(REPO))

from bench.cloneset_doc import record  # noqa: E402
from bench.cloneset_plane import (  # noqa: E402
    DONE,
    READY,
    TERMINATING,
    UPDATED,
    Plane,
    RolloutFollower,
    pod_rollout_flags,
    workload_done,
)
from bench.cloneset_report import Measured, Results, ScaleRun, Settings, print_results  # noqa: E402
from bench.cloneset_work import (  # noqa: E402
    NEW_IMAGE,
    OLD_IMAGE,
    PROFILE,
    Floor,
    bare_pod,
    cloneset,
    deployment,
    image_patch,
    in_place_floor,
    recreate_floor,
    scaled,
)
from bench.cluster_probe import (  # noqa: E402
    Follower,
    GcTimer,
    Sample,
    machine_info,
    peak_rss_mib,
    plane_rss_mib,
    rss_mib,
)
from bench.cluster_report import print_profile  # noqa: E402
from bench.cluster_work import WarningCounter, closed_loop, git_commit, others  # noqa: E402
from mizzen.cli import eventloop  # noqa: E402
from mizzen.cli.main import tune_gc  # noqa: E402
from mizzen.client.resources import DEPLOYMENTS, PODS, Resource  # noqa: E402
from mizzen.cluster.config import LatencyProfile  # noqa: E402
from mizzen.workloads.cloneset import CLONESETS  # noqa: E402

DOCS = REPO / "docs" / "benchmarks.md"
PARTS = ("scale", "rollouts")
Act = Callable[[], Awaitable[object]]


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--parts", default=",".join(PARTS),
                   help="comma-separated: scale (1), rollouts (2) (both)")
    p.add_argument("--quick", action="store_true",
                   help="1,000 pods for (1), 200 per rollout, latencies ÷ 4")
    p.add_argument("--pods", type=int, default=None, help="pods of (1) (10,000)")
    p.add_argument("--rollout-pods", type=int, default=None, help="pods per rollout (1,000)")
    p.add_argument("--percent", type=int, default=20, help="maxUnavailable, %% (20)")
    p.add_argument("--sync", choices=("FULL", "NORMAL"), default="FULL", type=str.upper,
                   help="the server's SQLite synchronous mode (FULL, as mizzen up)")
    p.add_argument("--concurrency", type=int, default=32,
                   help="the benchmark's requests in flight for the bare-pod baseline (32)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per phase (900)")
    p.add_argument("--record", action="store_true", help="append the results to docs/")
    p.add_argument("--profile", type=Path, help="cProfile (1)'s update into this file")
    p.add_argument("--profile-timer", choices=("cpu", "wall"), default="wall",
                   help="cProfile's clock (wall: perf_counter; cpu: the loop thread's)")
    p.add_argument("--loop", choices=("up", "asyncio"), default="up",
                   help="the event loop mizzen up runs (uvloop), or asyncio's own (up)")
    p.add_argument("--gc", choices=("up", "default"), default="up",
                   help="the cyclic collector as mizzen up tunes it, or CPython's (up)")
    p.add_argument("--processes", type=int, choices=(1, 2), default=2,
                   help="as mizzen up --processes: the API server in a process of its own "
                        "(2), or on this process's event loop with everything else (1) (2)")
    p.add_argument("--docs", type=Path, default=DOCS, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    parts = tuple(x for x in PARTS if x in a.parts.split(","))
    if not parts or set(a.parts.split(",")) - set(PARTS):
        p.error(f"--parts takes {', '.join(PARTS)}")
    scale = a.pods if a.pods is not None else (1000 if a.quick else 10_000)
    roll = a.rollout_pods if a.rollout_pods is not None else (200 if a.quick else 1000)
    factor = 0.25 if a.quick else 1.0
    return Settings(parts, scale, max(10, math.ceil(scale / 100)), roll,
                    max(10, math.ceil(roll / 50)), a.percent, scaled(PROFILE, factor), factor,
                    a.sync, a.concurrency, a.timeout, a.quick, a.record, a.profile,
                    a.profile_timer, a.docs, a.loop, a.gc, a.processes)


# -- one phase ----------------------------------------------------------------------------


async def _progress(name: str, pods: RolloutFollower, t0: float) -> None:
    while True:
        await asyncio.sleep(5)
        print(f"  {name} {time.perf_counter() - t0:5.0f}s: pods {pods.present:,}, spec "
              f"updated {pods.count(UPDATED):,}, done {pods.count(DONE):,}, ready "
              f"{pods.count(READY):,}, terminating {pods.count(TERMINATING):,}; rss "
              f"{rss_mib():,.0f} MiB", flush=True)


async def measure(plane: Plane, s: Settings, name: str, n: int, act: Act,
                  marks: dict[str, asyncio.Future[float]], figure: tuple[str, ...],
                  pods: RolloutFollower, floor: Floor | None = None,
                  profiler: cProfile.Profile | None = None) -> Measured:
    """Run ``act`` and wait for ``marks`` (under ``profiler`` if given), then for the
    writes to stop."""
    before = await Sample.take(plane.server)
    gc0 = plane.gc_timer.seconds if plane.gc_timer else 0.0
    counts0, dropped0 = plane.counts(), plane.dropped_events()
    passes0 = dict(plane.cloneset.passes) if plane.cloneset else {}
    pods.track(n)
    ticker = asyncio.create_task(_progress(name, pods, before.wall))
    timed_out = False
    if profiler is not None:
        profiler.enable()
    try:
        await act()
        await asyncio.wait_for(asyncio.gather(*marks.values()), s.timeout)
    except TimeoutError:
        timed_out = True
        print(f"  {name}: TIMED OUT after {s.timeout:.0f}s", flush=True)
    finally:
        if profiler is not None:
            profiler.disable()
        ticker.cancel()
    done = Sample.now(plane.server)
    gc_seconds = (plane.gc_timer.seconds if plane.gc_timer else 0.0) - gc0
    worst = pods.max_unavailable
    pods.track(0)
    settled = await plane.settle(quiet=max(0.5, s.latency.stop + 0.5))
    after = await Sample.take(plane.server)
    counts = {w: {k: v - counts0.get(w, {}).get(k, 0) for k, v in c.items()
                  if v != counts0.get(w, {}).get(k, 0)} for w, c in plane.counts().items()}
    passes = {k: v - passes0.get(k, 0) for k, v in plane.cloneset.passes.items()
              if v != passes0.get(k, 0)} if plane.cloneset else {}
    return Measured(
        name=name, pods=n,
        marks={k: (max(0.0, f.result() - before.wall) if f.done() and not f.cancelled()
                   else None) for k, f in marks.items()},
        done_pods=pods.count(DONE),
        figure_marks=figure, seconds=done.wall - before.wall, cpu=done.cpu - before.cpu,
        loop_cpu=done.loop_cpu - before.loop_cpu, others=others(before, done), counts=counts,
        requests=after.requests - before.requests,
        dropped_events=plane.dropped_events() - dropped0, max_unavailable=worst,
        max_rss=peak_rss_mib(plane.server), settle=settled, timed_out=timed_out, floor=floor,
        extra={"gc seconds": round(gc_seconds, 1),
               **({"cloneset passes": passes} if passes else {})})


async def follow(plane: Plane, ns: str, image: str, present: int, workload: Resource | None,
                 generation: int) -> tuple[RolloutFollower, Follower | None]:
    """Fresh watches of ``ns``'s pods (against ``image``) and of its workload (against
    ``generation``), once they list ``present`` pods."""
    await plane.unfollow()
    pods = RolloutFollower(plane.client, PODS, ns, pod_rollout_flags(lambda: image))
    plane.follow(pods)
    wl = None
    if workload is not None:
        wl = Follower(plane.client, workload, ns,
                      workload_done(lambda: generation, workload is CLONESETS))
        plane.follow(wl)
    await asyncio.wait_for(pods.milestone("listed", lambda f: f.present >= present), 60)
    return pods, wl


def _ready_marks(pods: RolloutFollower, wl: Follower | None, n: int
                 ) -> dict[str, asyncio.Future[float]]:
    marks = {"spec": pods.milestone("spec", lambda f: f.count(UPDATED) >= n),
             "pods": pods.milestone("pods", lambda f: f.count(DONE) >= n)}
    if wl is not None:
        marks["status"] = wl.milestone("status", lambda f: f.count(READY) >= 1)
    marks["old gone"] = pods.milestone("gone", lambda f: f.present == f.count(UPDATED) == n
                                       and f.count(TERMINATING) == 0)
    return marks


async def workload_phases(plane: Plane, s: Settings, name: str, ns: str, res: Resource,
                          body: dict[str, object], floor: Floor | None = None,
                          profiler: cProfile.Profile | None = None
                          ) -> tuple[Measured, Measured | None]:
    """Create ``body`` to every pod Ready, then change its image: (setup, update); no
    update when the setup timed out."""
    n = int(body["spec"]["replicas"])  # type: ignore[index]
    await plane.namespace(ns)
    pods, wl = await follow(plane, ns, OLD_IMAGE, 0, res, 1)
    setup = await measure(plane, s, f"{name}: create", n,
                          lambda: plane.client.create(res, body, ns),
                          _ready_marks(pods, wl, n), ("pods", "status"), pods)
    if setup.timed_out:
        return setup, None
    current = await plane.client.get(res, "web", ns)
    pods, wl = await follow(plane, ns, NEW_IMAGE, n, res,
                            int(current["metadata"]["generation"]) + 1)
    update = await measure(plane, s, name, n, lambda: plane.client.patch(
        res, "web", image_patch(NEW_IMAGE, template=True), ns, patch_type="json"),
        _ready_marks(pods, wl, n), ("pods", "status"), pods, floor, profiler)
    return setup, update


# -- the parts ----------------------------------------------------------------------------


async def scale_part(s: Settings, tmp: Path, gc_timer: GcTimer | None) -> ScaleRun:
    n = s.scale_pods
    plane = Plane(tmp / "scale", s.sync, s.scale_nodes, LatencyProfile(), gc_timer,
                  s.processes)
    start_rss = rss_mib()
    timer = time.thread_time if s.profile_timer == "cpu" else time.perf_counter
    profiler = cProfile.Profile(timer) if s.profile else None
    try:
        nodes_ready = await plane.start(True, s.timeout)
        idle_rss = plane_rss_mib(plane.server)
        print(f"(1) {s.scale_nodes} nodes Ready in {nodes_ready:.1f}s; RSS {idle_rss:,.0f} "
              f"MiB; a CloneSet of {n:,} pods, then its image changed", flush=True)
        body = cloneset("web", "scale", n, "InPlaceIfPossible", s.percent)
        setup, update = await workload_phases(plane, s, "CloneSet in-place update", "scale",
                                              CLONESETS, body, profiler=profiler)
        peak = peak_rss_mib(plane.server)
        assert plane.cloneset is not None
        passes = dict(plane.cloneset.passes)
    finally:
        await plane.stop()
    if profiler is not None and s.profile is not None:
        profiler.dump_stats(str(s.profile))
    print(f"(1) baseline: {n:,} bare pods, then each pod's image patched by the benchmark",
          flush=True)
    base_setup, base = await bare_pods(s, tmp / "base", n, gc_timer)
    return ScaleRun(setup, update, base_setup, base, nodes_ready, start_rss, idle_rss, peak,
                    passes)


async def bare_pods(s: Settings, data: Path, n: int,
                    gc_timer: GcTimer | None) -> tuple[Measured, Measured]:
    """The baseline of (1): bare pods created, then patched one by one by the bench."""
    plane = Plane(data, s.sync, s.scale_nodes, LatencyProfile(), gc_timer, s.processes)
    try:
        await plane.start(False, s.timeout)
        ns, client = "bare", plane.client
        await plane.namespace(ns)
        pods, _ = await follow(plane, ns, OLD_IMAGE, 0, None, 0)
        setup = await measure(plane, s, "bare pods: create", n, lambda: closed_loop(
            n, s.concurrency, lambda i: client.create(PODS, bare_pod(f"bare-{i}", ns), ns)),
            _ready_marks(pods, None, n), ("pods",), pods)
        pods, _ = await follow(plane, ns, NEW_IMAGE, n, None, 0)
        patch = image_patch(NEW_IMAGE, template=False)
        base = await measure(plane, s, "bare pods: image patched by the bench", n,
                             lambda: closed_loop(n, s.concurrency, lambda i: client.patch(
                                 PODS, f"bare-{i}", patch, ns, patch_type="json")),
                             _ready_marks(pods, None, n), ("pods",), pods)
        return setup, base
    finally:
        await plane.stop()


async def rollouts_part(s: Settings, tmp: Path, gc_timer: GcTimer | None) -> list[Measured]:
    n, pc = s.rollout_pods, s.percent
    plane = Plane(tmp / "rollouts", s.sync, s.rollout_nodes, s.latency, gc_timer,
                  s.processes)
    out = []
    try:
        ready = await plane.start(True, s.timeout)
        print(f"(2) {s.rollout_nodes} nodes Ready in {ready:.1f}s; rollouts of {n:,} pods",
              flush=True)
        cases: list[tuple[str, str, Resource, dict[str, object], Floor]] = [
            ("Deployment RollingUpdate", "deploy", DEPLOYMENTS, deployment("web", "deploy", n, pc),
             recreate_floor(s.latency, n, pc)),
            ("CloneSet InPlaceIfPossible", "inplace", CLONESETS,
             cloneset("web", "inplace", n, "InPlaceIfPossible", pc), in_place_floor(
                 s.latency, n, pc)),
            ("CloneSet ReCreate", "recreate", CLONESETS,
             cloneset("web", "recreate", n, "ReCreate", pc), recreate_floor(s.latency, n, pc)),
        ]
        for name, ns, res, body, floor in cases:
            print(f"(2) {name}", flush=True)
            setup, update = await workload_phases(plane, s, name, ns, res, body, floor)
            out.append(update or setup)
            pods, _ = await follow(plane, ns, NEW_IMAGE, 0, None, 0)
            gone = pods.milestone("gone", lambda f: f.present == 0)
            await plane.client.delete(res, "web", ns, propagation_policy="Background")
            await asyncio.wait_for(gone, s.timeout)
            await plane.settle(quiet=max(0.5, s.latency.stop + 0.5))
    finally:
        await plane.stop()
    return out


async def main_async(s: Settings, gc_timer: GcTimer | None = None) -> Results:
    machine = machine_info()
    machine["Commit"] = git_commit()
    machine["Loop"] = type(asyncio.get_running_loop()).__module__.partition(".")[0]
    machine["Processes"] = ("2: the API server in its own (mizzen apiserver), the rest in this"
                            if s.processes == 2 else "1: everything on this process's loop")
    r = Results(s, machine)
    with tempfile.TemporaryDirectory(prefix="mizzen-bench-cloneset-") as tmp:
        if "scale" in s.parts:
            r.scale = await scale_part(s, Path(tmp), gc_timer)
        if "rollouts" in s.parts:
            r.rollouts = await rollouts_part(s, Path(tmp), gc_timer)
    return r


def main(argv: Sequence[str] | None = None) -> int:
    s = parse_args(argv)
    counter = WarningCounter()
    logging.basicConfig(level=logging.WARNING, handlers=[counter])
    if s.gc == "up":
        tune_gc()
    with GcTimer() as gc_timer:
        run = eventloop.run if s.loop == "up" else asyncio.run
        r = run(main_async(s, gc_timer))
    r.warnings = dict(counter.counts)
    print_results(r)
    if s.profile is not None and r.scale is not None:
        print_profile(s.profile)
    if s.record:
        record(r, s.docs, datetime.datetime.now(datetime.UTC))
        print(f"\nRecorded in {s.docs}")
    phases = ([r.scale.setup, r.scale.base_setup, r.scale.base]
              + ([r.scale.update] if r.scale.update else []) if r.scale else []) + r.rollouts
    return 1 if any(p.timed_out for p in phases) else 0


if __name__ == "__main__":
    sys.exit(main())
