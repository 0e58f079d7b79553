"""completion() and refresh(): when an update is done, and which write comes next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mizzen.api.kruise import INPLACE_UPDATE_READY, INPLACE_UPDATE_STATE
from mizzen.cluster.kubelet.identity import image_id
from mizzen.workloads.inplace import (
    InPlaceChange,
    RefreshKind,
    completion,
    refresh,
    start_patch,
    update_patch,
)
from tests.workloads.inplace.podsim import kubelet_restarts, merge, running_pod

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def updated(pod: Obj, images: dict[str, str], grace: int = 0) -> Obj:
    """``pod`` after start_patch and update_patch to revision r2."""
    started = merge(pod, start_patch(pod, NOW))
    return merge(started, update_patch(started, InPlaceChange(images=images), "r2", NOW,
                                       grace_seconds=grace))


def status_of(pod: Obj, name: str) -> Obj:
    return next(s for s in pod["status"]["containerStatuses"] if s["name"] == name)


def same_digest_new_tag(pod: Obj) -> Obj:
    """The kubelet ran the new tag, whose digest (imageID) is the old one."""
    out = kubelet_restarts(pod)
    status_of(out, "app")["imageID"] = image_id("nginx:1.25")
    return out


@dataclass(frozen=True)
class Case:
    name: str
    pod: Callable[[], Obj]
    done: bool
    message: str


ONE = running_pod()
TWO = running_pod(("app", "nginx:1.25"), ("proxy", "envoy:1.0"))
CASES = [
    Case("never updated -> done", lambda: ONE, True, "no in-place update recorded"),
    Case("image written, kubelet not there yet -> waits on the old imageID",
         lambda: updated(ONE, {"app": "nginx:1.26"}), False,
         f"container app still runs imageID {image_id('nginx:1.25')} (nginx:1.25)"),
    Case("container being recreated (old image reported, waiting) -> waits",
         lambda: kubelet_restarts(updated(ONE, {"app": "nginx:1.26"}), running=False), False,
         f"container app still runs imageID {image_id('nginx:1.25')} (nginx:1.25)"),
    Case("new imageID and running -> done",
         lambda: kubelet_restarts(updated(ONE, {"app": "nginx:1.26"})), True,
         "updated containers run their new spec"),
    Case("new tag with the same digest: status image equals spec image -> done",
         lambda: same_digest_new_tag(updated(ONE, {"app": "nginx:1.26"})), True,
         "updated containers run their new spec"),
    Case("two containers, both written, one restarted -> waits for the other",
         lambda: _restart_only(updated(TWO, {"app": "nginx:1.26", "proxy": "envoy:1.1"}),
                               "app"), False,
         f"container proxy still runs imageID {image_id('envoy:1.0')} (envoy:1.0)"),
    Case("recorded container missing from status -> waits",
         lambda: _drop_status(updated(ONE, {"app": "nginx:1.26"}), "app"), False,
         "container app has no status yet"),
    Case("in the grace period -> waits",
         lambda: updated(ONE, {"app": "nginx:1.26"}, grace=30), False,
         "in the grace period (30s) of the update to r2"),
    Case("unreadable state annotation -> waits, saying so",
         lambda: merge(ONE, {"metadata": {"annotations": {INPLACE_UPDATE_STATE: "{"}}}), False,
         "unreadable in-place update annotation: not JSON: Expecting property name enclosed "
         "in double quotes: line 1 column 2 (char 1)"),
]


def _restart_only(pod: Obj, name: str) -> Obj:
    restarted = kubelet_restarts(pod)
    out = merge(pod, None)
    out["status"]["containerStatuses"] = [
        status_of(restarted, s["name"]) if s["name"] == name else s
        for s in pod["status"]["containerStatuses"]]
    return out


def _drop_status(pod: Obj, name: str) -> Obj:
    out = merge(pod, None)
    out["status"]["containerStatuses"] = [s for s in out["status"]["containerStatuses"]
                                          if s["name"] != name]
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_completion(case: Case) -> None:
    result = completion(case.pod())
    assert (result.done, result.message) == (case.done, case.message)


def test_refresh_walks_an_update_to_ready() -> None:
    pod = running_pod()
    # step 1 written, step 2 not yet: refresh leaves it for the controller's update patch
    started = merge(pod, start_patch(pod, NOW))
    held = refresh(started, NOW, update_revision="r2")
    assert held.kind == RefreshKind.WAIT and "update patch is next" in held.message
    # step 2 written: waits for the kubelet
    patched = merge(started, update_patch(started, InPlaceChange(images={"app": "nginx:1.26"}),
                                          "r2", NOW))
    assert refresh(patched, NOW, "r2").kind == RefreshKind.WAIT
    # kubelet restarted it: the gate goes back to True
    done = kubelet_restarts(patched)
    step = refresh(done, NOW, "r2")
    assert step.kind == RefreshKind.PATCH_STATUS
    ready = merge(done, step.body)
    assert refresh(ready, NOW, "r2").kind == RefreshKind.NONE
    cond = next(c for c in ready["status"]["conditions"] if c["type"] == INPLACE_UPDATE_READY)
    assert cond["status"] == "True" and "reason" not in cond


def test_refresh_gives_a_new_pod_its_initial_condition() -> None:
    pod = running_pod()
    pod["status"]["conditions"] = [c for c in pod["status"]["conditions"]
                                   if c["type"] != INPLACE_UPDATE_READY]
    step = refresh(pod, NOW, "r1")
    assert step.kind == RefreshKind.PATCH_STATUS


def test_refresh_requeues_for_the_rest_of_the_grace_period_then_patches() -> None:
    parked = updated(running_pod(), {"app": "nginx:1.26"}, grace=30)
    waiting = refresh(parked, NOW + timedelta(seconds=12), "r2")
    assert (waiting.kind, waiting.requeue_after) == (RefreshKind.WAIT, 18.0)
    due = refresh(parked, NOW + timedelta(seconds=30), "r2")
    assert due.kind == RefreshKind.PATCH_POD and due.body is not None
    assert due.body["spec"]["containers"] == [{"name": "app", "image": "nginx:1.26"}]


def test_refresh_blocks_the_next_batch_until_the_first_is_ready() -> None:
    env = {"proxy": [{"name": "KRUISE_CONTAINER_PRIORITY", "value": "5"}]}
    pod = running_pod(("app", "nginx:1.25"), ("proxy", "envoy:1.0"), env=env)
    first = updated(pod, {"app": "nginx:1.26", "proxy": "envoy:1.1"})
    # app has no priority: it goes in the first batch with the highest-priority proxy
    assert [c["image"] for c in first["spec"]["containers"]] == ["nginx:1.26", "envoy:1.1"]

    env = {"app": [{"name": "KRUISE_CONTAINER_PRIORITY", "value": "1"}],
           "proxy": [{"name": "KRUISE_CONTAINER_PRIORITY", "value": "5"}]}
    pod = running_pod(("app", "nginx:1.25"), ("proxy", "envoy:1.0"), env=env)
    first = kubelet_restarts(updated(pod, {"app": "nginx:1.26", "proxy": "envoy:1.1"}))
    not_ready = merge(first, None)
    status_of(not_ready, "proxy")["ready"] = False
    blocked = refresh(not_ready, NOW, "r2")
    assert (blocked.kind, blocked.message) == (RefreshKind.WAIT,
                                               "waiting for container proxy to be ready")
    go = refresh(first, NOW, "r2")
    assert go.kind == RefreshKind.PATCH_POD and go.message == "next batch"
