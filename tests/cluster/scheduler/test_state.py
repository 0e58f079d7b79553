"""The scheduler's state: incremental totals, assumptions until the informer catches up."""

from __future__ import annotations

from mizzen.cluster.scheduler.podinfo import PodInfo
from mizzen.cluster.scheduler.selectors import LabelSelector
from mizzen.cluster.scheduler.state import ClusterState
from tests.cluster.scheduler.builders import Obj, node, pod

ZONE = "topology.kubernetes.io/zone"


def bound(p: Obj, on: str, **status: str) -> Obj:
    out = {**p, "spec": {**p["spec"], "nodeName": on}}
    if status:
        out["status"] = status
    return out


def test_an_assumed_pod_counts_once_through_the_informers_catching_up() -> None:
    state = ClusterState()
    state.set_node(node("n1", "a"))
    p = pod("web-0", "1", "1Gi", owner="rs")
    state.observe_pod(p)  # pending: holds nothing
    assert len(state) == 0
    state.assume(PodInfo.of(p), "n1")
    n1 = state.node("n1")
    assert n1 is not None
    assert (n1.requested, n1.pod_count) == ({"cpu": 1000, "memory": 2**30}, 1)
    assert state.is_assumed("default/web-0")
    state.observe_pod({**p, "status": {"phase": "Pending", "conditions": []}})  # older event
    assert state.is_assumed("default/web-0") and n1.pod_count == 1
    state.observe_pod(bound(p, "n1"))  # the binding arrives
    assert not state.is_assumed("default/web-0")
    assert (n1.requested, n1.pod_count) == ({"cpu": 1000, "memory": 2**30}, 1)
    assert state.group_counts("owner:rs") == ({"a": 1}, {"n1": 1})
    state.observe_pod(bound(p, "n1", phase="Running"))  # kubelet updates: no change
    assert n1.pod_count == 1
    state.remove_pod("default/web-0")
    assert (n1.requested, n1.pod_count, len(state)) == ({"cpu": 0, "memory": 0}, 0, 0)
    assert state.group_counts("owner:rs") == ({}, {})


def test_a_failed_binding_forgets_the_assumption_but_not_confirmed_pods() -> None:
    state = ClusterState()
    state.set_node(node("n1"))
    state.assume(PodInfo.of(pod("a", "1")), "n1")
    state.observe_pod(bound(pod("b", "1"), "n1"))
    state.forget("default/a")
    state.forget("default/b")  # confirmed: kept
    n1 = state.node("n1")
    assert n1 is not None and n1.requested == {"cpu": 1000} and n1.pod_count == 1


def test_bound_elsewhere_replaces_the_assumption() -> None:
    state = ClusterState()
    state.set_node(node("n1"))
    state.set_node(node("n2"))
    p = pod("p", "1")
    state.assume(PodInfo.of(p), "n1")
    state.observe_pod(bound(p, "n2"))
    assert state.node_of("default/p") == "n2"
    n1, n2 = state.node("n1"), state.node("n2")
    assert n1 is not None and n2 is not None
    assert (n1.pod_count, n2.pod_count) == (0, 1)


def test_finished_pods_release_their_node() -> None:
    state = ClusterState()
    state.set_node(node("n1"))
    p = bound(pod("job", "1"), "n1")
    state.observe_pod(p)
    state.observe_pod({**p, "status": {"phase": "Succeeded"}})
    n1 = state.node("n1")
    assert n1 is not None and n1.pod_count == 0 and n1.requested == {"cpu": 0}


def test_pods_seen_before_their_node_count_once_it_appears() -> None:
    state = ClusterState()
    state.observe_pod(bound(pod("early", "2", owner="rs"), "late"))
    assert state.group_counts("owner:rs") == ({"": 1}, {"late": 1})
    state.set_node(node("late", "zone-b"))
    late = state.node("late")
    assert late is not None and late.requested == {"cpu": 2000} and late.pod_count == 1
    assert state.group_counts("owner:rs") == ({"zone-b": 1}, {"late": 1})


def test_relabelling_a_node_moves_its_pods_to_the_new_zone() -> None:
    state = ClusterState()
    state.set_node(node("n1", "a"))
    state.observe_pod(bound(pod("p", owner="rs"), "n1"))
    assert state.set_node(node("n1", "b"))
    assert state.group_counts("owner:rs")[0] == {"b": 1}


def test_heartbeats_are_not_changes() -> None:
    state = ClusterState()
    n = node("n1")
    assert state.set_node(n)
    beat = {**n, "status": {**n["status"], "conditions": [
        {"type": "Ready", "status": "True", "lastHeartbeatTime": "2024-01-01T00:00:10Z"}]}}
    assert not state.set_node(beat)
    assert state.set_node({**n, "spec": {"unschedulable": True}})


def test_selector_counts_are_built_once_then_kept_current() -> None:
    state = ClusterState()
    state.set_node(node("n1"))
    state.observe_pod(bound(pod("a", labels={"app": "db"}), "n1"))
    state.observe_pod(bound(pod("b", labels={"app": "web"}), "n1"))
    state.observe_pod(bound(pod("c", labels={"app": "db"}, ns="other"), "n1"))
    selector = LabelSelector.of({"matchLabels": {"app": "db"}})
    counts = state.selector_counts("default", selector)
    assert counts == {"n1": 1}
    state.assume(PodInfo.of(pod("d", labels={"app": "db"})), "n2")
    assert counts == {"n1": 1, "n2": 1}
    state.remove_pod("default/a")
    assert state.selector_counts("default", selector) == {"n2": 1}
