"""Results of ``bench/cluster.py``: what was measured, printed and recorded."""

from __future__ import annotations

import datetime
import io
import pstats
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cluster_probe import RequestKey, is_write

# Targets from the issue; kwok's CI deletes 10,000 pods in 90 s.
TARGET_READY_S = 60.0  # for 10,000 pods, scaled linearly for other counts
TARGET_DELETE_S = 90.0
TARGET_WRITES_PER_POD = 6.0
TARGET_PEAK_MIB = 500.0
REFERENCE_PODS = 10_000

SECTION = "# Simulated cluster benchmarks"
INTRO = f"""{SECTION}

`bench/cluster.py` runs the whole embedded control plane in its own process, as `mizzen up`
does (API server on a temporary SQLite database, manager with the simulated nodes, kubelets,
scheduler and ReplicaSet controller, zero latency), creates N pods through ReplicaSets from a
separate client, waits on a watch for all of them to be Running and Ready, then deletes the
ReplicaSets (background propagation) and waits for the last pod to go. Requests come from the
server's own `apiserver_request_total`; memory is the process's peak RSS; the baseline is N
plain pod creates (and deletes) through the API with no controllers, in the same process. The
module docstring gives the method; `--help` the options.
"""


@dataclass(frozen=True)
class Settings:
    pods: int
    shape: str
    nodes: int
    sync: str
    concurrency: int
    timeout: float
    quick: bool
    record: bool
    profile: Path | None
    profile_timer: str
    docs: Path
    gc: str = "up"
    loop: str = "up"
    processes: int = 2  # the API server in a process of its own (2), or in this one (1)

    @property
    def shape_text(self) -> str:
        return (f"1 ReplicaSet × {self.pods:,}" if self.shape == "one"
                else f"{self.pods // 10:,} ReplicaSets × 10")

    @property
    def command(self) -> str:
        return (f"bench/cluster.py --pods {self.pods} --shape {self.shape} --nodes {self.nodes}"
                f" --sync {self.sync}" + (f" --gc {self.gc}" if self.gc != "up" else "")
                + (f" --loop {self.loop}" if self.loop != "up" else "")
                + (f" --processes {self.processes}" if self.processes != 2 else ""))


@dataclass
class Phase:
    name: str
    seconds: float  # to the last milestone
    submitted: float  # the benchmark's own creates/deletes answered
    marks: dict[str, float | None]
    cpu: float  # whole process, to the last milestone
    loop_cpu: float  # the event loop thread alone
    settle: float  # after the milestone, until API writes stopped
    requests: Counter[RequestKey]  # server side, milestone + settle
    commits: int
    committed: int
    controllers: dict[tuple[str, str], int]
    bench: dict[tuple[str, str], int]
    max_rss: float
    rss: float
    timed_out: bool
    others: float | None  # CPU seconds other processes on the machine used meanwhile
    dropped_events: int  # Events the recorders dropped (queue full): writes not sent
    gc_seconds: float = 0.0  # in the cyclic collector, to the last milestone
    gc_collections: tuple[int, ...] = (0, 0, 0)  # by generation

    def writes(self, leases: bool = False) -> int:
        return sum(n for (verb, res, _, _), n in self.requests.items()
                   if is_write(verb) and (res == "leases") == leases)

    def reads(self) -> int:
        return sum(n for (verb, _, _, _), n in self.requests.items() if verb in ("get", "list"))

    def errors(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for (verb, res, sub, code), n in self.requests.items():
            if not code.startswith("2"):
                out[f"{code} {verb} {res}{'/' + sub if sub else ''}"] += n
        return dict(out)


@dataclass(frozen=True)
class Baseline:
    create_s: float
    create_cpu: float
    delete_s: float
    delete_cpu: float
    others: float | None


@dataclass
class Results:
    s: Settings
    machine: dict[str, str]
    nodes_ready: float
    start_rss: float
    idle_rss: float
    peak_rss: float
    create: Phase
    delete: Phase
    base: Baseline
    extra: dict[str, Any]
    warnings: dict[str, int] = field(default_factory=dict)

    @property
    def writes_per_pod(self) -> float:
        return (self.create.writes() + self.delete.writes()) / self.s.pods

    @property
    def dropped(self) -> int:
        return self.create.dropped_events + self.delete.dropped_events

    @property
    def intended_writes_per_pod(self) -> float:
        """Writes per pod had the event recorders not dropped any Event."""
        return self.writes_per_pod + self.dropped / self.s.pods

    def targets(self) -> tuple[float, float]:
        scale = self.s.pods / REFERENCE_PODS
        return TARGET_READY_S * scale, TARGET_DELETE_S * scale


def _s(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f} s"


def phase_lines(p: Phase, n: int) -> list[str]:
    marks = ", ".join(f"{k} {_s(v)}" for k, v in p.marks.items())
    pods = p.marks.get("ready") or p.marks.get("gone")
    lines = [f"milestones (from the first request): {marks}; the benchmark's own requests "
             f"answered at {p.submitted:.1f} s",
             f"throughput {n / pods:,.0f} pods/s" if pods else "throughput: not reached",
             f"API writes {p.writes():,} ({p.writes() / n:.2f}/pod) + {p.writes(True):,} Lease "
             f"renewals; reads (get/list) {p.reads():,} ({p.reads() / n:.2f}/pod); "
             f"non-2xx {p.errors() or 'none'}; Events dropped by the recorders "
             f"{p.dropped_events:,}",
             "  by the controllers' client: " + _by_verb(p.controllers, n),
             "  by the benchmark's client: " + _by_verb(p.bench, n),
             f"storage: {p.commits:,} commits, {p.committed:,} object writes "
             f"({p.committed / n:.2f}/pod, {p.committed / max(p.commits, 1):.1f}/commit; "
             f"internal GC writes included)",
             f"CPU {p.cpu:.1f} s ({p.cpu / max(p.seconds, 1e-9):.2f} cores; "
             f"{p.cpu / n * 1e3:.2f} ms/pod): event loop thread {p.loop_cpu:.1f} s, other "
             f"threads {p.cpu - p.loop_cpu:.1f} s; cyclic GC {p.gc_seconds:.1f} s "
             f"({'/'.join(str(n) for n in p.gc_collections)} collections of generations "
             f"0/1/2); {_others(p.others, p.seconds)}",
             f"RSS {p.rss:,.0f} MiB at the end, peak so far {p.max_rss:,.0f} MiB; writes "
             f"stopped {p.settle:.1f} s after the milestone"]
    return lines


BUSY = 0.2  # cores other processes may use before a figure is flagged


def _others(cpu: float | None, seconds: float) -> str:
    if cpu is None:
        return "other processes: unknown"
    cores = cpu / max(seconds, 1e-9)
    flag = " — OTHER PROCESSES WERE BUSY, figures are pessimistic" if cores > BUSY else ""
    return f"other processes on the machine {cores:.2f} cores{flag}"


def _t(seconds: float) -> str:
    return f"{seconds:.0f}" if seconds >= 10 else f"{seconds:.1f}"


def _cores(cpu: float | None, seconds: float) -> str:
    return "?" if cpu is None else f"{cpu / max(seconds, 1e-9):.2f}"


def _by_verb(counts: dict[tuple[str, str], int], n: int) -> str:
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{verb} {res} {c:,} ({c / n:.2f})" for (verb, res), c in items) or "none"


def results_table(r: Results) -> str:
    s, c, d, b = r.s, r.create, r.delete, r.base
    ready_t, delete_t = r.targets()
    ready, gone = c.marks.get("ready"), d.marks.get("gone")

    def verdict(ok: bool) -> str:
        return "pass" if ok else "**FAIL**"

    rows = [
        ("Figure", "Measured", "Target", "Result"),
        (f"{s.pods:,} pods Running and Ready ({s.shape_text})", _s(ready),
         f"≤ {_t(ready_t)} s", verdict(ready is not None and ready <= ready_t)),
        (f"{s.pods:,} pods deleted (ReplicaSets deleted, background)", _s(gone),
         f"≤ {_t(delete_t)} s (kwok CI)", verdict(gone is not None and gone <= delete_t)),
        ("API writes per pod, create + delete (Leases aside; dropped Events counted)",
         f"{r.intended_writes_per_pod:.2f}", f"≤ {TARGET_WRITES_PER_POD:.0f}",
         verdict(r.intended_writes_per_pod <= TARGET_WRITES_PER_POD)),
        ("— API writes per pod as sent / Events dropped (recorder queue full)",
         f"{r.writes_per_pod:.2f} / {r.dropped:,}", "", ""),
        ("Peak memory of the control plane (RSS, its processes summed)", f"{r.peak_rss:,.0f} MiB",
         f"≤ {TARGET_PEAK_MIB:.0f} MiB", verdict(r.peak_rss <= TARGET_PEAK_MIB)),
        ("— writes per pod: create / delete", f"{c.writes() / s.pods:.2f} / "
         f"{d.writes() / s.pods:.2f}", "", ""),
        ("— reads (get, list) per pod: create / delete", f"{c.reads() / s.pods:.3f} / "
         f"{d.reads() / s.pods:.3f}", "", ""),
        ("— pods/s to Ready / to gone", (f"{s.pods / ready:,.0f}" if ready else "—") + " / "
         + (f"{s.pods / gone:,.0f}" if gone else "—"), "", ""),
        ("— control plane CPU: create / delete", f"{c.cpu:.1f} s / {d.cpu:.1f} s "
         f"({c.cpu / s.pods * 1e3:.2f} / {d.cpu / s.pods * 1e3:.2f} ms/pod)", "", ""),
        ("— of which in the cyclic GC: create / delete", f"{c.gc_seconds:.1f} s / "
         f"{d.gc_seconds:.1f} s (--gc {s.gc})", "", ""),
        ("— baseline: plain pod creates / deletes, no controllers",
         f"{s.pods / b.create_s:,.0f} / {s.pods / b.delete_s:,.0f} per s "
         f"({b.create_cpu / s.pods * 1e3:.2f} / {b.delete_cpu / s.pods * 1e3:.2f} ms CPU each)",
         "", ""),
        ("— end to end ÷ baseline: create / delete",
         (f"{ready / b.create_s:.1f}× / " if ready else "— / ")
         + (f"{gone / b.delete_s:.1f}×" if gone else "—"), "", ""),
        ("— other processes' CPU on the machine: create / delete / baseline",
         " / ".join(_cores(x, y) for x, y in ((c.others, c.seconds), (d.others, d.seconds),
                                             (b.others, b.create_s + b.delete_s)))
         + " cores", "", ""),
        ("— RSS: at start / control plane idle / peak", f"{r.start_rss:,.0f} / "
         f"{r.idle_rss:,.0f} / {r.peak_rss:,.0f} MiB", "", ""),
    ]
    out = io.StringIO()
    for i, row in enumerate(rows):
        out.write("| " + " | ".join(row) + " |\n")
        if i == 0:
            out.write("|---|---|---|---|\n")
    return out.getvalue().rstrip("\n")


def print_results(r: Results) -> None:
    s = r.s
    print(f"\n== {s.pods:,} pods, {s.shape_text}, {s.nodes} nodes, SQLite synchronous={s.sync}, "
          f"{r.machine['CPU']}, {r.machine['Cores']} cores, {r.machine['Python']}, "
          f"{r.machine.get('Loop', '?')} loop, commit "
          f"{r.machine.get('Commit', 'unknown')}; processes {r.machine.get('Processes', '?')}")
    print(f"nodes Ready in {r.nodes_ready:.1f} s; RSS at start {r.start_rss:,.0f} MiB, "
          f"control plane idle {r.idle_rss:,.0f} MiB, peak {r.peak_rss:,.0f} MiB")
    for p in (r.create, r.delete):
        print(f"\n{p.name}{' (TIMED OUT)' if p.timed_out else ''}:")
        for line in phase_lines(p, s.pods):
            print("  " + line)
    b = r.base
    print(f"\nbaseline (fresh server, no controllers, {s.concurrency} in flight): "
          f"{s.pods:,} creates in {b.create_s:.1f} s ({s.pods / b.create_s:,.0f}/s, "
          f"{b.create_cpu:.1f} s CPU), {s.pods:,} deletes in {b.delete_s:.1f} s "
          f"({s.pods / b.delete_s:,.0f}/s, {b.delete_cpu:.1f} s CPU); "
          f"{_others(b.others, b.create_s + b.delete_s)}")
    print("\ninternals:")
    for k, v in r.extra.items():
        print(f"  {k}: {v}")
    if r.warnings:
        print(f"  warnings logged: {r.warnings}")
    print("\n" + results_table(r))


def print_profile(path: Path, top: int = 25) -> None:
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(str(path), stream=out)
        stats.strip_dirs().sort_stats(key).print_stats(top)
        print(f"\n== profile, top {top} by {key} ==")
        body = out.getvalue()
        print(body[body.find("   ncalls"):].rstrip())


def _after_our_last_entry(text: str) -> int:
    """Where the next entry goes: after this script's last entry (its heading names
    ReplicaSets), or after the section's intro; other scripts append to the same file, so
    neither "the end of the file" nor "the next heading" is reliably ours."""
    start = text.index(SECTION)
    heads = [m.start() for m in re.finditer(r"^#{1,2} ", text, re.M) if m.start() > start]
    ours = [h for h in heads if "ReplicaSet" in text[h:text.find("\n", h)]]
    after = ours[-1] if ours else start
    nxt = [h for h in heads if h > after]
    return nxt[0] if nxt else len(text)


def record(r: Results, path: Path, when: datetime.datetime) -> None:
    """Add this run at the end of this benchmark's section (made if missing)."""
    s, m = r.s, r.machine
    entry = io.StringIO()
    entry.write(f"\n## {when:%Y-%m-%d %H:%M} UTC — {s.pods:,} pods, {s.shape_text}, "
                f"{m['CPU']}, {m['Cores']} cores{' (quick run)' if s.quick else ''}\n\n")
    entry.write(f"- Machine: {m['CPU']}, {m['Cores']} cores, {m['Memory']}, {m['Python']}, "
                f"{m['Platform']}; commit {m.get('Commit', 'unknown')}\n")
    entry.write(f"- Run: `{s.command}`; SQLite `synchronous={s.sync}`; zero latency "
                f"profile; {s.nodes} nodes; {m.get('Loop', '?')} event loop; processes "
                f"{m.get('Processes', '?')}\n\n")
    entry.write(results_table(r) + "\n\n")
    for p in (r.create, r.delete):
        entry.write(f"- {p.name}: " + "; ".join(phase_lines(p, s.pods)[:3]).replace(
            "\n", " ") + "\n")
        entry.write("  - " + phase_lines(p, s.pods)[3].strip() + "\n")
    passes = r.extra.get("replicaset passes")
    entry.write(f"- ReplicaSet controller passes by step: {passes}; warnings logged by logger: "
                f"{r.warnings or 'none'}\n")
    text = path.read_text(encoding="utf-8") if path.exists() else \
        "# Benchmarks\n\nResults of the benchmarks in `bench/`, newest last in each section.\n"
    if SECTION not in text:
        text = text.rstrip("\n") + "\n\n" + INTRO
    at = _after_our_last_entry(text)
    text = text[:at].rstrip("\n") + "\n" + entry.getvalue() + "\n" + text[at:].lstrip("\n")
    path.write_text(text, encoding="utf-8")
