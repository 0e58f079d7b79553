"""A ReplicaSet's status: counted from its pods, written only when it changes.

What ``kubectl get rs`` and the Deployment controller read, computed as
upstream's ``calculateStatus`` / ``updateReplicaSetStatus``:

* ``replicas`` — active pods (not finished, not being deleted: a terminating
  pod is on its way out and no longer counts);
* ``fullyLabeledReplicas`` — of those, pods carrying every template label;
* ``readyReplicas`` — pods whose Ready condition is True;
* ``availableReplicas`` — ready for more than ``spec.minReadySeconds`` on the
  controller's clock;
* ``observedGeneration`` — the generation these numbers answer;
* condition ``ReplicaFailure`` (True, reason ``FailedCreate``/``FailedDelete``,
  the API's error as message) while creating or deleting pods fails, removed
  after the next attempt that succeeds.

Zero counts are omitted, as Go's ``omitempty`` encodes them (``replicas``
always appears).  :func:`needs_update` is upstream's test for a status write:
any count, the conditions, or a generation not yet observed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mizzen.cluster.podutil import is_available, is_ready, labels_of, rfc3339

__all__ = ["REPLICA_FAILURE", "Counts", "Failure", "calculate_status", "needs_update",
           "status_of"]

Obj = dict[str, Any]
REPLICA_FAILURE = "ReplicaFailure"
_COUNTS = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")


@dataclass(frozen=True)
class Failure:
    """The last attempt to create or delete pods failed."""

    # "FailedCreate" or "FailedDelete" (the condition's reason).
    reason: str
    # The API's error, the condition's message.
    message: str


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def calculate_status(rs: Mapping[str, Any], pods: Sequence[Mapping[str, Any]],
                     failure: Failure | None, now: datetime) -> Obj:
    """The status ``rs`` should have, given its active ``pods`` (observedGeneration set)."""
    spec = rs.get("spec") or {}
    min_ready = _int(spec.get("minReadySeconds"))
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    labelled = ready = available = 0
    for pod in pods:
        labels = labels_of(pod)
        if all(labels.get(k) == v for k, v in template_labels.items()):
            labelled += 1
        if is_ready(pod):
            ready += 1
            if is_available(pod, min_ready, now):
                available += 1
    return status_of(rs, Counts(len(pods), labelled, ready, available), failure, now)


@dataclass(frozen=True)
class Counts:
    """The four counts of a ReplicaSet status."""

    # Active pods (status.replicas).
    replicas: int
    # Of those, carrying every template label.
    labelled: int
    # Of those, ready.
    ready: int
    # Of those, ready for more than minReadySeconds.
    available: int


def status_of(rs: Mapping[str, Any], counts: Counts, failure: Failure | None,
              now: datetime) -> Obj:
    """The status ``rs`` should have with these counts (observedGeneration set)."""
    old = rs.get("status") or {}
    conditions = [dict(c) for c in old.get("conditions") or ()]
    has_failure = any(c.get("type") == REPLICA_FAILURE for c in conditions)
    if failure is not None and not has_failure:
        conditions.append({"type": REPLICA_FAILURE, "status": "True",
                           "lastTransitionTime": rfc3339(now), "reason": failure.reason,
                           "message": failure.message})
    elif failure is None and has_failure:
        conditions = [c for c in conditions if c.get("type") != REPLICA_FAILURE]
    status: Obj = {"replicas": counts.replicas}
    for name, value in (("fullyLabeledReplicas", counts.labelled),
                        ("readyReplicas", counts.ready),
                        ("availableReplicas", counts.available)):
        if value:
            status[name] = value
    generation = _int((rs.get("metadata") or {}).get("generation"))
    if generation:
        status["observedGeneration"] = generation
    if conditions:
        status["conditions"] = conditions
    return status


def needs_update(rs: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Whether writing ``status`` changes what ``rs`` reports."""
    old = rs.get("status") or {}
    if any(_int(old.get(k)) != _int(status.get(k)) for k in _COUNTS):
        return True
    generation = _int((rs.get("metadata") or {}).get("generation"))
    if _int(old.get("observedGeneration")) != generation:
        return True
    return list(old.get("conditions") or ()) != list(status.get("conditions") or ())
