"""The update step: move pods to the update revision, in place or recreated (upstream ``Update``).

Runs only when the scale step wrote nothing.  Nothing to do while paused
(``updateStrategy.paused``) or under ``OnDelete`` (pods change only when
someone deletes them).  Otherwise the pods to take this pass are
:func:`~mizzen.workloads.cloneset.updateorder.choose_updates` — ordered,
and cut to ``update_num`` and the unavailability budget — and each is
updated by the CloneSet's pod update policy:

* ``InPlaceIfPossible`` / ``InPlaceOnly``: when the pod's revision template
  and the target's differ only in what may change in place
  (:func:`~mizzen.workloads.inplace.diff_templates`), the lifecycle decides
  first (:func:`~mizzen.workloads.lifecycle.update_transition`: the
  inPlaceUpdate hook may hold the pod in PreparingUpdate), then two writes in
  one pass, one after the other as upstream makes them:
  ``InPlaceUpdateReady=False`` (``pods/status``, the pod leaves endpoints) and
  the update patch (new images, revision labels, lifecycle state Updating, the
  in-place state annotation).  Both are computed from the same version of the
  pod — the "before" image IDs the state records come from it — so the first
  carries that version's resourceVersion and the second the one the first
  returned (``PodPatch.chained``): a pod someone else changed in between gets a
  409 and is looked at again.  The refresh step finishes it.  When the change
  is not in place, ``InPlaceIfPossible`` recreates and ``InPlaceOnly``
  refuses: the pod is left alone and the status says why (RolloutBlocked,
  reason ``InPlaceOnlyRefused``, naming the first offending field);
* ``ReCreate`` (and the fallback above): the pod gets the
  ``apps.kruise.io/specified-delete`` label, and the scale step replaces it
  within the deletion budget.

A pod whose update was started (``InPlaceUpdateReady=False``) but which the
step no longer takes — paused meanwhile, or other pods came first — is put
back into endpoints (``InPlaceUpdateReady=True``) rather than left out of
service until some later pass picks it again.

The step also reports a :class:`~mizzen.workloads.cloneset.status.Blocked`
when pods wait but none could be moved: refused, held by a hook, paused, an
unavailability budget of zero (``maxUnavailable`` 0 and no surge pod), or a
budget used up by pods that are not on their way to available (running but
never Ready, crash-looping, unschedulable).  A budget used by pods that are
still being created, restarted or warming up (``minReadySeconds``) is the
normal wait between batches and is not reported, so the condition does not
flap on every batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mizzen.api.cloneset.types import PodUpdatePolicy, UpdateType
from mizzen.api.kruise import POD_TEMPLATE_HASH, SPECIFIED_DELETE, LifecycleState
from mizzen.cluster.podutil import is_ready, labels_of
from mizzen.runtime.events import NORMAL
from mizzen.workloads.cloneset.decision import (
    CloneSetPlan,
    Event,
    Pass,
    PodPatch,
    Write,
    in_write_order,
)
from mizzen.workloads.cloneset.diffs import calculate_diffs
from mizzen.workloads.cloneset.revision import label_matches, pod_revision, short_hash
from mizzen.workloads.cloneset.status import Blocked
from mizzen.workloads.cloneset.updateorder import choose_updates, update_candidates
from mizzen.workloads.inplace import (
    InPlaceDiff,
    diff_templates,
    finish_patch,
    start_patch,
    update_patch,
)
from mizzen.workloads.lifecycle import Action, update_transition
from mizzen.workloads.lifecycle.availability import condition_status

__all__ = ["IN_PLACE_ONLY_REFUSED", "LIFECYCLE_HOOK", "MAX_UNAVAILABLE", "PAUSED", "Updated",
           "update"]

Obj = dict[str, Any]

# RolloutBlocked reasons.
IN_PLACE_ONLY_REFUSED = "InPlaceOnlyRefused"
LIFECYCLE_HOOK = "LifecycleHook"
PAUSED = "Paused"
MAX_UNAVAILABLE = "MaxUnavailable"


@dataclass(frozen=True)
class Updated:
    """The update step's answer."""

    # The write, when some pod can move.
    plan: CloneSetPlan | None
    # Why pods wait without moving, if they do.
    blocked: Blocked | None = None


def _template_of_pod(templates: Mapping[str, Obj], pod: Obj) -> Obj | None:
    label = pod_revision(pod)
    if label in templates:
        return templates[label]
    short = short_hash(label)
    return next((t for name, t in templates.items() if short_hash(name) == short), None)


def _names(pods: list[str], limit: int = 3) -> str:
    shown = ", ".join(pods[:limit])
    return shown + (f" and {len(pods) - limit} more" if len(pods) > limit else "")


def _put_back(p: Pass, chosen: list[Obj], blocked: Blocked | None = None) -> Updated:
    """Finish the start of updates the step does not take now (see the docstring)."""
    taken = {str(pod["metadata"]["name"]) for pod in chosen}
    memo = p.facts
    patches = tuple(PodPatch(f.name, body, "status")
                    for pod, f in zip(p.active, memo.all(p.active), strict=True)
                    if f.started and f.name not in taken
                    and not (f.revision and label_matches(f.revision, p.update_revision))
                    and (body := finish_patch(pod, p.now)) is not None)
    if not patches:
        return Updated(None, blocked)
    return Updated(CloneSetPlan(Write.PATCH, "update-put-back", patches=patches,
                                blocked=blocked), blocked)


# Lifecycle states of a pod on its way (Updating, PreparingNormal) or held by a hook (reported
# as LifecycleHook, not here).
_NOT_STUCK_STATES = frozenset({LifecycleState.UPDATING.value,
                               LifecycleState.PREPARING_NORMAL.value,
                               LifecycleState.PREPARING_UPDATE.value,
                               LifecycleState.PREPARING_DELETE.value})


def _progressing(pod: Obj) -> bool:
    """An unavailable pod (not mid in-place update, not in a lifecycle transition) on its
    way to available: being created, scheduled or started, its containers ready but a
    readiness gate not yet, or Ready and waiting out ``minReadySeconds``."""
    status = pod.get("status") or {}
    if is_ready(pod):
        return True
    if condition_status(pod, "ContainersReady") == "True":
        return True  # only a readiness gate (or the kubelet catching up with one) is left
    if status.get("phase", "Pending") != "Pending":
        return False  # Running (or ended) and not Ready: nothing will change by waiting
    unschedulable = condition_status(pod, "PodScheduled") == "False"
    return not unschedulable


def _stuck(p: Pass) -> list[str]:
    """Unavailable pods that no step is moving toward available (crash-looping, never
    ready, unschedulable): when they use up the budget the rollout is blocked, not busy.
    Pods held by a hook are reported as such, not here.  Costs the memoised facts of each
    pod, and a look at the few that are unavailable and not in an update."""
    min_ready, now = p.spec.min_ready_seconds, p.now
    stuck: list[str] = []
    for pod, f in zip(p.active, p.facts.all(p.active), strict=True):
        if f.available_base and (min_ready == 0 or f.available(min_ready, now)):
            continue
        if f.started or f.lifecycle in _NOT_STUCK_STATES or _progressing(pod):
            continue
        stuck.append(f.name)
    return sorted(stuck)


def update(p: Pass) -> Updated:
    """The update write for this pass (see the module docstring)."""
    spec, now = p.spec, p.now
    if spec.update_type == UpdateType.ON_DELETE:
        return _put_back(p, [])
    memo = p.facts
    if spec.paused:
        waiting = update_candidates(p.active, p.update_revision, facts=memo)
        if not waiting:
            return _put_back(p, [])
        return _put_back(p, [], Blocked(PAUSED, f"updateStrategy.paused: {len(waiting)} pods "
                                                f"wait for revision {p.update_revision}"))
    diffs = calculate_diffs(spec, p.active, p.current_revision, p.update_revision, now,
                            facts=memo)
    if diffs.update_num == 0:
        return _put_back(p, [])
    target = p.update_revision if diffs.update_num > 0 else p.current_revision
    chosen = choose_updates(p.active, spec, diffs, p.current_revision, p.update_revision,
                            now, facts=memo)
    target_template = p.templates.get(target)
    if not chosen or target_template is None:
        if diffs.update_max_unavailable == 0:
            waiting = update_candidates(p.active, target, facts=memo)
            if waiting:
                return _put_back(p, [], Blocked(
                    MAX_UNAVAILABLE,
                    f"{len(waiting)} pods wait for revision {target} but no pod may be "
                    f"unavailable (maxUnavailable {spec.max_unavailable}, {len(p.active)} "
                    f"pods for {spec.replicas} replicas)"))
            return _put_back(p, [])
        stuck = _stuck(p)  # the candidates are listed only when some pod is stuck
        waiting = update_candidates(p.active, target, facts=memo) if stuck else []
        if waiting:
            return _put_back(p, [], Blocked(
                MAX_UNAVAILABLE,
                f"{len(waiting)} pods wait for revision {target} but the unavailability "
                f"budget ({diffs.update_max_unavailable}) is used up by pods that are not "
                f"becoming available: {_names(stuck)}"))
        return _put_back(p, [])
    put_back = _put_back(p, chosen)
    if put_back.plan is not None:
        return put_back
    patches: list[PodPatch] = []
    events: list[Event] = []
    refused: list[str] = []
    held: list[str] = []
    policy = spec.pod_update_policy
    diffs_by_revision: dict[str, InPlaceDiff] = {}  # one template diff per revision pair
    for pod in chosen:
        name = str(pod["metadata"]["name"])
        if policy in (PodUpdatePolicy.IN_PLACE_IF_POSSIBLE, PodUpdatePolicy.IN_PLACE_ONLY):
            label = pod_revision(pod)
            diff = diffs_by_revision.get(label)
            if diff is None:
                old = _template_of_pod(p.templates, pod)
                diff = diff_templates(old, target_template) if old is not None else \
                    InPlaceDiff(None, f"revision {label or '(none)'} is gone")
                diffs_by_revision[label] = diff
            if diff.change is not None:
                move = update_transition(pod, spec.lifecycle, now)
                if move.action == Action.PATCH_STATUS and move.body is not None:
                    patches.append(PodPatch(name, move.body, "status"))
                elif move.action == Action.PATCH and move.body is not None:
                    patches.append(PodPatch(name, move.body))
                elif move.action == Action.WAIT:
                    held.append(name)
                elif move.action == Action.PROCEED:
                    start = start_patch(pod, now)
                    if start is not None:  # both from this version of the pod: see docstring
                        version = {"resourceVersion": pod["metadata"].get("resourceVersion")}
                        patches.append(PodPatch(name, {"metadata": version, **start}, "status"))
                    body = update_patch(pod, diff.change, target, now,
                                        spec.grace_period_seconds,
                                        {**move.labels, POD_TEMPLATE_HASH: short_hash(target)},
                                        move.annotations)
                    patches.append(PodPatch(name, body, chained=start is not None))
                    events.append(Event(NORMAL, "SuccessfulUpdatePodInPlace",
                                        f"successfully update pod {name} in-place "
                                        f"(revision {target})"))
                continue
            if policy == PodUpdatePolicy.IN_PLACE_ONLY:
                refused.append(f"pod {name}: {diff.reason}")
                continue
        if SPECIFIED_DELETE not in labels_of(pod):
            patches.append(PodPatch(name, {"metadata": {"labels": {SPECIFIED_DELETE: "true"}}}))
            events.append(Event(NORMAL, "SuccessfulUpdatePodReCreate",
                                f"successfully patch pod {name} specified-delete for update "
                                f"(revision {target})"))
    blocked = None
    if refused:
        blocked = Blocked(IN_PLACE_ONLY_REFUSED,
                          f"updateStrategy InPlaceOnly cannot update {len(refused)} pods in "
                          f"place to revision {target}; {refused[0]}")
    elif held:
        blocked = Blocked(LIFECYCLE_HOOK, f"pods {_names(sorted(held))} are held in "
                                          f"PreparingUpdate by the inPlaceUpdate hook")
    if not patches:
        return Updated(None, blocked)
    chosen_patches = in_write_order(patches)
    step = "update" if any(q.subresource != "status" for q in chosen_patches) \
        else "update-hold"
    return Updated(CloneSetPlan(Write.PATCH, step, patches=chosen_patches, events=tuple(events),
                                blocked=blocked), blocked)
