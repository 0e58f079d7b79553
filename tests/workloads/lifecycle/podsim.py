"""Pods for the lifecycle tests: a pod in a given state, with hook labels/finalizers."""

from __future__ import annotations

from typing import Any

from mizzen.api.kruise import KRUISE_POD_READY, LIFECYCLE_STATE

Obj = dict[str, Any]


def pod(state: str | None = "Normal", *, labels: dict[str, str] | None = None,
        finalizers: tuple[str, ...] = (), gate: bool = False,
        kruise_ready: tuple[str, str] | None = None) -> Obj:
    """A running pod; ``kruise_ready`` is the KruisePodReady condition's (status, message)."""
    meta_labels = {"app": "web", **(labels or {})}
    if state is not None:
        meta_labels[LIFECYCLE_STATE] = state
    spec: Obj = {"containers": [{"name": "app", "image": "nginx:1.25"}]}
    if gate:
        spec["readinessGates"] = [{"conditionType": KRUISE_POD_READY}]
    conditions: list[Obj] = [{"type": "Ready", "status": "True",
                              "lastTransitionTime": "2024-05-01T11:00:00Z"}]
    if kruise_ready is not None:
        conditions.append({"type": KRUISE_POD_READY, "status": kruise_ready[0],
                           "message": kruise_ready[1],
                           "lastTransitionTime": "2024-05-01T11:00:00Z"})
    return {"metadata": {"name": "web-abcde", "namespace": "default", "labels": meta_labels,
                         "finalizers": list(finalizers)},
            "spec": spec, "status": {"phase": "Running", "conditions": conditions}}
