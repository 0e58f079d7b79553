"""Update priority as tables: which of a CloneSet's pods its priorityStrategy updates first."""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.api.cloneset.types import PriorityStrategy, WeightTerm
from mizzen.workloads.cloneset.priority import (
    order_priority,
    priority_key,
    sort_by_priority,
    trailing_int,
    weight_priority,
)

Obj = dict[str, Any]


def pod(name: str, **labels: str) -> Obj:
    return {"metadata": {"name": name, "labels": labels}}


def names(pods: list[Obj]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


WEIGHTS = PriorityStrategy(weight_priority=(
    WeightTerm(50, {"matchLabels": {"tier": "canary"}}),
    WeightTerm(30, {"matchExpressions": [{"key": "zone", "operator": "In",
                                          "values": ["a", "b"]}]}),
    WeightTerm(10, {"matchLabels": {"tier": "canary", "zone": "a"}}),
))
ORDER = PriorityStrategy(order_priority=("batch", "group"))

SORT_CASES = [
    ("no strategy: keep the given order", None,
     [pod("a"), pod("b", tier="canary")], ["a", "b"]),
    ("empty strategy: keep the given order", PriorityStrategy(),
     [pod("a"), pod("b", tier="canary")], ["a", "b"]),
    ("weights: canary in zone a (90) before canary (50) before zone b (30) before none",
     WEIGHTS,
     [pod("none"), pod("zone-b", zone="b"), pod("canary", tier="canary"),
      pod("canary-a", tier="canary", zone="a")],
     ["canary-a", "canary", "zone-b", "none"]),
    ("weights: equal sums keep the given order", WEIGHTS,
     [pod("x", zone="a"), pod("y", zone="b"), pod("z", zone="a")], ["x", "y", "z"]),
    ("order: higher batch value first", ORDER,
     [pod("b1", batch="b-1"), pod("b10", batch="b-10"), pod("b5", batch="b-5")],
     ["b10", "b5", "b1"]),
    ("order: any batch label before group-only pods, whatever their values", ORDER,
     [pod("g99", group="99"), pod("b0", batch="0"), pod("b2", batch="2", group="1")],
     ["b2", "b0", "g99"]),
    ("order: pods with none of the keys go last", ORDER,
     [pod("plain"), pod("g1", group="1"), pod("b1", batch="1")], ["b1", "g1", "plain"]),
    ("order: a value without trailing digits counts as 0", ORDER,
     [pod("word", batch="first"), pod("three", batch="3")], ["three", "word"]),
]


@pytest.mark.parametrize(("name", "strategy", "pods", "want"), SORT_CASES,
                         ids=[c[0] for c in SORT_CASES])
def test_sort_by_priority(name: str, strategy: PriorityStrategy | None, pods: list[Obj],
                          want: list[str]) -> None:
    assert names(sort_by_priority(pods, strategy)) == want


def test_sort_returns_a_new_list() -> None:
    pods = [pod("a"), pod("b", tier="canary")]
    out = sort_by_priority(pods, WEIGHTS)
    assert names(out) == ["b", "a"] and names(pods) == ["a", "b"]


@pytest.mark.parametrize(("value", "want"), [
    ("o-10", 10), ("7", 7), ("abc", 0), ("", 0), ("v1.2", 2), ("007", 7),
])
def test_trailing_int(value: str, want: int) -> None:
    assert trailing_int(value) == want


def test_weight_and_order_values() -> None:
    assert weight_priority({"tier": "canary", "zone": "a"}, WEIGHTS) == 90
    assert weight_priority({}, WEIGHTS) == 0
    assert order_priority({"group": "g-4"}, ORDER) == (1, 4)
    assert order_priority({}, ORDER) == (2, 0)


def test_priority_key_shapes() -> None:
    assert priority_key(pod("c", tier="canary"), WEIGHTS) == (-50, 0)
    assert priority_key(pod("b", batch="3"), ORDER) == (0, -3)
    assert priority_key(pod("n"), None) == (0, 0)
