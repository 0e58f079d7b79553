"""The Deployment controller's decisions: :class:`Observed` in, one :class:`DeploymentPlan` out.

Pure: upstream's ``syncDeployment`` replayed on the cache until its first
write, which becomes the plan.  Upstream makes several writes per sync and
continues on the objects they return; here the pass stops at the first, and
the next pass — brought by that write's watch event once the cache holds it —
starts over from the new state and reaches the same next step.  The order:

1. **selecting all** — an empty selector: warn, record observedGeneration only;
2. **claim** — adopt orphan ReplicaSets the selector matches, release owned
   ones it no longer matches;
3. being deleted → **status only**;
4. **paused condition** — Progressing Unknown ``DeploymentPaused`` /
   ``DeploymentResumed`` when ``spec.paused`` flips (with a deadline only);
5. paused, or a **scaling event** (an active ReplicaSet's
   ``desired-replicas`` annotation differs from ``spec.replicas``) →
   :func:`_sync`: no new ReplicaSet is created; the sizes are brought to
   ``spec.replicas`` (the one active ReplicaSet directly, otherwise
   proportionally, see ``replicas.py``); paused Deployments also prune history;
6. **Recreate**: scale every old ReplicaSet to 0; wait until no old pod is
   left (terminating ones included); create the new ReplicaSet at full size;
7. **RollingUpdate**: create or find the new ReplicaSet (``newrs.py``); scale
   it up within maxSurge; scale old ones down within maxUnavailable; prune
   history once complete;
8. **status** — counts and conditions (``status.py``), written when changed;
   otherwise, if a rollout is stuck, come back when its deadline passes.

One guard is ours: a rolling step is taken only when every ReplicaSet with
replicas or pods reports ``observedGeneration >= generation`` — its
controller has acted on our last resize and its counts are current (see
``mizzen.cluster.replicaset.plan``).  Upstream reads possibly stale counts and
can briefly exceed maxSurge or drop below the availability floor; here the
bounds hold at every instant.  Until then the pass only refreshes the status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from mizzen.cluster.deployment.decisions import (
    DeploymentPlan,
    Event,
    Observed,
    ReplicaSetUpdate,
)
from mizzen.cluster.deployment.newrs import sync_revision
from mizzen.cluster.deployment.replicas import (
    active,
    by_creation,
    find_active_or_latest,
    is_rolling,
    is_saturated,
    max_surge,
    name_of,
    new_rs_replicas,
    proportional,
    replicas_of,
    scale_down_old,
    status_count,
    total,
)
from mizzen.cluster.deployment.revision import (
    DESIRED_REPLICAS,
    replicas_annotations_need_update,
    revision_of,
    with_replicas_annotations,
)
from mizzen.cluster.deployment.status import (
    PAUSED,
    PROGRESSING,
    RESUMED,
    TIMED_OUT,
    calculate_status,
    condition,
    count,
    has_progress_deadline,
    is_complete,
    new_condition,
    rollout_status,
    same_status,
    set_condition,
)
from mizzen.cluster.podutil import (
    claim,
    controller_of,
    is_terminating,
    labels_of,
    selector_is_empty,
    selector_matches,
)

__all__ = ["DeploymentPlan", "Event", "Observed", "ReplicaSetUpdate", "plan"]

Obj = dict[str, Any]
_MAX_INT32 = 2**31 - 1


def _spec(obj: Obj) -> dict[str, Any]:
    return obj.get("spec") or {}


def _annotations(obj: Obj) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


class _Pass:
    """One planning pass over a claimed set of ReplicaSets."""

    def __init__(self, o: Observed, rss: list[Obj]) -> None:
        self.o = o
        self.d = o.deployment
        self.rss = rss
        self.past_new_rs = False  # the "just created" note is no longer needed

    def new_and_old(self, create: bool) -> DeploymentPlan | tuple[Obj | None, list[Obj]]:
        got = sync_revision(self.o, self.rss, create)
        if isinstance(got, tuple):
            self.past_new_rs = True
        return got

    # -- writes shared by the strategies ---------------------------------------------

    def resize(self, rs: Obj, size: int, force_annotations: bool = False
               ) -> tuple[ReplicaSetUpdate, Event | None] | None:
        """``scaleReplicaSet``: the update (with replica annotations) and its event."""
        desired = replicas_of(self.d)
        max_replicas = desired + max_surge(self.d)
        old = replicas_of(rs)
        stale = replicas_annotations_need_update(rs, desired, max_replicas)
        if old == size and not (force_annotations and stale):
            return None
        annotations = with_replicas_annotations(_annotations(rs), desired, max_replicas)
        event = None
        if old != size:
            verb = "up" if size > old else "down"
            event = Event("Normal", "ScalingReplicaSet",
                          f"Scaled {verb} replica set {name_of(rs)} from {old} to {size}")
        return ReplicaSetUpdate(name_of(rs), old, size, annotations), event

    def scaling(self, step: str, resized: Sequence[tuple[ReplicaSetUpdate, Event | None] | None]
                ) -> DeploymentPlan | None:
        done = [r for r in resized if r is not None]
        if not done:
            return None
        return DeploymentPlan(step, updates=tuple(u for u, _ in done),
                              events=tuple(e for _, e in done if e is not None))

    def cleanup(self, old: list[Obj]) -> DeploymentPlan | None:
        """Delete the oldest zero-sized ReplicaSets beyond ``revisionHistoryLimit``."""
        limit = _spec(self.d).get("revisionHistoryLimit")
        if not isinstance(limit, int) or limit == _MAX_INT32:
            return None
        alive = [rs for rs in old if not is_terminating(rs)]
        surplus = len(alive) - limit
        if surplus <= 0:
            return None
        ordered = sorted(by_creation(alive), key=lambda rs: revision_of(rs) or 0)
        doomed = tuple(name_of(rs) for rs in ordered[:surplus]
                       if status_count(rs, "replicas") == 0 and replicas_of(rs) == 0
                       and ((rs.get("metadata") or {}).get("generation") or 0)
                       <= status_count(rs, "observedGeneration"))
        return DeploymentPlan("clean up old replica sets", delete=doomed) if doomed else None

    def status(self, status: Obj, requeue: float | None = None) -> DeploymentPlan:
        counts = (replicas_of(self.d), count(status, "replicas"),
                  count(status, "availableReplicas"))
        if same_status(self.d.get("status") or {}, status):
            return DeploymentPlan("idle", requeue_after=requeue, counts=counts)
        return DeploymentPlan("status", status=status, counts=counts)

    def plain_status(self, new: Obj | None, old: list[Obj]) -> DeploymentPlan:
        """``syncDeploymentStatus``: counts and Available, no progress estimate."""
        everything = [*old, *([new] if new is not None else [])]
        return self.status(calculate_status(everything, new, self.d, self.o.now))

    def progress_status(self, new: Obj | None, old: list[Obj]) -> DeploymentPlan:
        """``syncRolloutStatus``: with the Progressing condition and the deadline."""
        everything = [*old, *([new] if new is not None else [])]
        return self.status(*rollout_status(everything, new, self.d, self.o.now))

    # -- the steps -------------------------------------------------------------------

    def run(self) -> DeploymentPlan:
        if is_terminating(self.d):
            return self.status_only()
        paused = self.paused_condition()
        if paused is not None:
            return paused
        if _spec(self.d).get("paused"):
            return self.sync()
        got = self.new_and_old(create=False)
        if isinstance(got, DeploymentPlan):
            return got
        new, old = got
        if self.is_scaling_event(new, old):
            return self.sync()
        if not is_rolling(self.d):
            return self.recreate()
        return self.rolling()

    def status_only(self) -> DeploymentPlan:
        got = self.new_and_old(create=False)
        return got if isinstance(got, DeploymentPlan) else self.plain_status(*got)

    def paused_condition(self) -> DeploymentPlan | None:
        if not has_progress_deadline(self.d):
            return None
        status = dict(self.d.get("status") or {})
        cond = condition(status, PROGRESSING)
        if cond is not None and cond.get("reason") == TIMED_OUT:
            return None
        paused_now = bool(_spec(self.d).get("paused"))
        was_paused = cond is not None and cond.get("reason") == PAUSED
        if paused_now and not was_paused:
            set_condition(status, new_condition(PROGRESSING, "Unknown", PAUSED,
                                                "Deployment is paused", self.o.now))
            return DeploymentPlan("paused", status=status)
        if was_paused and not paused_now:
            set_condition(status, new_condition(PROGRESSING, "Unknown", RESUMED,
                                                "Deployment is resumed", self.o.now))
            return DeploymentPlan("resumed", status=status)
        return None

    def is_scaling_event(self, new: Obj | None, old: list[Obj]) -> bool:
        for rs in active([*old, *([new] if new is not None else [])]):
            desired = _annotations(rs).get(DESIRED_REPLICAS)
            if desired is not None and desired.isdigit() and int(desired) != replicas_of(self.d):
                return True
        return False

    def sync(self) -> DeploymentPlan:
        """Paused or scaling: resize without rolling out, then the plain status."""
        got = self.new_and_old(create=False)
        if isinstance(got, DeploymentPlan):
            return got
        new, old = got
        step = self.scale(new, old)
        if step is None and _spec(self.d).get("paused"):
            step = self.cleanup(old)
        return step if step is not None else self.plain_status(new, old)

    def scale(self, new: Obj | None, old: list[Obj]) -> DeploymentPlan | None:
        desired = replicas_of(self.d)
        only = find_active_or_latest(new, old)
        if only is not None:
            return self.scaling("scale", [self.resize(only, desired)])
        if is_saturated(self.d, new):
            return self.scaling("scale down old replica sets",
                                [self.resize(rs, 0) for rs in active(old)])
        if not is_rolling(self.d):
            return None
        return self.scaling("scale proportionally",
                            [self.resize(rs, size, force_annotations=True)
                             for rs, size in proportional(self.d, new, old)])

    def rolling(self) -> DeploymentPlan:
        got = self.new_and_old(create=True)
        if isinstance(got, DeploymentPlan):
            return got
        new, old = got
        assert new is not None  # create=True: a new ReplicaSet or a plan to make one
        everything = [*old, new]
        if all(_settled(rs) for rs in everything):
            desired = replicas_of(self.d)
            if replicas_of(new) > desired:
                step = self.scaling("rolling: scale down new replica set",
                                    [self.resize(new, desired)])
            else:
                target = new_rs_replicas(self.d, everything, replicas_of(new))
                step = self.scaling("rolling: scale up new replica set",
                                    [self.resize(new, target)])
            if step is not None:
                return step
            sizes = scale_down_old(self.d, everything, active(old), new)
            step = self.scaling("rolling: scale down old replica sets",
                                [self.resize(rs, sizes[name_of(rs)]) for rs in old
                                 if name_of(rs) in sizes])
            if step is not None:
                return step
            if is_complete(self.d, self.d.get("status") or {}):
                step = self.cleanup(old)
                if step is not None:
                    return step
        return self.progress_status(new, old)

    def recreate(self) -> DeploymentPlan:
        got = self.new_and_old(create=False)
        if isinstance(got, DeploymentPlan):
            return got
        new, old = got
        step = self.scaling("recreate: scale down old replica sets",
                            [self.resize(rs, 0) for rs in active(old)])
        if step is not None:
            return step
        if self.old_pods_running(new, old):
            return self.progress_status(new, old)
        if new is None:
            made = self.new_and_old(create=True)
            assert isinstance(made, DeploymentPlan)  # no new ReplicaSet: the create plan
            return made
        step = self.scaling("recreate: scale up new replica set",
                            [self.resize(new, replicas_of(self.d))])
        if step is not None:
            return step
        if is_complete(self.d, self.d.get("status") or {}):
            step = self.cleanup(old)
            if step is not None:
                return step
        return self.progress_status(new, old)

    def old_pods_running(self, new: Obj | None, old: list[Obj]) -> bool:
        """Old ReplicaSets report pods, or the cache still holds an unfinished old pod."""
        if total(old, "replicas") > 0:
            return True
        old_uids = {(rs.get("metadata") or {}).get("uid") for rs in old}
        for pod in self.o.pods:
            ref = controller_of(pod)
            if ref is None or ref.get("uid") not in old_uids:
                continue
            if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                return True
        return False


def _settled(rs: Obj) -> bool:
    """Its controller has observed its latest spec (or it has nothing to count)."""
    if replicas_of(rs) == 0 and status_count(rs, "replicas") == 0:
        return True
    generation = (rs.get("metadata") or {}).get("generation") or 0
    return status_count(rs, "observedGeneration") >= generation


def plan(o: Observed) -> DeploymentPlan:
    """Decide this pass (see the module docstring for the steps)."""
    d = o.deployment
    selector = _spec(d).get("selector")
    if selector_is_empty(selector):
        warning = Event("Warning", "SelectingAll",
                        "This deployment is selecting all pods. A non-empty selector is "
                        "required.")
        status = dict(d.get("status") or {})
        generation = (d.get("metadata") or {}).get("generation") or 0
        if (status.get("observedGeneration") or 0) < generation:
            status["observedGeneration"] = generation
            return DeploymentPlan("selecting all", status=status, events=(warning,))
        return DeploymentPlan("selecting all", events=(warning,))
    claimed = claim(d, list(o.replica_sets),
                    lambda rs: selector_matches(selector, labels_of(rs)))
    if claimed.adopt or claimed.release:
        return DeploymentPlan("claim", adopt=tuple(name_of(rs) for rs in claimed.adopt),
                              release=tuple(name_of(rs) for rs in claimed.release))
    run = _Pass(o, list(claimed.owned))
    decided = run.run()
    if o.created is not None and run.past_new_rs and not decided.clear_created:
        decided = replace(decided, clear_created=True)
    return decided
