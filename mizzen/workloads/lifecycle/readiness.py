"""``KruisePodReady``: the readiness gate a lifecycle hook with ``markPodNotReady`` holds False.

Why a condition with a message list: several holders may want a pod out of
endpoints at once (the preDelete hook, the inPlaceUpdate hook), and the pod
may return only when all have let go.  Upstream (``pkg/util/podreadiness``)
keeps them as a JSON list in the condition's message —
``[{"userAgent":"Lifecycle","key":"preDeleteHook"}]``, sorted — and the
condition is True exactly when the list is empty.  The same shape here lets
OpenKruise tooling read Mizzen's pods.

Only pods with the ``KruisePodReady`` readiness gate are touched (a workload
adds it at creation when its lifecycle marks pods not ready:
:func:`needs_gate`); for others every function returns ``None``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mizzen.api.cloneset.types import Lifecycle
from mizzen.api.kruise import KRUISE_POD_READY
from mizzen.workloads.inplace.conditions import condition_patch, find_condition, has_gate, with_gate

__all__ = [
    "PRE_DELETE_KEY",
    "PRE_UPDATE_KEY",
    "USER_AGENT",
    "add_not_ready_key",
    "initial_patch",
    "needs_gate",
    "not_ready_keys",
    "remove_not_ready_key",
    "with_kruise_ready_gate",
]

Obj = dict[str, Any]
# Who holds the pod not ready (upstream's userAgent for lifecycle hooks).
USER_AGENT = "Lifecycle"
# The keys lifecycle hooks hold it under.
PRE_DELETE_KEY = "preDeleteHook"
PRE_UPDATE_KEY = "preUpdateHook"


def needs_gate(lifecycle: Lifecycle | None) -> bool:
    """Whether pods of a workload with this lifecycle get the ``KruisePodReady`` gate
    (a preDelete or inPlaceUpdate hook with ``markPodNotReady``)."""
    if lifecycle is None:
        return False
    return any(h is not None and h.mark_pod_not_ready
               for h in (lifecycle.pre_delete, lifecycle.in_place_update))


def with_kruise_ready_gate(pod_spec: Mapping[str, Any]) -> Obj:
    """A copy of ``pod_spec`` with readiness gate ``KruisePodReady``."""
    return with_gate(pod_spec, KRUISE_POD_READY)


def not_ready_keys(pod: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(userAgent, key)`` pairs holding the pod not ready (sorted)."""
    cond = find_condition(pod, KRUISE_POD_READY)
    if cond is None or cond.get("status") == "True" or not cond.get("message"):
        return []
    try:
        raw = json.loads(str(cond["message"]))
    except ValueError:
        return []
    if not isinstance(raw, list):
        return []
    return sorted({(str(m.get("userAgent", "")), str(m.get("key", "")))
                   for m in raw if isinstance(m, dict)})


def _message(keys: list[tuple[str, str]]) -> str:
    return json.dumps([{"userAgent": a, "key": k} for a, k in sorted(keys)],
                      separators=(",", ":"))


def add_not_ready_key(pod: Mapping[str, Any], key: str, now: datetime) -> Obj | None:
    """``pods/status`` patch holding the pod not ready under ``key`` (None: already held,
    or no gate)."""
    if not has_gate(pod, KRUISE_POD_READY):
        return None
    keys = not_ready_keys(pod)
    if (USER_AGENT, key) in keys:
        return None
    return condition_patch(pod, KRUISE_POD_READY, "False", now,
                           message=_message([*keys, (USER_AGENT, key)]))


def remove_not_ready_key(pod: Mapping[str, Any], key: str, now: datetime) -> Obj | None:
    """``pods/status`` patch releasing ``key``; True once no key is left (None: not held)."""
    if not has_gate(pod, KRUISE_POD_READY):
        return None
    keys = not_ready_keys(pod)
    if (USER_AGENT, key) not in keys:
        return None
    left = [k for k in keys if k != (USER_AGENT, key)]
    if not left:
        return condition_patch(pod, KRUISE_POD_READY, "True", now)
    return condition_patch(pod, KRUISE_POD_READY, "False", now, message=_message(left))


def initial_patch(pod: Mapping[str, Any], now: datetime) -> Obj | None:
    """``KruisePodReady=True`` for a gated pod that has no such condition yet (upstream's
    pod-readiness controller does this; a new pod is never Ready without it)."""
    if not has_gate(pod, KRUISE_POD_READY) or find_condition(pod, KRUISE_POD_READY):
        return None
    return condition_patch(pod, KRUISE_POD_READY, "True", now)
