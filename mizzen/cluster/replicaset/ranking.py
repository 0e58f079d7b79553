"""Which pods a shrinking ReplicaSet deletes first: upstream's ``ActivePodsWithRanks`` order.

Scaling down should cost as little as possible: remove pods that are not
serving yet before pods that are, and among serving pods the ones whose loss
matters least.  Upstream (``pkg/controller/controller_utils.go``, with the
``PodDeletionCost`` and ``LogarithmicScaleDown`` features on, as they are by
default since 1.22) orders pods by these rules, the first that differs decides:

1. unassigned (no ``spec.nodeName``) before assigned;
2. phase Pending before Unknown before Running;
3. not ready before ready;
4. lower ``controller.kubernetes.io/pod-deletion-cost`` first;
5. "doubled up" first: more active related pods on the same node (related pods
   are those selected by any ReplicaSet with the same controller, i.e. the
   sibling ReplicaSets of one Deployment) — spreads survivors over nodes;
6. both ready: ready for less time first, compared on a log2 scale of the time
   since becoming ready (pods that became ready within the same power-of-two
   bucket count as equally old, and their UIDs break the tie — a random but
   stable order, so scale-downs do not always hit the same nodes);
7. more container restarts first (restartable init containers, i.e. sidecars,
   compared before ordinary containers);
8. newer first, on the same log2 scale of age (UIDs break ties);
   a pod with no timestamp counts as the newest.

Durations are taken in nanoseconds, as Go's ``time.Duration``, so the buckets
are upstream's.  ``now`` is the caller's (injected) clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cmp_to_key
from typing import Any

from mizzen.cluster.podutil import (
    deletion_cost,
    is_active,
    is_ready,
    parse_time,
    ready_since,
    restarts,
)

__all__ = ["deletion_order", "node_ranks"]

Obj = dict[str, Any]
_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def _node(pod: Mapping[str, Any]) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def _uid(pod: Mapping[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


def _created(pod: Mapping[str, Any]) -> datetime | None:
    return parse_time((pod.get("metadata") or {}).get("creationTimestamp"))


def node_ranks(pods: Sequence[Mapping[str, Any]],
               related: Sequence[Mapping[str, Any]]) -> list[int]:
    """For each pod, how many active related pods share its node."""
    on_node: dict[str, int] = {}
    for pod in related:
        if is_active(pod):
            on_node[_node(pod)] = on_node.get(_node(pod), 0) + 1
    return [on_node.get(_node(pod), 0) for pod in pods]


def _log_bucket(t: datetime, now: datetime) -> int:
    delta = now - t
    nanos = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    return int(math.log2(nanos)) if nanos > 0 else -1


def _after_or_zero(t1: datetime | None, t2: datetime | None) -> bool:
    """Go's ``afterOrZero``: a missing time sorts first, else the later one does."""
    if t1 is None or t2 is None:
        return t1 is None
    return t1 > t2


class _Order:
    """The comparison, over pods paired with their node ranks."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def _by_time(self, t1: datetime | None, t2: datetime | None, uid1: str,
                 uid2: str) -> bool:
        if t1 is None or t2 is None:
            return _after_or_zero(t1, t2)
        diff = _log_bucket(t1, self.now) - _log_bucket(t2, self.now)
        if diff == 0:
            return uid1 < uid2
        return diff < 0

    def less(self, a: tuple[Mapping[str, Any], int], b: tuple[Mapping[str, Any], int]) -> bool:
        (pa, rank_a), (pb, rank_b) = a, b
        node_a, node_b = _node(pa), _node(pb)
        if node_a != node_b and (not node_a or not node_b):
            return not node_a
        phase_a = _PHASE_ORDER.get((pa.get("status") or {}).get("phase", ""), 0)
        phase_b = _PHASE_ORDER.get((pb.get("status") or {}).get("phase", ""), 0)
        if phase_a != phase_b:
            return phase_a < phase_b
        ready_a, ready_b = is_ready(pa), is_ready(pb)
        if ready_a != ready_b:
            return not ready_a
        cost_a, cost_b = deletion_cost(pa), deletion_cost(pb)
        if cost_a != cost_b:
            return cost_a < cost_b
        if rank_a != rank_b:
            return rank_a > rank_b
        if ready_a and ready_b:
            since_a, since_b = ready_since(pa), ready_since(pb)
            if since_a != since_b:
                return self._by_time(since_a, since_b, _uid(pa), _uid(pb))
        restarts_a, restarts_b = restarts(pa), restarts(pb)
        if restarts_a[0] != restarts_b[0]:
            return restarts_a[0] > restarts_b[0]
        if restarts_a[1] != restarts_b[1]:
            return restarts_a[1] > restarts_b[1]
        created_a, created_b = _created(pa), _created(pb)
        if created_a != created_b:
            return self._by_time(created_a, created_b, _uid(pa), _uid(pb))
        return False

    def compare(self, a: tuple[Mapping[str, Any], int], b: tuple[Mapping[str, Any], int]) -> int:
        if self.less(a, b):
            return -1
        if self.less(b, a):
            return 1
        return 0


def deletion_order(pods: Sequence[Obj], related: Sequence[Mapping[str, Any]],
                   now: datetime) -> list[Obj]:
    """``pods`` sorted most expendable first (stable for pods that compare equal)."""
    paired = list(zip(pods, node_ranks(pods, related), strict=True))
    paired.sort(key=cmp_to_key(_Order(now).compare))
    return [pod for pod, _ in paired]
