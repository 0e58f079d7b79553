"""Node planner: table tests, each case a step of a node's life."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mizzen.cluster.config import NODE_NOT_READY, ClusterConfig, NodeSpec
from mizzen.cluster.nodes.objects import (
    NOT_READY_TAINT,
    UNREACHABLE_TAINT,
    Readiness,
    conditions,
    micro_time,
    node_object,
    wanted_taints,
)
from mizzen.cluster.nodes.plan import NodeAction, NodeInputs, NodePlan, plan_node

Obj = dict[str, Any]
NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
SPEC = NodeSpec("node-0", "zone-a", labels=(("team", "a"),),
                taints=(("dedicated", "db", "NoSchedule"),))
CONFIG = ClusterConfig((SPEC,), heartbeat_interval=10.0, node_status_report_interval=300.0)


def node(*, reported: str = Readiness.TRUE, annotation: str | None = None,
         heartbeat_age: float = 0.0, taint_for: str | None = None) -> Obj:
    """The stored Node: created earlier, reporting ``reported`` with its heartbeat
    ``heartbeat_age`` seconds old, tainted for ``taint_for`` (default: what it reports)."""
    then = NOW - timedelta(seconds=heartbeat_age)
    obj = node_object(SPEC, 0, CONFIG, then)
    obj["metadata"].update(uid="node-uid", resourceVersion="7")
    obj["status"]["conditions"] = conditions(reported, then)
    obj["spec"]["taints"] = wanted_taints(SPEC, obj["spec"]["taints"], taint_for or reported)
    if annotation is not None:
        obj["metadata"]["annotations"][NODE_NOT_READY] = annotation
    return obj


def lease(age: float) -> Obj:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "node-0", "namespace": "kube-node-lease",
                         "resourceVersion": "9"},
            "spec": {"holderIdentity": "node-0", "leaseDurationSeconds": 40,
                     "renewTime": micro_time(NOW - timedelta(seconds=age))}}


@dataclass(frozen=True)
class Case:
    node: Obj | None
    lease: Obj | None
    action: NodeAction
    requeue: float | None = None
    spec: NodeSpec | None = SPEC
    removed: bool = False
    check: Callable[[NodePlan], None] | None = None


def _created(plan: NodePlan) -> None:
    body = plan.body or {}
    labels = body["metadata"]["labels"]
    assert labels["topology.kubernetes.io/zone"] == "zone-a" and labels["team"] == "a"
    assert body["spec"]["taints"] == [{"key": "dedicated", "value": "db",
                                       "effect": "NoSchedule"}]
    assert body["status"]["capacity"]["cpu"] == "32"
    ready = [c for c in body["status"]["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "True" and ready[0]["lastHeartbeatTime"] == "2024-01-01T12:00:00Z"


def _lease_created(plan: NodePlan) -> None:
    body = plan.body or {}
    assert body["metadata"]["ownerReferences"][0]["uid"] == "node-uid"
    assert body["spec"] == {"holderIdentity": "node-0", "leaseDurationSeconds": 40,
                            "renewTime": "2024-01-01T12:00:00.000000Z"}


def _renewed(plan: NodePlan) -> None:
    body = plan.body or {}
    assert body["spec"]["renewTime"] == "2024-01-01T12:00:00.000000Z"
    assert body["metadata"]["resourceVersion"] == "9"


def _ready(status: str, reason: str) -> Callable[[NodePlan], None]:
    def check(plan: NodePlan) -> None:
        conds = {c["type"]: c for c in (plan.body or {})["status"]["conditions"]}
        assert (conds["Ready"]["status"], conds["Ready"]["reason"]) == (status, reason)
        assert conds["Ready"]["lastHeartbeatTime"] == "2024-01-01T12:00:00Z"
        assert len(conds) == 5
    return check


def _taints(*keys: str) -> Callable[[NodePlan], None]:
    def check(plan: NodePlan) -> None:
        body = plan.body or {}
        assert [t["key"] for t in body["spec"]["taints"]] == list(keys)
        assert body["metadata"]["resourceVersion"] == "7"
    return check


def _kept_transition(plan: NodePlan) -> None:
    conds = {c["type"]: c for c in (plan.body or {})["status"]["conditions"]}
    assert conds["Ready"]["lastTransitionTime"] == "2024-01-01T11:55:00Z"  # unchanged status
    assert conds["Ready"]["lastHeartbeatTime"] == "2024-01-01T12:00:00Z"


CASES = {
    "configured node missing is created with labels, taints, capacity and Ready (step 1/5)":
        Case(None, None, NodeAction.CREATE_NODE, 10.0, check=_created),
    "created node gets its heartbeat Lease, owned by the Node (step 2/5)":
        Case(node(), None, NodeAction.CREATE_LEASE, 10.0, check=_lease_created),
    "fresh Lease: nothing to write until the heartbeat interval (step 3/5)":
        Case(node(), lease(4), NodeAction.NONE, 6.0),
    "Lease older than the heartbeat interval is renewed (step 4/5)":
        Case(node(), lease(10), NodeAction.RENEW_LEASE, 10.0, check=_renewed),
    "Ready heartbeat older than the report interval is rewritten (step 5/5)":
        Case(node(heartbeat_age=300), lease(1), NodeAction.PATCH_STATUS, 10.0,
             check=_kept_transition),
    "annotated not-ready: Ready=False is reported (step 1/5)":
        Case(node(annotation="true"), lease(1), NodeAction.PATCH_STATUS, 10.0,
             check=_ready("False", "KubeletNotReady")),
    "not-ready node gets the not-ready taint next to its own (step 2/5)":
        Case(node(annotation="true", reported=Readiness.FALSE, taint_for=Readiness.TRUE),
             lease(1), NodeAction.PATCH_TAINTS, 10.0, check=_taints("dedicated",
                                                                     NOT_READY_TAINT)),
    "a not-ready kubelet still heartbeats (step 3/5)":
        Case(node(annotation="true", reported=Readiness.FALSE), lease(11),
             NodeAction.RENEW_LEASE, 10.0),
    "annotation removed: Ready=True again (step 4/5)":
        Case(node(reported=Readiness.FALSE), lease(1), NodeAction.PATCH_STATUS, 10.0,
             check=_ready("True", "KubeletReady")),
    "and the not-ready taint goes (step 5/5)":
        Case(node(taint_for=Readiness.FALSE), lease(1), NodeAction.PATCH_TAINTS, 10.0,
             check=_taints("dedicated")),
    "annotated unknown: every kubelet condition Unknown (step 1/3)":
        Case(node(annotation="unknown"), lease(1), NodeAction.PATCH_STATUS, 10.0,
             check=_ready("Unknown", "NodeStatusUnknown")),
    "unknown node gets the unreachable taint (step 2/3)":
        Case(node(annotation="unknown", reported=Readiness.UNKNOWN, taint_for=Readiness.TRUE),
             lease(1), NodeAction.PATCH_TAINTS, 10.0, check=_taints("dedicated",
                                                                     UNREACHABLE_TAINT)),
    "unknown node stops heartbeating and reporting (step 3/3)":
        Case(node(annotation="unknown", reported=Readiness.UNKNOWN, heartbeat_age=900),
             lease(600), NodeAction.NONE, None),
    "node removed at run time is deleted (step 1/3)":
        Case(node(), lease(1), NodeAction.DELETE_NODE, spec=None, removed=True),
    "then its Lease (step 2/3)":
        Case(None, lease(1), NodeAction.DELETE_LEASE, spec=None, removed=True),
    "then nothing is left to do (step 3/3)":
        Case(None, None, NodeAction.NONE, spec=None, removed=True),
    "a node that is not simulated is left alone (step 1/1)":
        Case(node(heartbeat_age=900), lease(600), NodeAction.NONE, spec=None),
}


@pytest.mark.parametrize("case", [pytest.param(c, id=name) for name, c in CASES.items()])
def test_plan(case: Case) -> None:
    plan = plan_node(NodeInputs(case.spec, 0, case.removed, case.node, case.lease, NOW, CONFIG))
    assert plan.action == case.action
    if case.requeue is None:
        assert plan.requeue_after is None
    else:
        assert plan.requeue_after == pytest.approx(case.requeue)
    if case.check is not None:
        case.check(plan)


def test_the_next_look_is_the_earlier_of_renewal_and_report() -> None:
    plan = plan_node(NodeInputs(SPEC, 0, False, node(heartbeat_age=298), lease(1), NOW,
                                CONFIG))
    assert plan.action == NodeAction.NONE and plan.requeue_after == pytest.approx(2.0)
