"""The pod status the scheduler writes: ``PodScheduled=False`` for pods it cannot place.

Upstream's scheduler records a failed attempt as a pod condition (and an
Event); ``kubectl describe pod`` and every controller waiting on "why is this
Pending" read it.  The reason is ``Unschedulable`` (with the planner's
message) or ``SchedulingGated`` (the pod still has ``schedulingGates``).
Two rules keep the write cheap and honest:

* **Write only on change.**  A pod retried every few seconds against the
  same full cluster produces the same message; rewriting it would cost one
  API write per retry per pod.  :func:`not_scheduled_patch` returns ``None``
  when the cached pod already says exactly this.
* **Transition time moves only with the status.**  A new message (a node
  was added, and now fails for another reason) keeps ``lastTransitionTime``,
  as ``podutil.UpdatePodCondition`` does.

The body is a strategic merge patch of ``pods/status``: conditions merge by
``type``, so whatever else is in the list (readiness gates, a kubelet's
conditions) is left alone, and no resourceVersion precondition is needed.
The binding itself sets ``PodScheduled=True`` on the server side.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "GATED_MESSAGE",
    "POD_SCHEDULED",
    "SCHEDULING_GATED",
    "UNSCHEDULABLE",
    "not_scheduled_patch",
    "pod_scheduled",
]

POD_SCHEDULED = "PodScheduled"
UNSCHEDULABLE = "Unschedulable"  # no node fits (the message says why)
SCHEDULING_GATED = "SchedulingGated"  # spec.schedulingGates is not empty
GATED_MESSAGE = "Scheduling is blocked due to non-empty scheduling gates"

Obj = Mapping[str, Any]


def pod_scheduled(pod: Obj) -> Obj | None:
    """The pod's PodScheduled condition, if it has one."""
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if condition.get("type") == POD_SCHEDULED:
            return condition  # type: ignore[no-any-return]
    return None


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_scheduled_patch(pod: Obj, reason: str, message: str,
                        now: datetime) -> dict[str, Any] | None:
    """The status patch recording ``PodScheduled=False``, or None if the pod already shows it."""
    current = pod_scheduled(pod)
    if (current is not None and current.get("status") == "False"
            and current.get("reason") == reason and current.get("message") == message):
        return None
    transition = _rfc3339(now)
    if current is not None and current.get("status") == "False":
        transition = str(current.get("lastTransitionTime") or transition)
    return {"status": {"conditions": [{
        "type": POD_SCHEDULED, "status": "False", "reason": reason,
        "message": message, "lastProbeTime": None, "lastTransitionTime": transition}]}}
