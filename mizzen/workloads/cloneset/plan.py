"""The CloneSet planner: observed state in, the pass's one write out — pure.

A pass makes at most one kind of write (:class:`~mizzen.workloads.cloneset.decision.Write`);
the steps are tried in this order and the first with something to write wins:

1. **wait** — an earlier write of ours is not in the caches yet
   (expectations): deciding now would count from a stale view;
2. **release** — pods we control whose labels the selector no longer picks
   lose our owner reference (never while the CloneSet is being deleted);
3. **pvcs** — without PVC reuse, PVCs no active pod uses are deleted or
   handed to their finished pod (:func:`~mizzen.workloads.cloneset.instances.pvc_cleanup`);
4. **revision** — the update ControllerRevision is created, or an older
   equal one bumped (a rollback) (:func:`~mizzen.workloads.cloneset.revision.plan_revisions`);
5. **refresh** — in-place updates followed up, lifecycle states moved on
   (:mod:`~mizzen.workloads.cloneset.refresh`);
6. **scale** — create, delete, specified delete (:mod:`~mizzen.workloads.cloneset.scale`);
7. **update** — move pods to the update revision (:mod:`~mizzen.workloads.cloneset.update`);
8. **status** — written when it changed (:mod:`~mizzen.workloads.cloneset.status`),
   carrying why a rollout is blocked;
9. **spec** — names of pods that no longer exist leave ``scaleStrategy.podsToDelete``;
10. **history** — revisions beyond ``revisionHistoryLimit`` are deleted;
11. **idle** — nothing to write; come back when a pod's ``minReadySeconds``
    ends, a grace period ends or the progress deadline passes.

Steps 5–7 are skipped while the CloneSet is being deleted (the garbage
collector removes its pods).  When the refresh step has patches and the scale
step nothing to write, the update step's patches join them in the same pass,
as upstream refreshes and updates pods in one reconcile: pods whose refresh
write is pending are unavailable in the cache (``InPlaceUpdateReady`` False,
lifecycle not Normal, or not Ready), so the update step's budget can only be
too cautious, never overspent — and a rollout does not wait for a stream of
kubelet statuses to dry up before it starts the next pods.  Unlike upstream,
the status is not written in the same pass as a scale or update write: the
next pass writes it, from a cache that has seen the write, so it never counts
pods about to change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from mizzen.api.kruise import LifecycleState
from mizzen.cluster.podutil import is_terminating, selector_matches
from mizzen.runtime.events import WARNING
from mizzen.workloads.cloneset.decision import (
    CLONESETS,
    CloneSetPlan,
    Event,
    Observed,
    Pass,
    PodPatch,
    Write,
    in_write_order,
)
from mizzen.workloads.cloneset.facts import PodFacts
from mizzen.workloads.cloneset.instances import pvc_cleanup
from mizzen.workloads.cloneset.refresh import refresh_pods
from mizzen.workloads.cloneset.revision import history_to_delete, plan_revisions, template_of
from mizzen.workloads.cloneset.scale import BURST, scale, slow_start_batches
from mizzen.workloads.cloneset.status import (
    ROLLOUT_BLOCKED,
    Blocked,
    StatusInputs,
    calculate_status,
    condition,
    needs_update,
)
from mizzen.workloads.cloneset.update import LIFECYCLE_HOOK, Updated, update
from mizzen.workloads.lifecycle import is_hooked

__all__ = ["BURST", "plan", "slow_start_batches"]

Obj = dict[str, Any]


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _hand_over(pvc: str, pod: Obj, cloneset_uid: str) -> PodPatch:
    """Move a PVC's owner reference from the CloneSet to its (finished) pod."""
    meta = pod.get("metadata") or {}
    ref = {"apiVersion": "v1", "kind": "Pod", "name": meta.get("name"), "uid": meta.get("uid")}
    body = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": cloneset_uid}, ref]}}
    return PodPatch(pvc, body, pvc=True)


def _matcher(selector: Mapping[str, Any] | None) -> Callable[[Mapping[str, str]], bool]:
    """``selector_matches(selector, labels)`` as a function of ``labels``, without a call
    per label for the common selector of one ``matchLabels`` pair."""
    if selector is not None and not selector.get("matchExpressions"):
        wanted = tuple((selector.get("matchLabels") or {}).items())
        if len(wanted) == 1:
            key, value = wanted[0]
            return lambda labels: labels.get(key) == value
    return lambda labels: selector_matches(selector, labels)


def _prelude(o: Observed, facts: Sequence[PodFacts]) -> CloneSetPlan | None:
    """Steps 2 and 3 (release, pvcs)."""
    if is_terminating(o.cloneset):
        return None
    selected = _matcher(o.spec.selector)
    release = tuple(f.name for f in facts if not f.terminating and not selected(f.labels))
    if release:
        return CloneSetPlan(Write.RELEASE, "release", release=release)
    if not o.spec.pvc_reuse and o.pvcs:
        cleanup = pvc_cleanup(list(o.pvcs), list(o.pods))
        if cleanup.delete or cleanup.hand_over:
            uid = str(o.cloneset["metadata"].get("uid", ""))
            return CloneSetPlan(Write.PVCS, "pvcs", delete_pvcs=cleanup.delete,
                                patches=tuple(_hand_over(n, pod, uid)
                                              for n, pod in cleanup.hand_over))
    return None


def _delete_hold(p: Pass) -> Blocked | None:
    lifecycle = p.spec.lifecycle
    if lifecycle is None or lifecycle.pre_delete is None:
        return None
    held = sorted(f.name for pod, f in zip(p.active, p.facts.all(p.active), strict=True)
                  if f.lifecycle == LifecycleState.PREPARING_DELETE
                  and is_hooked(pod, lifecycle.pre_delete))
    if not held:
        return None
    return Blocked(LIFECYCLE_HOOK, f"pods {', '.join(held[:3])}"
                                   f"{' and more' if len(held) > 3 else ''} are held in "
                                   f"PreparingDelete by the preDelete hook")


def _with_updates(refreshing: CloneSetPlan, updated: Updated) -> CloneSetPlan:
    """The refresh patches and, in the same pass, the update step's (see the docstring),
    unless the update step wants to patch a pod the refresh patches too."""
    plan = updated.plan
    if plan is None or plan.write != Write.PATCH:
        return refreshing
    names = {patch.name for patch in refreshing.patches}
    if any(patch.name in names for patch in plan.patches):
        return refreshing
    return replace(refreshing, step=f"refresh+{plan.step}",
                   patches=in_write_order((*refreshing.patches, *plan.patches)),
                   events=(*refreshing.events, *plan.events))


def _tail(o: Observed, p: Pass, collisions: int, blocked: Blocked | None,
          waits: list[float]) -> CloneSetPlan:
    """Steps 8 to 11."""
    status, requeue = calculate_status(StatusInputs(o.cloneset, o.spec, p.active,
                                                    p.update_revision, p.current_revision,
                                                    collisions, o.now, blocked, o.facts))
    if requeue is not None:
        waits.append(requeue)
    soonest = min(waits) if waits else None
    if needs_update(o.cloneset, status):
        events: tuple[Event, ...] = ()
        now_blocked = condition(status, ROLLOUT_BLOCKED)
        if now_blocked is not None and now_blocked != condition(o.cloneset.get("status") or {},
                                                                ROLLOUT_BLOCKED):
            events = (Event(WARNING, "RolloutBlocked",
                            f"{now_blocked['reason']}: {now_blocked['message']}"),)
        return CloneSetPlan(Write.STATUS, "status", status=status, events=events,
                            requeue_after=soonest)
    if o.spec.pods_to_delete:
        live = {_name(pod) for pod in p.active}
        keep = tuple(n for n in o.spec.pods_to_delete if n in live)
        if len(keep) != len(o.spec.pods_to_delete):
            return CloneSetPlan(Write.SPEC, "spec", pods_to_delete=keep, requeue_after=soonest)
    old = history_to_delete(list(o.revisions), o.pods, p.current_revision, p.update_revision,
                            o.spec.revision_history_limit)
    if old:
        return CloneSetPlan(Write.HISTORY, "history", history=tuple(old), requeue_after=soonest)
    return CloneSetPlan(Write.NONE, "idle", requeue_after=soonest)


def plan(o: Observed) -> CloneSetPlan:
    """Decide this pass (see the module docstring for the steps)."""
    if not o.satisfied:
        return CloneSetPlan(Write.NONE, "wait")
    facts = o.facts.all(o.pods)
    first = _prelude(o, facts)
    if first is not None:
        return first
    status = o.cloneset.get("status") or {}
    revisions = plan_revisions(o.cloneset, o.spec.template, o.revisions, o.revision_names,
                               o.collision_count, str(status.get("currentRevision") or ""),
                               CLONESETS.api_version, CLONESETS.kind)
    if revisions.update is None or revisions.current is None:
        return CloneSetPlan(Write.REVISION, "revision", revision_create=revisions.create,
                            revision_bump=revisions.bump,
                            collision_count=revisions.collision_count)
    update_name, current_name = _name(revisions.update), _name(revisions.current)

    def stamp(decided: CloneSetPlan, **changes: Any) -> CloneSetPlan:
        return replace(decided, update_revision=update_name, current_revision=current_name,
                       collision_count=revisions.collision_count, **changes)

    active = tuple(pod for pod, f in zip(o.pods, facts, strict=True) if f.active)
    p = Pass(o, active, update_name, current_name,
             {_name(r): template_of(r) for r in o.revisions})
    blocked: Blocked | None = None
    waits: list[float] = []
    if not is_terminating(o.cloneset):
        refreshed = refresh_pods(p)
        if refreshed.requeue_after is not None:
            waits.append(refreshed.requeue_after)
        scaled = scale(p)
        if refreshed.plan is not None:
            return stamp(refreshed.plan if scaled is not None
                         else _with_updates(refreshed.plan, update(p)))
        if scaled is not None:
            return stamp(scaled)
        updated = update(p)
        if updated.plan is not None:
            return stamp(updated.plan)
        blocked = updated.blocked or _delete_hold(p)
    return stamp(_tail(o, p, revisions.collision_count, blocked, waits), blocked=blocked)
