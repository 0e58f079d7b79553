"""Which pods a CloneSet's update step takes, in which order, and how many at once.

Why a module of its own: the update step of a pass is "update the first
``k`` pods of this list"; what the list is (which pods wait for an update,
and in what order) and what ``k`` is (``update_num`` and the unavailability
budget) are pure and carry every rule users can tune — priority, scatter,
lifecycle hooks, maxUnavailable — so they are table-tested here, apart from
the writes.

**Which pods** (:func:`update_candidates`): pods not on the update revision
(for a partition rollback: the pods on it, moving back), except
pods in PreparingDelete (they are going away) and pods whose in-place update
is waiting out ``gracePeriodSeconds`` (annotation
``apps.kruise.io/inplace-update-grace`` present).  Pods in ``Updated`` state
that are not on the target revision may update again.

**The order** (:func:`update_order`), built in five stable passes so each
later pass decides over the earlier ones:

1. Kubernetes' ``ActivePods`` order (:func:`~.ranking.activity_compare`):
   unassigned, then pending, not ready, recently ready, restarting, newer
   pods first — the least settled pods are the cheapest to update.  Sorted
   by :func:`~.ranking.activity_key`, the same order as a sort key memoised
   per pod version (:mod:`.facts`), not by the comparator: a comparison per
   pair re-read conditions and parsed timestamps, which made a pass over
   thousands of pods cost seconds;
2. priority (:mod:`.priority`), highest first; equal priority keeps pass 1;
3. scatter (:mod:`.scatter`), which respreads the list over the whole
   CloneSet's label mix (and may move pods against their priority, as upstream);
4. unavailable pods before available ones;
5. PreparingUpdate pods before all others (their update has begun: finish it).

So the final order is: PreparingUpdate, then unavailable, then by priority
as arranged by scatter, ties broken by pass 1.  Pass 4 is Mizzen's: upstream
lets priority override health, but updating an unavailable pod costs nothing
from the budget (see below), so taking those first never blocks and repairs
broken pods first.  Upstream also breaks priority ties by position in its
informer's list; pass 1 makes that deterministic.

**How many** (:func:`limit_updates`, upstream's ``limitUpdateIndexes``): at
most ``|update_num|``; walking the order, stop before the pod that would make
the target revision's unavailable pods plus the pods taken so far reach
``update_max_unavailable``, or before an *available* pod once the CloneSet's
unavailable pods reach it (an unavailable pod is taken without counting).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mizzen.api.cloneset.types import CloneSetSpec
from mizzen.api.kruise import LifecycleState
from mizzen.workloads.cloneset.diffs import Diffs
from mizzen.workloads.cloneset.facts import FactsMemo, PodFacts, memo_or_new
from mizzen.workloads.cloneset.priority import sort_by_priority
from mizzen.workloads.cloneset.scatter import scatter_order

__all__ = ["choose_updates", "limit_updates", "update_candidates", "update_order"]

Obj = dict[str, Any]


def _waiting(f: PodFacts, update_revision: str, update_hash: str, rollback: bool) -> bool:
    on_update = f.revision == update_revision or f.revision_hash == update_hash
    return on_update == rollback and f.lifecycle != LifecycleState.PREPARING_DELETE \
        and not f.in_grace


def update_candidates(pods: Sequence[Obj], update_revision: str, *,
                      rollback: bool = False, facts: FactsMemo | None = None) -> list[Obj]:
    """Pods that may update now, in their given order: those not on ``update_revision``
    (with ``rollback``: those on it, to move back to the current revision)."""
    memo = memo_or_new(facts)
    update_hash = update_revision.rpartition("-")[2]
    return [pod for pod, f in zip(pods, memo.all(pods), strict=True)
            if _waiting(f, update_revision, update_hash, rollback)]


def update_order(pods: Sequence[Obj], spec: CloneSetSpec, update_revision: str,
                 now: datetime, *, rollback: bool = False,
                 facts: FactsMemo | None = None) -> list[Obj]:
    """The pods waiting to update, first to update first (module docstring: the order).

    ``pods``: all the CloneSet's active pods (updated ones too: scatter weighs the
    whole set).  ``rollback``: order the update-revision pods instead, for a partition
    rollback (``Diffs.update_num < 0``).  ``now`` and ``spec.min_ready_seconds``
    decide availability.  ``facts``: the memo to read pods through.  Pure.
    """
    memo = memo_or_new(facts)
    update_hash, min_ready = update_revision.rpartition("-")[2], spec.min_ready_seconds
    deleting, preparing = LifecycleState.PREPARING_DELETE, LifecycleState.PREPARING_UPDATE
    pods_w: list[Obj] = []
    facts_w: list[PodFacts] = []
    for pod, f in zip(pods, memo.all(pods), strict=True):  # update_candidates, inlined
        if (f.revision == update_revision or f.revision_hash == update_hash) == rollback \
                and f.lifecycle != deleting and not f.in_grace:
            pods_w.append(pod)
            facts_w.append(f)
    priority = spec.priority
    if not spec.scatter and not (priority and (priority.weight_priority
                                               or priority.order_priority)):
        # Passes 5, 4 and 1 as one sort: successive stable sorts are a sort by the tuple.
        keys = [(f.lifecycle != preparing,
                 f.available_base if min_ready == 0 else f.available(min_ready, now),
                 f.activity_key) for f in facts_w]
        return [pods_w[i] for i in sorted(range(len(keys)), key=keys.__getitem__)]
    by_activity = sorted(range(len(facts_w)), key=lambda i: facts_w[i].activity_key)
    order = sort_by_priority([pods_w[i] for i in by_activity], priority)
    order = scatter_order(order, spec.scatter, pods)
    order.sort(key=lambda pod: memo.of(pod).available(min_ready, now))
    order.sort(key=lambda pod: memo.of(pod).lifecycle != LifecycleState.PREPARING_UPDATE)
    return order


def _unavailable(pods: Sequence[Obj], target_revision: str, now: datetime,
                 min_ready_seconds: int, memo: FactsMemo) -> tuple[int, int]:
    """``(unavailable pods, those of them on target_revision)``."""
    target_hash = target_revision.rpartition("-")[2]
    unavailable = target_unavailable = 0
    for f in memo.all(pods):
        if not f.available(min_ready_seconds, now):
            unavailable += 1
            target_unavailable += f.revision == target_revision or f.revision_hash == target_hash
    return unavailable, target_unavailable


def limit_updates(order: Sequence[Obj], pods: Sequence[Obj], diffs: Diffs,
                  target_revision: str, now: datetime, *,
                  min_ready_seconds: int = 0, facts: FactsMemo | None = None) -> list[Obj]:
    """The prefix of ``order`` this pass may update (module docstring: how many).

    ``pods``: all the CloneSet's active pods, whose unavailable ones count against
    ``diffs.update_max_unavailable``.
    """
    memo = memo_or_new(facts)
    unavailable, target_unavailable = _unavailable(pods, target_revision, now,
                                                   min_ready_seconds, memo)
    taken: list[Obj] = []
    for pod in order[:abs(diffs.update_num)]:
        # Unavailable pods on the target revision, counting those we update now.
        if target_unavailable + len(taken) >= diffs.update_max_unavailable:
            break
        # Unavailable pods overall; updating an unavailable pod adds none.
        if memo.of(pod).available(min_ready_seconds, now):
            if unavailable >= diffs.update_max_unavailable:
                break
            unavailable += 1
        taken.append(pod)
    return taken


def choose_updates(pods: Sequence[Obj], spec: CloneSetSpec, diffs: Diffs,
                   current_revision: str, update_revision: str, now: datetime, *,
                   facts: FactsMemo | None = None) -> list[Obj]:
    """The pods to update in this pass, in order: :func:`update_order` cut by
    :func:`limit_updates`, toward the update revision (the current one when
    ``diffs.update_num < 0``).  Empty when ``diffs.update_num`` is 0 (settled, paused
    or OnDelete)."""
    if diffs.update_num == 0:
        return []
    memo = memo_or_new(facts)
    rollback = diffs.update_num < 0
    target = current_revision if rollback else update_revision
    _, target_unavailable = _unavailable(pods, target, now, spec.min_ready_seconds, memo)
    if target_unavailable >= diffs.update_max_unavailable:
        return []  # the budget is spent on the target's own pods: no order needed
    order = update_order(pods, spec, update_revision, now, rollback=rollback, facts=memo)
    return limit_updates(order, pods, diffs, target, now,
                         min_ready_seconds=spec.min_ready_seconds, facts=memo)
