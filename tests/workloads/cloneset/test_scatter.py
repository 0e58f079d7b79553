"""Scatter as tables: how a CloneSet's scatterStrategy respreads an update order.

Pods are named by kind: ``a*`` carry ``zone=a``, ``b*`` carry ``rack=b``,
``p*`` carry neither.  Each case gives the order before and after.
"""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.api.cloneset.types import ScatterTerm
from mizzen.workloads.cloneset.scatter import scatter_order, scatter_terms

Obj = dict[str, Any]
ZONE_A = ScatterTerm("zone", "a")
RACK_B = ScatterTerm("rack", "b")


def pod(name: str) -> Obj:
    labels: dict[str, str] = {}
    if "a" in name:
        labels["zone"] = "a"
    if "b" in name:
        labels["rack"] = "b"
    return {"metadata": {"name": name, "labels": labels}}


def pods(spaced: str) -> list[Obj]:
    return [pod(name) for name in spaced.split()]


def names(order: list[Obj]) -> str:
    return " ".join(p["metadata"]["name"] for p in order)


CASES = [
    ("no terms: order unchanged", [], "p1 p2 a1 a2", None, "p1 p2 a1 a2"),
    ("a single zone-a pod: nothing to spread", [ZONE_A], "p1 p2 p3 a1", None,
     "p1 p2 p3 a1"),
    ("a single other pod: nothing to spread", [ZONE_A], "a1 a2 a3 p1", None,
     "a1 a2 a3 p1"),
    ("4 plain then 2 zone-a: one zone-a first, the other last", [ZONE_A],
     "p1 p2 p3 p4 a1 a2", None, "a1 p1 p2 p3 p4 a2"),
    ("3 plain then 3 zone-a: one zone-a per two plain", [ZONE_A],
     "p1 p2 p3 a1 a2 a3", None, "a1 p1 p2 a2 p3 a3"),
    ("6 plain then 3 zone-a: one zone-a per three plain", [ZONE_A],
     "p1 p2 p3 p4 p5 p6 a1 a2 a3", None, "a1 p1 p2 p3 a2 p4 p5 p6 a3"),
    ("zone-a the majority (4 of 6): pairs of zone-a around single plain pods", [ZONE_A],
     "p1 p2 a1 a2 a3 a4", None, "a1 a2 p1 a3 p2 a4"),
    ("zone-a already interleaved: kept spread", [ZONE_A],
     "p1 a1 p2 a2 p3 p4 a3 a4 a5", None, "a1 p1 a2 p2 a3 p3 a4 p4 a5"),
    ("6 of 7 pods waiting, the third zone-a pod already updated: whole-set groups",
     [ZONE_A], "p1 p2 p3 p4 a1 a2", "p1 p2 p3 p4 a1 a2 a3", "p1 p2 a1 p3 p4 a2"),
    ("two terms of equal weight: zone first (as written), then rack", [ZONE_A, RACK_B],
     "b1 b2 p1 p2 a1 a2", None, "b1 a1 p1 p2 a2 b2"),
    ("two terms, rack more common: rack spread first, then zone", [ZONE_A, RACK_B],
     "p1 p2 p3 a1 ab1 b1 b2", None, "ab1 p1 p2 b1 p3 b2 a1"),
]


@pytest.mark.parametrize(("name", "terms", "order", "everyone", "want"), CASES,
                         ids=[c[0] for c in CASES])
def test_scatter_order(name: str, terms: list[ScatterTerm], order: str,
                       everyone: str | None, want: str) -> None:
    waiting = pods(order)
    all_pods = None
    if everyone is not None:
        by_name = {p["metadata"]["name"]: p for p in waiting}
        all_pods = [by_name.get(n) or pod(n) for n in everyone.split()]
    assert names(scatter_order(waiting, terms, all_pods)) == want


def test_scatter_keeps_its_input() -> None:
    waiting = pods("p1 p2 p3 p4 a1 a2")
    scatter_order(waiting, [ZONE_A])
    assert names(waiting) == "p1 p2 p3 p4 a1 a2"


def test_terms_most_matched_first_unmatched_dropped() -> None:
    waiting = pods("a1 b1 b2 p1")
    unused = ScatterTerm("zone", "c")
    assert scatter_terms(waiting, [ZONE_A, unused, RACK_B]) == [RACK_B, ZONE_A]
    # A single term is applied even when nothing matches it.
    assert scatter_terms(waiting, [unused]) == [unused]
