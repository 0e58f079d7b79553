"""Pod lifecycle of OpenKruise workloads: states, hooks, not-ready holds and availability.

Pure functions over raw pod dicts; the controller makes the writes, one per pass.

* ``state`` — the ``lifecycle.apps.kruise.io/state`` label and its timestamp
  annotation: :func:`state_of`, :func:`state_patch`, :func:`created_labels`,
  :func:`created_annotations`, :func:`is_hooked`, :func:`is_all_hooked`;
* ``transitions`` — the state table as decisions returning a :class:`Transition`
  (PATCH / PATCH_STATUS / PROCEED / WAIT / DELETE / REFUSE / NONE):
  :func:`normal_transition`, :func:`update_transition`, :func:`finish_transition`,
  :func:`refresh_transition`, :func:`delete_transition`;
* ``readiness`` — ``KruisePodReady`` holds for ``markPodNotReady``:
  :func:`needs_gate`, :func:`with_kruise_ready_gate`, :func:`initial_patch`,
  :func:`add_not_ready_key`, :func:`remove_not_ready_key`;
* ``availability`` — :func:`is_pod_available` (the workloads' stricter rule).

Typical pass of a controller, per pod::

    t = refresh_transition(pod, spec.lifecycle, now, completed=completion(pod).done,
                           at_update_revision=...)
    if t.action is Action.PATCH_STATUS: patch pods/status with t.body
    elif t.action is Action.PATCH: patch the pod with t.body
"""

from mizzen.workloads.lifecycle.availability import (
    condition_status,
    is_pod_available,
    is_serving_state,
    marked_unavailable,
)
from mizzen.workloads.lifecycle.readiness import (
    add_not_ready_key,
    initial_patch,
    needs_gate,
    not_ready_keys,
    remove_not_ready_key,
    with_kruise_ready_gate,
)
from mizzen.workloads.lifecycle.state import (
    created_annotations,
    created_labels,
    is_all_hooked,
    is_hooked,
    state_of,
    state_patch,
    timestamp_annotations,
)
from mizzen.workloads.lifecycle.transitions import (
    Action,
    Transition,
    delete_transition,
    finish_transition,
    normal_transition,
    refresh_transition,
    update_transition,
)

__all__ = [
    "Action",
    "Transition",
    "add_not_ready_key",
    "condition_status",
    "created_annotations",
    "created_labels",
    "delete_transition",
    "finish_transition",
    "initial_patch",
    "is_all_hooked",
    "is_hooked",
    "is_pod_available",
    "is_serving_state",
    "marked_unavailable",
    "needs_gate",
    "normal_transition",
    "not_ready_keys",
    "refresh_transition",
    "remove_not_ready_key",
    "state_of",
    "state_patch",
    "timestamp_annotations",
    "update_transition",
    "with_kruise_ready_gate",
]
