"""The lifecycle state of a pod: one label, one timestamp, and whether a hook holds it.

A workload with a ``lifecycle`` spec walks each pod through the states of
``lifecycle.apps.kruise.io/state`` (``LifecycleState``) and lets users hold
it in a ``Preparing*`` state with a hook: labels (``labelsHandler``) or
finalizers (``finalizersHandler``) that their own controller removes when
it is done (drain traffic, deregister, warm up).

Facts kept from upstream (``pkg/util/lifecycle``):

* the state is a label; when it was entered is the annotation
  ``lifecycle.apps.kruise.io/timestamp`` (RFC 3339 — a timestamp is not a
  valid label value, so upstream writes it as an annotation, and so do we);
* a hook *holds* a pod while ANY of its labels (with its value) or
  finalizers is present (:func:`is_hooked`), and *is all in place* when every
  one is (:func:`is_all_hooked`) — what ``preNormal`` waits for, and what
  says a user re-armed an ``inPlaceUpdate`` hook;
* a missing hook neither holds nor is in place;
* every pod a workload creates starts in ``PreparingNormal``.

Changes go out as strategic-merge patches of the pod (labels, annotations,
finalizers merge), never as full updates.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mizzen.api.cloneset.types import LifecycleHook
from mizzen.api.kruise import LIFECYCLE_STATE, LIFECYCLE_TIMESTAMP, LifecycleState
from mizzen.cluster.podutil import labels_of, rfc3339

__all__ = [
    "created_annotations",
    "created_labels",
    "is_all_hooked",
    "is_hooked",
    "state_of",
    "state_patch",
    "timestamp_annotations",
]

Obj = dict[str, Any]


def state_of(pod: Mapping[str, Any]) -> LifecycleState | None:
    """The pod's lifecycle state (None: no label, or a value this version does not know)."""
    raw = labels_of(pod).get(LIFECYCLE_STATE)
    try:
        return LifecycleState(raw) if raw else None
    except ValueError:
        return None


def _finalizers(pod: Mapping[str, Any]) -> set[str]:
    return set((pod.get("metadata") or {}).get("finalizers") or ())


def is_hooked(pod: Mapping[str, Any], hook: LifecycleHook | None) -> bool:
    """Whether ``hook`` holds the pod: any of its labels (with its value) or finalizers
    is present."""
    if hook is None:
        return False
    labels = labels_of(pod)
    return bool(set(hook.finalizers_handler) & _finalizers(pod)) or any(
        labels.get(k) == v for k, v in hook.labels_handler.items())


def is_all_hooked(pod: Mapping[str, Any], hook: LifecycleHook | None) -> bool:
    """Whether every label and finalizer of ``hook`` is on the pod (False for no hook)."""
    if hook is None:
        return False
    labels = labels_of(pod)
    return set(hook.finalizers_handler) <= _finalizers(pod) and all(
        labels.get(k) == v for k, v in hook.labels_handler.items())


def timestamp_annotations(now: datetime) -> dict[str, str]:
    """The annotation recording when the current state was entered."""
    return {LIFECYCLE_TIMESTAMP: rfc3339(now)}


def created_labels() -> dict[str, str]:
    """Labels for a pod a workload creates: state ``PreparingNormal`` (whatever the
    lifecycle — without a preNormal hook the next refresh makes it Normal)."""
    return {LIFECYCLE_STATE: LifecycleState.PREPARING_NORMAL.value}


def created_annotations(now: datetime) -> dict[str, str]:
    """Annotations for a pod a workload creates (the state's timestamp)."""
    return timestamp_annotations(now)


def state_patch(state: LifecycleState, now: datetime,
                hook: LifecycleHook | None = None) -> Obj:
    """Strategic-merge patch of the pod entering ``state``; with ``hook``, also (re)adding
    the hook's labels and finalizers (entering PreparingUpdate again from Updated)."""
    labels = {LIFECYCLE_STATE: state.value}
    meta: Obj = {"annotations": timestamp_annotations(now)}
    if hook is not None:
        labels = {**hook.labels_handler, **labels}
        if hook.finalizers_handler:
            meta["finalizers"] = list(hook.finalizers_handler)
    meta["labels"] = labels
    return {"metadata": meta}
