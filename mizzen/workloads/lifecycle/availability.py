"""When an OpenKruise workload counts a pod as available — stricter than Deployment's rule.

Why its own module: CloneSet's scale and update budgets (maxUnavailable,
maxSurge), Advanced StatefulSet and Advanced DaemonSet all count unavailable
pods the same way, and upstream's rule adds three things to "ready for
minReadySeconds": the lifecycle state must be empty or ``Normal`` (a pod
being prepared for update or delete, or mid-update, is not serving), the
``InPlaceUpdateReady`` condition must not be False, and no label with the
``unavailable-pod.kruise.io/`` prefix may mark it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mizzen.api.kruise import (
    INPLACE_UPDATE_READY,
    LIFECYCLE_STATE,
    UNAVAILABLE_PREFIX,
    LifecycleState,
)
from mizzen.cluster.podutil import is_active, is_available

__all__ = ["condition_status", "is_pod_available", "is_serving_state", "marked_unavailable"]


def condition_status(pod: Mapping[str, Any], type_: str) -> str | None:
    """``True``/``False``/``Unknown`` of the pod condition ``type_``, or None when absent."""
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == type_:
            return str(cond.get("status"))
    return None


def is_serving_state(pod: Mapping[str, Any]) -> bool:
    """Lifecycle state empty or Normal (the states in which a pod may serve)."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return labels.get(LIFECYCLE_STATE, "") in ("", LifecycleState.NORMAL)


def marked_unavailable(pod: Mapping[str, Any]) -> bool:
    """A ``unavailable-pod.kruise.io/*`` label is present."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return any(k.startswith(UNAVAILABLE_PREFIX) for k in labels)


def is_pod_available(pod: Mapping[str, Any], min_ready_seconds: int, now: datetime) -> bool:
    """Active, serving state, in-place update not in progress, ready for minReadySeconds."""
    return (is_active(pod) and is_serving_state(pod) and not marked_unavailable(pod)
            and condition_status(pod, INPLACE_UPDATE_READY) != "False"
            and is_available(pod, min_ready_seconds, now))
