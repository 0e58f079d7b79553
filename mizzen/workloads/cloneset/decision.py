"""The planner's vocabulary: what a pass observes, and the one write it decides.

Why a module of its own: the pure steps (``refresh``, ``scale``, ``update``,
and ``plan`` which runs them in order) and the executor in ``controller``
all speak these types, and none of them should import another step to get
them.  A :class:`CloneSetPlan` carries exactly one :class:`Write` kind; the
executor has one small method per kind and nothing else to decide.

The write kinds, in the order a pass tries them:

=============  ==============================================================
``release``    drop our owner reference from pods the selector no longer picks
``pvcs``       PVCs nobody reuses: delete them, or hand them to their finished pod
``revision``   create the update ControllerRevision, or bump an old equal one
``patch``      patch pods (lifecycle labels, in-place update steps, the
               specified-delete label) or their ``status`` (readiness conditions)
``create``     create pods (and their missing PVCs), slow-start batches
``delete``     delete pods and their PVCs; hooked pods get PreparingDelete instead
``status``     write ``status`` (a merge patch of the status subresource)
``spec``       drop names of pods that are gone from ``scaleStrategy.podsToDelete``
``history``    delete ControllerRevisions beyond ``revisionHistoryLimit``
``none``       nothing to write (wait for the world, maybe come back later)
=============  ==============================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from mizzen.api.cloneset.types import CloneSetSpec
from mizzen.client.resources import Resource
from mizzen.workloads.cloneset.facts import FactsMemo
from mizzen.workloads.cloneset.status import Blocked

__all__ = ["CLONESETS", "CloneSetPlan", "Event", "Observed", "Pass", "PodPatch", "Write",
           "in_write_order"]

Obj = dict[str, Any]

# Metadata fields a merge patch sets exactly as a strategic merge patch does.
_MAP_ONLY = frozenset({"labels", "annotations", "resourceVersion"})
# The storage version: the controller reads and writes CloneSets as v1beta1.
CLONESETS = Resource("apps.kruise.io", "v1beta1", "clonesets", "CloneSet", True)


class Write(StrEnum):
    """The one kind of write a pass makes (module docstring: the table)."""

    RELEASE = "release"
    PVCS = "pvcs"
    REVISION = "revision"
    PATCH = "patch"
    CREATE = "create"
    DELETE = "delete"
    STATUS = "status"
    SPEC = "spec"
    HISTORY = "history"
    NONE = "none"


@dataclass(frozen=True)
class Observed:
    """Everything one pass plans from; objects are read-only cache entries."""

    # The CloneSet as stored (storage version), status included.
    cloneset: Obj
    # Its spec, parsed and defaulted.
    spec: CloneSetSpec
    # Every pod it controls, whatever its phase (terminating and finished ones too).
    pods: Sequence[Obj]
    # Its PVCs that are not being deleted.
    pvcs: Sequence[Obj]
    # Its ControllerRevisions (owned, or orphans its selector picks).
    revisions: Sequence[Obj]
    # Every ControllerRevision of the namespace by name (to see hash collisions).
    revision_names: Mapping[str, Obj]
    # status.collisionCount to start from (the executor may know a higher one).
    collision_count: int
    # Every earlier write of ours is in the caches (expectations).
    satisfied: bool
    # The controller's clock.
    now: datetime
    # Per-pod facts memoised by pod version (the controller's; a fresh one by default).
    facts: FactsMemo = field(default_factory=FactsMemo)


@dataclass(frozen=True)
class Pass:
    """What every step of one pass shares, derived once from :class:`Observed`."""

    # What the pass observed.
    observed: Observed
    # The CloneSet's active pods (not finished, not being deleted).
    active: tuple[Obj, ...]
    # Name of the update revision (the current template's).
    update_revision: str
    # Name of the current revision (status.currentRevision, else the update revision).
    current_revision: str
    # Pod template of every known revision, by revision name.
    templates: Mapping[str, Obj]

    @property
    def spec(self) -> CloneSetSpec:
        return self.observed.spec

    @property
    def now(self) -> datetime:
        return self.observed.now

    @property
    def facts(self) -> FactsMemo:
        return self.observed.facts


@dataclass(frozen=True)
class PodPatch:
    """One patch of a pod (strategic merge), of its ``status`` or of a PVC."""

    # Name of the pod (or PVC).
    name: str
    # The strategic-merge patch body.
    body: Obj
    # "" for the object, "status" for its status subresource.
    subresource: str = ""
    # Patch a PVC rather than a pod.
    pvc: bool = False
    # Sent once this pass's status patch of the same pod succeeded, with the
    # resourceVersion that write returned in place of the body's (the in-place patch
    # after InPlaceUpdateReady=False: both computed from one version of the pod).
    chained: bool = False

    @property
    def patch_type(self) -> str:
        """``merge`` when the body only sets labels and annotations (where a JSON merge
        patch means the same as a strategic one, and costs the server far less to apply),
        else ``strategic`` (lists merged by key: conditions, containers, owners)."""
        meta = self.body.get("metadata")
        if set(self.body) == {"metadata"} and isinstance(meta, dict) \
                and set(meta) <= _MAP_ONLY:
            return "merge"
        return "strategic"


@dataclass(frozen=True)
class Event:
    """An Event to record on the CloneSet once the write succeeded."""

    # Normal or Warning.
    type: str
    reason: str
    message: str


@dataclass(frozen=True)
class CloneSetPlan:
    """One pass's decision: a write kind and what it needs (other fields stay empty)."""

    # The write kind.
    write: Write
    # The step that decided (wait, release, refresh, scale-up, update, ...): logs, tests.
    step: str
    # release: pod names to release.
    release: tuple[str, ...] = ()
    # pvcs / delete: PVC names to delete.
    delete_pvcs: tuple[str, ...] = ()
    # revision: the ControllerRevision to create.
    revision_create: Obj | None = None
    # revision: (name, new revision number) of an older equal revision to reuse.
    revision_bump: tuple[str, int] | None = None
    # patch / pvcs / delete: patches to apply (all of one subresource per pass).
    patches: tuple[PodPatch, ...] = ()
    # create: (revision name, pod count) in creation order (current revision first).
    create: tuple[tuple[str, int], ...] = ()
    # delete: pod names to delete (their instance's PVCs are in delete_pvcs).
    delete: tuple[str, ...] = ()
    # status: the complete status to write.
    status: Obj | None = None
    # spec: the podsToDelete list to keep.
    pods_to_delete: tuple[str, ...] | None = None
    # history: ControllerRevision names to delete.
    history: tuple[str, ...] = ()
    # Events to record after the write.
    events: tuple[Event, ...] = ()
    # Look again after this many seconds even without an event.
    requeue_after: float | None = None
    # The update step found nothing it may do although pods wait (for the status).
    blocked: Blocked | None = None
    # The update revision's name ("" before it exists), the current one's, and the
    # collisionCount the revisions were named with (the executor keeps it).
    update_revision: str = ""
    current_revision: str = ""
    collision_count: int = 0


def in_write_order(patches: Sequence[PodPatch]) -> tuple[PodPatch, ...]:
    """``patches`` in the order the executor writes each pod's: its ``status`` patch before
    its labels and spec — ``InPlaceUpdateReady=False`` before the image, ``True`` before the
    lifecycle state leaves ``Updating`` — as upstream writes them in one reconcile (pods go
    side by side: no pod's writes wait for another's).  A label
    that needs a readiness hold *in the cache* (lifecycle ``markPodNotReady``) is never in
    the same pass as that hold: the lifecycle decisions return the hold alone, and the label
    once the hold is seen."""
    status = tuple(p for p in patches if p.subresource == "status" and not p.pvc)
    return status + tuple(p for p in patches if p.subresource != "status" or p.pvc)
