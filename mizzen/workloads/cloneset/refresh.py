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
(:func:`~mizzen.workloads.cloneset.decision.in_write_order`).  A pod's
labels/annotations/finalizers patch rides on its status patch
(:func:`ride_on_status`): a ``pods/status`` write may change that metadata (the
pod status strategy resets only spec, ownerReferences and deletionTimestamp,
on Kubernetes' API server as on ours), so an update's
``InPlaceUpdateReady=True`` and its lifecycle ``Updating -> Normal`` are one
write.

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

__all__ = ["Refreshed", "merge_status_patches", "refresh_pod", "refresh_pods", "ride_on_status"]

Obj = dict[str, Any]


@dataclass(frozen=True)
class Refreshed:
    """The refresh step's answer."""

    # The write, when some pod needs one.
    plan: CloneSetPlan | None
    # Look again after this many seconds (a grace period running), if set.
    requeue_after: float | None


# Metadata a pods/status write may change (upstream's pod status strategy resets only spec,
# ownerReferences and deletionTimestamp).
_STATUS_METADATA = frozenset({"labels", "annotations", "finalizers"})


def _merge_metadata(first: Obj, second: Obj) -> Obj:
    """Two patches' ``metadata`` as one: maps merged (the second winning), finalizer lists
    joined (a strategic merge adds them)."""
    out: Obj = {}
    for key in ("labels", "annotations"):
        both = {**(first.get(key) or {}), **(second.get(key) or {})}
        if both:
            out[key] = both
    finalizers = [*(first.get("finalizers") or ()),
                  *(f for f in second.get("finalizers") or () if f not in
                    (first.get("finalizers") or ()))]
    if finalizers:
        out["finalizers"] = finalizers
    return out


def merge_status_patches(patches: list[PodPatch]) -> list[PodPatch]:
    """One ``pods/status`` patch per pod (conditions merged by type, the later one winning;
    metadata merged); other patches unchanged."""
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
        body: Obj = {"status": {"conditions": list(by_type.values())}}
        meta = _merge_metadata(first.body.get("metadata") or {},
                               patch.body.get("metadata") or {})
        if meta:
            body["metadata"] = meta
        both = PodPatch(patch.name, body, "status")
        merged[patch.name] = both
        out[out.index(first)] = both
    return out


def ride_on_status(patches: list[PodPatch]) -> list[PodPatch]:
    """One pod's patches with its labels/annotations/finalizers patch folded into its
    ``pods/status`` patch, when it has both: a status write may change that metadata, so
    ``InPlaceUpdateReady=True`` and the lifecycle state's ``Updating -> Normal`` are one
    write instead of two, atomically and in the order upstream makes them."""
    merged = merge_status_patches(patches)
    status = next((p for p in merged if p.subresource == "status" and not p.pvc), None)
    if status is None:
        return merged
    out: list[PodPatch] = []
    meta = dict(status.body.get("metadata") or {})
    for patch in merged:
        body_meta = patch.body.get("metadata")
        if patch is not status and not patch.pvc and not patch.subresource \
                and set(patch.body) == {"metadata"} and isinstance(body_meta, dict) \
                and set(body_meta) <= _STATUS_METADATA:
            meta = _merge_metadata(meta, body_meta)
            continue
        out.append(patch)
    if not meta:
        return merged
    folded = PodPatch(status.name, {**status.body, "metadata": meta}, "status")
    return [folded if p is status else p for p in out]


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
    return ride_on_status(patches), wait


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
