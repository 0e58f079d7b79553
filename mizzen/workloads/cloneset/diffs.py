"""How far a CloneSet is from its spec, as numbers: upstream's ``calculateDiffsWithExpectation``.

Why one pure function: every scale and update decision of a CloneSet pass —
create how many pods and of which revision, delete how many and how many of
them ready, update how many and with what unavailability budget — follows
from one count of the pods against ``replicas``, ``partition``, ``maxSurge``
and ``maxUnavailable``.  Counting once, here, keeps the scale step and the
update step consistent with each other, and makes every rule a table test.

The counts (pods are the CloneSet's active pods, none terminating):

* a pod is *new* when ``is_updated(pod)`` (default: its revision label names
  ``update_revision``), else *old*; scaling passes :func:`scaling_is_updated`
  so PreparingUpdate pods count as new (upstream e2e: "PreparingUpdate pods
  counted as updated when scaling"), updating passes nothing;
* a PreparingDelete pod is *pre-deleting*: unavailable and not active;
* an active pod named in ``scaleStrategy.podsToDelete`` or labelled
  ``apps.kruise.io/specified-delete`` is *to delete*; any other active pod
  that is not available (:func:`~mizzen.workloads.lifecycle.is_pod_available`) is
  *unavailable*.

Then, with ``oldDiff = oldActive - partition`` and
``newDiff = newActive - (replicas - partition)`` (clamped to ``>= 0`` and
``<= 0`` unless partition rollback is on and the revisions differ):

* surge is used only with ``maxSurge > 0``: to replace to-delete pods that
  would break ``maxUnavailable`` (scale surge), or to carry the update when
  one diff is positive and the other negative (update surge,
  ``min(|oldDiff|, |newDiff|)``); the larger wins, capped by ``maxSurge``;
* ``expectedTotal = replicas + useSurge`` against ``len(pods)`` gives
  ``scale_up_num`` / ``scale_down_num`` (the latter net of to-delete pods);
* ``scale_up_limit = min(scale_up_num, scaleMaxUnavailable - unavailable)``;
* ``delete_ready_limit = maxUnavailable + len(pods) - replicas - unavailable``
  when anything is to be deleted;
* ``update_num`` is the smaller diff, and ``update_max_unavailable =
  maxUnavailable + len(pods) - replicas`` when it is non-zero.

Where Mizzen differs from upstream, on purpose:

* ``update_max_unavailable`` is clamped at 0 (upstream's goes negative when
  fewer pods exist than ``replicas - maxUnavailable``, e.g. while
  scaleStrategy.maxUnavailable throttles a scale-up: kruise PRs #2384/#2385).
  A budget of 0 still holds the update until the missing pods exist — they
  count as unavailable — but the number stays meaningful to callers;
* ``paused`` forces maxSurge to 0 *and* ``update_num`` to 0, and ``OnDelete``
  (whose partition and maxSurge live under ``rollingUpdate`` in v1beta1)
  ignores partition and maxSurge and never updates: the diffs say what to do
  *now*, so a caller needs no second check before updating;
* a partition larger than ``replicas`` is clamped to ``replicas``.

Worked example (replicas 5, maxSurge 1, maxUnavailable 0, partition 3): five
old pods → surge 1, create 1 new pod; it becomes available → update 1 old pod
in place (budget ``0 + 6 - 5 = 1``); the updated pod is available → 6 pods
for 5 replicas, delete 1 old pod (``delete_ready_limit`` 1) → 3 old / 2 new.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mizzen.api.cloneset.types import CloneSetSpec, UpdateType
from mizzen.api.intstr import (
    max_surge_value,
    max_unavailable_value,
    partition_value,
    scale_max_unavailable_value,
)
from mizzen.api.kruise import (
    LIFECYCLE_STATE,
    SPECIFIED_DELETE,
    LifecycleState,
)
from mizzen.workloads.cloneset.facts import FactsMemo, memo_or_new
from mizzen.workloads.cloneset.revision import label_matches, revision_matches

__all__ = [
    "UNLIMITED",
    "Diffs",
    "Limits",
    "calculate_diffs",
    "is_specified_delete",
    "lifecycle_state",
    "resolve_limits",
    "revision_matches",
    "scaling_is_updated",
]

Obj = dict[str, Any]

# scaleStrategy.maxUnavailable when unset (upstream's math.MaxInt32).
UNLIMITED = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Limits:
    """A spec's int-or-percent fields scaled against ``replicas``, each by its own rule."""

    # Desired pods.
    replicas: int
    # Pods kept on old revisions (percent rounds up; "99%" of 4 is 3); 0 under OnDelete.
    partition: int
    # Extra pods allowed during an update (rounds up); 0 when paused or OnDelete.
    max_surge: int
    # Unavailable pods allowed (rounds up, down when max_surge > 0).
    max_unavailable: int
    # Unavailable pods allowed while scaling up (rounds up); UNLIMITED when unset.
    scale_max_unavailable: int


@dataclass(frozen=True, slots=True)
class Diffs:
    """What a pass should do, in numbers; all zero when the CloneSet is settled."""

    # Pods to create (>= 0).
    scale_up_num: int = 0
    # How many of the created pods should be of an old (current) revision; may exceed
    # scale_up_num, the caller creates at most scale_up_num in all.
    scale_up_num_old_revision: int = 0
    # Pods to delete (>= 0), not counting pods already specified for deletion.
    scale_down_num: int = 0
    # How many of the deleted pods should be old-revision pods; may exceed scale_down_num.
    scale_down_num_old_revision: int = 0
    # Most pods to create now: scale_up_num capped by scaleStrategy.maxUnavailable.
    scale_up_limit: int = 0
    # Most ready pods to delete now (specified-delete and scale-down together).
    delete_ready_limit: int = 0
    # Pods temporarily wanted above replicas (maxSurge in use).
    use_surge: int = 0
    # The part of use_surge that is old-revision pods.
    use_surge_old_revision: int = 0
    # Pods to move to the update revision (> 0), back to the current revision
    # (< 0, partition rollback only), or 0: nothing to update now.
    update_num: int = 0
    # Most pods that may be unavailable while updating (>= 0; 0 when update_num is 0).
    update_max_unavailable: int = 0


def lifecycle_state(pod: Mapping[str, Any]) -> str:
    """The ``lifecycle.apps.kruise.io/state`` label ("" when absent)."""
    return str(((pod.get("metadata") or {}).get("labels") or {}).get(LIFECYCLE_STATE, ""))


def is_specified_delete(spec: CloneSetSpec, pod: Mapping[str, Any]) -> bool:
    """Named in ``scaleStrategy.podsToDelete`` or carrying the specified-delete label
    (any value)."""
    meta = pod.get("metadata") or {}
    return SPECIFIED_DELETE in (meta.get("labels") or {}) or meta.get("name") in spec.pods_to_delete


def scaling_is_updated(update_revision: str, facts: FactsMemo | None = None
                       ) -> Callable[[Mapping[str, Any]], bool]:
    """The ``is_updated`` to pass when computing diffs for the scale step: a pod on the
    update revision, or in PreparingUpdate (its update has begun; counting it as old
    would make scale-down delete it or scale-up create an extra old pod).  ``facts``:
    the memo to read pods through."""
    memo = memo_or_new(facts)

    def is_updated(pod: Mapping[str, Any]) -> bool:
        f = memo.of(pod)
        return (f.lifecycle == LifecycleState.PREPARING_UPDATE
                or label_matches(f.revision, update_revision))

    return is_updated


def resolve_limits(spec: CloneSetSpec) -> Limits:
    """Scale ``spec``'s int-or-percent fields against ``spec.replicas`` (see :class:`Limits`)."""
    replicas = spec.replicas
    on_delete = spec.update_type == UpdateType.ON_DELETE
    partition = 0 if on_delete else min(max(partition_value(spec.partition, replicas), 0),
                                        replicas)
    max_surge = 0 if spec.paused or on_delete else max_surge_value(spec.max_surge, replicas)
    scale_limit = scale_max_unavailable_value(spec.scale_max_unavailable, replicas)
    return Limits(
        replicas=replicas,
        partition=partition,
        max_surge=max_surge,
        max_unavailable=max_unavailable_value(spec.max_unavailable, replicas, max_surge > 0),
        scale_max_unavailable=UNLIMITED if scale_limit is None else scale_limit,
    )


@dataclass
class _Counts:
    """Pods of one side (new or old revision), tallied."""

    total: int = 0
    active: int = 0
    pre_deleting: int = 0
    to_delete: int = 0
    unavailable: int = 0


def _count(spec: CloneSetSpec, pods: Sequence[Obj], now: datetime,
           is_updated: Callable[[Obj], bool] | None, memo: FactsMemo, update_revision: str,
           preparing_update_is_new: bool) -> tuple[_Counts, _Counts]:
    new, old = _Counts(), _Counts()
    named, min_ready = spec.pods_to_delete, spec.min_ready_seconds
    facts = memo.all(pods)
    if is_updated is not None:
        sides = [is_updated(pod) for pod in pods]
    else:
        rev_hash, preparing = update_revision.rpartition("-")[2], LifecycleState.PREPARING_UPDATE
        sides = [f.revision == update_revision or f.revision_hash == rev_hash
                 or (preparing_update_is_new and f.lifecycle == preparing) for f in facts]
    deleting = LifecycleState.PREPARING_DELETE
    for f, updated in zip(facts, sides, strict=True):
        side = new if updated else old
        side.total += 1
        if f.lifecycle == deleting:
            side.pre_deleting += 1
            continue
        side.active += 1
        if f.specified_delete or f.name in named:
            side.to_delete += 1
        elif not (f.available_base if min_ready == 0 else f.available(min_ready, now)):
            side.unavailable += 1
    return new, old


def _surge(limits: Limits, new: _Counts, old: _Counts, unavailable: int, old_diff: int,
           new_diff: int) -> tuple[int, int]:
    """``(use_surge, use_surge_old_revision)``."""
    if limits.max_surge <= 0:
        return 0, 0
    # Surge to replace to-delete pods without exceeding maxUnavailable.
    scale_surge = scale_old_surge = 0
    to_delete = new.to_delete + old.to_delete
    if to_delete > 0:
        scale_surge = min(max(unavailable + to_delete - limits.max_unavailable, 0), to_delete)
        scale_old_surge = max(scale_surge - new.to_delete, 0)
    # Surge to carry the update: one side above its target, the other below.
    update_surge = update_old_surge = 0
    if (old_diff > 0 > new_diff) or (old_diff < 0 < new_diff):
        if abs(old_diff) <= abs(new_diff):
            update_surge = abs(old_diff)
            update_old_surge = update_surge if old_diff < 0 else 0
        else:
            update_surge = abs(new_diff)
            update_old_surge = update_surge if new_diff > 0 else 0
    # A pass either scales or updates, so the larger need decides.
    if scale_surge >= update_surge:
        surge = min(limits.max_surge, scale_surge)
        return surge, min(surge, scale_old_surge)
    surge = min(limits.max_surge, update_surge)
    return surge, min(surge, update_old_surge)


def calculate_diffs(spec: CloneSetSpec, pods: Sequence[Obj], current_revision: str,
                    update_revision: str, now: datetime, *,
                    is_updated: Callable[[Obj], bool] | None = None,
                    partition_rollback: bool = False, facts: FactsMemo | None = None,
                    preparing_update_is_new: bool = False) -> Diffs:
    """The scale and update numbers for ``spec`` given its active ``pods``.

    ``pods``: the CloneSet's active pods (owned, not terminating).  ``now``: the
    controller's clock, for ``minReadySeconds``.  ``is_updated``: which pods count as
    the update revision; default: revision label names ``update_revision``; pass
    :func:`scaling_is_updated` for the scale step.  ``partition_rollback``: upstream's
    ``CloneSetPartitionRollback`` gate (default off): when on and the revisions differ,
    a partition raised above the old pods' count moves new pods back
    (``update_num < 0``) and surge may add old pods.  ``facts``: the memo to read pods
    through.  ``preparing_update_is_new`` (without ``is_updated``): count as
    :func:`scaling_is_updated` does, without a call per pod.  See the module docstring for
    the rules and where they differ from upstream.
    """
    memo = memo_or_new(facts)
    limits = resolve_limits(spec)
    replicas, partition = limits.replicas, limits.partition
    new, old = _count(spec, pods, now, is_updated, memo, update_revision,
                      preparing_update_is_new)

    old_diff = old.active - partition
    new_diff = new.active - (replicas - partition)
    if update_revision == current_revision or not partition_rollback:
        old_diff, new_diff = max(old_diff, 0), min(new_diff, 0)
    unavailable = new.pre_deleting + old.pre_deleting + new.unavailable + old.unavailable
    use_surge, use_surge_old = _surge(limits, new, old, unavailable, old_diff, new_diff)

    total, total_old = len(pods), old.total
    if spec.exclude_preparing_delete:
        total -= new.pre_deleting + old.pre_deleting
        total_old -= old.pre_deleting
    expected_total, expected_old = replicas + use_surge, partition + use_surge_old

    scale_up = scale_up_old = scale_up_limit = 0
    if expected_total - total > 0:
        scale_up = expected_total - total
        scale_up_old = max(expected_old - total_old, 0)
        scale_up_limit = min(scale_up, max(limits.scale_max_unavailable - unavailable, 0))
    scale_down = scale_down_old = 0
    if total - old.to_delete - new.to_delete - expected_total > 0:
        scale_down = total - old.to_delete - new.to_delete - expected_total
        scale_down_old = max(total_old - old.to_delete - expected_old, 0)
    delete_ready_limit = 0
    if new.to_delete or old.to_delete or scale_down:
        delete_ready_limit = max(limits.max_unavailable + len(pods) - replicas - unavailable, 0)

    update_num = old_diff if abs(old_diff) <= abs(new_diff) else -new_diff
    if spec.paused or spec.update_type == UpdateType.ON_DELETE:
        update_num = 0
    update_max_unavailable = 0
    if update_num:
        update_max_unavailable = max(limits.max_unavailable + len(pods) - replicas, 0)

    return Diffs(
        scale_up_num=scale_up,
        scale_up_num_old_revision=scale_up_old,
        scale_down_num=scale_down,
        scale_down_num_old_revision=scale_down_old,
        scale_up_limit=scale_up_limit,
        delete_ready_limit=delete_ready_limit,
        use_surge=use_surge,
        use_surge_old_revision=use_surge_old,
        update_num=update_num,
        update_max_unavailable=update_max_unavailable,
    )
