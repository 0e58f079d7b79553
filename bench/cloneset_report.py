"""Results of ``bench/cloneset.py``: what was measured, how it is printed and recorded.

Kept apart from the driver so that ``cloneset.py`` reads as the method.  Every figure a
table shows comes from a :class:`Measured` phase; the targets are issue #5's.
"""

from __future__ import annotations

import io
import pstats
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cloneset_plane import WRITERS, Counts
from bench.cloneset_work import Floor
from bench.cluster_probe import RequestKey, is_write
from mizzen.cluster.config import LatencyProfile

TARGET_SECONDS = 60.0  # in-place update of 10,000 pods, scaled linearly for other counts
TARGET_WRITES_PER_POD = 5.0
TARGET_RATIO = 1.2  # a CloneSet rollout under the profile, against its floor
REFERENCE_PODS = 10_000
BUSY = 0.2  # cores other processes may use before a figure is flagged


@dataclass(frozen=True)
class Settings:
    """The run, as the command line asked for it."""

    parts: tuple[str, ...]  # "inplace" (10,000 pods, zero latency), "profile" (rollouts)
    scale_pods: int  # pods of the in-place run at scale
    scale_nodes: int
    rollout_pods: int  # pods of each rollout under the profile
    rollout_nodes: int
    percent: int  # maxUnavailable, percent of replicas
    latency: LatencyProfile
    latency_factor: float  # the profile's latencies times this (--quick: 0.25)
    sync: str
    concurrency: int  # the benchmark client's requests in flight (bare-pod baseline)
    timeout: float
    quick: bool
    record: bool
    profile: Path | None
    profile_timer: str
    docs: Path
    loop: str = "up"  # "up": the event loop mizzen up runs (uvloop); "asyncio"
    gc: str = "up"  # "up": the collector tuned as mizzen up tunes it; "default"
    processes: int = 2  # the API server in a process of its own (2), or in this one (1)

    @property
    def command(self) -> str:
        return (f"bench/cloneset.py --parts {','.join(self.parts)} --pods {self.scale_pods} "
                f"--rollout-pods {self.rollout_pods} --sync {self.sync}"
                + (" --quick" if self.quick else "")
                + (f" --gc {self.gc}" if self.gc != "up" else "")
                + (f" --loop {self.loop}" if self.loop != "up" else "")
                + (f" --processes {self.processes}" if self.processes != 2 else ""))


@dataclass
class Measured:
    """One measured phase: milestones, requests by writer, the process."""

    name: str
    pods: int
    marks: dict[str, float | None]  # seconds from the first request to each milestone
    figure_marks: tuple[str, ...]  # the marks whose latest is the phase's figure
    seconds: float  # to the last milestone
    cpu: float  # whole process, to the last milestone
    loop_cpu: float  # the event loop thread alone
    others: float | None  # CPU seconds other processes used meanwhile
    counts: dict[str, Counts]  # by writer, milestones + settle (client side, attempts)
    requests: Counter[RequestKey]  # server side, milestones + settle
    dropped_events: int
    max_unavailable: int  # most pods seen not Ready (or gone) at once
    max_rss: float
    settle: float
    timed_out: bool
    floor: Floor | None = None
    done_pods: int = 0  # pods done (the milestone's sense) when the phase ended
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def figure(self) -> float | None:
        values = [self.marks.get(k) for k in self.figure_marks]
        return None if any(v is None for v in values) else max(v or 0.0 for v in values)

    @property
    def ratio(self) -> float | None:
        f = self.figure
        return None if f is None or self.floor is None else f / self.floor.seconds

    def writes(self, writer: str | None = None) -> int:
        """API writes (Lease renewals aside): one writer's, or the server's total."""
        if writer is None:
            return sum(n for (verb, res, _, _), n in self.requests.items()
                       if is_write(verb) and res != "leases")
        return sum(n for (verb, res), n in self.counts.get(writer, {}).items()
                   if is_write(verb) and res != "leases")

    def per_pod(self, writer: str | None = None) -> float:
        return self.writes(writer) / max(self.pods, 1)

    def pod_writes(self) -> int:
        """API writes to pods (the object and its status), every writer."""
        return sum(n for (verb, res, _, _), n in self.requests.items()
                   if is_write(verb) and res == "pods")

    @property
    def intended_per_pod(self) -> float:
        """All writes per pod had no recorder dropped an Event."""
        return (self.writes() + self.dropped_events) / max(self.pods, 1)

    def errors(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for (verb, res, sub, code), n in self.requests.items():
            if not code.startswith("2"):
                out[f"{code} {verb} {res}{'/' + sub if sub else ''}"] += n
        return dict(out)

    def by_writer(self) -> str:
        """``cloneset 1.00 (patch pods 1.00), kubelet 2.00 (...)`` per pod, writers that
        wrote."""
        parts = []
        for w in WRITERS:
            items = sorted(((k, n) for k, n in self.counts.get(w, {}).items()
                            if is_write(k[0]) and k[1] != "leases"), key=lambda kv: -kv[1])
            if items:
                detail = ", ".join(f"{v} {r} {n / self.pods:.2f}" for (v, r), n in items)
                parts.append(f"{w} {self.per_pod(w):.2f} ({detail})")
        return "; ".join(parts) or "none"

    def busy(self) -> str:
        if self.others is None:
            return "other processes: unknown"
        cores = self.others / max(self.seconds, 1e-9)
        flag = " — OTHER PROCESSES WERE BUSY" if cores > BUSY else ""
        return f"other processes {cores:.2f} cores{flag}"

    def lines(self) -> list[str]:
        marks = ", ".join(f"{k} {_s(v)}" for k, v in self.marks.items())
        cut = (f"TIMED OUT after {self.seconds:.0f} s with {self.done_pods:,} of "
               f"{self.pods:,} pods done; " if self.timed_out else "")
        return [
            f"{cut}milestones: {marks}; the most pods unavailable at once "
            f"{self.max_unavailable:,}",
            f"API writes {self.writes():,} ({self.per_pod():.2f}/pod, Leases aside; "
            f"{self.intended_per_pod:.2f} with the {self.dropped_events:,} Events the "
            f"recorders dropped); non-2xx {self.errors() or 'none'}",
            "by writer, per pod: " + self.by_writer(),
            f"CPU {self.cpu:.1f} s ({self.cpu / max(self.seconds, 1e-9):.2f} cores, "
            f"{self.cpu / max(self.pods, 1) * 1e3:.2f} ms/pod; event loop thread "
            f"{self.loop_cpu:.1f} s); {self.busy()}; peak RSS so far {self.max_rss:,.0f} MiB; "
            f"writes stopped {self.settle:.1f} s after the last milestone",
        ]


@dataclass
class ScaleRun:
    """Part (1): the in-place update at scale, and its baseline."""

    setup: Measured  # the CloneSet created, to every pod Ready (not a target)
    update: Measured | None  # None: the setup timed out
    base_setup: Measured
    base: Measured  # the bench patches every bare pod's image itself
    nodes_ready: float
    start_rss: float
    idle_rss: float
    peak_rss: float  # after the update: the baseline runs later, in a fresh plane
    passes: dict[str, int]


@dataclass
class Results:
    s: Settings
    machine: dict[str, str]
    scale: ScaleRun | None = None
    rollouts: list[Measured] = field(default_factory=list)
    warnings: dict[str, int] = field(default_factory=dict)


def _s(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f} s"


def _x(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}×"


def _verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def _table(rows: list[tuple[str, ...]]) -> str:
    out = io.StringIO()
    for i, row in enumerate(rows):
        out.write("| " + " | ".join(row) + " |\n")
        if i == 0:
            out.write("|" + "---|" * len(row) + "\n")
    return out.getvalue().rstrip("\n")


def scale_table(r: ScaleRun) -> str:
    b = r.base
    if r.update is None:
        st = r.setup
        return _table([
            ("Figure", "CloneSet", "Baseline: bare pods, image patched by the bench"),
            (f"{st.pods:,} pods updated in place", "not measured: creating the CloneSet timed "
             f"out after {st.seconds:.0f} s with {st.done_pods:,} pods Ready", _s(b.figure)),
            ("Creating the pods: CPU, writes per pod so far",
             f"{st.cpu:.1f} s, {st.intended_per_pod:.2f}",
             f"{r.base_setup.cpu:.1f} s, {r.base_setup.intended_per_pod:.2f}"),
            ("Peak memory of the control plane (RSS, its processes summed)",
             f"{r.peak_rss:,.0f} MiB", ""),
        ])
    u = r.update
    n = u.pods
    target = TARGET_SECONDS * n / REFERENCE_PODS
    fig, base = u.figure, b.figure
    rows: list[tuple[str, ...]] = [
        ("Figure", "CloneSet", "Baseline: bare pods, image patched by the bench", "Target",
         "Result"),
        (f"{n:,} pods updated in place (image patch → every pod runs the new image, Ready, "
         f"and the status says so)",
         f"not reached: TIMED OUT after {u.seconds:.0f} s with {u.done_pods:,} pods done"
         if u.timed_out else _s(fig),
         _s(base) + (f" (CloneSet ÷ baseline {fig / base:.1f}×)" if fig and base else ""),
         f"≤ {target:.0f} s", _verdict(fig is not None and fig <= target)),
        ("API writes per pod, every writer (Leases aside; dropped Events counted)",
         f"{u.intended_per_pod:.2f}" + (" per pod of all, with the update unfinished"
                                        if u.timed_out else ""),
         f"{b.intended_per_pod:.2f}", f"≤ {TARGET_WRITES_PER_POD:.0f}",
         "n/a (timed out)" if u.timed_out
         else _verdict(u.pod_writes() / max(n, 1) <= TARGET_WRITES_PER_POD)),
        ("— of which to the pods (pods, pods/status) / to anything else, in all",
         f"{u.pod_writes() / max(n, 1):.3f} per pod / {u.writes() - u.pod_writes():,}",
         f"{b.pod_writes() / max(b.pods, 1):.3f} per pod / {b.writes() - b.pod_writes():,}",
         "", ""),
        ("— by the CloneSet controller / the bench", f"{u.per_pod('cloneset'):.2f}",
         f"{b.per_pod('bench'):.2f}", "", ""),
        ("— by the kubelet", f"{u.per_pod('kubelet'):.2f}", f"{b.per_pod('kubelet'):.2f}",
         "", ""),
        ("— by the scheduler, ReplicaSet, Deployment controllers",
         f"{sum(u.per_pod(w) for w in ('scheduler', 'replicaset', 'deployment')):.2f}",
         f"{sum(b.per_pod(w) for w in ('scheduler', 'replicaset', 'deployment')):.2f}", "", ""),
        ("Control plane CPU (its processes)", f"{u.cpu:.1f} s ({u.cpu / n * 1e3:.2f} ms/pod)",
         f"{b.cpu:.1f} s ({b.cpu / n * 1e3:.2f} ms/pod)", "", ""),
        ("Peak memory of the control plane (RSS, its processes summed)",
         f"{r.peak_rss:,.0f} MiB", "", "", ""),
        ("— RSS at start / control plane idle", f"{r.start_rss:,.0f} / {r.idle_rss:,.0f} MiB",
         "", "", ""),
        ("Most pods unavailable at once", f"{u.max_unavailable:,}", f"{b.max_unavailable:,}",
         "", ""),
        ("Other processes' CPU on the machine", _cores(u), _cores(b), "", ""),
        ("Creating the pods (not a target)", _s(r.setup.figure), _s(r.base_setup.figure), "",
         ""),
    ]
    return _table(rows)


def _cores(m: Measured) -> str:
    return "?" if m.others is None else f"{m.others / max(m.seconds, 1e-9):.2f} cores"


def rollout_table(rollouts: list[Measured], percent: int) -> str:
    rows: list[tuple[str, ...]] = [
        (f"Rollout, maxUnavailable {percent}%, maxSurge 0", "Measured", "Floor",
         "Measured ÷ floor", "Target", "Result")]
    for m in rollouts:
        cloneset = m.name.startswith("CloneSet")
        ratio = m.ratio
        rows.append((f"{m.name}, {m.pods:,} pods", _s(m.figure),
                     f"{m.floor.seconds:.1f} s" if m.floor else "—", _x(ratio),
                     f"≤ {TARGET_RATIO:g}×" if cloneset else "— (baseline)",
                     _verdict(ratio is not None and ratio <= TARGET_RATIO) if cloneset else ""))
    for m in rollouts:
        rows.append((f"— {m.name}: writes per pod (controllers / kubelet / all); most "
                     f"unavailable; CPU", f"{_controllers(m):.2f} / {m.per_pod('kubelet'):.2f}"
                     f" / {m.intended_per_pod:.2f}; {m.max_unavailable:,}; {m.cpu:.1f} s",
                     "", "", "", ""))
    return _table(rows)


def _controllers(m: Measured) -> float:
    return sum(m.per_pod(w) for w in ("cloneset", "replicaset", "deployment", "scheduler"))


def floor_lines(rollouts: list[Measured]) -> list[str]:
    return [f"floor of {m.name}: {m.floor.formula()}" for m in rollouts if m.floor]


def print_results(r: Results) -> None:
    m = r.machine
    print(f"\n== {m['CPU']}, {m['Cores']} cores, {m['Python']}, commit "
          f"{m.get('Commit', 'unknown')}, SQLite synchronous={r.s.sync}, "
          f"{m.get('Loop', '?')} loop, --gc {r.s.gc}; processes {m.get('Processes', '?')}")
    if r.scale is not None:
        sc = r.scale
        print(f"\n(1) in-place update at scale; nodes Ready in {sc.nodes_ready:.1f} s; "
              f"CloneSet controller passes {sc.passes}")
        for phase in (sc.setup, sc.update, sc.base_setup, sc.base):
            if phase is None:
                continue
            print(f"\n{phase.name}{' (TIMED OUT)' if phase.timed_out else ''}:")
            for line in phase.lines():
                print("  " + line)
        print("\n" + scale_table(sc))
    if r.rollouts:
        print("\n(2) rollouts under the latency profile")
        for phase in r.rollouts:
            print(f"\n{phase.name}{' (TIMED OUT)' if phase.timed_out else ''}:")
            for line in phase.lines():
                print("  " + line)
            if phase.extra:
                print(f"  internals: {phase.extra}")
        for line in floor_lines(r.rollouts):
            print(line)
        print("\n" + rollout_table(r.rollouts, r.s.percent))
    if r.warnings:
        print(f"\nwarnings logged, by logger: {r.warnings}")


def profile_top(path: Path, key: str, top: int) -> str:
    out = io.StringIO()
    pstats.Stats(str(path), stream=out).strip_dirs().sort_stats(key).print_stats(top)
    body = out.getvalue()
    return body[body.find("   ncalls"):].rstrip()
