"""A Deployment's status and conditions: what ``kubectl rollout status`` reads.

Counts come from the ReplicaSets' own statuses (``calculateStatus``):
``replicas`` / ``readyReplicas`` / ``availableReplicas`` sum over all of them,
``updatedReplicas`` is the new ReplicaSet's ``replicas``, and
``unavailableReplicas`` is the sum of *desired* replicas minus the available
ones (never negative).  Zero counts are omitted, as Go's ``omitempty`` does.

Conditions (``type``, ``status``, ``lastUpdateTime``, ``lastTransitionTime``,
``reason``, ``message``; a condition is replaced only when its status or
reason changes, and keeps its transition time while its status stays):

* ``Available`` — True ``MinimumReplicasAvailable`` "Deployment has minimum
  availability." when at least ``replicas - maxUnavailable`` pods are
  available, else False ``MinimumReplicasUnavailable``;
* ``Progressing`` — only with a ``progressDeadlineSeconds`` (upstream's
  ``syncRolloutStatus``): True ``NewReplicaSetAvailable`` "ReplicaSet "x" has
  successfully progressed." once complete; True ``ReplicaSetUpdated`` "... is
  progressing." whenever a pass sees progress (more updated, ready or
  available pods, or fewer old ones), refreshing ``lastUpdateTime``; False
  ``ProgressDeadlineExceeded`` "... has timed out progressing." when
  ``lastUpdateTime + progressDeadlineSeconds`` has passed on the controller's
  clock.  ``NewReplicaSetCreated``, ``FoundNewReplicaSet``,
  ``DeploymentPaused``/``DeploymentResumed`` and ``ReplicaSetCreateError``
  are set by ``plan.py`` when those things happen;
* ``ReplicaFailure`` — copied from the new ReplicaSet (else any old one).

While a rollout is stuck and its status unchanged, :func:`rollout_status`
also says when to look again: one second after the deadline would pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from mizzen.cluster.deployment.replicas import (
    max_unavailable,
    name_of,
    replicas_of,
    status_count,
    total,
)
from mizzen.cluster.podutil import parse_time, rfc3339

__all__ = [
    "AVAILABLE",
    "PROGRESSING",
    "calculate_status",
    "condition",
    "count",
    "has_progress_deadline",
    "is_complete",
    "new_condition",
    "rollout_status",
    "same_status",
    "set_condition",
]

Obj = dict[str, Any]

AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"
# Progressing reasons (upstream's deploymentutil constants).
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
FAILED_RS_CREATE = "ReplicaSetCreateError"
_MAX_INT32 = 2**31 - 1


def condition(status: Mapping[str, Any], type_: str) -> Obj | None:
    for cond in status.get("conditions") or ():
        if cond.get("type") == type_:
            return dict(cond)
    return None


def new_condition(type_: str, status: str, reason: str, message: str, now: datetime) -> Obj:
    stamp = rfc3339(now)
    return {"type": type_, "status": status, "lastUpdateTime": stamp,
            "lastTransitionTime": stamp, "reason": reason, "message": message}


def set_condition(status: Obj, cond: Obj) -> None:
    """Upstream's ``SetDeploymentCondition`` on a status dict we own."""
    current = condition(status, cond["type"])
    if current is not None and current.get("status") == cond["status"] \
            and current.get("reason") == cond["reason"]:
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    remove_condition(status, cond["type"])
    status["conditions"] = [*status.get("conditions", []), cond]


def remove_condition(status: Obj, type_: str) -> None:
    kept = [c for c in status.get("conditions") or () if c.get("type") != type_]
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)


def has_progress_deadline(deployment: Mapping[str, Any]) -> bool:
    deadline = (deployment.get("spec") or {}).get("progressDeadlineSeconds")
    return isinstance(deadline, int) and deadline != _MAX_INT32


def calculate_status(all_rss: Sequence[Obj], new_rs: Obj | None,
                     deployment: Mapping[str, Any], now: datetime) -> Obj:
    """Counts, the Available condition and the stored conditions carried over."""
    old = deployment.get("status") or {}
    available = total(all_rss, "availableReplicas")
    values = {
        "observedGeneration": (deployment.get("metadata") or {}).get("generation") or 0,
        "replicas": total(all_rss, "replicas"),
        "updatedReplicas": status_count(new_rs, "replicas") if new_rs is not None else 0,
        "readyReplicas": total(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(0, total(all_rss) - available),
    }
    status: Obj = {k: v for k, v in values.items() if v}
    if old.get("conditions"):
        status["conditions"] = [dict(c) for c in old["conditions"]]
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if available >= replicas_of(deployment) - max_unavailable(deployment):
        set_condition(status, new_condition(AVAILABLE, "True", "MinimumReplicasAvailable",
                                            "Deployment has minimum availability.", now))
    else:
        set_condition(status, new_condition(AVAILABLE, "False", "MinimumReplicasUnavailable",
                                            "Deployment does not have minimum availability.",
                                            now))
    return status


def count(status: Mapping[str, Any], field: str) -> int:
    """A count of a status dict (0 when absent, as Go's zero value)."""
    value = status.get(field)
    return value if isinstance(value, int) else 0


def is_complete(deployment: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Every desired pod updated and available, nothing else left, spec observed."""
    desired = replicas_of(deployment)
    return (count(status, "updatedReplicas") == desired
            and count(status, "replicas") == desired
            and count(status, "availableReplicas") == desired
            and count(status, "observedGeneration")
            >= ((deployment.get("metadata") or {}).get("generation") or 0))


def _progressing(deployment: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Any sign of progress since the stored status (``DeploymentProgressing``)."""
    old = deployment.get("status") or {}
    return (count(new, "updatedReplicas") > count(old, "updatedReplicas")
            or count(new, "replicas") - count(new, "updatedReplicas")
            < count(old, "replicas") - count(old, "updatedReplicas")
            or count(new, "readyReplicas") > count(old, "readyReplicas")
            or count(new, "availableReplicas") > count(old, "availableReplicas"))


def _deadline(deployment: Mapping[str, Any], cond: Mapping[str, Any]) -> datetime | None:
    since = parse_time(cond.get("lastUpdateTime"))
    seconds = (deployment.get("spec") or {}).get("progressDeadlineSeconds") or 0
    return None if since is None else since + timedelta(seconds=seconds)


def _timed_out(deployment: Mapping[str, Any], status: Mapping[str, Any],
               now: datetime) -> bool:
    cond = condition(status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    deadline = _deadline(deployment, cond)
    return deadline is not None and deadline < now


def _subject(deployment: Mapping[str, Any], new_rs: Obj | None) -> str:
    if new_rs is not None:
        return f'ReplicaSet "{name_of(new_rs)}"'
    return f'Deployment "{name_of(deployment)}"'


def rollout_status(all_rss: Sequence[Obj], new_rs: Obj | None,
                   deployment: Mapping[str, Any], now: datetime) -> tuple[Obj, float | None]:
    """The status after a rollout step, and when to look again if it did not change."""
    status = calculate_status(all_rss, new_rs, deployment, now)
    current = condition(deployment.get("status") or {}, PROGRESSING)
    deadline = has_progress_deadline(deployment)
    if not deadline:
        remove_condition(status, PROGRESSING)
    complete_before = (count(status, "replicas") == count(status, "updatedReplicas")
                       and current is not None and current.get("reason") == NEW_RS_AVAILABLE)
    subject = _subject(deployment, new_rs)
    if deadline and not complete_before:
        if is_complete(deployment, status):
            set_condition(status, new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE,
                                                f"{subject} has successfully progressed.", now))
        elif _progressing(deployment, status):
            cond = new_condition(PROGRESSING, "True", RS_UPDATED, f"{subject} is progressing.",
                                 now)
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(status, PROGRESSING)
            set_condition(status, cond)
        elif _timed_out(deployment, status, now):
            set_condition(status, new_condition(PROGRESSING, "False", TIMED_OUT,
                                                f"{subject} has timed out progressing.", now))
    failures = [c for rs in ([new_rs] if new_rs is not None else [])
                for c in (rs.get("status") or {}).get("conditions") or ()
                if c.get("type") == REPLICA_FAILURE]
    if not failures:
        failures = [c for rs in all_rss for c in (rs.get("status") or {}).get("conditions")
                    or () if c.get("type") == REPLICA_FAILURE]
    if failures:
        c = failures[0]
        set_condition(status, {"type": REPLICA_FAILURE, "status": c.get("status"),
                               "lastUpdateTime": c.get("lastTransitionTime"),
                               "lastTransitionTime": c.get("lastTransitionTime"),
                               "reason": c.get("reason"), "message": c.get("message")})
    else:
        remove_condition(status, REPLICA_FAILURE)
    requeue = None
    if same_status(deployment.get("status") or {}, status):
        requeue = _stuck_requeue(deployment, status, now)
    return status, requeue


def _stuck_requeue(deployment: Mapping[str, Any], status: Mapping[str, Any],
                   now: datetime) -> float | None:
    """``requeueStuckDeployment``: seconds until the deadline check is due, plus one."""
    current = condition(deployment.get("status") or {}, PROGRESSING)
    if not has_progress_deadline(deployment) or current is None:
        return None
    if is_complete(deployment, status) or current.get("reason") == TIMED_OUT:
        return None
    deadline = _deadline(deployment, current)
    if deadline is None:
        return None
    after = (deadline - now).total_seconds()
    return 1.0 if after < 1.0 else after + 1.0


def _normal(status: Mapping[str, Any]) -> Obj:
    return {k: v for k, v in status.items() if v not in (None, 0, [], {})}


def same_status(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal as Go compares them (absent and zero are the same)."""
    return _normal(a) == _normal(b)
