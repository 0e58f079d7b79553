"""A CloneSet's status: counted from its pods, with the Progressing and RolloutBlocked conditions.

Why its own module: ``kubectl get clone``, ``kubectl rollout status`` and
every tool built for OpenKruise read these numbers, so they follow upstream
(``cloneset_status.go``) exactly:

* ``replicas`` — active pods; ``readyReplicas`` — Running and Ready with
  ``InPlaceUpdateReady`` not False; ``availableReplicas`` — available by
  OpenKruise's rule (:func:`~mizzen.workloads.lifecycle.availability.is_pod_available`:
  ready for ``minReadySeconds``, lifecycle state empty or Normal, no
  ``unavailable-pod.kruise.io/`` label);
* ``updatedReplicas`` / ``updatedReadyReplicas`` / ``updatedAvailableReplicas``
  — the same, counting only pods on the update revision;
* ``expectedUpdatedReplicas = spec.replicas - partition`` (partition scaled
  by its own rule, so ``"99%"`` of 4 expects 1);
* ``updateRevision``; ``currentRevision`` becomes ``updateRevision`` once
  ``updatedReplicas == replicas == spec.replicas`` (no need to wait for the
  pods to be ready); ``collisionCount``; ``observedGeneration``;
* ``labelSelector`` — the selector as a string, as ``kubectl`` and the
  scale subresource read it (``app=web,tier in (a,b)``; requirements sorted
  by key).

**Progressing** (only with ``spec.progressDeadlineSeconds`` set and not
MaxInt32; removed otherwise).  The first case that holds decides:

=====================  ======  ==============================================
reason                 status  when
=====================  ======  ==============================================
CloneSetAvailable      True    every pod updated and available, none missing
CloneSetPaused         True    ``updateStrategy.paused``
ProgressPartition-     True    a partition is set and at least
Available                      ``expectedUpdatedReplicas`` updated pods are
                               available
ProgressDeadline-      False   the condition's ``lastUpdateTime`` is more than
Exceeded                       the deadline ago (it stays until one of the
                               cases above holds)
CloneSetUpdated        True    otherwise ("CloneSet is progressing")
=====================  ======  ==============================================

An unchanged status and reason keep the condition, timestamps included, so
the deadline runs from when progress began.  Mizzen also restarts it when
the update revision changes (a new rollout), as a Deployment does.

**RolloutBlocked** (Mizzen's, no upstream equivalent — a stuck rollout was
invisible upstream, kruise #1468): present, status True, while pods wait to
be updated and the update step cannot move any of them; removed otherwise.
Reasons, most specific first: ``InPlaceOnlyRefused`` (the change is not
in-place and the policy forbids recreating; the message names the pod and
the first offending field), ``LifecycleHook`` (pods held in PreparingUpdate
or PreparingDelete by a hook), ``Paused``, ``MaxUnavailable`` (the
unavailability budget is used up).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mizzen.api.cloneset.types import CloneSetSpec
from mizzen.api.intstr import partition_value
from mizzen.api.kruise import INPLACE_UPDATE_READY
from mizzen.cluster.podutil import is_ready, parse_time, rfc3339
from mizzen.workloads.cloneset.facts import FactsMemo, memo_or_new
from mizzen.workloads.lifecycle.availability import condition_status

__all__ = [
    "AVAILABLE",
    "DEADLINE_EXCEEDED",
    "PARTITION_AVAILABLE",
    "PAUSED",
    "PROGRESSING",
    "ROLLOUT_BLOCKED",
    "UPDATED",
    "Blocked",
    "StatusInputs",
    "calculate_status",
    "condition",
    "is_update_ready",
    "needs_update",
    "selector_string",
]

Obj = dict[str, Any]

PROGRESSING = "Progressing"
ROLLOUT_BLOCKED = "RolloutBlocked"
AVAILABLE = "CloneSetAvailable"
PAUSED = "CloneSetPaused"
PARTITION_AVAILABLE = "ProgressPartitionAvailable"
DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
UPDATED = "CloneSetUpdated"
_MAX_INT32 = 2**31 - 1
_COMPARED = ("observedGeneration", "replicas", "readyReplicas", "availableReplicas",
             "updatedReplicas", "updatedReadyReplicas", "updatedAvailableReplicas",
             "expectedUpdatedReplicas", "updateRevision", "currentRevision", "collisionCount",
             "labelSelector")


@dataclass(frozen=True)
class Blocked:
    """Why the update step could not move any pod (the RolloutBlocked condition)."""

    # InPlaceOnlyRefused | LifecycleHook | Paused | MaxUnavailable.
    reason: str
    # Human explanation (names pods and the limiting number or field).
    message: str


@dataclass(frozen=True)
class StatusInputs:
    """What the status is computed from; objects are read-only cache entries."""

    # The CloneSet as stored (its status holds the previous conditions).
    cloneset: Obj
    # Its parsed spec.
    spec: CloneSetSpec
    # Its active pods.
    pods: Sequence[Obj]
    # Names of the update and current revisions.
    update_revision: str
    current_revision: str
    # status.collisionCount to report.
    collision_count: int
    # The controller's clock.
    now: datetime
    # Set when the update step is stuck.
    blocked: Blocked | None = None
    # The memo to read pods through (None: a fresh one).
    facts: FactsMemo | None = None


def _requirement(expr: Mapping[str, Any]) -> str:
    key, op = str(expr.get("key", "")), expr.get("operator")
    values = ",".join(sorted(str(v) for v in expr.get("values") or ()))
    if op == "In":
        return f"{key} in ({values})"
    if op == "NotIn":
        return f"{key} notin ({values})"
    if op == "Exists":
        return key
    return f"!{key}"


def selector_string(selector: Mapping[str, Any] | None) -> str:
    """``metav1.LabelSelector`` rendered as ``labels.Selector.String()`` does."""
    reqs = [(str(k), f"{k}={v}") for k, v in ((selector or {}).get("matchLabels") or {}).items()]
    reqs += [(str(e.get("key", "")), _requirement(e))
             for e in (selector or {}).get("matchExpressions") or ()]
    return ",".join(text for _, text in sorted(reqs, key=lambda r: r[0]))


def is_update_ready(pod: Mapping[str, Any]) -> bool:
    """Upstream ``IsPodUpdateReady(pod, 0)``: Running, Ready, InPlaceUpdateReady not False."""
    return ((pod.get("status") or {}).get("phase") == "Running" and is_ready(pod)
            and condition_status(pod, INPLACE_UPDATE_READY) in (None, "True"))


def condition(status: Mapping[str, Any], type_: str) -> Obj | None:
    for cond in status.get("conditions") or ():
        if cond.get("type") == type_:
            return dict(cond)
    return None


def _set(conditions: list[Obj], new: Obj, *, restart: bool = False) -> list[Obj]:
    """Upstream ``SetCloneSetCondition``: same status and reason keep the old one."""
    old = next((c for c in conditions if c.get("type") == new["type"]), None)
    if old is not None and not restart and old.get("status") == new["status"] \
            and old.get("reason") == new["reason"]:
        return conditions
    if old is not None and old.get("status") == new["status"]:
        new["lastTransitionTime"] = old.get("lastTransitionTime", new["lastTransitionTime"])
    return [c for c in conditions if c.get("type") != new["type"]] + [new]


def _new(type_: str, status: str, reason: str, message: str, now: datetime) -> Obj:
    stamp = rfc3339(now)
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastUpdateTime": stamp, "lastTransitionTime": stamp}


def _progressing(inputs: StatusInputs, status: Obj, conditions: list[Obj]
                 ) -> tuple[list[Obj], float | None]:
    spec, now = inputs.spec, inputs.now
    deadline = spec.progress_deadline_seconds
    if deadline is None or deadline == _MAX_INT32:
        return [c for c in conditions if c.get("type") != PROGRESSING], None
    replicas = spec.replicas
    if (status["currentRevision"] == status["updateRevision"]
            and status["replicas"] == replicas == status["updatedReplicas"]
            and status["updatedAvailableReplicas"] == replicas):
        return _set(conditions, _new(PROGRESSING, "True", AVAILABLE, "CloneSet is available",
                                     now)), None
    if spec.paused:
        return _set(conditions, _new(PROGRESSING, "True", PAUSED, "CloneSet is paused", now)), \
            None
    expected = status["expectedUpdatedReplicas"]
    if expected < replicas and expected <= status["updatedAvailableReplicas"]:
        return _set(conditions, _new(PROGRESSING, "True", PARTITION_AVAILABLE,
                                     "CloneSet has been paused due to partition ready",
                                     now)), None
    old_status = inputs.cloneset.get("status") or {}
    new_rollout = bool(old_status.get("updateRevision")) and \
        old_status.get("updateRevision") != status["updateRevision"]
    current = next((c for c in conditions if c.get("type") == PROGRESSING), None)
    if current is not None and not new_rollout:
        since = parse_time(current.get("lastUpdateTime"))
        if current.get("reason") == DEADLINE_EXCEEDED or (
                since is not None and since + timedelta(seconds=deadline) < now):
            message = f"CloneSet revision {status['updateRevision']} has timed out progressing"
            return _set(conditions, _new(PROGRESSING, "False", DEADLINE_EXCEEDED, message,
                                         now)), None
    conditions = _set(conditions, _new(PROGRESSING, "True", UPDATED, "CloneSet is progressing",
                                       now), restart=new_rollout)
    current = next(c for c in conditions if c.get("type") == PROGRESSING)
    since = parse_time(current.get("lastUpdateTime")) or now
    left = (since + timedelta(seconds=deadline) - now).total_seconds()
    return conditions, (left + 1.0 if left >= 1.0 else max(left, 0.0))


def calculate_status(inputs: StatusInputs) -> tuple[Obj, float | None]:
    """The status the CloneSet should have, and seconds until it should be looked at again
    (a pod reaching minReadySeconds, the progress deadline), or None."""
    spec, now, update = inputs.spec, inputs.now, inputs.update_revision
    counts = dict.fromkeys(("replicas", "readyReplicas", "availableReplicas", "updatedReplicas",
                            "updatedReadyReplicas", "updatedAvailableReplicas"), 0)
    waits: list[float] = []
    memo = memo_or_new(inputs.facts)
    min_ready = spec.min_ready_seconds
    update_hash = update.rpartition("-")[2]
    for f in memo.all(inputs.pods):
        updated = bool(f.revision) and (f.revision == update or f.revision_hash == update_hash)
        ready = f.update_ready
        available = f.available_base if min_ready == 0 else f.available(min_ready, now)
        counts["replicas"] += 1
        counts["readyReplicas"] += ready
        counts["availableReplicas"] += available
        counts["updatedReplicas"] += updated
        counts["updatedReadyReplicas"] += updated and ready
        counts["updatedAvailableReplicas"] += updated and available
        if ready and not available and min_ready > 0 and f.ready_since is not None:
            at = f.ready_since + timedelta(seconds=min_ready)
            waits.append(max((at - now).total_seconds(), 0.0) + 1.0)
    current = inputs.current_revision
    if counts["updatedReplicas"] == counts["replicas"] == spec.replicas:
        current = update
    meta = inputs.cloneset.get("metadata") or {}
    status: Obj = {"observedGeneration": meta.get("generation") or 0, **counts,
                   "expectedUpdatedReplicas": spec.replicas - partition_value(spec.partition,
                                                                              spec.replicas),
                   "updateRevision": update, "currentRevision": current,
                   "collisionCount": inputs.collision_count,
                   "labelSelector": selector_string(spec.selector)}
    old = inputs.cloneset.get("status") or {}
    conditions = [dict(c) for c in old.get("conditions") or ()]
    conditions, deadline_wait = _progressing(inputs, status, conditions)
    if inputs.blocked is None:
        conditions = [c for c in conditions if c.get("type") != ROLLOUT_BLOCKED]
    else:
        blocked = _new(ROLLOUT_BLOCKED, "True", inputs.blocked.reason, inputs.blocked.message,
                       now)
        existing = next((c for c in conditions if c.get("type") == ROLLOUT_BLOCKED), None)
        if existing is not None and existing.get("message") != blocked["message"]:
            conditions = [c for c in conditions if c.get("type") != ROLLOUT_BLOCKED]
        conditions = _set(conditions, blocked)
    if conditions:
        status["conditions"] = conditions
    if deadline_wait is not None:
        waits.append(deadline_wait)
    return status, (min(waits) if waits else None)


def needs_update(cloneset: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Whether writing ``status`` changes what the CloneSet reports."""
    old = cloneset.get("status") or {}
    if any(old.get(k, 0 if k not in ("updateRevision", "currentRevision", "labelSelector")
                   else "") != status.get(k) for k in _COMPARED):
        return True
    return list(old.get("conditions") or ()) != list(status.get("conditions") or ())
