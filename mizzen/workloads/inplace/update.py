"""The writes of an in-place update, each a pure function from the pod to one patch body.

A controller makes one kind of write per pass, so the update is a sequence
of idempotent steps, each computed from the pod as it is now (a step already
done returns ``None``):

1. :func:`start_patch` (``pods/status``): ``InPlaceUpdateReady=False``, reason
   ``StartInPlaceUpdate`` — endpoints drop the pod before anything restarts.
   Only for pods with the readiness gate (:func:`with_readiness_gate`, which
   a controller applies to every pod it creates).
2. :func:`update_patch` (``pods``, strategic merge): ONE body with the new
   revision label, the caller's extra labels/annotations (lifecycle state),
   the template's metadata changes, the state annotation and the new images
   by container name.  With ``grace_seconds > 0`` it writes the labels and the
   state now and parks everything else in ``apps.kruise.io/inplace-update-grace``.
3. :func:`grace_patch` (``pods``): once the grace period has passed, the parked
   update; before that, how long to wait.
4. :func:`next_batch_patch` (``pods``): the next batch of lower-priority
   containers, once the previous batch is updated and Ready.
5. :func:`finish_patch` (``pods/status``): ``InPlaceUpdateReady=True`` — also
   the initial condition of a new pod, which otherwise never becomes Ready.

Patches that depend on what the pod held when they were computed (its
container ``imageID`` s, its state annotation) carry its ``resourceVersion``,
so a stale cache gets a 409 instead of recording the wrong "before".
:func:`mizzen.workloads.inplace.progress.refresh` says which step is due.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mizzen.api.kruise import (
    CONTROLLER_REVISION_HASH,
    INPLACE_UPDATE_GRACE,
    INPLACE_UPDATE_READY,
    INPLACE_UPDATE_STATE,
)
from mizzen.cluster.podutil import labels_of
from mizzen.workloads.inplace.batches import apply_batch, pre_check_failures
from mizzen.workloads.inplace.completion import containers_completion
from mizzen.workloads.inplace.conditions import (
    condition_patch,
    find_condition,
    has_gate,
    with_gate,
)
from mizzen.workloads.inplace.diff import InPlaceChange
from mizzen.workloads.inplace.state import (
    InPlaceUpdateState,
    PendingSpec,
    StateError,
    read_grace,
    read_state,
)

__all__ = [
    "START_REASON",
    "finish_patch",
    "grace_patch",
    "is_started",
    "next_batch_patch",
    "start_patch",
    "update_patch",
    "with_readiness_gate",
]

Obj = dict[str, Any]
# Reason of InPlaceUpdateReady=False while an update runs.
START_REASON = "StartInPlaceUpdate"


def with_readiness_gate(pod_spec: Mapping[str, Any]) -> Obj:
    """A copy of ``pod_spec`` with readiness gate ``InPlaceUpdateReady`` (for every pod a
    workload that may update in place creates)."""
    return with_gate(pod_spec, INPLACE_UPDATE_READY)


def is_started(pod: Mapping[str, Any]) -> bool:
    """``InPlaceUpdateReady`` is False with reason ``StartInPlaceUpdate``."""
    cond = find_condition(pod, INPLACE_UPDATE_READY)
    return cond is not None and cond.get("status") == "False" \
        and cond.get("reason") == START_REASON


def start_patch(pod: Mapping[str, Any], now: datetime) -> Obj | None:
    """Step 1 (``pods/status``): take the pod out of endpoints; None when already done or
    the pod has no ``InPlaceUpdateReady`` gate."""
    if not has_gate(pod, INPLACE_UPDATE_READY):
        return None
    return condition_patch(pod, INPLACE_UPDATE_READY, "False", now, START_REASON)


def finish_patch(pod: Mapping[str, Any], now: datetime) -> Obj | None:
    """Step 5 (``pods/status``): ``InPlaceUpdateReady=True``; None when already True or the
    pod has no gate.  Call it only when the update is complete (or none is running)."""
    if not has_gate(pod, INPLACE_UPDATE_READY):
        return None
    return condition_patch(pod, INPLACE_UPDATE_READY, "True", now)


def _body(pod: Mapping[str, Any], labels: Mapping[str, str | None],
          annotations: Mapping[str, str | None], containers: tuple[Obj, ...]) -> Obj:
    meta: Obj = {}
    version = (pod.get("metadata") or {}).get("resourceVersion")
    if version:
        meta["resourceVersion"] = version
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    body: Obj = {"metadata": meta}
    if containers:
        body["spec"] = {"containers": [dict(c) for c in containers]}
    return body


def _has_grace(pod: Mapping[str, Any]) -> bool:
    return INPLACE_UPDATE_GRACE in ((pod.get("metadata") or {}).get("annotations") or {})


def update_patch(pod: Mapping[str, Any], change: InPlaceChange, revision: str,
                 now: datetime, grace_seconds: int = 0,
                 extra_labels: Mapping[str, str] | None = None,
                 extra_annotations: Mapping[str, str] | None = None) -> Obj:
    """Step 2 (``pods``, strategic merge): move ``pod`` to ``revision`` in place.

    ``revision`` is the ``controller-revision-hash`` value; ``extra_labels`` and
    ``extra_annotations`` (lifecycle state ``Updating`` and its timestamp, the short
    ``pod-template-hash``) are written now, whatever the grace period.
    """
    spec = PendingSpec(revision, change.images, change.env_metadata, change.resources,
                       change.labels, change.annotations,
                       update_env_from_metadata=bool(change.env_metadata),
                       grace_seconds=max(grace_seconds, 0))
    state = InPlaceUpdateState(revision, now,
                               update_env_from_metadata=spec.update_env_from_metadata)
    labels: dict[str, str | None] = dict(extra_labels or {})
    annotations: dict[str, str | None] = dict(extra_annotations or {})
    containers: tuple[Obj, ...] = ()
    if grace_seconds > 0:
        annotations[INPLACE_UPDATE_GRACE] = spec.to_json()
    else:
        batch = apply_batch(pod, spec, state, now)
        labels = {**batch.labels, **labels}
        annotations = {**batch.annotations, **annotations}
        containers, state = batch.containers, batch.state
        if _has_grace(pod):
            annotations[INPLACE_UPDATE_GRACE] = None
    labels[CONTROLLER_REVISION_HASH] = revision
    annotations[INPLACE_UPDATE_STATE] = state.to_json()
    return _body(pod, labels, annotations, containers)


def grace_patch(pod: Mapping[str, Any], now: datetime) -> tuple[Obj | None, float | None]:
    """Step 3 (``pods``): ``(patch, None)`` once the grace period is over — the parked
    update, or just dropping it when the pod moved to another revision meanwhile;
    ``(None, seconds)`` while it runs; ``(None, None)`` when nothing is parked (or the
    annotations are unreadable: :func:`~mizzen.workloads.inplace.completion.completion`
    reports that)."""
    try:
        spec = read_grace(pod)
        state = read_state(pod)
    except StateError:
        return None, None
    if spec is None:
        return None, None
    if labels_of(pod).get(CONTROLLER_REVISION_HASH) != spec.revision or state is None:
        return _body(pod, {}, {INPLACE_UPDATE_GRACE: None}, ()), None
    elapsed = (now - state.update_timestamp).total_seconds()
    if elapsed < spec.grace_seconds:
        return None, float(math.ceil(spec.grace_seconds - elapsed))
    batch = apply_batch(pod, spec, state, now)
    annotations = {**batch.annotations, INPLACE_UPDATE_GRACE: None,
                   INPLACE_UPDATE_STATE: batch.state.to_json()}
    return _body(pod, batch.labels, annotations, batch.containers), None


def next_batch_patch(pod: Mapping[str, Any], now: datetime) -> Obj | None:
    """Step 4 (``pods``): the next batch of containers; None when there is none, or the
    previous batch is not updated and Ready yet."""
    try:
        state = read_state(pod)
    except StateError:
        return None
    if state is None or not state.has_next_batch or _has_grace(pod):
        return None
    if not containers_completion(pod, state).done or pre_check_failures(pod, state):
        return None
    spec = PendingSpec(state.revision, state.next_container_images,
                       state.next_container_ref_metadata, state.next_container_resources,
                       update_env_from_metadata=state.update_env_from_metadata)
    batch = apply_batch(pod, spec, state, now)
    annotations = {**batch.annotations, INPLACE_UPDATE_STATE: batch.state.to_json()}
    return _body(pod, batch.labels, annotations, batch.containers)
