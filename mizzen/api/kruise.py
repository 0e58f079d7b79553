"""Label, annotation and condition names OpenKruise workloads put on pods, in one place.

Why a module of constants: CloneSet, Advanced StatefulSet, Advanced
DaemonSet and SidecarSet all write the same keys (revision label, lifecycle
state, in-place update state), and users' tooling reads them.  Spelling them
once keeps every workload compatible with upstream and with each other.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CONTROLLER_REVISION_HASH",
    "DELETION_COST",
    "INPLACE_UPDATE_GRACE",
    "INPLACE_UPDATE_READY",
    "INPLACE_UPDATE_STATE",
    "INSTANCE_ID",
    "KRUISE_POD_READY",
    "LIFECYCLE_STATE",
    "LIFECYCLE_TIMESTAMP",
    "POD_TEMPLATE_HASH",
    "SPECIFIED_DELETE",
    "UNAVAILABLE_PREFIX",
    "LifecycleState",
]

# Pod label: the ControllerRevision (name) the pod was created from or updated to.
CONTROLLER_REVISION_HASH = "controller-revision-hash"
# Pod label: the revision's hash without the owner's name prefix.
POD_TEMPLATE_HASH = "pod-template-hash"
# Pod and PVC label: the instance id a CloneSet pod shares with its PVCs.
INSTANCE_ID = "apps.kruise.io/cloneset-instance-id"
# Pod label (any value): delete this pod, as if listed in scaleStrategy.podsToDelete.
SPECIFIED_DELETE = "apps.kruise.io/specified-delete"
# Pod annotation: in-place update state, JSON.
INPLACE_UPDATE_STATE = "apps.kruise.io/inplace-update-state"
# Pod annotation: the pending in-place spec while gracePeriodSeconds runs.
INPLACE_UPDATE_GRACE = "apps.kruise.io/inplace-update-grace"
# Pod readiness gate / condition type a controller flips around an in-place update.
INPLACE_UPDATE_READY = "InPlaceUpdateReady"
# Pod condition set False by a lifecycle hook with markPodNotReady.
KRUISE_POD_READY = "KruisePodReady"
# Pod label: lifecycle state; pod annotation: when it was entered (RFC 3339, not a valid
# label value, so upstream writes it as an annotation).
LIFECYCLE_STATE = "lifecycle.apps.kruise.io/state"
LIFECYCLE_TIMESTAMP = "lifecycle.apps.kruise.io/timestamp"
# Pod labels with this prefix mark the pod unavailable (e.g. held by another system).
UNAVAILABLE_PREFIX = "unavailable-pod.kruise.io/"
# Pod annotation: lower cost is deleted first on scale-down.
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"


class LifecycleState(StrEnum):
    """Values of the ``lifecycle.apps.kruise.io/state`` label."""

    PREPARING_NORMAL = "PreparingNormal"
    NORMAL = "Normal"
    PREPARING_UPDATE = "PreparingUpdate"
    UPDATING = "Updating"
    UPDATED = "Updated"
    PREPARING_DELETE = "PreparingDelete"
