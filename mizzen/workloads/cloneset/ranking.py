"""Which pods a shrinking CloneSet deletes first: upstream's CloneSet ``ActivePodsWithRanks``.

Why not the ReplicaSet ranking (``mizzen.cluster.replicaset.ranking``):
OpenKruise sorts with its own copy of the rules, which differs in three
ways that decide real scale-downs: an *unavailable* pod (by the OpenKruise
rule — lifecycle state, ``InPlaceUpdateReady``, ``minReadySeconds``) goes
before an available one even when both are ready; "doubled up" pods are
ranked among the CloneSet's own pods only; and ready time and age are
compared exactly, not on Kubernetes' logarithmic scale.  The shared pieces
(readiness, ready time, deletion cost, restart counts) come from
:mod:`mizzen.cluster.podutil`.

The order, first rule that differs decides (most expendable first):

1. unassigned (no ``spec.nodeName``) before assigned;
2. phase Pending, then Unknown, then Running (any other phase counts as Pending);
3. unavailable before available, then not ready before ready;
4. lower ``controller.kubernetes.io/pod-deletion-cost`` first;
5. higher same-node rank first: on a node holding ``k > 1`` of the pods, the
   ``k - 1`` most expendable (by the other rules, availability aside) get ranks
   ``k - 1 … 1``
   and the best one keeps 0 — so scale-down thins crowded nodes first;
6. both ready: the one ready more recently first (no ready time counts as newest);
7. more container restarts first;
8. newer first (no creation time counts as newest).

Pods equal on every rule keep their given order.  Topology-spread ranking
(upstream's, used when the template has ``topologySpreadConstraints``) needs
node labels and is not done here.

Choosing *which revision* to delete from is :func:`choose_scale_down`:
old-revision pods first (scale-down finishes a rollout's work), ranked as above.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cmp_to_key
from typing import Any

from mizzen.cluster.podutil import deletion_cost, is_ready, parse_time, ready_since, restarts
from mizzen.workloads.cloneset.revision import revision_matches
from mizzen.workloads.lifecycle.availability import is_pod_available

__all__ = ["ActivityKey", "activity_compare", "activity_key", "choose_scale_down",
           "same_node_ranks", "scale_down_order"]

Obj = dict[str, Any]
_PHASE = {"Pending": 0, "Unknown": 1, "Running": 2}
# Any fixed instant: with minReadySeconds 0, availability does not read the clock.
_NO_CLOCK = datetime(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# (assigned, phase, ready, ready time, restarts, creation): see activity_key.
ActivityKey = tuple[int, int, int, tuple[int, int], int, tuple[int, int]]


def _node(pod: Mapping[str, Any]) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def _phase(pod: Mapping[str, Any]) -> int:
    return _PHASE.get(str((pod.get("status") or {}).get("phase") or ""), 0)


def _created(pod: Mapping[str, Any]) -> datetime | None:
    return parse_time((pod.get("metadata") or {}).get("creationTimestamp"))


def _newer_first(t1: datetime | None, t2: datetime | None) -> int:
    """-1 when ``t1`` sorts first: the later time, a missing time before any."""
    if t1 == t2:
        return 0
    if t1 is None or t2 is None:
        return -1 if t1 is None else 1
    return -1 if t1 > t2 else 1


def _compare(a: Mapping[str, Any], b: Mapping[str, Any],
             available: Callable[[Mapping[str, Any]], bool] | None,
             rank: Callable[[Mapping[str, Any]], int] | None, *, cost: bool = True) -> int:
    node_a, node_b = _node(a), _node(b)
    if node_a != node_b and not (node_a and node_b):
        return -1 if not node_a else 1
    if _phase(a) != _phase(b):
        return -1 if _phase(a) < _phase(b) else 1
    if available is not None and available(a) != available(b):
        return -1 if not available(a) else 1
    ready_a, ready_b = is_ready(a), is_ready(b)
    if ready_a != ready_b:
        return -1 if not ready_a else 1
    if cost and deletion_cost(a) != deletion_cost(b):
        return -1 if deletion_cost(a) < deletion_cost(b) else 1
    if rank is not None and rank(a) != rank(b):
        return -1 if rank(a) > rank(b) else 1
    if ready_a and ready_b:
        by_ready = _newer_first(ready_since(a), ready_since(b))
        if by_ready:
            return by_ready
    restarts_a, restarts_b = restarts(a)[1], restarts(b)[1]
    if restarts_a != restarts_b:
        return -1 if restarts_a > restarts_b else 1
    return _newer_first(_created(a), _created(b))


def activity_compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    """Kubernetes' plain ``ActivePods`` order as a ``cmp`` function (-1: ``a`` first):
    rules 1, 2, not-ready-before-ready, 6, 7 and 8 — no availability, deletion cost or
    rank.  The CloneSet update order starts from it (least settled pods first)."""
    return _compare(a, b, None, None, cost=False)


def _micros(t: datetime) -> int:
    epoch = _EPOCH if t.tzinfo is not None else _NO_CLOCK
    return (t - epoch) // _MICROSECOND


def _newer_key(t: datetime | None) -> tuple[int, int]:
    """Sorts as :func:`_newer_first`: a missing time first, then the latest first."""
    return (0, 0) if t is None else (1, -_micros(t))


def activity_key(pod: Mapping[str, Any]) -> ActivityKey:
    """:func:`activity_compare` as a sort key: ``sorted(pods, key=activity_key)`` gives the
    same order as ``sorted(pods, key=cmp_to_key(activity_compare))``, with each pod's facts
    read once instead of once per comparison (and memoisable per pod version)."""
    ready = is_ready(pod)
    return (1 if _node(pod) else 0, _phase(pod), 1 if ready else 0,
            _newer_key(ready_since(pod)) if ready else (0, 0), -restarts(pod)[1],
            _newer_key(_created(pod)))


def same_node_ranks(pods: Sequence[Mapping[str, Any]]) -> list[int]:
    """Rule 5's rank of each pod (0 for a pod alone on its node or unassigned)."""
    by_node: dict[str, list[int]] = {}
    for i, pod in enumerate(pods):
        if _node(pod):
            by_node.setdefault(_node(pod), []).append(i)
    ranks = [0] * len(pods)
    for indexes in by_node.values():
        if len(indexes) <= 1:
            continue

        def by_rules(i: int, j: int) -> int:
            return _compare(pods[i], pods[j], None, None)

        ordered = sorted(indexes, key=cmp_to_key(by_rules))[:-1]
        for position, i in enumerate(ordered):
            ranks[i] = len(ordered) - position
    return ranks


def scale_down_order(pods: Sequence[Obj], now: datetime, *,
                     min_ready_seconds: int = 0) -> list[Obj]:
    """``pods`` most expendable first (see the module docstring for the rules).

    ``now`` and ``min_ready_seconds`` decide availability (rule 3).  Pure: returns a
    new list of the same dicts.
    """
    ranks = {id(pod): rank for pod, rank in zip(pods, same_node_ranks(pods), strict=True)}

    def available(pod: Mapping[str, Any]) -> bool:
        return is_pod_available(pod, min_ready_seconds, now)

    def rank(pod: Mapping[str, Any]) -> int:
        return ranks[id(pod)]

    def by_rules(a: Obj, b: Obj) -> int:
        return _compare(a, b, available, rank)

    return sorted(pods, key=cmp_to_key(by_rules))


def choose_scale_down(pods: Sequence[Obj], n: int, current_revision: str,
                      update_revision: str, prefer_old: bool = True, *,
                      old_revision_num: int | None = None, now: datetime | None = None,
                      min_ready_seconds: int = 0,
                      is_updated: Callable[[Obj], bool] | None = None) -> list[Obj]:
    """The ``n`` pods to delete when scaling down, in deletion order.

    Pods are split as upstream does: *new* when ``is_updated(pod)`` — by default when
    their revision label names ``update_revision``; the scale step passes
    :func:`~mizzen.workloads.cloneset.diffs.scaling_is_updated`, so a PreparingUpdate pod
    counts as new there, as in its diffs — *old* otherwise (``current_revision`` or any
    older one alike; ``current_revision`` is taken for call-site symmetry with the diffs
    and does not change the split).  With ``prefer_old`` (the default), old pods go
    first, each group ranked by :func:`scale_down_order`:

    * ``old_revision_num`` None: up to ``n`` old pods, then new pods for the rest;
    * ``old_revision_num`` given (``Diffs.scale_down_num_old_revision``): at most that
      many old pods, then new pods for the rest — so scale-down keeps the partition.

    Without ``prefer_old``, all pods are ranked together.  ``now`` None: availability is
    judged without ``minReadySeconds`` (readiness and lifecycle state only).  Returns
    fewer than ``n`` pods only when there are not enough pods to choose from.
    """
    del current_revision  # the split is by update revision only, as upstream's
    if n <= 0:
        return []
    clock = now if now is not None else _NO_CLOCK
    wait = min_ready_seconds if now is not None else 0
    if not prefer_old:
        return scale_down_order(pods, clock, min_ready_seconds=wait)[:n]
    def updated(pod: Obj) -> bool:
        return is_updated(pod) if is_updated is not None \
            else revision_matches(pod, update_revision)

    old = [pod for pod in pods if not updated(pod)]
    new = [pod for pod in pods if updated(pod)]
    take_old = min(n if old_revision_num is None else max(old_revision_num, 0), n)
    chosen = scale_down_order(old, clock, min_ready_seconds=wait)[:take_old]
    rest = n - len(chosen)
    return chosen + scale_down_order(new, clock, min_ready_seconds=wait)[:rest]
