"""KruisePodReady holds: upstream's message list, several holders, the initial condition."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mizzen.api.cloneset.types import Lifecycle, LifecycleHook
from mizzen.api.kruise import KRUISE_POD_READY
from mizzen.workloads.lifecycle import (
    add_not_ready_key,
    initial_patch,
    needs_gate,
    not_ready_keys,
    remove_not_ready_key,
    with_kruise_ready_gate,
)
from tests.workloads.inplace.podsim import merge
from tests.workloads.lifecycle.podsim import pod

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def kruise_ready(p: Obj) -> Obj:
    return next(c for c in p["status"]["conditions"] if c["type"] == KRUISE_POD_READY)


def test_gate_is_needed_only_when_a_hook_marks_pods_not_ready() -> None:
    assert not needs_gate(None)
    assert not needs_gate(Lifecycle(pre_delete=LifecycleHook()))
    assert needs_gate(Lifecycle(in_place_update=LifecycleHook(mark_pod_not_ready=True)))
    assert needs_gate(Lifecycle(pre_delete=LifecycleHook(mark_pod_not_ready=True)))
    gated = with_kruise_ready_gate({"containers": []})
    assert gated["readinessGates"] == [{"conditionType": KRUISE_POD_READY}]


def test_a_new_gated_pod_gets_true_once() -> None:
    fresh = pod(gate=True)
    body = initial_patch(fresh, NOW)
    assert body is not None and kruise_ready(merge(fresh, body))["status"] == "True"
    assert initial_patch(merge(fresh, body), NOW) is None
    assert initial_patch(pod(gate=False), NOW) is None


def test_two_holders_release_one_at_a_time() -> None:
    p = merge(pod(gate=True), initial_patch(pod(gate=True), NOW))
    p = merge(p, add_not_ready_key(p, "preUpdateHook", NOW))
    p = merge(p, add_not_ready_key(p, "preDeleteHook", NOW))
    cond = kruise_ready(p)
    assert cond["status"] == "False"
    assert cond["message"] == ('[{"userAgent":"Lifecycle","key":"preDeleteHook"},'
                               '{"userAgent":"Lifecycle","key":"preUpdateHook"}]')
    assert not_ready_keys(p) == [("Lifecycle", "preDeleteHook"), ("Lifecycle", "preUpdateHook")]
    assert add_not_ready_key(p, "preDeleteHook", NOW) is None  # already held

    p = merge(p, remove_not_ready_key(p, "preUpdateHook", NOW))
    assert kruise_ready(p)["status"] == "False"
    assert not_ready_keys(p) == [("Lifecycle", "preDeleteHook")]
    p = merge(p, remove_not_ready_key(p, "preDeleteHook", NOW))
    assert kruise_ready(p)["status"] == "True" and not_ready_keys(p) == []
    assert remove_not_ready_key(p, "preDeleteHook", NOW) is None


def test_pods_without_the_gate_are_left_alone() -> None:
    assert add_not_ready_key(pod(), "preDeleteHook", NOW) is None
    assert remove_not_ready_key(pod(kruise_ready=("False", "[]")), "x", NOW) is None


def test_holding_also_takes_the_pod_out_of_ready() -> None:
    p = pod(gate=True, kruise_ready=("True", ""))
    body = add_not_ready_key(p, "preDeleteHook", NOW)
    assert body is not None
    ready = next(c for c in body["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ReadinessGatesNotReady")
