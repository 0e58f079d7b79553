"""Which pods a CloneSet updates first by the user's ``priorityStrategy``.

Why a module of its own: the priority is a pure function of a pod's labels and
the strategy, shared by the CloneSet update order and (later) by Advanced
StatefulSet's unordered update and SidecarSet, which carry the same
``priorityStrategy`` field.  It is expressed as a sort *key* rather than a
comparator so callers can stable-sort and keep their own earlier order among
pods of equal priority.

The two strategies (validation allows only one of them):

* ``weightPriority``: a pod's priority is the sum of the ``weight`` of every
  term whose ``matchSelector`` selects its labels; higher sums update first;
* ``orderPriority``: the first ``orderedKey`` (in the order written) that the
  pod carries decides; pods carrying an earlier key update before pods that
  only carry a later one, and among pods at the same key a higher integer
  value updates first.  The value is the run of digits at the end of the
  label (``"o-10"`` is 10, ``"7"`` is 7, ``"abc"`` is 0), as upstream reads it.

One deliberate difference from upstream's code: a pod carrying none of the
ordered keys updates *after* every pod that carries one (upstream's
comparator puts it first, contradicting its own API documentation, which
places pods without key1 behind those with it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from mizzen.api.cloneset.types import PriorityStrategy
from mizzen.cluster.podutil import labels_of, selector_matches

__all__ = [
    "order_priority",
    "priority_key",
    "sort_by_priority",
    "trailing_int",
    "weight_priority",
]

P = TypeVar("P", bound=Mapping[str, Any])


def trailing_int(value: str) -> int:
    """The integer formed by the digits at the end of ``value`` (0 when none)."""
    digits = len(value) - len(value.rstrip("0123456789"))
    return int(value[len(value) - digits:]) if digits else 0


def weight_priority(labels: Mapping[str, str], strategy: PriorityStrategy) -> int:
    """Sum of the weights of the strategy's terms whose selector selects ``labels``."""
    return sum(term.weight for term in strategy.weight_priority
               if selector_matches(term.match_selector, labels))


def order_priority(labels: Mapping[str, str], strategy: PriorityStrategy) -> tuple[int, int]:
    """``(level, value)``: the index of the first ordered key ``labels`` carries and that
    label's trailing integer; ``(len(keys), 0)`` when it carries none."""
    for level, key in enumerate(strategy.order_priority):
        if key in labels:
            return level, trailing_int(labels[key])
    return len(strategy.order_priority), 0


def priority_key(pod: Mapping[str, Any], strategy: PriorityStrategy | None) -> tuple[int, int]:
    """A sort key: pods with a smaller key update first.

    Weight priority gives ``(-weight, 0)``; order priority ``(level, -value)``;
    no strategy (or an empty one) gives ``(0, 0)`` for every pod.
    """
    if strategy is None:
        return 0, 0
    labels = labels_of(pod)
    if strategy.weight_priority:
        return -weight_priority(labels, strategy), 0
    if strategy.order_priority:
        level, value = order_priority(labels, strategy)
        return level, -value
    return 0, 0


def sort_by_priority(pods: Sequence[P], strategy: PriorityStrategy | None) -> list[P]:
    """``pods`` highest priority first; pods of equal priority keep their given order."""
    if strategy is None or not (strategy.weight_priority or strategy.order_priority):
        return list(pods)
    return sorted(pods, key=lambda pod: priority_key(pod, strategy))
