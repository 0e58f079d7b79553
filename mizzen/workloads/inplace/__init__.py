"""In-place update of pods, shared by CloneSet, Advanced StatefulSet, Advanced DaemonSet and
SidecarSet: pure functions over raw pod dicts that return patch bodies.

Nothing here talks to the API: the controller reads pods from its cache,
asks these functions for the next patch, and makes that one write per pass.

Deciding (``diff``)::

    diff = diff_templates(old_revision_template, new_revision_template)
    diff.in_place, diff.change, diff.reason   # "spec.containers[nginx].env changed"

Creating pods (``update``)::

    pod["spec"] = with_readiness_gate(pod["spec"])   # every pod a controller creates

Updating one pod, one write per pass (``update``; each returns None once done)::

    start_patch(pod, now)                                       # pods/status
    update_patch(pod, diff.change, revision, now, grace_seconds,
                 extra_labels, extra_annotations)               # pods

Following it up (``progress``, ``completion``)::

    step = refresh(pod, now, update_revision)   # PATCH_POD / PATCH_STATUS / WAIT / NONE
    completion(pod).done                        # lifecycle Updating -> Updated/Normal
    parsed_completion(pod, grace, state)        # the same, annotations already read

Lower-level pieces: :func:`grace_patch`, :func:`next_batch_patch`,
:func:`finish_patch`, the annotation models :class:`InPlaceUpdateState` and
:class:`PendingSpec` (``state``), launch-priority batches (``batches``),
:func:`qos_class` (``qos``) and the condition helpers (``conditions``).
"""

from mizzen.workloads.inplace.batches import container_priority
from mizzen.workloads.inplace.completion import (
    Completion,
    completion,
    parsed_completion,
    same_image,
)
from mizzen.workloads.inplace.conditions import condition_patch, find_condition, has_gate
from mizzen.workloads.inplace.diff import InPlaceChange, InPlaceDiff, diff_templates
from mizzen.workloads.inplace.progress import Refresh, RefreshKind, refresh
from mizzen.workloads.inplace.qos import QosClass, qos_class
from mizzen.workloads.inplace.state import (
    ContainerBatch,
    ContainerRecord,
    InPlaceUpdateState,
    PendingSpec,
    RefMetadata,
    StateError,
    read_grace,
    read_state,
)
from mizzen.workloads.inplace.update import (
    START_REASON,
    finish_patch,
    grace_patch,
    is_started,
    next_batch_patch,
    start_patch,
    update_patch,
    with_readiness_gate,
)

__all__ = [
    "START_REASON",
    "Completion",
    "ContainerBatch",
    "ContainerRecord",
    "InPlaceChange",
    "InPlaceDiff",
    "InPlaceUpdateState",
    "PendingSpec",
    "QosClass",
    "RefMetadata",
    "Refresh",
    "RefreshKind",
    "StateError",
    "completion",
    "condition_patch",
    "container_priority",
    "diff_templates",
    "find_condition",
    "finish_patch",
    "grace_patch",
    "has_gate",
    "is_started",
    "next_batch_patch",
    "parsed_completion",
    "qos_class",
    "read_grace",
    "read_state",
    "refresh",
    "same_image",
    "start_patch",
    "update_patch",
    "with_readiness_gate",
]
