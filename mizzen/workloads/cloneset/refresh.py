"""The refresh step: bring every pod's in-place update and lifecycle state up to date.

Why first (before scaling): upstream refreshes pod states at the start of
its update step, after scaling; Mizzen does it before, because both halves
gate availability — a new pod is not Ready until its ``InPlaceUpdateReady``
condition is first set True, nor available while in ``PreparingNormal`` — and
scaling and updating budget on availability.  Refreshing first lets the
pass that decides see the pods as they really are.

Per active pod, in this order, each a pure decision of the shared libraries:

1. the in-place update's next write (:func:`mizzen.workloads.inplace.refresh`):
   a grace period that is over, the next container batch, or
   ``InPlaceUpdateReady=True`` once the update completed (and for every new
   pod); a grace period still running asks to be looked at again;
2. ``KruisePodReady=True`` for a pod with that gate and no condition yet
   (pods of a lifecycle with ``markPodNotReady``);
3. the lifecycle transition (:func:`mizzen.workloads.lifecycle.refresh_transition`):
   PreparingNormal -> Normal (preNormal hook in place), Updating -> Updated or
   Normal (update complete), PreparingUpdate -> Updated/Normal (already at
   the update revision), Updated -> Normal (hook back in place) — skipped for
   a pod that already gets a pod patch from step 1 this pass.

All patches of a pass go out in one pass, one merged ``pods/status`` patch per
pod, the status patches first
(:func:`~mizzen.workloads.cloneset.decision.in_write_order`): an update's
``InPlaceUpdateReady=True`` and its lifecycle ``Updating -> Normal`` are one
pass, in that order, as upstream's refresh writes them.

**Only pods that can need a write are looked at.**  A pod whose memoised
facts (:meth:`~mizzen.workloads.cloneset.facts.PodFacts.refresh_quiet`) say
that none of the three decisions can write or wait on a timer — settled
lifecycle state (or Updating with the update still running), no grace period,
no batch due, ``InPlaceUpdateReady`` already True, ``KruisePodReady`` present —
is skipped without calling them: in a rollout of thousands of pods the step
then costs a lookup per settled pod and the full decisions only for the few
whose kubelet status just arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mizzen.workloads.cloneset.decision import (
    CloneSetPlan,
    Pass,
    PodPatch,
    Write,
    in_write_order,
)
from mizzen.workloads.cloneset.revision import label_matches
from mizzen.workloads.inplace import RefreshKind, refresh
from mizzen.workloads.lifecycle import Action, initial_patch, refresh_transition

__all__ = ["Refreshed", "merge_status_patches", "refresh_pod", "refresh_pods"]

Obj = dict[str, Any]


@dataclass(frozen=True)
class Refreshed:
    """The refresh step's answer."""

    # The write, when some pod needs one.
    plan: CloneSetPlan | None
    # Look again after this many seconds (a grace period running), if set.
    requeue_after: float | None


def merge_status_patches(patches: list[PodPatch]) -> list[PodPatch]:
    """One ``pods/status`` patch per pod (conditions merged by type, the later one winning);
    other patches unchanged."""
    merged: dict[str, PodPatch] = {}
    out: list[PodPatch] = []
    for patch in patches:
        if patch.subresource != "status" or patch.pvc:
            out.append(patch)
            continue
        first = merged.get(patch.name)
        if first is None:
            merged[patch.name] = patch
            out.append(patch)
            continue
        by_type = {c["type"]: c for c in (*first.body["status"]["conditions"],
                                          *patch.body["status"]["conditions"])}
        both = PodPatch(patch.name, {"status": {"conditions": list(by_type.values())}},
                        "status")
        merged[patch.name] = both
        out[out.index(first)] = both
    return out


def refresh_pod(p: Pass, pod: Obj) -> tuple[list[PodPatch], float | None]:
    """The three decisions for one pod, in full (module docstring): its patches, and the
    seconds after which to look again (a grace period running), if any."""
    now, f = p.now, p.facts.of(pod)
    name = f.name
    patches: list[PodPatch] = []
    wait: float | None = None
    step = refresh(pod, now, p.update_revision)
    if step.kind == RefreshKind.PATCH_STATUS and step.body is not None:
        patches.append(PodPatch(name, step.body, "status"))
    elif step.kind == RefreshKind.PATCH_POD and step.body is not None:
        patches.append(PodPatch(name, step.body))
    elif step.kind == RefreshKind.WAIT:
        wait = step.requeue_after
    ready = initial_patch(pod, now)
    if ready is not None:
        patches.append(PodPatch(name, ready, "status"))
    if step.kind == RefreshKind.PATCH_POD:
        return patches, wait
    move = refresh_transition(pod, p.spec.lifecycle, now, completed=f.completed,
                              at_update_revision=bool(f.revision) and label_matches(
                                  f.revision, p.update_revision))
    if move.action == Action.PATCH_STATUS and move.body is not None:
        patches.append(PodPatch(name, move.body, "status"))
    elif move.action == Action.PATCH and move.body is not None:
        patches.append(PodPatch(name, move.body))
    return patches, wait


def refresh_pods(p: Pass) -> Refreshed:
    """The refresh write for this pass, if any pod needs one (see the module docstring)."""
    patches: list[PodPatch] = []
    waits: list[float] = []
    memo = p.facts
    for pod, f in zip(p.active, memo.all(p.active), strict=True):
        if f.refresh_quiet(p.update_revision):
            continue
        more, wait = refresh_pod(p, pod)
        patches += more
        if wait is not None:
            waits.append(wait)
    requeue = min(waits) if waits else None
    if not patches:
        return Refreshed(None, requeue)
    chosen = in_write_order(merge_status_patches(patches))
    return Refreshed(CloneSetPlan(Write.PATCH, "refresh", patches=chosen,
                                  requeue_after=requeue), requeue)
