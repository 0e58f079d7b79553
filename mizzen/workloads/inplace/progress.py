"""Which write an in-place update needs next, for a controller doing one write per pass.

:func:`refresh` is upstream's ``Refresh`` as a pure decision: given a pod
(and the revision the controller is updating pods to), it returns the single
next write — or why there is none yet and when to look again.  Order:

1. a parked update whose grace period is over → its patch (``pods``); still
   running → wait, requeue after the rest of it;
2. written containers not yet running their new image → wait (the pod's own
   status events bring the controller back);
3. a next batch whose predecessors are updated and Ready → its patch;
4. ``InPlaceUpdateReady`` not True → ``finish_patch`` (``pods/status``) — for a
   brand-new pod too, which is how its gate first turns True.

A pod whose update has started (step 1 of :mod:`~mizzen.workloads.inplace.update`
written) but whose update patch has not been written yet is left alone when
it is not at ``update_revision``: the update patch is the controller's next
write for it, and finishing it here would put it back in endpoints half-way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from mizzen.api.kruise import CONTROLLER_REVISION_HASH
from mizzen.cluster.podutil import labels_of
from mizzen.workloads.inplace.batches import pre_check_failures
from mizzen.workloads.inplace.completion import completion, containers_completion
from mizzen.workloads.inplace.state import StateError, read_grace, read_state
from mizzen.workloads.inplace.update import (
    finish_patch,
    grace_patch,
    is_started,
    next_batch_patch,
)

__all__ = ["Refresh", "RefreshKind", "refresh"]

Obj = dict[str, Any]


class RefreshKind(StrEnum):
    """The kind of the next write."""

    NONE = "none"  # nothing to write, nothing pending
    WAIT = "wait"  # nothing to write yet (see message / requeue_after)
    PATCH_POD = "patch-pod"  # strategic-merge patch of the pod
    PATCH_STATUS = "patch-status"  # strategic-merge patch of pods/status


@dataclass(frozen=True)
class Refresh:
    """The next write for a pod's in-place update."""

    # What to do.
    kind: RefreshKind
    # The patch body for PATCH_POD / PATCH_STATUS.
    body: Obj | None = None
    # WAIT on a timer (the grace period): look again after this many seconds.
    requeue_after: float | None = None
    # Why, for logs, events and conditions.
    message: str = ""


def refresh(pod: Mapping[str, Any], now: datetime,
            update_revision: str | None = None) -> Refresh:
    """The next in-place-update write for ``pod`` (see the module docstring)."""
    if update_revision is not None and is_started(pod) \
            and labels_of(pod).get(CONTROLLER_REVISION_HASH) != update_revision:
        return Refresh(RefreshKind.WAIT, message="update started; the update patch is next")
    try:
        grace = read_grace(pod)
        state = read_state(pod)
    except StateError:
        return Refresh(RefreshKind.WAIT, message=completion(pod).message)
    if grace is not None:
        body, wait = grace_patch(pod, now)
        if body is not None:
            return Refresh(RefreshKind.PATCH_POD, body, message="grace period over")
        return Refresh(RefreshKind.WAIT, requeue_after=wait,
                       message=completion(pod).message)
    if state is not None:
        written = containers_completion(pod, state)
        if not written.done:
            return Refresh(RefreshKind.WAIT, message=written.message)
        if state.has_next_batch:
            body = next_batch_patch(pod, now)
            if body is not None:
                return Refresh(RefreshKind.PATCH_POD, body, message="next batch")
            problems = pre_check_failures(pod, state)
            return Refresh(RefreshKind.WAIT, message="; ".join(problems)
                           or completion(pod).message)
    body = finish_patch(pod, now)
    if body is not None:
        return Refresh(RefreshKind.PATCH_STATUS, body, message="in-place update ready")
    return Refresh(RefreshKind.NONE, message=completion(pod).message)
