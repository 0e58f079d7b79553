"""The in-place update's patch bodies, step by step, on pure pods."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from mizzen.api.kruise import (
    CONTROLLER_REVISION_HASH,
    INPLACE_UPDATE_GRACE,
    INPLACE_UPDATE_READY,
    INPLACE_UPDATE_STATE,
)
from mizzen.cluster.kubelet.identity import image_id
from mizzen.workloads.inplace import (
    InPlaceChange,
    RefMetadata,
    completion,
    finish_patch,
    grace_patch,
    next_batch_patch,
    read_state,
    start_patch,
    update_patch,
    with_readiness_gate,
)
from tests.workloads.inplace.podsim import kubelet_restarts, merge, running_pod

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
NGINX_ID = image_id("nginx:1.25")


def test_readiness_gate_is_added_once_and_others_are_kept() -> None:
    spec = {"containers": [], "readinessGates": [{"conditionType": "example.com/lb"}]}
    gated = with_readiness_gate(spec)
    assert gated["readinessGates"] == [{"conditionType": "example.com/lb"},
                                       {"conditionType": INPLACE_UPDATE_READY}]
    assert with_readiness_gate(gated) == gated
    assert spec["readinessGates"] == [{"conditionType": "example.com/lb"}]  # not modified


def test_start_patch_sets_the_gate_false_and_ready_false_once() -> None:
    pod = running_pod()
    body = start_patch(pod, NOW)
    assert body == {"status": {"conditions": [
        {"type": INPLACE_UPDATE_READY, "status": "False", "reason": "StartInPlaceUpdate",
         "message": None, "lastProbeTime": None, "lastTransitionTime": "2024-05-01T12:00:00Z"},
        {"type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady",
         "message": 'the status of pod readiness gate "InPlaceUpdateReady" is not "True", '
                    "but False",
         "lastProbeTime": None, "lastTransitionTime": "2024-05-01T12:00:00Z"}]}}
    assert start_patch(merge(pod, body), NOW + timedelta(seconds=5)) is None
    assert start_patch(running_pod(gate=False), NOW) is None


def test_update_patch_is_one_body_with_revision_state_and_images() -> None:
    pod = running_pod(("app", "nginx:1.25"), ("proxy", "envoy:1.0"))
    change = InPlaceChange(images={"app": "nginx:1.26"}, labels={"tier": "front"})
    body = update_patch(pod, change, "r2", NOW,
                        extra_labels={"lifecycle.apps.kruise.io/state": "Updating"},
                        extra_annotations={"lifecycle.apps.kruise.io/timestamp": "t"})
    state = json.loads(body["metadata"]["annotations"].pop(INPLACE_UPDATE_STATE))
    assert body == {
        "metadata": {"resourceVersion": "7",
                     "labels": {"tier": "front", "lifecycle.apps.kruise.io/state": "Updating",
                                CONTROLLER_REVISION_HASH: "r2"},
                     "annotations": {"lifecycle.apps.kruise.io/timestamp": "t"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.26"}]}}
    assert state == {"revision": "r2", "updateTimestamp": "2024-05-01T12:00:00Z",
                     "lastContainerStatuses": {"app": {"imageID": NGINX_ID}},
                     "updateImages": True, "verticalUpdateOnly": False,
                     "containerBatchesRecord": [{"timestamp": "2024-05-01T12:00:00Z",
                                                 "containers": ["app"]}]}


def test_metadata_changes_merge_and_a_removed_label_is_deleted() -> None:
    pod = running_pod(labels={"old": "x"})
    body = update_patch(pod, InPlaceChange(labels={"old": None}, annotations={"a": "1"}),
                        "r2", NOW)
    assert body["metadata"]["labels"] == {"old": None, CONTROLLER_REVISION_HASH: "r2"}
    assert body["metadata"]["annotations"]["a"] == "1"
    assert "spec" not in body
    after = merge(pod, body)
    assert "old" not in after["metadata"]["labels"]
    assert completion(after).done  # nothing restarts: done at once


def test_grace_period_parks_the_images_and_applies_them_when_due() -> None:
    pod = running_pod()
    change = InPlaceChange(images={"app": "nginx:1.26"}, labels={"tier": "front"})
    body = update_patch(pod, change, "r2", NOW, grace_seconds=30,
                        extra_labels={"lifecycle.apps.kruise.io/state": "Updating"})
    assert "spec" not in body
    assert body["metadata"]["labels"] == {"lifecycle.apps.kruise.io/state": "Updating",
                                          CONTROLLER_REVISION_HASH: "r2"}
    assert INPLACE_UPDATE_GRACE in body["metadata"]["annotations"]
    parked = merge(pod, body)
    assert not completion(parked).done

    assert grace_patch(parked, NOW + timedelta(seconds=10.5)) == (None, 20.0)
    due, wait = grace_patch(parked, NOW + timedelta(seconds=30))
    assert wait is None and due is not None
    assert due["spec"] == {"containers": [{"name": "app", "image": "nginx:1.26"}]}
    assert due["metadata"]["labels"] == {"tier": "front"}
    assert due["metadata"]["annotations"][INPLACE_UPDATE_GRACE] is None
    applied = merge(parked, due)
    state = read_state(applied)
    assert state is not None and state.last_container_statuses["app"].image_id == NGINX_ID
    assert grace_patch(applied, NOW + timedelta(seconds=31)) == (None, None)
    assert not completion(applied).done
    assert completion(kubelet_restarts(applied)).done


def test_a_parked_update_is_dropped_when_the_pod_moved_to_another_revision() -> None:
    pod = running_pod()
    parked = merge(pod, update_patch(pod, InPlaceChange(images={"app": "nginx:1.26"}), "r2",
                                     NOW, grace_seconds=30))
    moved = merge(parked, {"metadata": {"labels": {CONTROLLER_REVISION_HASH: "r3"}}})
    body, wait = grace_patch(moved, NOW + timedelta(seconds=60))
    assert wait is None
    assert body == {"metadata": {"resourceVersion": "7",
                                 "annotations": {INPLACE_UPDATE_GRACE: None}}}


def test_an_update_without_grace_clears_a_stale_grace_annotation() -> None:
    pod = running_pod(annotations={INPLACE_UPDATE_GRACE: '{"revision":"r0"}'})
    body = update_patch(pod, InPlaceChange(images={"app": "nginx:1.26"}), "r2", NOW)
    assert body["metadata"]["annotations"][INPLACE_UPDATE_GRACE] is None


PRIORITY: dict[str, list[Obj]] = {
    "app": [{"name": "KRUISE_CONTAINER_PRIORITY", "value": "1"}],
    "proxy": [{"name": "KRUISE_CONTAINER_BARRIER", "valueFrom": {
        "configMapKeyRef": {"name": "web-abcde-barrier", "key": "p_10"}}}]}


def test_containers_update_in_priority_batches_gated_by_readiness() -> None:
    pod = running_pod(("app", "nginx:1.25"), ("proxy", "envoy:1.0"), env=PRIORITY)
    change = InPlaceChange(images={"app": "nginx:1.26", "proxy": "envoy:1.1"})
    # batch 1: proxy (priority 10) only; app waits in nextContainerImages
    first = merge(pod, update_patch(pod, change, "r2", NOW))
    assert [c["image"] for c in first["spec"]["containers"]] == ["nginx:1.25", "envoy:1.1"]
    state = read_state(first)
    assert state is not None
    assert state.next_container_images == {"app": "nginx:1.26"}
    assert state.pre_check_before_next == ("proxy",)
    assert completion(first).message == "containers app wait for the next batch"
    # batch 2 waits while proxy restarts ...
    assert next_batch_patch(first, NOW) is None
    assert next_batch_patch(kubelet_restarts(first, running=False), NOW) is None
    # ... and goes once proxy runs its new image and is ready
    restarted = kubelet_restarts(first)
    later = NOW + timedelta(seconds=5)
    second = merge(restarted, next_batch_patch(restarted, later))
    assert [c["image"] for c in second["spec"]["containers"]] == ["nginx:1.26", "envoy:1.1"]
    state = read_state(second)
    assert state is not None and not state.has_next_batch
    assert state.pre_check_before_next is None
    assert [b.containers for b in state.container_batches_record] == [("proxy",), ("app",)]
    assert set(state.last_container_statuses) == {"app", "proxy"}
    assert not completion(second).done
    assert completion(kubelet_restarts(second)).done


def test_env_metadata_is_written_with_its_containers_batch() -> None:
    env = {"app": [{"name": "KRUISE_CONTAINER_PRIORITY", "value": "1"}],
           "proxy": [{"name": "KRUISE_CONTAINER_PRIORITY", "value": "2"}]}
    pod = running_pod(("app", "nginx:1.25"), ("proxy", "envoy:1.0"), env=env)
    change = InPlaceChange(images={"app": "nginx:1.26", "proxy": "envoy:1.1"},
                           env_metadata={"app": RefMetadata(labels={"version": "2"})})
    first = update_patch(pod, change, "r2", NOW)
    assert "version" not in first["metadata"]["labels"]
    state = read_state(merge(pod, first))
    assert state is not None and state.update_env_from_metadata
    assert state.next_container_ref_metadata == {"app": RefMetadata(labels={"version": "2"})}
    ready = kubelet_restarts(merge(pod, first))
    second = next_batch_patch(ready, NOW)
    assert second is not None and second["metadata"]["labels"] == {"version": "2"}


def test_finish_patch_sets_the_gate_true_once() -> None:
    pod = running_pod()
    started = merge(pod, start_patch(pod, NOW))
    body = finish_patch(started, NOW)
    assert body is not None
    (cond,) = body["status"]["conditions"]
    assert (cond["type"], cond["status"], cond["reason"]) == (INPLACE_UPDATE_READY, "True", None)
    assert finish_patch(merge(started, body), NOW) is None
    assert finish_patch(running_pod(gate=False), NOW) is None
