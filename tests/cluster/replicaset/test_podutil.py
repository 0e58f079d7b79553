"""The shared pod and ownership helpers: selectors, readiness, availability, claiming."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import mizzen.cluster.replicaset as replicaset_pkg
from mizzen.cluster.podutil import (
    adopt_patch,
    by_controller,
    cache_has_seen,
    claim,
    controller_ref,
    deletion_cost,
    is_active,
    is_available,
    release_patch,
    restarts,
    selector_matches,
)

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("selector", "labels", "want"), [
    (None, {"a": "1"}, False),
    ({}, {"a": "1"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]},
     {"a": "2"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"b": "1"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"b": "1"}, True),
    ({"matchLabels": {"a": "1"},
      "matchExpressions": [{"key": "b", "operator": "In", "values": ["x"]}]},
     {"a": "1", "b": "y"}, False),
])
def test_selector_matches(selector: Obj | None, labels: dict[str, str], want: bool) -> None:
    assert selector_matches(selector, labels) is want


def ready_pod(since: str, phase: str = "Running", **meta: Any) -> Obj:
    return {"metadata": meta, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": since}]}}


def test_availability_needs_ready_for_longer_than_min_ready_seconds() -> None:
    pod = ready_pod("2024-05-01T11:59:30Z")
    assert is_available(pod, 0, NOW)
    assert is_available(pod, 29, NOW)
    assert not is_available(pod, 30, NOW)  # strictly longer, as upstream
    assert not is_available({"status": {"phase": "Running"}}, 0, NOW)


def test_finished_and_terminating_pods_are_not_active() -> None:
    assert is_active(ready_pod("2024-05-01T11:00:00Z"))
    assert not is_active(ready_pod("2024-05-01T11:00:00Z", phase="Succeeded"))
    assert not is_active(ready_pod("2024-05-01T11:00:00Z",
                                   deletionTimestamp="2024-05-01T12:00:00Z"))


def test_restarts_and_deletion_cost() -> None:
    pod = {"metadata": {"annotations": {"controller.kubernetes.io/pod-deletion-cost": "-7"}},
           "spec": {"initContainers": [{"name": "proxy", "restartPolicy": "Always"},
                                       {"name": "init"}]},
           "status": {"initContainerStatuses": [{"name": "proxy", "restartCount": 4},
                                                {"name": "init", "restartCount": 9}],
                      "containerStatuses": [{"name": "app", "restartCount": 2}]}}
    assert restarts(pod) == (4, 2)
    assert deletion_cost(pod) == -7
    assert deletion_cost({"metadata": {"annotations": {
        "controller.kubernetes.io/pod-deletion-cost": "nope"}}}) == 0


OWNER = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}}


def obj(name: str, owner_uid: str | None = None, labels: dict[str, str] | None = None,
        namespace: str = "default", deleting: bool = False) -> Obj:
    meta: Obj = {"name": name, "namespace": namespace, "labels": labels or {"app": "web"}}
    if owner_uid:
        meta["ownerReferences"] = [{"uid": owner_uid, "controller": True, "kind": "X",
                                    "name": "o", "apiVersion": "v1"}]
    if deleting:
        meta["deletionTimestamp"] = "2024-05-01T12:00:00Z"
    return {"metadata": meta}


def names(objs: tuple[Obj, ...]) -> list[str]:
    return [o["metadata"]["name"] for o in objs]


def test_claim_adopts_matching_orphans_and_releases_owned_mismatches() -> None:
    def matches(o: Obj) -> bool:
        return bool(o["metadata"]["labels"].get("app") == "web")

    candidates = [obj("mine", "u1"), obj("moved", "u1", {"app": "x"}), obj("orphan"),
                  obj("other-ns", namespace="kube-system"), obj("dying", deleting=True),
                  obj("theirs", "u2"), obj("stranger", labels={"app": "x"})]
    got = claim(OWNER, candidates, matches)
    assert names(got.owned) == ["mine"]
    assert names(got.adopt) == ["orphan"]
    assert names(got.release) == ["moved"]
    deleting_owner = {"metadata": {**OWNER["metadata"], "deletionTimestamp": "x"}}
    got = claim(deleting_owner, candidates, matches)
    assert names(got.owned) == ["mine"] and not got.adopt and not got.release


def test_owner_reference_patches_and_index() -> None:
    ref = controller_ref(OWNER, "apps/v1", "ReplicaSet")
    assert ref == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "u1",
                   "controller": True, "blockOwnerDeletion": True}
    pod = {"metadata": {"uid": "p1", "namespace": "default"}}
    assert adopt_patch(ref, pod) == {"metadata": {"ownerReferences": [ref], "uid": "p1"}}
    assert release_patch("u1", pod) == {"metadata": {
        "ownerReferences": [{"$patch": "delete", "uid": "u1"}], "uid": "p1"}}
    assert list(by_controller(obj("a", "u9"))) == ["u9"]
    assert list(by_controller(obj("b"))) == ["orphan/default"]


def test_public_api() -> None:
    assert sorted(replicaset_pkg.__all__) == [
        "Failure", "Observed", "ReplicaSetController", "ReplicaSetOptions", "ReplicaSetPlan",
        "add_replicaset_controller", "calculate_status", "deletion_order", "plan",
        "pod_from_template", "slow_start_batches"]


def test_cache_has_seen_a_write_at_its_resource_version_or_newer() -> None:
    written = {"metadata": {"uid": "u", "resourceVersion": "12"}}
    assert not cache_has_seen(None, written)
    assert not cache_has_seen({"metadata": {"uid": "u", "resourceVersion": "11"}}, written)
    assert cache_has_seen({"metadata": {"uid": "u", "resourceVersion": "12"}}, written)
    assert cache_has_seen({"metadata": {"uid": "u", "resourceVersion": "100"}}, written)
    assert not cache_has_seen({"metadata": {"uid": "other", "resourceVersion": "99"}}, written)
