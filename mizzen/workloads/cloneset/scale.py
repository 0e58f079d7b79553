"""The scale step: create missing pods, delete surplus and specified ones — upstream's ``Scale``.

Why a step of its own: scaling and updating share one count of the pods
(:func:`~mizzen.workloads.cloneset.diffs.calculate_diffs`), but scaling wins
a pass whenever it has something to do, exactly as upstream's reconcile
returns after a scale that wrote.  The sub-steps, first one with a write wins:

1. **cancel deletion** — pods in PreparingDelete that are not specified for
   deletion go back to PreparingNormal while the CloneSet needs more pods
   than it has (a scale-down undone); not when a hook marks pods not ready
   (upstream forbids that regret);
2. **scale up** — ``scale_up_limit`` new pods (``scaleStrategy.maxUnavailable``
   caps it; an Event says so), ``scale_up_num_old_revision`` of them at the
   current revision and the rest at the update revision; the executor creates
   them in slow-start batches 1, 2, 4, ... (:func:`slow_start_batches`).
   With a limit of 0 the scale step yields the pass to the update step;
3. **pre-deleting** — PreparingDelete pods whose preDelete hook is gone are
   deleted (with their PVCs);
4. **specified delete** — pods in ``podsToDelete`` or labelled
   ``apps.kruise.io/specified-delete``: not-ready ones always, ready ones
   within ``delete_ready_limit``;
5. **scale down** — only when nothing is specified or pre-deleting: the
   ``scale_down_num`` most expendable pods, old revisions first
   (:func:`~mizzen.workloads.cloneset.ranking.choose_scale_down`), ready ones
   within ``delete_ready_limit``.

Every removal goes through :func:`~mizzen.workloads.lifecycle.delete_transition`:
a pod the preDelete hook holds enters PreparingDelete (its ``KruisePodReady``
hold first, when the hook marks pods not ready) instead of being deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mizzen.api.cloneset.types import Lifecycle
from mizzen.api.kruise import LifecycleState
from mizzen.runtime.events import NORMAL, WARNING
from mizzen.workloads.cloneset.decision import CloneSetPlan, Event, Pass, PodPatch, Write
from mizzen.workloads.cloneset.diffs import (
    Diffs,
    calculate_diffs,
    is_specified_delete,
    scaling_is_updated,
)
from mizzen.workloads.cloneset.instances import instance_id, pvcs_of
from mizzen.workloads.cloneset.ranking import choose_scale_down
from mizzen.workloads.lifecycle import Action, delete_transition, state_patch

__all__ = ["BURST", "SLOW_START_INITIAL_BATCH", "scale", "scale_diffs", "slow_start_batches"]

Obj = dict[str, Any]

# Most pods created by one pass.
BURST = 500
# Size of the first create batch; each later batch doubles (upstream's initialBatchSize).
SLOW_START_INITIAL_BATCH = 1


def slow_start_batches(count: int, initial: int = SLOW_START_INITIAL_BATCH) -> tuple[int, ...]:
    """Batch sizes for ``count`` creates: ``initial``, then doubling, the last one cut."""
    batches: list[int] = []
    size, remaining = min(count, initial), count
    while size > 0:
        batches.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return tuple(batches)


def _name(pod: Obj) -> str:
    return str(pod["metadata"]["name"])


def _marks_not_ready(lifecycle: Lifecycle | None) -> bool:
    return lifecycle is not None and any(
        h is not None and h.mark_pod_not_ready
        for h in (lifecycle.pre_delete, lifecycle.in_place_update, lifecycle.pre_normal))


def scale_diffs(p: Pass) -> Diffs:
    """The diffs the scale step works from (PreparingUpdate pods count as updated)."""
    return calculate_diffs(p.spec, p.active, p.current_revision, p.update_revision, p.now,
                           facts=p.facts, preparing_update_is_new=True)


def _remove(p: Pass, pods: Sequence[Obj], step: str) -> CloneSetPlan | None:
    """Delete ``pods`` (and their PVCs), or move hooked ones to PreparingDelete."""
    status: list[PodPatch] = []
    labels: list[PodPatch] = []
    delete: list[str] = []
    pvcs: list[str] = []
    for pod in pods:
        move = delete_transition(pod, p.spec.lifecycle, p.now)
        if move.action == Action.DELETE:
            delete.append(_name(pod))
            pvcs += [str(c["metadata"]["name"])
                     for c in pvcs_of(list(p.observed.pvcs), instance_id(pod))]
        elif move.action == Action.PATCH_STATUS and move.body is not None:
            status.append(PodPatch(_name(pod), move.body, "status"))
        elif move.action == Action.PATCH and move.body is not None:
            labels.append(PodPatch(_name(pod), move.body))
    if status:
        return CloneSetPlan(Write.PATCH, f"{step}-hold", patches=tuple(status))
    if not (labels or delete):
        return None
    events = tuple(Event(NORMAL, "SuccessfulDelete", f"succeed to delete pod {n}")
                   for n in delete)
    events += tuple(Event(NORMAL, "PreparingDelete",
                          f"pod {patch.name} is held by the preDelete hook") for patch in labels)
    return CloneSetPlan(Write.DELETE, step, patches=tuple(labels), delete=tuple(delete),
                        delete_pvcs=tuple(pvcs), events=events)


def _ready_limited(p: Pass, pods: Sequence[Obj], limit: int) -> list[Obj]:
    """Not-ready pods always; ready ones while ``limit`` lasts (upstream's deleteReadyLimit)."""
    out: list[Obj] = []
    for pod in pods:
        if not p.facts.of(pod).update_ready:
            out.append(pod)
        elif limit > 0:
            out.append(pod)
            limit -= 1
    return out


def scale(p: Pass) -> CloneSetPlan | None:
    """The scale write for this pass, or None to let the update step have it."""
    spec, now, memo = p.spec, p.now, p.facts
    specified: list[Obj] = []
    pre_delete: list[Obj] = []
    for pod, f in zip(p.active, memo.all(p.active), strict=True):
        if f.specified_delete or f.name in spec.pods_to_delete:
            specified.append(pod)
        if f.lifecycle == LifecycleState.PREPARING_DELETE:
            pre_delete.append(pod)
    num_to_delete = len({_name(pod) for pod in specified + pre_delete})

    if not _marks_not_ready(spec.lifecycle):
        missing = spec.replicas - len(p.active) + num_to_delete
        back: list[PodPatch] = []
        for pod in pre_delete:
            if missing <= 0:
                break
            if is_specified_delete(spec, pod):
                continue
            back.append(PodPatch(_name(pod), state_patch(LifecycleState.PREPARING_NORMAL, now)))
            missing -= 1
        if back:
            return CloneSetPlan(Write.PATCH, "scale-cancel-delete", patches=tuple(back))

    diffs = scale_diffs(p)
    events: tuple[Event, ...] = ()
    if diffs.scale_up_num > diffs.scale_up_limit:
        events = (Event(WARNING, "ScaleUpLimited",
                        "scaleUp is limited because of scaleStrategy.maxUnavailable, limit: "
                        f"{diffs.scale_up_limit}"),)
    if diffs.scale_up_num > 0:
        count = min(diffs.scale_up_limit, BURST)
        if count <= 0:
            return None
        old = min(diffs.scale_up_num_old_revision, count) \
            if p.current_revision != p.update_revision else 0
        create = tuple((rev, n) for rev, n in ((p.current_revision, old),
                                               (p.update_revision, count - old)) if n > 0)
        message = f"create {count} pods"
        if old:
            message += f" ({old} at the current revision {p.current_revision})"
        return CloneSetPlan(Write.CREATE, "scale-up", create=create,
                            events=(*events, Event(NORMAL, "ScalingUp", message)))

    if pre_delete:
        removal = _remove(p, pre_delete, "scale-pre-delete")
        if removal is not None:
            return removal
    pre_names = {_name(pod) for pod in pre_delete}
    chosen = [pod for pod in specified if _name(pod) not in pre_names]
    if chosen:
        removal = _remove(p, _ready_limited(p, chosen, diffs.delete_ready_limit),
                          "scale-specified-delete")
        if removal is not None:
            return removal
    if diffs.scale_down_num > 0 and num_to_delete == 0:
        victims = choose_scale_down(list(p.active), diffs.scale_down_num, p.current_revision,
                                    p.update_revision,
                                    old_revision_num=diffs.scale_down_num_old_revision,
                                    now=now, min_ready_seconds=spec.min_ready_seconds,
                                    is_updated=scaling_is_updated(p.update_revision,
                                                                  p.facts))
        return _remove(p, _ready_limited(p, victims, diffs.delete_ready_limit), "scale-down")
    return None
