"""The restart test's referee: budgets scaled as upstream, and checked after every event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.cli.rollout_trace import Budget, RolloutTrace, scaled

Obj = dict[str, Any]


def pod(name: str, *, instance: str | None = None, revision: str = "old", ready: bool = True,
        state: str = "Normal", inplace_ready: bool = True, leaving: bool = False) -> Obj:
    meta: Obj = {"name": name, "labels": {
        "apps.kruise.io/cloneset-instance-id": instance or name,
        "controller-revision-hash": revision, "lifecycle.apps.kruise.io/state": state}}
    if leaving:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": str(ready)},
        {"type": "InPlaceUpdateReady", "status": str(inplace_ready)}]}}


@pytest.mark.parametrize(("value", "replicas", "round_up", "want"), [
    pytest.param("20%", 200, True, 40, id="20% of 200 -> 40"),
    pytest.param("10%", 15, True, 2, id="10% of 15 rounded up -> 2"),
    pytest.param("10%", 15, False, 1, id="10% of 15 rounded down -> 1"),
    pytest.param(3, 10, False, 3, id="an integer is taken as is"),
])
def test_scaled(value: int | str, replicas: int, round_up: bool, want: int) -> None:
    assert scaled(value, replicas, round_up) == want


def test_max_unavailable_rounds_down_when_surging() -> None:
    assert Budget.of(15, "10%", 0) == Budget(15, 2, 0)
    assert Budget.of(15, "10%", "10%") == Budget(15, 1, 2)


@dataclass(frozen=True)
class Case:
    events: list[tuple[str, Obj]]  # after the initial pods a, b, c (all Normal and ready)
    violations: int  # how many checks fail
    worst_unavailable: int
    worst_active: int


BUDGET = Budget(replicas=3, max_unavailable=1, max_surge=1)
CASES = [
    pytest.param(Case([("MODIFIED", pod("a", inplace_ready=False))], 0, 1, 3),
                 id="in place: 1 of 3 pods InPlaceUpdateReady=False -> within maxUnavailable"),
    pytest.param(Case([("MODIFIED", pod("a", inplace_ready=False)),
                       ("MODIFIED", pod("b", state="Updating"))], 1, 2, 3),
                 id="in place: a 2nd pod Updating at once -> over maxUnavailable (1 event)"),
    pytest.param(Case([("ADDED", pod("d", revision="new", ready=False, state="PreparingNormal")),
                       ("ADDED", pod("e", revision="new", ready=False))], 1, 0, 5),
                 id="surge: 4th pod within replicas + maxSurge, a 5th over it"),
    pytest.param(Case([("MODIFIED", pod("a", leaving=True)),
                       ("ADDED", pod("a2", instance="a", revision="new", ready=False))], 1, 1, 3),
                 id="recreate: a new pod reusing a leaving pod's instance id -> flagged"),
    pytest.param(Case([("DELETED", pod("a")), ("DELETED", pod("b"))], 1, 2, 3),
                 id="scale in: two pods gone -> 2 missing, over maxUnavailable"),
    pytest.param(Case([("MODIFIED", pod("a", state="PreparingNormal")),
                       ("MODIFIED", pod("a"))], 0, 1, 3),
                 id="lifecycle: PreparingNormal counts as unavailable, Normal again does not"),
]


@pytest.mark.parametrize("case", CASES)
def test_trace_checks_every_instant(case: Case) -> None:
    trace = RolloutTrace(BUDGET)
    trace.start([pod("a"), pod("b"), pod("c")])
    for kind, obj in case.events:
        trace.apply(kind, obj)
    assert trace.violation_count == case.violations, trace.violations
    assert (trace.worst_unavailable, trace.worst_active) == (case.worst_unavailable,
                                                             case.worst_active)


def test_trace_records_creations_deletions_and_completion() -> None:
    trace = RolloutTrace(Budget(2, 0, 1))
    trace.start([pod("a"), pod("b")])
    assert not trace.done("new")
    for kind, obj in [("ADDED", pod("c", revision="new")), ("DELETED", pod("a")),
                      ("ADDED", pod("d", revision="new")), ("MODIFIED", pod("b", leaving=True))]:
        trace.apply(kind, obj)
    assert not trace.done("new")  # b is still leaving
    trace.apply("DELETED", pod("b", leaving=True))
    assert trace.done("new") and trace.violation_count == 0
    assert (trace.created, trace.deleted) == ([("c", "new"), ("d", "new")], ["a", "b"])
