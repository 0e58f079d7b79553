"""Lifecycle transitions as pure decisions: given a pod, its workload's ``lifecycle`` and the
time, the ONE next write (or why none).

The table (upstream ``cloneset_update.go`` / ``cloneset_scale.go``)::

    created            -> PreparingNormal   every new pod (state.created_labels)
    PreparingNormal    -> Normal            no preNormal hook, or all its labels/finalizers
                                            are in place                 normal_transition
    Normal             -> PreparingUpdate   the inPlaceUpdate hook holds the pod when an
                                            in-place update is due       update_transition
    Updated            -> PreparingUpdate   same, re-adding the hook's labels/finalizers
    PreparingUpdate    -> Updating          hook released: written WITH the in-place patch
                                            (PROCEED: merge labels/annotations into it)
    Updating           -> Updated | Normal  update complete: Updated while an inPlaceUpdate
                                            hook is defined and not all in place, else
                                            Normal                       finish_transition
    PreparingUpdate    -> Updated | Normal  the pod is at the update revision already
                                            (a rollback, upstream #1156)  finish_transition
    Updated            -> Normal            the hook is back in place (or none defined)
                                            normal_transition
    any                -> PreparingDelete   the preDelete hook holds the pod when it is to
                                            be deleted; deleted once released
                                                                        delete_transition

``markPodNotReady``: entering PreparingDelete or PreparingUpdate first holds
``KruisePodReady`` False (a ``pods/status`` write, ``readiness.py``); leaving
the update states (to Updated or Normal) releases the update hold.  Status
first, label second, each in its own pass: a transition function called
again after the status write returns the label patch.

Deliberate difference: upstream releases the update hold only on entering
Updated, so a pod going Updating -> Normal directly (hook already re-armed)
would stay not ready; here entering Normal releases it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from mizzen.api.cloneset.types import Lifecycle, LifecycleHook
from mizzen.api.kruise import LIFECYCLE_STATE, LifecycleState
from mizzen.workloads.lifecycle.readiness import (
    PRE_DELETE_KEY,
    PRE_UPDATE_KEY,
    add_not_ready_key,
    remove_not_ready_key,
)
from mizzen.workloads.lifecycle.state import (
    is_all_hooked,
    is_hooked,
    state_of,
    state_patch,
    timestamp_annotations,
)

__all__ = [
    "Action",
    "Transition",
    "delete_transition",
    "finish_transition",
    "normal_transition",
    "refresh_transition",
    "update_transition",
]

Obj = dict[str, Any]


class Action(StrEnum):
    """What the controller does with a :class:`Transition`."""

    NONE = "none"  # no transition applies to this pod here
    WAIT = "wait"  # a hook (or a running update) holds the pod: write nothing
    PATCH = "patch"  # write ``body`` to the pod (strategic merge)
    PATCH_STATUS = "patch-status"  # write ``body`` to pods/status (KruisePodReady) first
    PROCEED = "proceed"  # update now: merge ``labels``/``annotations`` into the update patch
    DELETE = "delete"  # delete the pod now
    REFUSE = "refuse"  # a pod in this state may not be updated in place


@dataclass(frozen=True)
class Transition:
    """The next lifecycle write for one pod."""

    # What to do.
    action: Action
    # The patch for PATCH / PATCH_STATUS.
    body: Obj | None = None
    # The state being entered (PATCH, PATCH_STATUS, PROCEED).
    to: LifecycleState | None = None
    # PROCEED: labels to merge into the in-place update patch.
    labels: Mapping[str, str] = field(default_factory=dict)
    # PROCEED: annotations to merge into the in-place update patch.
    annotations: Mapping[str, str] = field(default_factory=dict)
    # Why, for logs, events and conditions.
    reason: str = ""


_NO_LIFECYCLE = Lifecycle()  # frozen: "no hooks at all"


def _enter(pod: Mapping[str, Any], to: LifecycleState, now: datetime, *,
           hold: str | None = None, release: str | None = None,
           rearm: LifecycleHook | None = None) -> Transition:
    """Status write first (hold/release a KruisePodReady key), then the state label."""
    status = None
    if hold is not None:
        status = add_not_ready_key(pod, hold, now)
    elif release is not None:
        status = remove_not_ready_key(pod, release, now)
    if status is not None:
        return Transition(Action.PATCH_STATUS, status, to, reason=f"not-ready hold for {to}")
    if state_of(pod) == to and (rearm is None or is_all_hooked(pod, rearm)):
        return Transition(Action.NONE, to=to, reason=f"already {to}")
    return Transition(Action.PATCH, state_patch(to, now, rearm), to, reason=f"enter {to}")


def normal_transition(pod: Mapping[str, Any], lifecycle: Lifecycle | None,
                      now: datetime) -> Transition:
    """PreparingNormal -> Normal, and Updated -> Normal (see the table)."""
    state = state_of(pod)
    if state == LifecycleState.PREPARING_NORMAL:
        hook = (lifecycle or _NO_LIFECYCLE).pre_normal
        if hook is None or is_all_hooked(pod, hook):
            return _enter(pod, LifecycleState.NORMAL, now)
        return Transition(Action.WAIT, reason="waiting for the preNormal hook's labels "
                                              "and finalizers")
    if state == LifecycleState.UPDATED:
        hook = (lifecycle or _NO_LIFECYCLE).in_place_update
        if hook is None or is_all_hooked(pod, hook):
            return _enter(pod, LifecycleState.NORMAL, now, release=PRE_UPDATE_KEY)
        return Transition(Action.WAIT, reason="waiting for the inPlaceUpdate hook to be "
                                              "back in place")
    return Transition(Action.NONE)


def finish_transition(pod: Mapping[str, Any], lifecycle: Lifecycle | None, now: datetime, *,
                      completed: bool, at_update_revision: bool) -> Transition:
    """Updating -> Updated/Normal once ``completed`` (the in-place update's
    :func:`~mizzen.workloads.inplace.completion`); PreparingUpdate -> Updated/Normal when
    the pod is ``at_update_revision`` already."""
    state = state_of(pod)
    hook = (lifecycle or _NO_LIFECYCLE).in_place_update
    target = (LifecycleState.UPDATED if hook is not None and not is_all_hooked(pod, hook)
              else LifecycleState.NORMAL)
    if state == LifecycleState.UPDATING:
        if not completed:
            return Transition(Action.WAIT, reason="in-place update running")
        return _enter(pod, target, now, release=PRE_UPDATE_KEY)
    if state == LifecycleState.PREPARING_UPDATE and at_update_revision:
        return _enter(pod, target, now, release=PRE_UPDATE_KEY)
    return Transition(Action.NONE)


def refresh_transition(pod: Mapping[str, Any], lifecycle: Lifecycle | None, now: datetime, *,
                       completed: bool, at_update_revision: bool) -> Transition:
    """The refresh a controller runs for every pod each pass: :func:`finish_transition`,
    else :func:`normal_transition`."""
    done = finish_transition(pod, lifecycle, now, completed=completed,
                             at_update_revision=at_update_revision)
    return done if done.action != Action.NONE else normal_transition(pod, lifecycle, now)


def _proceed(now: datetime) -> Transition:
    return Transition(Action.PROCEED, to=LifecycleState.UPDATING,
                      labels={LIFECYCLE_STATE: LifecycleState.UPDATING.value},
                      annotations=timestamp_annotations(now), reason="update in place")


def update_transition(pod: Mapping[str, Any], lifecycle: Lifecycle | None,
                      now: datetime) -> Transition:
    """Before updating a pod in place: PROCEED (merge the returned labels/annotations
    into :func:`~mizzen.workloads.inplace.update.update_patch`), or first enter
    PreparingUpdate and WAIT while the inPlaceUpdate hook holds the pod."""
    state = state_of(pod)
    hook = (lifecycle or _NO_LIFECYCLE).in_place_update
    hold = PRE_UPDATE_KEY if hook is not None and hook.mark_pod_not_ready else None
    if state in (None, LifecycleState.PREPARING_NORMAL, LifecycleState.NORMAL):
        if is_hooked(pod, hook):
            return _enter(pod, LifecycleState.PREPARING_UPDATE, now, hold=hold)
        return _proceed(now)
    if state == LifecycleState.UPDATED:
        if hook is not None:
            return _enter(pod, LifecycleState.PREPARING_UPDATE, now, hold=hold, rearm=hook)
        return _proceed(now)
    if state == LifecycleState.PREPARING_UPDATE:
        if is_hooked(pod, hook):
            held = _enter(pod, LifecycleState.PREPARING_UPDATE, now, hold=hold)
            if held.action != Action.NONE:
                return held
            return Transition(Action.WAIT, reason="held by the inPlaceUpdate hook")
        return _proceed(now)
    if state == LifecycleState.UPDATING:
        return _proceed(now)
    return Transition(Action.REFUSE, reason=f"a pod in {state} is not updated")


def delete_transition(pod: Mapping[str, Any], lifecycle: Lifecycle | None,
                      now: datetime) -> Transition:
    """A pod the workload wants gone: enter PreparingDelete while the preDelete hook holds
    it (WAIT there), DELETE once it does not."""
    hook = (lifecycle or _NO_LIFECYCLE).pre_delete
    if not is_hooked(pod, hook):
        return Transition(Action.DELETE, reason="not held by a preDelete hook")
    hold = PRE_DELETE_KEY if hook is not None and hook.mark_pod_not_ready else None
    entered = _enter(pod, LifecycleState.PREPARING_DELETE, now, hold=hold)
    if entered.action != Action.NONE:
        return entered
    return Transition(Action.WAIT, to=LifecycleState.PREPARING_DELETE,
                      reason="held by the preDelete hook")
