"""Spreading labelled pods over an update order: upstream's ``scatterStrategy`` sorter.

Why: a CloneSet updates pods in batches bounded by ``maxUnavailable``.  If
the pods of one kind (say ``zone=a``, or the pods of one tenant) sit next to
each other in the update order, one batch takes them all down together.  A
``scatterStrategy`` term ``{key, value}`` names such a kind; this module
rearranges an already sorted update order so the matching pods are spread
evenly through it, keeping the relative order within matching and within
non-matching pods.

The arithmetic is upstream's (``pkg/util/updatesort/scatter_sort.go``),
kept exactly so a CloneSet updates in the same order under Mizzen as under
OpenKruise:

1. Terms: with one term, that term; with several, only the terms that some
   waiting pod matches (label present with that value), most-matched first,
   ties in the written order.  Each term then rearranges the result of the
   previous one.
2. Per term, split the waiting pods into matched and unmatched (a pod
   without the label has value ``""``).  With at most one of either, leave
   the order alone.  Otherwise set the last matched pod aside (it goes to
   the very end) and count matched/unmatched pods over *all* the CloneSet's
   pods, less that one.
3. Group sizes: for ``m`` matched and ``u`` unmatched, ``n = min(m, u)``
   groups of ``round(m / n)`` matched and ``round(u / n)`` unmatched pods
   (Go's ``math.Round``, halves away from zero).  If the CloneSet as a whole
   is at least as unmatched-dense as the waiting pods (compared as float32
   ratios, as upstream), the waiting pods' own groups are used; otherwise the
   whole set's group sizes, as many groups as the waiting pods fill, with the
   surplus unmatched pods put first.
4. Emit the groups (matched then unmatched, each group), then any matched,
   then any unmatched left over, then the pod set aside.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from mizzen.api.cloneset.types import ScatterTerm
from mizzen.cluster.podutil import labels_of

__all__ = ["scatter_order", "scatter_terms"]

P = TypeVar("P", bound=Mapping[str, Any])


def _go_round(x: float) -> int:
    """Go's ``math.Round``: to nearest, halves away from zero."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def _f32(x: float) -> float:
    """``x`` rounded to the nearest float32, as Go's ``float32(...)`` conversion."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


def _ratio32(num: int, den: int) -> float:
    # float32(num) / float32(den) in float32 arithmetic: the float64 quotient of two
    # float32 values rounds to the same float32 (53 >= 2*24 + 2 bits).
    if den == 0:
        return math.inf if num > 0 else math.nan
    return _f32(_f32(num) / _f32(den))


@dataclass(frozen=True, slots=True)
class _Groups:
    # How many (matched group, unmatched group) pairs to emit.
    count: int
    # Matched pods per group.
    matched_size: int
    # Unmatched pods per group.
    unmatched_size: int
    # Unmatched pods emitted before the first group.
    unmatched_first: int = 0


def _groups_of(matched: int, unmatched: int) -> _Groups:
    count = min(matched, unmatched)
    return _Groups(count, _go_round(matched / count), _go_round(unmatched / count))


def _groups(total_matched: int, total_unmatched: int, matched: int,
            unmatched: int) -> _Groups:
    whole = _groups_of(total_matched, total_unmatched)
    waiting = _groups_of(matched, unmatched)
    if _ratio32(total_unmatched, total_matched) >= _ratio32(unmatched, matched):
        return waiting
    count = min(matched // whole.matched_size, unmatched // whole.unmatched_size)
    return _Groups(count, whole.matched_size, whole.unmatched_size,
                   unmatched - count * whole.unmatched_size)


def _matches_exactly(pod: Mapping[str, Any], term: ScatterTerm) -> bool:
    labels = labels_of(pod)
    return term.key in labels and labels[term.key] == term.value


def scatter_terms(pods: Sequence[Mapping[str, Any]],
                  terms: Sequence[ScatterTerm]) -> list[ScatterTerm]:
    """The terms to apply to waiting ``pods``, in application order (step 1)."""
    if len(terms) == 1:
        return list(terms)
    counts: dict[tuple[str, str], int] = {}
    found: list[ScatterTerm] = []
    for term in terms:
        for pod in pods:
            if _matches_exactly(pod, term):
                ident = (term.key, term.value)
                if ident not in counts:
                    found.append(ScatterTerm(term.key, term.value))
                    counts[ident] = 0
                counts[ident] += 1
    return sorted(found, key=lambda t: -counts[(t.key, t.value)])


def _scatter_one(pods: list[P], all_pods: Sequence[Mapping[str, Any]],
                 term: ScatterTerm) -> list[P]:
    def hit(pod: Mapping[str, Any]) -> bool:
        return labels_of(pod).get(term.key, "") == term.value

    matched = [pod for pod in pods if hit(pod)]
    unmatched = [pod for pod in pods if not hit(pod)]
    if len(matched) <= 1 or len(unmatched) <= 1:
        return pods
    # all_pods should include pods; count the waiting ones at least, so a caller's
    # narrower all_pods cannot make a group count zero.
    total_matched = max(sum(1 for pod in all_pods if hit(pod)), len(matched))
    total_unmatched = max(len(all_pods) - total_matched, len(unmatched))
    last = matched.pop()
    groups = _groups(total_matched - 1, total_unmatched, len(matched), len(unmatched))

    out = unmatched[:groups.unmatched_first]
    unmatched = unmatched[groups.unmatched_first:]
    for _ in range(groups.count):
        out += matched[:groups.matched_size]
        matched = matched[groups.matched_size:]
        out += unmatched[:groups.unmatched_size]
        unmatched = unmatched[groups.unmatched_size:]
    return out + matched + unmatched + [last]


def scatter_order(pods: Sequence[P], terms: Sequence[ScatterTerm],
                  all_pods: Sequence[Mapping[str, Any]] | None = None) -> list[P]:
    """``pods`` (an update order) rearranged so each term's matching pods are spread out.

    ``all_pods``: every pod of the CloneSet, updated or not, whose label mix sets the
    group sizes (default: ``pods``).  Pure; ``pods`` is not changed.
    """
    order = list(pods)
    if not terms or len(order) <= 1:
        return order
    everyone = order if all_pods is None else all_pods
    for term in scatter_terms(order, terms):
        order = _scatter_one(order, everyone, term)
    return order
