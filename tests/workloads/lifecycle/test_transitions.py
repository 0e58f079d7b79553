"""Lifecycle transitions, as a table of scenario steps."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from mizzen.api.cloneset.types import Lifecycle, LifecycleHook
from mizzen.api.kruise import KRUISE_POD_READY, LIFECYCLE_STATE, LifecycleState
from mizzen.workloads.lifecycle import (
    Action,
    Transition,
    delete_transition,
    finish_transition,
    normal_transition,
    refresh_transition,
    update_transition,
)
from tests.workloads.lifecycle.podsim import pod

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
DRAIN = {"example.com/drain": "true"}
HOOK = LifecycleHook(labels_handler=DRAIN)
HOOK_NOT_READY = LifecycleHook(labels_handler=DRAIN, mark_pod_not_ready=True)
FIN = LifecycleHook(finalizers_handler=("example.com/warm",))
HELD_UPDATE = ("False", '[{"userAgent":"Lifecycle","key":"preUpdateHook"}]')
HELD_DELETE = ("False", '[{"userAgent":"Lifecycle","key":"preDeleteHook"}]')

Fn = Callable[[Obj, Lifecycle | None, datetime], Transition]


def finish(completed: bool, at_update_revision: bool = False) -> Fn:
    return lambda p, lc, now: finish_transition(p, lc, now, completed=completed,
                                                at_update_revision=at_update_revision)


@dataclass(frozen=True)
class Case:
    name: str
    fn: Fn
    pod: Obj
    lifecycle: Lifecycle | None
    action: Action
    # The state label the body writes (PATCH) / the state entered.
    to: str | None = None


CASES = [
    # -- created -> PreparingNormal -> Normal
    Case("new pod, no lifecycle: PreparingNormal -> Normal", normal_transition,
         pod("PreparingNormal"), None, Action.PATCH, "Normal"),
    Case("new pod, preNormal hook not in place yet: waits", normal_transition,
         pod("PreparingNormal"), Lifecycle(pre_normal=FIN), Action.WAIT),
    Case("new pod, preNormal finalizer in place: -> Normal", normal_transition,
         pod("PreparingNormal", finalizers=("example.com/warm",)), Lifecycle(pre_normal=FIN),
         Action.PATCH, "Normal"),
    Case("running pod in Normal: nothing to do", normal_transition, pod("Normal"), None,
         Action.NONE),
    # -- Normal -> PreparingUpdate -> Updating
    Case("update due, no hook: proceed, writing Updating with the update",
         update_transition, pod("Normal"), None, Action.PROCEED, "Updating"),
    Case("update due, pod without a state label: proceed", update_transition, pod(None),
         Lifecycle(in_place_update=HOOK), Action.PROCEED, "Updating"),
    Case("update due, hook holds the pod: -> PreparingUpdate", update_transition,
         pod("Normal", labels=DRAIN), Lifecycle(in_place_update=HOOK), Action.PATCH,
         "PreparingUpdate"),
    Case("update due, hook holds, markPodNotReady: hold KruisePodReady (step 1/2)",
         update_transition, pod("Normal", labels=DRAIN, gate=True, kruise_ready=("True", "")),
         Lifecycle(in_place_update=HOOK_NOT_READY), Action.PATCH_STATUS, "PreparingUpdate"),
    Case("update due, hook holds, markPodNotReady: hold written, -> PreparingUpdate (2/2)",
         update_transition, pod("Normal", labels=DRAIN, gate=True, kruise_ready=HELD_UPDATE),
         Lifecycle(in_place_update=HOOK_NOT_READY), Action.PATCH, "PreparingUpdate"),
    Case("PreparingUpdate, hook still holds: waits", update_transition,
         pod("PreparingUpdate", labels=DRAIN), Lifecycle(in_place_update=HOOK), Action.WAIT),
    Case("PreparingUpdate, hook released: proceed", update_transition,
         pod("PreparingUpdate"), Lifecycle(in_place_update=HOOK), Action.PROCEED, "Updating"),
    Case("Updated, another update due: re-arm the hook, -> PreparingUpdate",
         update_transition, pod("Updated"), Lifecycle(in_place_update=HOOK), Action.PATCH,
         "PreparingUpdate"),
    Case("Updating, a newer revision due: proceed", update_transition, pod("Updating"),
         Lifecycle(in_place_update=HOOK), Action.PROCEED, "Updating"),
    Case("PreparingDelete: not updated", update_transition, pod("PreparingDelete"), None,
         Action.REFUSE),
    # -- Updating -> Updated / Normal
    Case("Updating, update still running: waits", finish(False), pod("Updating"), None,
         Action.WAIT),
    Case("Updating, done, no lifecycle: -> Normal", finish(True), pod("Updating"), None,
         Action.PATCH, "Normal"),
    Case("Updating, done, hook defined and released: -> Updated", finish(True),
         pod("Updating"), Lifecycle(in_place_update=HOOK), Action.PATCH, "Updated"),
    Case("Updating, done, hook already re-armed: -> Normal", finish(True),
         pod("Updating", labels=DRAIN), Lifecycle(in_place_update=HOOK), Action.PATCH,
         "Normal"),
    Case("Updating, done, markPodNotReady: release the hold first", finish(True),
         pod("Updating", gate=True, kruise_ready=HELD_UPDATE),
         Lifecycle(in_place_update=HOOK_NOT_READY), Action.PATCH_STATUS, "Updated"),
    Case("PreparingUpdate but at the update revision (rollback): -> Updated",
         finish(False, at_update_revision=True), pod("PreparingUpdate"),
         Lifecycle(in_place_update=HOOK), Action.PATCH, "Updated"),
    Case("PreparingUpdate, not at the update revision: not finished here", finish(False),
         pod("PreparingUpdate"), Lifecycle(in_place_update=HOOK), Action.NONE),
    # -- Updated -> Normal
    Case("Updated, hook not back yet: waits", normal_transition, pod("Updated"),
         Lifecycle(in_place_update=HOOK), Action.WAIT),
    Case("Updated, user re-armed the hook: -> Normal", normal_transition,
         pod("Updated", labels=DRAIN), Lifecycle(in_place_update=HOOK), Action.PATCH, "Normal"),
    # -- any -> PreparingDelete -> deleted
    Case("scale down, no preDelete hook: delete", delete_transition, pod("Normal"), None,
         Action.DELETE),
    Case("scale down, preDelete hook holds: -> PreparingDelete", delete_transition,
         pod("Normal", labels=DRAIN), Lifecycle(pre_delete=HOOK), Action.PATCH,
         "PreparingDelete"),
    Case("scale down, preDelete markPodNotReady: hold first", delete_transition,
         pod("Normal", labels=DRAIN, gate=True, kruise_ready=("True", "")),
         Lifecycle(pre_delete=HOOK_NOT_READY), Action.PATCH_STATUS, "PreparingDelete"),
    Case("PreparingDelete, hook still holds: waits", delete_transition,
         pod("PreparingDelete", labels=DRAIN, gate=True, kruise_ready=HELD_DELETE),
         Lifecycle(pre_delete=HOOK_NOT_READY), Action.WAIT, "PreparingDelete"),
    Case("PreparingDelete, hook released: delete", delete_transition,
         pod("PreparingDelete"), Lifecycle(pre_delete=HOOK), Action.DELETE),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_transition(case: Case) -> None:
    t = case.fn(case.pod, case.lifecycle, NOW)
    assert t.action == case.action, t.reason
    assert (t.to.value if t.to else None) == case.to
    if t.action == Action.PATCH:
        assert t.body is not None
        assert t.body["metadata"]["labels"][LIFECYCLE_STATE] == case.to
    if t.action == Action.PROCEED:
        assert t.labels == {LIFECYCLE_STATE: "Updating"}
        assert t.annotations == {"lifecycle.apps.kruise.io/timestamp": "2024-05-01T12:00:00Z"}


def kruise_ready(body: Obj) -> Obj:
    return next(c for c in body["status"]["conditions"] if c["type"] == KRUISE_POD_READY)


def test_hold_and_release_bodies() -> None:
    held = update_transition(pod("Normal", labels=DRAIN, gate=True,
                                 kruise_ready=("True", "")),
                             Lifecycle(in_place_update=HOOK_NOT_READY), NOW)
    assert held.body is not None
    cond = kruise_ready(held.body)
    assert (cond["status"], json.loads(cond["message"])) == (
        "False", [{"userAgent": "Lifecycle", "key": "preUpdateHook"}])
    released = finish_transition(pod("Updating", gate=True, kruise_ready=HELD_UPDATE),
                                 Lifecycle(in_place_update=HOOK_NOT_READY), NOW,
                                 completed=True, at_update_revision=True)
    assert released.body is not None
    assert kruise_ready(released.body)["status"] == "True"


def test_rearming_from_updated_adds_the_hook_labels_and_finalizers() -> None:
    hook = LifecycleHook(labels_handler=DRAIN, finalizers_handler=("example.com/warm",))
    t = update_transition(pod("Updated"), Lifecycle(in_place_update=hook), NOW)
    assert t.body is not None
    assert t.body["metadata"]["labels"] == {**DRAIN, LIFECYCLE_STATE: "PreparingUpdate"}
    assert t.body["metadata"]["finalizers"] == ["example.com/warm"]


def test_refresh_finishes_an_update_before_anything_else() -> None:
    lc = Lifecycle(in_place_update=HOOK)
    t = refresh_transition(pod("Updating"), lc, NOW, completed=True, at_update_revision=True)
    assert (t.action, t.to) == (Action.PATCH, LifecycleState.UPDATED)
    t = refresh_transition(pod("PreparingNormal"), lc, NOW, completed=True,
                           at_update_revision=True)
    assert (t.action, t.to) == (Action.PATCH, LifecycleState.NORMAL)
    t = refresh_transition(pod("Normal"), lc, NOW, completed=True, at_update_revision=True)
    assert t.action == Action.NONE
