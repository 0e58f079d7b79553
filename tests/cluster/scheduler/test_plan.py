"""The planner as tables: each case a step of a scenario, from nodes and placed pods to a
decision (a node among the acceptable ones, or upstream's message)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from mizzen.cluster.scheduler.plan import Decision, fit_message, plan
from mizzen.cluster.scheduler.podinfo import PodInfo
from mizzen.cluster.scheduler.state import ClusterState
from tests.cluster.scheduler.builders import (
    Obj,
    container,
    expr,
    node,
    pod,
    preferred,
    required,
    taint,
    term,
    toleration,
)

RS = "rs-web-uid"
ZONE = "topology.kubernetes.io/zone"


@dataclass(frozen=True)
class Case:
    name: str
    nodes: list[Obj]
    pod: Obj
    placed: list[Obj] = field(default_factory=list)  # pods already bound (or finished)
    fits: frozenset[str] = frozenset()  # acceptable nodes; empty: unschedulable
    message: str = ""  # the expected message when unschedulable


def decide(nodes: list[Obj], placed: list[Obj], p: Obj) -> Decision:
    state = ClusterState()
    for n in nodes:
        state.set_node(n)
    for q in placed:
        state.observe_pod(q)
    return plan(PodInfo.of(p), state)


def zones(c_ready: str = "True") -> list[Obj]:
    return [node("a1", "zone-a"), node("a2", "zone-a"), node("b1", "zone-b"),
            node("b2", "zone-b"), node("c1", "zone-c", ready=c_ready),
            node("c2", "zone-c", ready=c_ready)]


def web(i: int, on: str) -> Obj:
    return pod(f"web-{i}", owner=RS, labels={"app": "web"}, node_name=on)


def replicas(*nodes: str) -> list[Obj]:
    return [web(i, n) for i, n in enumerate(nodes)]


def fits(*names: str) -> frozenset[str]:
    return frozenset(names)


NEW = pod("web-new", owner=RS, labels={"app": "web"})

SPREADING = [
    Case("three zones, zone-c not ready yet, first replica goes to zone a or b (step 1/6)",
         zones("False"), NEW, fits=fits("a1", "a2", "b1", "b2")),
    Case("three zones, second replica avoids the zone of the first (step 2/6)",
         zones("False"), NEW, replicas("a1"), fits("b1", "b2")),
    Case("three zones, third replica goes to an empty node of zone a or b (step 3/6)",
         zones("False"), NEW, replicas("a1", "b1"), fits("a2", "b2")),
    Case("three zones, fourth replica goes to the emptiest zone (step 4/6)",
         zones(), NEW, replicas("a1", "b1", "a2"), fits("c1", "c2")),
    Case("three zones, fifth replica goes to a zone holding one (step 5/6)",
         zones(), NEW, replicas("a1", "b1", "a2", "c1"), fits("b2", "c2")),
    Case("three zones, sixth replica completes 2/2/2 (step 6/6)",
         zones(), NEW, replicas("a1", "b1", "a2", "c1", "b2"), fits("c2")),
    Case("pods of another owner do not count against the spread",
         zones(), NEW, [pod(f"other-{i}", owner="other", node_name="c1") for i in range(5)]
         + replicas("a1", "a2", "b1", "b2"), fits("c2")),
    Case("a pod without owner spreads with pods carrying the same labels",
         [node("n1"), node("n2")], pod("solo", labels={"app": "solo"}),
         [pod("solo-0", labels={"app": "solo"}, node_name="n1")], fits("n2")),
    Case("pods being deleted no longer count for spreading",
         [node("n1"), node("n2")], NEW,
         [{**web(0, "n1"), "metadata": {**web(0, "n1")["metadata"],
                                        "deletionTimestamp": "2024-01-01T00:00:00Z"}},
          web(1, "n2")], fits("n1")),
]

TAINTS = [
    Case("pod tolerates the NoSchedule taint", [node("gpu", taints=[taint("dedicated", "gpu")])],
         pod("p", tolerations=[toleration("dedicated", "gpu", "NoSchedule")]), fits=fits("gpu")),
    Case("a toleration with another value does not tolerate the taint",
         [node("gpu", taints=[taint("dedicated", "gpu")])],
         pod("p", tolerations=[toleration("dedicated", "cpu")]),
         message="0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}."),
    Case("Exists toleration without a key tolerates every taint",
         [node("t", taints=[taint("a", "1"), taint("b", "2", "NoExecute")])],
         pod("p", tolerations=[toleration(operator="Exists")]), fits=fits("t")),
    Case("a NoSchedule toleration does not tolerate a NoExecute taint",
         [node("t", taints=[taint("k", "v", "NoExecute")]), node("free", cpu="1")],
         pod("p", "2", tolerations=[toleration("k", "v", "NoSchedule")]),
         message="0/2 nodes are available: 1 Insufficient cpu, "
                 "1 node(s) had untolerated taint {k: v}."),
    Case("PreferNoSchedule only lowers the score: the busier untainted node wins",
         [node("soft", taints=[taint("k", "v", "PreferNoSchedule")]), node("busy")],
         pod("p", "100m"), [pod("x", "3", node_name="busy")], fits("busy")),
    Case("PreferNoSchedule node is used when the others are full",
         [node("soft", taints=[taint("k", "v", "PreferNoSchedule")]), node("busy")],
         pod("p", "2"), [pod("x", "3", node_name="busy")], fits("soft")),
    Case("not-ready node is skipped for its implied not-ready taint",
         [node("sick", ready="False"), node("well", cpu="1")], pod("p", "2"),
         message="0/2 nodes are available: 1 Insufficient cpu, "
                 "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }."),
    Case("a node without a Ready condition counts as not ready",
         [node("new", ready=None)], pod("p"),
         message="0/1 nodes are available: "
                 "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }."),
    Case("Ready Unknown is the unreachable taint",
         [node("lost", ready="Unknown")], pod("p"),
         message="0/1 nodes are available: "
                 "1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }."),
    Case("a pod tolerating not-ready may land on a not-ready node",
         [node("sick", ready="False")],
         pod("ds", tolerations=[toleration("node.kubernetes.io/not-ready", operator="Exists")]),
         fits=fits("sick")),
    Case("cordoned node is unschedulable",
         [node("cordoned", unschedulable=True), node("sick", ready="False")], pod("p"),
         message="0/2 nodes are available: 1 node(s) had untolerated taint "
                 "{node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable."),
    Case("a pod tolerating the unschedulable taint may land on a cordoned node",
         [node("cordoned", unschedulable=True)],
         pod("p", tolerations=[toleration("node.kubernetes.io/unschedulable",
                                          operator="Exists", effect="NoSchedule")]),
         fits=fits("cordoned")),
]

DISK = [node("hdd", labels={"disk": "hdd", "cores": "8"}),
        node("ssd", labels={"disk": "ssd", "cores": "32"}), node("plain")]

AFFINITY = [
    Case("nodeSelector picks the labelled node", DISK, pod("p", node_selector={"disk": "ssd"}),
         fits=fits("ssd")),
    Case("In matchExpression", DISK,
         pod("p", affinity=required(term(expr("disk", "In", "ssd", "nvme")))), fits=fits("ssd")),
    Case("NotIn matchExpression also admits nodes without the label", DISK,
         pod("p", affinity=required(term(expr("disk", "NotIn", "ssd")))),
         fits=fits("hdd", "plain")),
    Case("Exists matchExpression", DISK,
         pod("p", affinity=required(term(expr("disk", "Exists")))), fits=fits("hdd", "ssd")),
    Case("DoesNotExist matchExpression", DISK,
         pod("p", affinity=required(term(expr("disk", "DoesNotExist")))), fits=fits("plain")),
    Case("Gt matchExpression", DISK,
         pod("p", affinity=required(term(expr("cores", "Gt", "16")))), fits=fits("ssd")),
    Case("Lt matchExpression", DISK,
         pod("p", affinity=required(term(expr("cores", "Lt", "16")))), fits=fits("hdd")),
    Case("Gt against a label that is not an integer matches nothing",
         [node("odd", labels={"cores": "many"})],
         pod("p", affinity=required(term(expr("cores", "Gt", "1")))),
         message="0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."),
    Case("terms are ORed", DISK,
         pod("p", affinity=required(term(expr("disk", "In", "hdd")),
                                    term(expr("cores", "Gt", "16")))), fits=fits("hdd", "ssd")),
    Case("expressions of one term are ANDed", DISK,
         pod("p", affinity=required(term(expr("disk", "Exists"), expr("cores", "Lt", "16")))),
         fits=fits("hdd")),
    Case("matchFields metadata.name", DISK,
         pod("p", affinity=required(term(fields=[expr("metadata.name", "In", "plain")]))),
         fits=fits("plain")),
    Case("nodeSelector and required affinity must both match", DISK,
         pod("p", node_selector={"disk": "ssd"},
             affinity=required(term(expr("cores", "Lt", "16")))),
         message="0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."),
    Case("the heavier preferred term wins over a lighter one", DISK,
         pod("p", affinity=preferred((10, term(expr("disk", "In", "hdd"))),
                                     (50, term(expr("cores", "Gt", "16"))))), fits=fits("ssd")),
    Case("a preferred term beats spreading", [node("a", "z1"), node("b", "z2")],
         pod("w", owner=RS, affinity=preferred((1, term(expr(ZONE, "In", "z1"))))),
         [pod("w0", owner=RS, node_name="a")], fits("a")),
]

SMALL, BIG = node("small", cpu="2"), node("big", cpu="4")

RESOURCES = [
    Case("insufficient memory on all nodes gives the upstream message",
         [node("n1"), node("n2"), node("n3")], pod("p", memory="16Gi"),
         message="0/3 nodes are available: 3 Insufficient memory."),
    Case("one node off the selector, two short of cpu",
         [node("n1", cpu="4", labels={"disk": "hdd"}),
          node("n2", cpu="1", labels={"disk": "ssd"}),
          node("n3", cpu="1", labels={"disk": "ssd"})],
         pod("p", "2", node_selector={"disk": "ssd"}),
         message="0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
                 "2 Insufficient cpu."),
    Case("a node short of cpu and memory counts under both",
         [node("n1", cpu="1", memory="1Gi")], pod("p", "2", "2Gi"),
         message="0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."),
    Case("cpu already requested leaves too little on the first node",
         [node("n1"), node("n2", cpu="2")], pod("p", "1500m"), [pod("x", "3", node_name="n1")],
         fits("n2")),
    Case("an init container's peak above the containers' sum needs the bigger node",
         [SMALL, BIG], pod("p", containers=[container(cpu="1")],
                           init_containers=[container("init", cpu="3")]), fits=fits("big")),
    Case("a sidecar init container adds to the containers' sum",
         [SMALL, BIG], pod("p", containers=[container(cpu="1500m")],
                           init_containers=[container("proxy", cpu="1", restartPolicy="Always")]),
         fits=fits("big")),
    Case("an ordinary init container below the sum adds nothing",
         [SMALL], pod("p", containers=[container(cpu="1500m")],
                      init_containers=[container("init", cpu="1")]), fits=fits("small")),
    Case("pod overhead is added to the requests",
         [SMALL], pod("p", containers=[container(cpu="1900m")], overhead={"cpu": "250m"}),
         message="0/1 nodes are available: 1 Insufficient cpu."),
    Case("decimal and exponent quantities: 1e9 bytes fit exactly in 1G",
         [node("n", memory="1G")], pod("p", memory="1e9"), fits=fits("n")),
    Case("one byte more than 1G does not fit", [node("n", memory="1G")],
         pod("p", memory="1000000001"), message="0/1 nodes are available: 1 Insufficient memory."),
    Case("an extended resource is only found where it is allocatable",
         [node("plain"), node("gpu", extra={"nvidia.com/gpu": "1"})],
         pod("p", containers=[container(resources={"limits": {"nvidia.com/gpu": "1"}})]),
         fits=fits("gpu")),
    Case("the pod slot: a full node is too many pods", [node("n", pods=1)], pod("p"),
         [pod("x", node_name="n")], message="0/1 nodes are available: 1 Too many pods."),
    Case("finished pods hold nothing", [node("n", cpu="1", pods=1)], pod("p", "1"),
         [pod("done", "1", node_name="n", phase="Succeeded")], fits=fits("n")),
    Case("least allocated: the emptier node wins", [node("n1"), node("n2")], pod("p", "1"),
         [pod("x", "1", node_name="n1")], fits("n2")),
    Case("best-effort pods count with default requests in the score",
         [node("n1"), node("n2")], pod("p"), [pod("x", node_name="n2")], fits("n1")),
    Case("no nodes at all", [], pod("p"), message="no nodes available to schedule pods"),
]


def spread(max_skew: int = 1, key: str = ZONE, min_domains: int | None = None,
           **extra: Any) -> list[Obj]:
    out: Obj = {"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": "db"}}, **extra}
    if min_domains:
        out["minDomains"] = min_domains
    return [out]


def db(name: str, on: str = "", constraints: list[Obj] | None = None, rev: str = "1",
       **kw: Any) -> Obj:
    return pod(name, "100m", labels={"app": "db", "rev": rev}, node_name=on,
               spread=constraints, **kw)


TWO_IN_A = [db("d0", "a1"), db("d1", "a1")]


TOPOLOGY = [
    Case("maxSkew 1: the zone holding two more is rejected, the empty one taken",
         [node("a1", "a"), node("b1", "b")], db("new", constraints=spread()),
         [db("d0", "a1"), db("d1", "a1")], fits("b1")),
    Case("maxSkew 1: the only balanced zone is full, so nothing fits",
         [node("a1", "a"), node("b1", "b", cpu="0")], db("new", constraints=spread()),
         [db("d0", "a1"), db("d1", "a1")],
         message="0/2 nodes are available: 1 Insufficient cpu, "
                 "1 node(s) didn't match pod topology spread constraints."),
    Case("maxSkew 2 tolerates one more in the fuller zone",
         [node("a1", "a"), node("b1", "b", cpu="0")], db("new", constraints=spread(2)),
         [db("d0", "a1")], fits("a1")),
    Case("a node without the topology key is rejected for the missing label",
         [node("a1", "a"), node("b1", "b", cpu="0"), node("bare")],
         db("new", constraints=spread()), [db("d0", "a1"), db("d1", "a1")],
         message="0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match pod "
                 "topology spread constraints, 1 node(s) didn't match pod topology spread "
                 "constraints (missing required label)."),
    Case("minDomains above the domains present makes the minimum zero",
         [node("a1", "a"), node("b1", "b")], db("new", constraints=spread(1, min_domains=3)),
         [db("d0", "a1"), db("d1", "b1")],
         message="0/2 nodes are available: 2 node(s) didn't match pod topology spread "
                 "constraints."),
    Case("nodeTaintsPolicy Ignore (default): a tainted empty zone still sets the minimum",
         [node("a1", "a"), node("b1", "b", taints=[taint("k")])], db("new", constraints=spread()),
         [db("d0", "a1")],
         message="0/2 nodes are available: 1 node(s) didn't match pod topology spread "
                 "constraints, 1 node(s) had untolerated taint {k: }."),
    Case("nodeTaintsPolicy Honor leaves the tainted zone out of the domains",
         [node("a1", "a"), node("b1", "b", taints=[taint("k")])],
         db("new", constraints=spread(nodeTaintsPolicy="Honor")), [db("d0", "a1")], fits("a1")),
    Case("nodeAffinityPolicy Honor (default): zones off the selector are no domains",
         [node("a1", "a", labels={"disk": "ssd"}), node("b1", "b")],
         db("new", constraints=spread(), node_selector={"disk": "ssd"}), [db("d0", "a1")],
         fits("a1")),
    Case("nodeAffinityPolicy Ignore: an empty zone off the selector sets the minimum",
         [node("a1", "a", labels={"disk": "ssd"}), node("b1", "b")],
         db("new", constraints=spread(nodeAffinityPolicy="Ignore"),
            node_selector={"disk": "ssd"}), [db("d0", "a1")],
         message="0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
                 "1 node(s) didn't match pod topology spread constraints."),
    Case("matchLabelKeys counts only the pod's own revision (rolling update, step 1/2)",
         [node("a1", "a"), node("b1", "b", cpu="0")],
         db("new", constraints=spread(matchLabelKeys=["rev"]), rev="2"), TWO_IN_A, fits("a1")),
    Case("without matchLabelKeys the old revision's pods count (rolling update, step 2/2)",
         [node("a1", "a"), node("b1", "b", cpu="0")],
         db("new", constraints=spread(), rev="2"), TWO_IN_A,
         message="0/2 nodes are available: 1 Insufficient cpu, "
                 "1 node(s) didn't match pod topology spread constraints."),
    Case("spread by hostname keeps one per node",
         [node("n1"), node("n2")], db("new", constraints=spread(key="kubernetes.io/hostname")),
         [db("d0", "n1")], fits("n2")),
]


@pytest.mark.parametrize("case", SPREADING + TAINTS + AFFINITY + RESOURCES + TOPOLOGY,
                         ids=lambda c: c.name)
def test_plan(case: Case) -> None:
    decision = decide(case.nodes, case.placed, case.pod)
    if case.fits:
        assert decision.node in case.fits, decision
        assert decision.message == ""
    else:
        assert decision.node is None, decision
        assert decision.message == case.message


def test_equal_nodes_share_load_by_the_pod_name_tiebreak() -> None:
    nodes = [node(f"n{i}") for i in range(4)]
    chosen = {decide(nodes, [], pod(f"p-{i}")).node for i in range(20)}
    assert len(chosen) > 1
    again = {decide(nodes, [], pod(f"p-{i}")).node for i in range(20)}
    assert chosen == again  # stable: the same names choose the same nodes


def test_reasons_sort_as_strings_like_go() -> None:
    message = fit_message(12, {"Insufficient cpu": 10, "node(s) were unschedulable": 2})
    assert message == ("0/12 nodes are available: 10 Insufficient cpu, "
                       "2 node(s) were unschedulable.")


def test_decision_counts_feasible_nodes_and_reasons() -> None:
    decision = decide([node("n1"), node("n2"), node("n3", cpu="1")], [], pod("p", "2"))
    assert decision.feasible == 2
    assert decision.reasons == (("Insufficient cpu", 1),)
    assert decision.schedulable
