"""Pod readiness gates and the ``pods/status`` patches that flip their conditions.

Why a module of its own: two libraries hold a pod out of its endpoints with
a readiness gate of their own — in-place update (``InPlaceUpdateReady``) and
lifecycle hooks with ``markPodNotReady`` (``KruisePodReady``) — and both
write the same kind of patch: one condition, merged into ``status.conditions``
by its ``type`` (the strategic-merge key), so conditions the kubelet or
others own are left alone.

When a gate goes False the patch also carries ``Ready=False`` with the
message the kubelet itself would write: endpoints drop the pod at once
instead of after the kubelet's next status pass (upstream does the same).
Setting a gate True never touches ``Ready``; the kubelet recomputes it.

A condition keeps its ``lastTransitionTime`` while its status holds (the
API's convention), so rewriting a reason does not look like a new transition.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mizzen.cluster.podutil import rfc3339

__all__ = [
    "condition_patch",
    "find_condition",
    "has_gate",
    "with_gate",
]

Obj = dict[str, Any]


def find_condition(pod: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
    """The pod condition ``type_`` (``None`` when absent)."""
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == type_:
            return cond  # type: ignore[no-any-return]
    return None


def has_gate(pod: Mapping[str, Any], type_: str) -> bool:
    """Whether ``spec.readinessGates`` names condition ``type_``."""
    gates = (pod.get("spec") or {}).get("readinessGates") or ()
    return any(g.get("conditionType") == type_ for g in gates)


def with_gate(pod_spec: Mapping[str, Any], type_: str) -> Obj:
    """A copy of ``pod_spec`` whose readiness gates include ``type_`` (appended once)."""
    out = dict(pod_spec)
    gates = [dict(g) for g in pod_spec.get("readinessGates") or ()]
    if not any(g.get("conditionType") == type_ for g in gates):
        gates.append({"conditionType": type_})
    out["readinessGates"] = gates
    return out


def _condition(before: Mapping[str, Any] | None, type_: str, status: str, now: datetime,
               reason: str, message: str) -> Obj:
    held = before is not None and before.get("status") == status
    stamp = before.get("lastTransitionTime") if held and before else rfc3339(now)
    out: Obj = {"type": type_, "status": status, "lastProbeTime": None,
                "lastTransitionTime": stamp}
    # An empty reason or message is written as null so a merge clears the old one.
    out["reason"] = reason or None
    out["message"] = message or None
    return out


def condition_patch(pod: Mapping[str, Any], type_: str, status: str, now: datetime,
                    reason: str = "", message: str = "") -> Obj | None:
    """A strategic-merge ``pods/status`` patch setting condition ``type_``; ``None`` when
    the pod already has it with this status, reason and message.

    ``status`` False adds ``Ready=False`` (reason ``ReadinessGatesNotReady``), as the
    kubelet would once it saw the gate.
    """
    before = find_condition(pod, type_)
    if before is not None and before.get("status") == status \
            and (before.get("reason") or "") == reason \
            and (before.get("message") or "") == message:
        return None
    conditions = [_condition(before, type_, status, now, reason, message)]
    if status == "False":
        ready_message = (f'the status of pod readiness gate "{type_}" is not "True", '
                         f"but {status}")
        conditions.append(_condition(find_condition(pod, "Ready"), "Ready", "False", now,
                                     "ReadinessGatesNotReady", ready_message))
    return {"status": {"conditions": conditions}}
