"""The ReplicaSet planner as tables: each case is one step of a scenario, named so.

Pods are plain dicts built by :func:`p`; time is fixed at ``NOW`` so readiness
ages and ``minReadySeconds`` are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mizzen.cluster.replicaset.plan import Observed, ReplicaSetPlan, plan, slow_start_batches
from mizzen.cluster.replicaset.ranking import deletion_order
from mizzen.cluster.replicaset.status import Failure

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
RS_UID = "rs-uid"
LABELS = {"app": "web"}


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def rs(replicas: int = 3, *, min_ready: int = 0, generation: int = 1, status: Obj | None = None,
       deleting: bool = False, owner: str | None = None) -> Obj:
    meta: Obj = {"name": "web", "namespace": "default", "uid": RS_UID, "generation": generation}
    if deleting:
        meta["deletionTimestamp"] = stamp(0)
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "d",
                                    "uid": owner, "controller": True}]
    spec: Obj = {"replicas": replicas, "selector": {"matchLabels": LABELS},
                 "template": {"metadata": {"labels": {**LABELS, "tier": "front"}}}}
    if min_ready:
        spec["minReadySeconds"] = min_ready
    return {"metadata": meta, "spec": spec, "status": status or {}}


def p(name: str, *, owner: str | None = RS_UID, labels: Obj | None = None, node: str = "",
      phase: str = "Pending", ready_for: float | None = None, created_ago: float = 600,
      restarts: int = 0, cost: int | None = None, deleting: bool = False) -> Obj:
    meta: Obj = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                 "labels": labels if labels is not None else {**LABELS, "tier": "front"},
                 "creationTimestamp": stamp(created_ago)}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                    "name": "web", "uid": owner, "controller": True}]
    if cost is not None:
        meta["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    if deleting:
        meta["deletionTimestamp"] = stamp(0)
    status: Obj = {"phase": phase,
                   "containerStatuses": [{"name": "app", "restartCount": restarts}]}
    if ready_for is not None:
        status["conditions"] = [{"type": "Ready", "status": "True",
                                 "lastTransitionTime": stamp(ready_for)}]
    return {"metadata": meta, "spec": {"nodeName": node}, "status": status}


def running(name: str, ready_for: float = 600, **kw: Any) -> Obj:
    return p(name, node=kw.pop("node", "n1"), phase="Running", ready_for=ready_for, **kw)


@dataclass(frozen=True)
class Case:
    name: str
    rs: Obj
    pods: list[Obj]
    want: ReplicaSetPlan
    satisfied: bool = True
    failure: Failure | None = None
    related: tuple[Obj, ...] = ()


def _status(replicas: int, labelled: int | None = None, ready: int = 0, available: int = 0,
            generation: int = 1) -> Obj:
    out: Obj = {"replicas": replicas}
    if labelled if labelled is not None else replicas:
        out["fullyLabeledReplicas"] = labelled if labelled is not None else replicas
    if ready:
        out["readyReplicas"] = ready
    if available:
        out["availableReplicas"] = available
    out["observedGeneration"] = generation
    return out


SETTLED_3 = _status(3, ready=3, available=3)

CASES = [
    Case("new ReplicaSet of 3: creates 3 pods in slow-start batches 1, 2 (step 1/3)",
         rs(3), [], ReplicaSetPlan("create", create=(1, 2), counts=(0, 3))),
    Case("new ReplicaSet of 3: pods not all seen yet, wait (step 2/3)",
         rs(3), [p("a")], ReplicaSetPlan("wait", counts=(1, 3)), satisfied=False),
    Case("new ReplicaSet of 3: all seen, write replicas 3 (step 3/3)",
         rs(3), [p("a"), p("b"), p("c")],
         ReplicaSetPlan("status", status=_status(3), counts=(3, 3))),
    Case("scale 3 to 100: 97 creates in batches 1, 2, 4, 8, 16, 32, 34 (step 1/1)",
         rs(100, status=SETTLED_3), [running("a"), running("b"), running("c")],
         ReplicaSetPlan("create", create=(1, 2, 4, 8, 16, 32, 34), counts=(3, 100))),
    Case("scale 0 to 700: at most 500 per pass (burstReplicas) (step 1/2)",
         rs(700), [], ReplicaSetPlan("create", create=slow_start_batches(500), counts=(0, 700))),
    Case("orphan pod matching the selector: adopt it before counting (step 1/2)",
         rs(2), [p("orphan", owner=None), p("mine")],
         ReplicaSetPlan("claim", adopt=("orphan",))),
    Case("owned pod relabelled away: release it (step 1/2)",
         rs(2), [p("moved", labels={"app": "other"}), p("mine")],
         ReplicaSetPlan("claim", release=("moved",))),
    Case("pod owned by another controller: ignored, create a replacement",
         rs(1), [p("theirs", owner="someone-else")],
         ReplicaSetPlan("create", create=(1,), counts=(0, 1))),
    Case("ReplicaSet being deleted: neither adopts nor creates, only reports",
         rs(2, deleting=True), [p("orphan", owner=None)],
         ReplicaSetPlan("status", status=_status(0), counts=(0, 2))),
    Case("terminating and finished pods do not count: create replacements",
         rs(3, status=SETTLED_3),
         [running("a"), running("b", deleting=True), p("c", phase="Succeeded")],
         ReplicaSetPlan("create", create=(1, 1), counts=(1, 3))),
    Case("creates failed last pass: report ReplicaFailure first (step 1/2)",
         rs(2, status=_status(0)), [], ReplicaSetPlan("report", status={
             "replicas": 0, "observedGeneration": 1, "conditions": [{
                 "type": "ReplicaFailure", "status": "True",
                 "lastTransitionTime": stamp(0), "reason": "FailedCreate",
                 "message": "quota exceeded"}]}, fail_after=True, counts=(0, 2)),
         failure=Failure("FailedCreate", "quota exceeded")),
    Case("creates failed last pass, already reported: try again (step 2/2)",
         rs(2, status={"replicas": 0, "observedGeneration": 1, "conditions": [{
             "type": "ReplicaFailure", "status": "True", "lastTransitionTime": stamp(9),
             "reason": "FailedCreate", "message": "quota exceeded"}]}),
         [], ReplicaSetPlan("create", create=(1, 1), counts=(0, 2)),
         failure=Failure("FailedCreate", "quota exceeded")),
    Case("failure no longer relevant (scaled to what exists): forget it, drop the condition",
         rs(0, status={"replicas": 0, "observedGeneration": 1, "conditions": [{
             "type": "ReplicaFailure", "status": "True", "lastTransitionTime": stamp(9),
             "reason": "FailedCreate", "message": "quota exceeded"}]}),
         [], ReplicaSetPlan("status", status={"replicas": 0, "observedGeneration": 1},
                            forget_failure=True, counts=(0, 0)),
         failure=Failure("FailedCreate", "quota exceeded")),
    Case("minReadySeconds 30, pods ready for 10 s: ready 2, available 0, look again in 21 s",
         rs(2, min_ready=30), [running("a", ready_for=10), running("b", ready_for=10)],
         ReplicaSetPlan("status", status=_status(2, ready=2), requeue_after=21.0,
                        counts=(2, 2))),
    Case("minReadySeconds 30, pods ready for 31 s: both available",
         rs(2, min_ready=30, status=_status(2, ready=2)),
         [running("a", ready_for=31), running("b", ready_for=31)],
         ReplicaSetPlan("status", status=_status(2, ready=2, available=2), counts=(2, 2))),
    Case("pod missing a template label: counted, but not fully labelled",
         rs(1), [p("a", labels=dict(LABELS))],
         ReplicaSetPlan("status", status=_status(1, labelled=0), counts=(1, 1))),
    Case("steady state: nothing changed, no write",
         rs(3, status=SETTLED_3), [running("a"), running("b"), running("c")],
         ReplicaSetPlan("idle", counts=(3, 3))),
    Case("spec changed to the same size (generation 2): write observedGeneration only",
         rs(3, generation=2, status=SETTLED_3), [running("a"), running("b"), running("c")],
         ReplicaSetPlan("status", status=_status(3, ready=3, available=3, generation=2),
                        counts=(3, 3))),
    Case("scale 4 to 2: unassigned and pending pods go before running ready ones",
         rs(2, status=_status(4)),
         [running("r1"), p("pending-on-node", node="n1"), running("r2"), p("unassigned")],
         ReplicaSetPlan("delete", delete=("unassigned", "pending-on-node"), counts=(4, 2))),
    Case("scale 3 to 0: everything goes (no ranking needed)",
         rs(0, status=SETTLED_3), [running("a"), running("b"), running("c")],
         ReplicaSetPlan("delete", delete=("a", "b", "c"), counts=(3, 0))),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_plan(case: Case) -> None:
    observed = Observed(case.rs, case.pods, list(case.related), case.satisfied, case.failure,
                        NOW)
    assert plan(observed) == case.want


@pytest.mark.parametrize(("count", "batches"), [
    (0, ()), (1, (1,)), (3, (1, 2)), (7, (1, 2, 4)), (10, (1, 2, 4, 3)),
    (100, (1, 2, 4, 8, 16, 32, 37)),
])
def test_slow_start_batches_double_from_one(count: int, batches: tuple[int, ...]) -> None:
    assert slow_start_batches(count) == batches
    assert sum(batches) == count


RANK_CASES = [
    ("unassigned before assigned", [running("assigned"), p("unassigned")], ["unassigned"]),
    ("pending before unknown before running",
     [running("run"), p("unknown", node="n1", phase="Unknown"), p("pend", node="n1")],
     ["pend", "unknown", "run"]),
    ("not ready before ready",
     [running("ready"), p("not-ready", node="n1", phase="Running")], ["not-ready"]),
    ("lower pod-deletion-cost first",
     [running("dear", cost=100), running("cheap", cost=-5)], ["cheap", "dear"]),
    ("ready for less time first (log2 buckets: 10 s vs 1000 s)",
     [running("old", ready_for=1000), running("fresh", ready_for=10)], ["fresh", "old"]),
    ("more restarts first",
     [running("calm", ready_for=600), running("crashy", ready_for=600, restarts=5)],
     ["crashy", "calm"]),
    ("newer first (created 10 s vs 10000 s ago)",
     [running("old", created_ago=10_000), running("new", created_ago=10)], ["new", "old"]),
    ("ready within the same log2 bucket: UID order decides, not the exact time",
     [running("b", ready_for=600), running("a", ready_for=601)], ["a", "b"]),
]


@pytest.mark.parametrize(("name", "pods", "first"), RANK_CASES, ids=[c[0] for c in RANK_CASES])
def test_deletion_order(name: str, pods: list[Obj], first: list[str]) -> None:
    order = [pod["metadata"]["name"] for pod in deletion_order(pods, [], NOW)]
    assert order[:len(first)] == first


def test_deletion_order_prefers_pods_doubled_up_on_a_node_with_related_pods() -> None:
    lonely, crowded = running("lonely", node="n1"), running("crowded", node="n2")
    siblings = [running(f"s{i}", node="n2", owner="other-rs") for i in range(3)]
    order = deletion_order([lonely, crowded], [lonely, crowded, *siblings], NOW)
    assert [pod["metadata"]["name"] for pod in order] == ["crowded", "lonely"]


def test_scale_down_uses_related_pods_of_sibling_replicasets() -> None:
    pods = [running("a", node="n1"), running("b", node="n2"), running("c", node="n3")]
    related = [*pods, running("x", node="n3", owner="sibling"),
               running("y", node="n3", owner="sibling")]
    decision = plan(Observed(rs(2, status=SETTLED_3, owner="dep"), pods, related, True, None,
                             NOW))
    assert decision.delete == ("c",)
