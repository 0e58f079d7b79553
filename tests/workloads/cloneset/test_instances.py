"""Instances: the pod a CloneSet creates, its PVCs, id reuse and PVC cleanup."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from mizzen.api.cloneset.types import Lifecycle, LifecycleHook
from mizzen.workloads.cloneset.instances import (
    ID_ALPHABET,
    choose_instance_ids,
    claims_for,
    new_pod,
    pvc_cleanup,
)

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
API, KIND = "apps.kruise.io/v1beta1", "CloneSet"
CS = {"metadata": {"name": "web", "namespace": "ns", "uid": "cs-uid"}}
SELECTOR = {"matchLabels": {"app": "web"}}
CLAIM: Obj = {"metadata": {"name": "data", "labels": {"tier": "db"}},
         "spec": {"resources": {"requests": {"storage": "1Gi"}}}}
TEMPLATE: Obj = {"metadata": {"labels": {"app": "web"}, "annotations": {"note": "x"},
                         "finalizers": ["example.com/keep"]},
            "spec": {"containers": [{"name": "app", "image": "nginx"}],
                     "volumes": [{"name": "data", "emptyDir": {}},
                                 {"name": "cache", "emptyDir": {}}]}}


def obj(id_: str, *, terminating: bool = False, phase: str = "Running", name: str = "") -> Obj:
    meta: Obj = {"name": name or f"web-{id_}",
                 "labels": {"apps.kruise.io/cloneset-instance-id": id_}}
    if terminating:
        meta["deletionTimestamp"] = "2024-05-01T11:00:00Z"
    return {"metadata": meta, "status": {"phase": phase}}


def test_new_pod_carries_identity_revision_lifecycle_and_gate() -> None:
    pod = new_pod(CS, TEMPLATE, "web-abc12", "xyz45", [CLAIM], NOW, API, KIND)
    meta = pod["metadata"]
    assert meta["name"] == "web-xyz45" and meta["namespace"] == "ns"
    assert meta["labels"] == {"app": "web", "controller-revision-hash": "web-abc12",
                              "pod-template-hash": "abc12",
                              "apps.kruise.io/cloneset-instance-id": "xyz45",
                              "lifecycle.apps.kruise.io/state": "PreparingNormal"}
    assert meta["annotations"] == {"note": "x",
                                   "lifecycle.apps.kruise.io/timestamp": "2024-05-01T12:00:00Z"}
    assert meta["finalizers"] == ["example.com/keep"]
    assert meta["ownerReferences"] == [{"apiVersion": API, "kind": KIND, "name": "web",
                                        "uid": "cs-uid", "controller": True,
                                        "blockOwnerDeletion": True}]
    assert pod["spec"]["readinessGates"] == [{"conditionType": "InPlaceUpdateReady"}]
    # The claim's volume replaces the template's volume of the same name.
    assert pod["spec"]["volumes"] == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-xyz45"}},
        {"name": "cache", "emptyDir": {}}]
    assert TEMPLATE["spec"]["volumes"][0] == {"name": "data", "emptyDir": {}}  # not mutated


def test_a_hook_marking_pods_not_ready_adds_the_kruise_ready_gate() -> None:
    hook = LifecycleHook(labels_handler={"hold": "true"}, mark_pod_not_ready=True)
    pod = new_pod(CS, TEMPLATE, "web-abc12", "xyz45", [], NOW, API, KIND,
                  Lifecycle(pre_delete=hook))
    assert pod["spec"]["readinessGates"] == [{"conditionType": "InPlaceUpdateReady"},
                                             {"conditionType": "KruisePodReady"}]
    assert pod["spec"]["volumes"] == TEMPLATE["spec"]["volumes"]


def test_claims_are_named_labelled_and_owned() -> None:
    (claim,) = claims_for(CS, [CLAIM], SELECTOR, "xyz45", API, KIND)
    assert claim["metadata"]["name"] == "data-web-xyz45"
    assert claim["metadata"]["labels"] == {"tier": "db", "app": "web",
                                           "apps.kruise.io/cloneset-instance-id": "xyz45"}
    assert claim["metadata"]["ownerReferences"][0]["uid"] == "cs-uid"
    assert claim["spec"] == CLAIM["spec"]


@pytest.mark.parametrize(("case", "pods", "pvcs", "count", "reused"), [
    ("no PVCs: fresh ids", [obj("aaaaa")], [], 2, []),
    ("a PVC without a pod: its id first", [obj("aaaaa")], [obj("bbbbb"), obj("aaaaa")], 2,
     ["bbbbb"]),
    ("a terminating pod's PVC: reused (the pod waits for the name)",
     [obj("aaaaa", terminating=True)], [obj("aaaaa")], 1, ["aaaaa"]),
    ("a finished pod's PVC: not reused (its name is taken)",
     [obj("aaaaa", phase="Failed")], [obj("aaaaa")], 1, []),
])
def test_choose_instance_ids(case: str, pods: list[Obj], pvcs: list[Obj], count: int,
                             reused: list[str]) -> None:
    ids = choose_instance_ids(count, pods, pvcs, random.Random(1))
    assert len(ids) == count == len(set(ids)), case
    assert ids[:len(reused)] == reused, case
    taken = {p["metadata"]["labels"]["apps.kruise.io/cloneset-instance-id"]
             for p in [*pods, *pvcs]}
    for fresh in ids[len(reused):]:
        assert len(fresh) == 5 and set(fresh) <= set(ID_ALPHABET) and fresh not in taken, case


def test_ids_are_reproducible_with_a_seed() -> None:
    assert choose_instance_ids(3, [], [], random.Random(7)) == \
        choose_instance_ids(3, [], [], random.Random(7))


def test_pvc_cleanup_without_reuse() -> None:
    pvcs = [obj("aaaaa", name="data-web-aaaaa"), obj("bbbbb", name="data-web-bbbbb"),
            obj("ccccc", name="data-web-ccccc")]
    finished = obj("bbbbb", phase="Failed")
    cleanup = pvc_cleanup(pvcs, [obj("aaaaa"), finished])
    assert cleanup.delete == ("data-web-ccccc",)
    assert cleanup.hand_over == (("data-web-bbbbb", finished),)
