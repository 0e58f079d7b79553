"""The CloneSet update step as tables: which pods wait, in what order, and how many go now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mizzen.api.cloneset.types import (
    CloneSetSpec,
    PriorityStrategy,
    ScatterTerm,
    UpdateType,
    WeightTerm,
)
from mizzen.workloads.cloneset.diffs import Diffs, calculate_diffs
from mizzen.workloads.cloneset.updateorder import (
    choose_updates,
    limit_updates,
    update_candidates,
    update_order,
)

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
OLD, NEW = "web-6d9f7", "web-84c5b"


def pod(name: str, *, rev: str = OLD, ready: bool = True, ready_for: float = 600,
        created_ago: float = 3600, state: str = "", grace: bool = False,
        **labels: str) -> Obj:
    meta: Obj = {"name": name, "labels": {"controller-revision-hash": rev, **labels},
                 "creationTimestamp": (NOW - timedelta(seconds=created_ago))
                 .strftime("%Y-%m-%dT%H:%M:%SZ")}
    if state:
        meta["labels"]["lifecycle.apps.kruise.io/state"] = state
    if grace:
        meta["annotations"] = {"apps.kruise.io/inplace-update-grace": '{"revision": "x"}'}
    status: Obj = {"phase": "Running", "conditions": []}
    if ready:
        status["conditions"].append({
            "type": "Ready", "status": "True",
            "lastTransitionTime": (NOW - timedelta(seconds=ready_for))
            .strftime("%Y-%m-%dT%H:%M:%SZ")})
    return {"metadata": meta, "spec": {"nodeName": "n1"}, "status": status}


def names(pods: list[Obj]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def spec(replicas: int = 5, **kw: Any) -> CloneSetSpec:
    return CloneSetSpec(replicas=replicas, selector={"matchLabels": {"app": "web"}},
                        template={}, **kw)


CANARY_FIRST = PriorityStrategy(weight_priority=(
    WeightTerm(100, {"matchLabels": {"tier": "canary"}}),))


def test_candidates_skip_updated_deleting_and_grace_period_pods() -> None:
    pods = [pod("done", rev=NEW), pod("waiting"), pod("leaving", state="PreparingDelete"),
            pod("in-grace", grace=True), pod("updated-state", state="Updated"),
            pod("hooked", state="PreparingUpdate")]
    assert names(update_candidates(pods, NEW)) == ["waiting", "updated-state", "hooked"]
    assert names(update_candidates(pods, NEW, rollback=True)) == ["done"]


ORDER_CASES = [
    ("no strategy: not ready first, then the most recently ready",
     spec(),
     [pod("steady", ready_for=900), pod("down", ready=False), pod("fresh", ready_for=30),
      pod("updated", rev=NEW)],
     ["down", "fresh", "steady"]),
    ("priority: canary pods before others among available pods",
     spec(priority=CANARY_FIRST),
     [pod("fresh", ready_for=30), pod("canary", ready_for=900, tier="canary")],
     ["canary", "fresh"]),
    ("an unavailable pod goes before a higher-priority available one",
     spec(priority=CANARY_FIRST),
     [pod("canary", tier="canary"), pod("broken", ready=False)],
     ["broken", "canary"]),
    ("a pod in PreparingUpdate goes before everything (finish what began)",
     spec(priority=CANARY_FIRST),
     [pod("broken", ready=False), pod("canary", tier="canary"),
      pod("hooked", state="PreparingUpdate")],
     ["hooked", "broken", "canary"]),
    ("scatter: zone-a pods spread through the order, updated ones weigh in",
     spec(scatter=(ScatterTerm("zone", "a"),)),
     [pod(f"p{i}", created_ago=100 * i) for i in range(1, 5)]
     + [pod("a1", created_ago=900, zone="a"), pod("a2", created_ago=950, zone="a")],
     ["a1", "p1", "p2", "p3", "p4", "a2"]),
    ("minReadySeconds: a pod ready 10s of 30 is unavailable, so it goes first",
     spec(min_ready_seconds=30, priority=CANARY_FIRST),
     [pod("canary", tier="canary"), pod("warming", ready_for=10)],
     ["warming", "canary"]),
]


@pytest.mark.parametrize(("name", "cs", "pods", "want"), ORDER_CASES,
                         ids=[c[0] for c in ORDER_CASES])
def test_update_order(name: str, cs: CloneSetSpec, pods: list[Obj], want: list[str]) -> None:
    assert names(update_order(pods, cs, NEW, NOW)) == want


OLD5 = [pod(f"old-{i}") for i in range(5)]

LIMIT_CASES = [
    ("worked example: surge pod not ready, it holds the budget: update none (step 2/6)",
     OLD5, OLD5 + [pod("new-0", rev=NEW, ready=False)],
     Diffs(update_num=1, update_max_unavailable=1), []),
    ("worked example: surge pod ready: update 1 old pod (step 3/6)",
     OLD5, OLD5 + [pod("new-0", rev=NEW)],
     Diffs(update_num=1, update_max_unavailable=1), ["old-0"]),
    ("budget 2 of 5 ready pods: 2 at a time",
     OLD5, OLD5, Diffs(update_num=5, update_max_unavailable=2), ["old-0", "old-1"]),
    ("update_num 1 caps a larger budget",
     OLD5, OLD5, Diffs(update_num=1, update_max_unavailable=3), ["old-0"]),
    ("a broken old pod does not use the overall budget: it and 1 ready pod go",
     [pod("broken", ready=False)] + OLD5[:2], [pod("broken", ready=False)] + OLD5[:2],
     Diffs(update_num=3, update_max_unavailable=2), ["broken", "old-0"]),
    ("two pods already unavailable with budget 2: no ready pod may go",
     OLD5[:3], OLD5[:3] + [pod("x", ready=False), pod("y", state="Updating")],
     Diffs(update_num=3, update_max_unavailable=2), []),
    ("nothing to update", OLD5, OLD5, Diffs(), []),
]


@pytest.mark.parametrize(("name", "order", "pods", "diffs", "want"), LIMIT_CASES,
                         ids=[c[0] for c in LIMIT_CASES])
def test_limit_updates(name: str, order: list[Obj], pods: list[Obj], diffs: Diffs,
                       want: list[str]) -> None:
    assert names(limit_updates(order, pods, diffs, NEW, NOW)) == want


def _choose(cs: CloneSetSpec, pods: list[Obj], *, rollback: bool = False) -> list[str]:
    diffs = calculate_diffs(cs, pods, OLD, NEW, NOW, partition_rollback=rollback)
    return names(choose_updates(pods, cs, diffs, OLD, NEW, NOW))


def test_choose_partition_99_percent_of_4_updates_exactly_one() -> None:
    pods = [pod(f"old-{i}", created_ago=100 * (i + 1)) for i in range(4)]
    assert _choose(spec(4, partition="99%"), pods) == ["old-0"]


def test_choose_worked_example_updates_one_when_surge_pod_ready() -> None:
    cs = spec(5, partition=3, max_unavailable=0, max_surge=1)
    assert _choose(cs, OLD5 + [pod("new-0", rev=NEW, ready=False)]) == []
    assert _choose(cs, OLD5 + [pod("new-0", rev=NEW)]) == ["old-0"]


def test_choose_nothing_when_paused_or_on_delete() -> None:
    assert _choose(spec(5), OLD5) == ["old-0"]
    assert _choose(spec(5, paused=True), OLD5) == []
    assert _choose(spec(5, update_type=UpdateType.ON_DELETE), OLD5) == []


def test_choose_partition_rollback_moves_new_pods_back() -> None:
    pods = [pod(f"new-{i}", rev=NEW, created_ago=100 * (i + 1)) for i in range(4)]
    pods.append(pod("old-0"))
    got = _choose(spec(5, partition=4, max_unavailable=2), pods, rollback=True)
    assert got == ["new-0", "new-1"]
