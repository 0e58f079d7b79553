"""How ``bench/cloneset.py`` records a run in ``docs/benchmarks.md``.

The file is shared by several benchmarks, each owning one top-level section; this one's is
"CloneSet benchmarks", made (with the method, the profile and the floors) the first time a
run is recorded.  A new entry goes after this benchmark's last entry (its heading names
CloneSet), not at the end of the file: other scripts append their own sections there.
"""

from __future__ import annotations

import datetime
import io
import re
from pathlib import Path

from bench.cloneset_report import (
    TARGET_RATIO,
    TARGET_WRITES_PER_POD,
    Results,
    floor_lines,
    profile_top,
    rollout_table,
    scale_table,
)
from bench.cloneset_work import PROFILE, describe, in_place_floor, recreate_floor

SECTION = "# CloneSet benchmarks"


def intro() -> str:
    inplace, recreate = in_place_floor(PROFILE, 1000, 20), recreate_floor(PROFILE, 1000, 20)
    return f"""{SECTION}

`bench/cloneset.py` (issue #5) runs the embedded control plane built as `mizzen up` builds
it — the API server in a process of its own (`--processes 1`: in the benchmark's), and in the
benchmark's process the CRDs, webhook server, the simulated nodes, kubelets and scheduler, the
ReplicaSet, Deployment and CloneSet controllers — with every writer on its own client (own
user agent, field manager and request counters), so each write is charged to the component
that sent it. A separate client changes a workload's image and watches the pods and the
workload for the milestones; CPU is both processes', memory their peak RSS summed. `make
bench` runs it full size; `--quick` (1,000 pods for (1), 200 per rollout, latencies ÷ 4) is for
iterating; `--parts scale|rollouts` runs one part. The module docstrings give the method,
`--help` the options.

**(1) In place at scale**, zero latency: a CloneSet of 10,000 pods (`InPlaceIfPossible`,
maxUnavailable 20%, maxSurge 0) is created and settled, then its image is changed; timed from
that patch to every pod running the new image and Ready with the CloneSet's status saying so.
Targets: ≤ 60 s and ≤ {TARGET_WRITES_PER_POD:g} API writes per pod, every writer together (node
Lease renewals aside; Events a recorder dropped counted as written), judged on the writes to the
pods; the rollout's own writes (the CloneSet's status as counts change, its new revision: a
handful, whatever the size) are shown beside them. Baseline, in the same
run: a fresh control plane without the CloneSet controller, 10,000 bare pods, each pod's image
patched by the benchmark itself (32 in flight) — the in-place restart with no controller.

**(2) Rollouts under a latency profile**: in one control plane, one after another, a
Deployment (RollingUpdate), a CloneSet `InPlaceIfPossible` and a CloneSet `ReCreate`, each of
1,000 pods with maxUnavailable 20% (200) and maxSurge 0, i.e. 5 batches; each is timed from the
image change to every pod on the new image and Ready and the workload's status saying so.

The profile (`bench/cloneset_work.py`, `PROFILE`): {describe(PROFILE)}. With
`IfNotPresent` only the first pod of a tag on a node would pay a pull, so later batches would
cost less and the floor would depend on where pods landed; `Always` makes every container start
pay the layer-reusing pull, as every node already holds the repository's layers. A full pull is
paid only by the very first pods of the run, before anything is measured.

The floor is the least time the profile allows: the batches run one after another, each
waiting for its pods to be Ready, and a batch takes at least what one pod's path takes:

- in place: batches × (pull reusing layers + start) — {inplace.formula()};
- re-create (CloneSet `ReCreate` and the Deployment): batches × (⌈200 / 32⌉ × schedule +
  sandbox + pull reusing layers + start) — {recreate.formula()}. The scheduler
  keeps 32 bindings in flight, so 200 pods need 7 rounds of the scheduling latency. The old
  pod's stop is *not* in the floor: both controllers count a pod as gone once it is marked for
  deletion and create its replacement at once (no PVCs here, so no instance id waits for its
  old pod), while the old container stops in parallel.

Target: measured ÷ floor ≤ {TARGET_RATIO:g} for both CloneSet rollouts; the Deployment is the
baseline measured in the same run.
"""


def _after_our_last_entry(text: str) -> int:
    start = text.index(SECTION)
    heads = [m.start() for m in re.finditer(r"^#{1,2} ", text, re.M) if m.start() > start]
    ours = [h for h in heads if "CloneSet" in text[h:text.find("\n", h)]]
    after = ours[-1] if ours else start
    nxt = [h for h in heads if h > after]
    return nxt[0] if nxt else len(text)


def entry(r: Results, when: datetime.datetime) -> str:
    s, m = r.s, r.machine
    out = io.StringIO()
    what = []
    if r.scale is not None:
        what.append(f"{s.scale_pods:,} pods in place")
    if r.rollouts:
        what.append(f"{s.rollout_pods:,}-pod rollouts")
    out.write(f"\n## {when:%Y-%m-%d %H:%M} UTC — CloneSet: {', '.join(what)}, {m['CPU']}, "
              f"{m['Cores']} cores{' (quick run)' if s.quick else ''}\n\n")
    out.write(f"- Machine: {m['CPU']}, {m['Cores']} cores, {m['Memory']}, {m['Python']}, "
              f"{m['Platform']}; commit {m.get('Commit', 'unknown')}\n")
    collector = "as mizzen up tunes it" if s.gc == "up" else "at CPython's defaults"
    out.write(f"- Run: `{s.command}`; SQLite `synchronous={s.sync}`; "
              f"{m.get('Loop', '?')} event loop, cyclic GC {collector}; processes "
              f"{m.get('Processes', '?')}\n")
    if r.scale is not None:
        sc = r.scale
        out.write(f"\n**(1) In place at scale** ({s.scale_nodes} nodes, zero latency)\n\n")
        out.write(scale_table(sc) + "\n\n")
        for phase in (sc.update or sc.setup, sc.base):
            out.write(f"- {phase.name}: " + "; ".join(phase.lines()) + "\n")
        out.write(f"- CloneSet controller passes by step, whole run: {sc.passes}\n")
    if r.rollouts:
        scale = f" × {s.latency_factor:g}" if s.latency_factor != 1 else ""
        out.write(f"\n**(2) Rollouts under the profile{scale}** ({s.rollout_nodes} nodes; "
                  f"{describe(s.latency)})\n\n")
        out.write(rollout_table(r.rollouts, s.percent) + "\n\n")
        for line in floor_lines(r.rollouts):
            out.write(f"- {line}\n")
        for phase in r.rollouts:
            out.write(f"- {phase.name}: " + "; ".join(phase.lines())
                      + (f"; {phase.extra}" if phase.extra else "") + "\n")
    out.write(f"- Warnings logged, by logger: {r.warnings or 'none'}\n")
    if s.profile is not None and r.scale is not None and s.profile.exists():
        out.write("\n<details><summary>cProfile of the in-place update, top 20 by own time"
                  "</summary>\n\n```\n" + profile_top(s.profile, "tottime", 20)
                  + "\n```\n</details>\n")
    return out.getvalue()


def record(r: Results, path: Path, when: datetime.datetime) -> None:
    """Add this run at the end of this benchmark's section (made if missing)."""
    text = path.read_text(encoding="utf-8") if path.exists() else \
        "# Benchmarks\n\nResults of the benchmarks in `bench/`, newest last in each section.\n"
    if SECTION not in text:
        text = text.rstrip("\n") + "\n\n" + intro()
    at = _after_our_last_entry(text)
    text = text[:at].rstrip("\n") + "\n" + entry(r, when) + "\n" + text[at:].lstrip("\n")
    path.write_text(text, encoding="utf-8")
