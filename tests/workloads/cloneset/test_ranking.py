"""CloneSet scale-down ranking as tables: which pods go first when a CloneSet shrinks.

Each case lists pods in a deliberately wrong order and the order the ranking
should produce, most expendable first.  The clock is fixed at ``NOW``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import cmp_to_key
from typing import Any

import pytest

from mizzen.workloads.cloneset.diffs import scaling_is_updated
from mizzen.workloads.cloneset.ranking import (
    activity_compare,
    activity_key,
    choose_scale_down,
    same_node_ranks,
    scale_down_order,
)

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
OLD, NEW = "web-6d9f7", "web-84c5b"


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(name: str, *, node: str = "n1", phase: str = "Running", ready_for: float | None = 600,
        created_ago: float | None = 3600, cost: int | None = None, restarts: int = 0,
        state: str = "", rev: str = NEW, inplace_ready: str | None = None) -> Obj:
    meta: Obj = {"name": name, "uid": f"uid-{name}",
                 "labels": {"controller-revision-hash": rev}}
    if created_ago is not None:
        meta["creationTimestamp"] = stamp(created_ago)
    if cost is not None:
        meta["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    if state:
        meta["labels"]["lifecycle.apps.kruise.io/state"] = state
    conditions: list[Obj] = []
    if ready_for is not None:
        conditions.append({"type": "Ready", "status": "True",
                           "lastTransitionTime": stamp(ready_for)})
    if inplace_ready is not None:
        conditions.append({"type": "InPlaceUpdateReady", "status": inplace_ready})
    return {"metadata": meta, "spec": {"nodeName": node},
            "status": {"phase": phase, "conditions": conditions,
                       "containerStatuses": [{"name": "app", "restartCount": restarts}]}}


def names(pods: list[Obj]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def spread(*pods: Obj) -> list[Obj]:
    """Put each pod on its own node so the same-node rank stays out of the way."""
    for i, p in enumerate(pods):
        if p["spec"]["nodeName"]:
            p["spec"]["nodeName"] = f"node-{i}"
    return list(pods)


ORDER_CASES = [
    ("unscheduled pod goes before scheduled ones",
     spread(pod("running"), pod("unscheduled", node="", phase="Pending", ready_for=None)),
     0, ["unscheduled", "running"]),
    ("Pending before Unknown before Running",
     spread(pod("running"), pod("unknown", phase="Unknown", ready_for=None),
            pod("pending", phase="Pending", ready_for=None)),
     0, ["pending", "unknown", "running"]),
    ("ready but still in minReadySeconds goes before available",
     spread(pod("available", ready_for=600), pod("warming", ready_for=10)),
     30, ["warming", "available"]),
    ("a pod preparing for update is unavailable: before a Normal pod",
     spread(pod("normal", state="Normal", ready_for=5),
            pod("preparing", state="PreparingUpdate", ready_for=900)),
     0, ["preparing", "normal"]),
    ("InPlaceUpdateReady False makes a ready pod unavailable",
     spread(pod("serving", ready_for=5), pod("updating", inplace_ready="False")),
     0, ["updating", "serving"]),
    ("not ready before ready",
     spread(pod("ready"), pod("not-ready", ready_for=None)),
     0, ["not-ready", "ready"]),
    ("lower deletion cost first, whatever the age",
     spread(pod("cheap-old", cost=-5, created_ago=9000), pod("default", created_ago=10),
            pod("dear", cost=100, created_ago=5)),
     0, ["cheap-old", "default", "dear"]),
    ("3 pods on one node, 1 alone: thin the crowded node first, newest first",
     [pod("alone", node="n2", created_ago=5, ready_for=5),
      pod("n1-old", created_ago=9000, ready_for=9000),
      pod("n1-new", created_ago=60, ready_for=60),
      pod("n1-mid", created_ago=600, ready_for=600)],
     0, ["n1-new", "n1-mid", "alone", "n1-old"]),
    ("both ready: the more recently ready goes first",
     spread(pod("long-ready", ready_for=900), pod("just-ready", ready_for=20)),
     0, ["just-ready", "long-ready"]),
    ("more restarts first",
     spread(pod("steady", ready_for=600), pod("flaky", ready_for=600, restarts=4)),
     0, ["flaky", "steady"]),
    ("newer first; no creation time counts as newest",
     spread(pod("old", ready_for=None, created_ago=900),
            pod("new", ready_for=None, created_ago=10),
            pod("unknown-age", ready_for=None, created_ago=None)),
     0, ["unknown-age", "new", "old"]),
    ("all equal: keep the given order",
     spread(pod("x"), pod("y"), pod("z")), 0, ["x", "y", "z"]),
]


@pytest.mark.parametrize(("name", "pods", "min_ready", "want"), ORDER_CASES,
                         ids=[c[0] for c in ORDER_CASES])
def test_scale_down_order(name: str, pods: list[Obj], min_ready: int, want: list[str]) -> None:
    assert names(scale_down_order(pods, NOW, min_ready_seconds=min_ready)) == want


def test_same_node_ranks() -> None:
    pods = [pod("a", created_ago=100), pod("b", created_ago=50), pod("c", node="n2"),
            pod("d", node="")]
    assert same_node_ranks(pods) == [0, 1, 0, 0]


def test_activity_order_ignores_deletion_cost() -> None:
    cheap, dear = pod("cheap", cost=-10, created_ago=900), pod("dear", cost=10, created_ago=5)
    assert activity_compare(dear, cheap) == -1  # newer first; cost not consulted


MIXED = [pod("new-1", created_ago=10), pod("old-1", rev=OLD, created_ago=900),
         pod("new-2", created_ago=20, node="n2"), pod("old-2", rev=OLD, created_ago=90,
                                                     node="n2"),
         pod("old-3", rev=OLD, created_ago=50, ready_for=None, node="n3")]

CHOOSE_CASES = [
    ("scale 5 -> 3 mid-rollout: 2 old pods go, not-ready first", 2, {}, ["old-3", "old-2"]),
    ("scale 5 -> 1: all 3 old pods, then the newest new pod", 4, {},
     ["old-3", "old-2", "old-1", "new-1"]),
    ("partition keeps 2 old pods (old revision num 1): 1 old, then new", 3,
     {"old_revision_num": 1}, ["old-3", "new-1", "new-2"]),
    ("no old pods may go (old revision num 0): new pods only", 1,
     {"old_revision_num": 0}, ["new-1"]),
    ("prefer_old off: rank everyone together", 2, {"prefer_old": False},
     ["old-3", "new-1"]),
    ("nothing to delete", 0, {}, []),
    ("more than there are: every pod, old first", 9, {},
     ["old-3", "old-2", "old-1", "new-1", "new-2"]),
]


@pytest.mark.parametrize(("name", "n", "kw", "want"), CHOOSE_CASES,
                         ids=[c[0] for c in CHOOSE_CASES])
def test_choose_scale_down(name: str, n: int, kw: dict[str, Any], want: list[str]) -> None:
    got = choose_scale_down(MIXED, n, OLD, NEW, now=NOW, **kw)
    assert names(got) == want


def test_choose_without_clock_ignores_min_ready_seconds() -> None:
    warming = pod("warming", ready_for=1, node="a")
    cheap = pod("cheap", cost=-1, node="b")
    # With the clock, the warming pod is unavailable: it goes before the cheaper pod.
    assert names(choose_scale_down([cheap, warming], 1, OLD, NEW, now=NOW,
                                   min_ready_seconds=30)) == ["warming"]
    # Without it both count as available, and the lower deletion cost decides.
    assert names(choose_scale_down([cheap, warming], 1, OLD, NEW,
                                   min_ready_seconds=30)) == ["cheap"]


def test_a_preparing_update_pod_counts_as_new_when_the_scale_step_says_so() -> None:
    """Scale 3 -> 2 keeping one old pod: the pod in PreparingUpdate (old label, update
    begun, unavailable) is new to the scale step, so an old pod goes instead of it."""
    held = pod("held", rev=OLD, state="PreparingUpdate", node="a")
    first, second = pod("old-a", rev=OLD, node="b"), pod("old-b", rev=OLD, node="c",
                                                        created_ago=60)
    pods = [first, held, second]

    assert names(choose_scale_down(pods, 1, OLD, NEW, now=NOW, old_revision_num=1,
                                   is_updated=scaling_is_updated(NEW))) == ["old-b"]
    # By label alone all three are old, and the unavailable one goes first.
    assert names(choose_scale_down(pods, 1, OLD, NEW, now=NOW,
                                   old_revision_num=1)) == ["held"]


def _random_pod(rng: random.Random, i: int) -> Obj:
    """Few distinct values per rule, so many pods tie on some rules and not on others."""
    ready_for = rng.choice((None, 10, 600, 600))
    p = pod(f"p{i}", node=rng.choice(("", "n1", "n2")),
            phase=rng.choice(("Pending", "Unknown", "Running", "Running", "Succeeded")),
            ready_for=ready_for, created_ago=rng.choice((None, 60, 3600, 3600)),
            restarts=rng.choice((0, 0, 1, 4)), cost=rng.choice((None, -1, 5)))
    if ready_for is None and rng.random() < 0.5:  # a not-ready condition with a time
        p["status"]["conditions"].append({"type": "Ready", "status": "False",
                                          "lastTransitionTime": stamp(30)})
    if rng.random() < 0.1:  # a naive-looking time without a zone, as some writers send
        p["metadata"]["creationTimestamp"] = "2024-05-01T11:00:00"
        p["status"]["conditions"] = []
    return p


@pytest.mark.parametrize("seed", range(40))
def test_activity_key_orders_as_the_comparator(seed: int) -> None:
    rng = random.Random(seed)
    pods = [_random_pod(rng, i) for i in range(rng.randrange(2, 60))]
    if any(p["metadata"].get("creationTimestamp") == "2024-05-01T11:00:00" for p in pods):
        # Naive and aware times do not compare in the comparator: keep one kind.
        pods = [p for p in pods
                if p["metadata"].get("creationTimestamp") == "2024-05-01T11:00:00"]
    by_cmp = sorted(pods, key=cmp_to_key(activity_compare))
    by_key = sorted(pods, key=activity_key)
    assert names(by_key) == names(by_cmp)
