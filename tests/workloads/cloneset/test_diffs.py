"""CloneSet diffs as tables: each case is one step of a scenario, named so.

Pods are plain dicts from :func:`pod`; ``OLD``/``NEW`` are the current and
update revisions; the clock is fixed at ``NOW`` so ``minReadySeconds`` is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mizzen.api.cloneset.types import CloneSetSpec, UpdateType
from mizzen.workloads.cloneset.diffs import (
    UNLIMITED,
    Diffs,
    Limits,
    calculate_diffs,
    is_specified_delete,
    resolve_limits,
    revision_matches,
    scaling_is_updated,
)

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
OLD, NEW = "web-6d9f7", "web-84c5b"


def pod(rev: str, *, ready: bool = True, state: str = "", name: str = "",
        specified_delete: bool = False, ready_for: float = 600) -> Obj:
    labels = {"controller-revision-hash": rev}
    if state:
        labels["lifecycle.apps.kruise.io/state"] = state
    if specified_delete:
        labels["apps.kruise.io/specified-delete"] = "true"
    status: Obj = {"phase": "Running"}
    if ready:
        since = (NOW - timedelta(seconds=ready_for)).strftime("%Y-%m-%dT%H:%M:%SZ")
        status["conditions"] = [{"type": "Ready", "status": "True",
                                 "lastTransitionTime": since}]
    return {"metadata": {"name": name or "p", "labels": labels}, "spec": {"nodeName": "n1"},
            "status": status}


def old(n: int, **kw: Any) -> list[Obj]:
    return [pod(OLD, **kw) for _ in range(n)]


def new(n: int, **kw: Any) -> list[Obj]:
    return [pod(NEW, **kw) for _ in range(n)]


def spec(replicas: int, partition: int | str = 0, max_unavailable: int | str = "20%",
         max_surge: int | str = 0, **kw: Any) -> CloneSetSpec:
    return CloneSetSpec(replicas=replicas, selector={"matchLabels": {"app": "web"}},
                        template={}, partition=partition, max_unavailable=max_unavailable,
                        max_surge=max_surge, **kw)


@dataclass(frozen=True)
class Case:
    name: str
    spec: CloneSetSpec
    pods: list[Obj]
    want: Diffs
    current: str = OLD
    for_scale: bool = False
    rollback: bool = False


WORKED = spec(5, partition=3, max_unavailable=0, max_surge=1)

CASES = [
    Case("empty CloneSet of 0: nothing to do", spec(0), [], Diffs()),
    Case("new CloneSet of 5: create 5 (step 1/2)", spec(5), [],
         Diffs(scale_up_num=5, scale_up_limit=5)),
    Case("new CloneSet of 5: all running, settled (step 2/2)", spec(5), new(5), Diffs(),
         current=NEW),
    # The worked example: replicas 5, maxSurge 1, maxUnavailable 0, partition 3.
    Case("worked example: 5 old pods, surge 1 -> create 1 new pod (step 1/6)",
         WORKED, old(5),
         Diffs(scale_up_num=1, scale_up_limit=1, use_surge=1, update_num=2)),
    Case("worked example: new pod not ready, it holds the whole budget (step 2/6)",
         WORKED, old(5) + new(1, ready=False),
         Diffs(use_surge=1, update_num=1, update_max_unavailable=1)),
    Case("worked example: new pod ready -> update 1 old pod in place (step 3/6)",
         WORKED, old(5) + new(1),
         Diffs(use_surge=1, update_num=1, update_max_unavailable=1)),
    Case("worked example: 4 old / 2 new, one updating: surplus old pod waits (step 4/6)",
         WORKED, old(4) + new(1, state="Updating") + new(1),
         Diffs(scale_down_num=1, scale_down_num_old_revision=1)),
    Case("worked example: update available -> delete 1 old pod (step 5/6)",
         WORKED, old(4) + new(2),
         Diffs(scale_down_num=1, scale_down_num_old_revision=1, delete_ready_limit=1)),
    Case("worked example: 3 old / 2 new, total 5, settled (step 6/6)",
         WORKED, old(3) + new(2), Diffs()),
    # Partition percentages.
    Case("partition 99% of 4: still update exactly 1 pod (step 1/2)",
         spec(4, partition="99%"), old(4), Diffs(update_num=1, update_max_unavailable=1)),
    Case("partition 99% of 4: 3 old / 1 new, settled (step 2/2)",
         spec(4, partition="99%"), old(3) + new(1), Diffs()),
    Case("partition 100% of 4: update nothing", spec(4, partition="100%"), old(4), Diffs()),
    Case("partition 50% of 5 keeps 3 (rounds up): update 2",
         spec(5, partition="50%"), old(5), Diffs(update_num=2, update_max_unavailable=1)),
    Case("partition 9 of 5 keeps all 5", spec(5, partition=9), old(5), Diffs()),
    # Paused (#1153): no surge, no update.
    Case("paused with maxSurge 1: neither surge nor update (step 1/2)",
         spec(5, max_surge=1, paused=True), old(5), Diffs()),
    Case("paused mid-rollout with a surge pod: remove the surplus, old first (step 2/2)",
         spec(5, max_surge=1, paused=True), old(5) + new(1),
         Diffs(scale_down_num=1, scale_down_num_old_revision=5, delete_ready_limit=2)),
    Case("same rollout unpaused: surge 1 and update",
         spec(5, max_surge=1), old(5),
         Diffs(scale_up_num=1, scale_up_limit=1, use_surge=1, update_num=5,
               update_max_unavailable=1)),
    # Specified delete.
    Case("podsToDelete names 1 of 5 ready pods: delete it within maxUnavailable (step 1/3)",
         spec(5, pods_to_delete=("victim",)), new(4) + [pod(NEW, name="victim")],
         Diffs(delete_ready_limit=1), current=NEW),
    Case("podsToDelete pod gone: create a replacement (step 2/3)",
         spec(5, pods_to_delete=("victim",)), new(4), Diffs(scale_up_num=1, scale_up_limit=1),
         current=NEW),
    Case("podsToDelete: replacement running, settled (step 3/3)",
         spec(5, pods_to_delete=("victim",)), new(5), Diffs(), current=NEW),
    Case("specified-delete label on 2 of 5, replicas down to 4: delete both, no extra",
         spec(4), new(2, ready=False, specified_delete=True) + new(3),
         Diffs(delete_ready_limit=2), current=NEW),
    Case("specified delete with maxSurge 1, maxUnavailable 0: surge a replacement first",
         spec(5, max_unavailable=0, max_surge=1), new(1, specified_delete=True) + new(4),
         Diffs(scale_up_num=1, scale_up_limit=1, use_surge=1), current=NEW),
    Case("specified delete with maxSurge 1: replacement ready, delete the pod",
         spec(5, max_unavailable=0, max_surge=1), new(1, specified_delete=True) + new(5),
         Diffs(use_surge=1, delete_ready_limit=1), current=NEW),
    Case("specified delete, a pod still in minReadySeconds: no ready pod may go",
         spec(3, max_unavailable=1, min_ready_seconds=10),
         new(1, specified_delete=True) + new(1) + new(1, ready_for=5),
         Diffs(), current=NEW),
    # PreparingDelete.
    Case("PreparingDelete pod still counts toward replicas: no replacement yet",
         spec(5), new(4) + new(1, state="PreparingDelete"), Diffs(), current=NEW),
    Case("PreparingDelete excluded from scaling: replace it now",
         spec(5, exclude_preparing_delete=True), new(4) + new(1, state="PreparingDelete"),
         Diffs(scale_up_num=1, scale_up_limit=1), current=NEW),
    # PreparingUpdate counts as updated when scaling (upstream e2e).
    Case("scale 3 -> 2 with partition 1: a PreparingUpdate pod counts as old when updating",
         spec(2, partition=1), new(1) + old(1) + old(1, state="PreparingUpdate"),
         Diffs(scale_down_num=1, scale_down_num_old_revision=1, delete_ready_limit=1)),
    Case("scale 3 -> 2 with partition 1: ... but as updated when scaling: delete a new pod",
         spec(2, partition=1), new(1) + old(1) + old(1, state="PreparingUpdate"),
         Diffs(scale_down_num=1, delete_ready_limit=1), for_scale=True),
    # scaleStrategy.maxUnavailable limits scale-up only.
    Case("scale 1 -> 5 with scale maxUnavailable 30% (=2), 1 pod not ready: create 1",
         spec(5, scale_max_unavailable="30%"), new(1, ready=False),
         Diffs(scale_up_num=4, scale_up_limit=1), current=NEW),
    Case("scale 1 -> 5 with scale maxUnavailable 30%, 2 pods not ready: create none",
         spec(5, scale_max_unavailable="30%"), new(2, ready=False),
         Diffs(scale_up_num=3), current=NEW),
    # update_max_unavailable never negative.
    Case("3 of 5 pods, all old: budget 1 + 3 - 5 clamps at 0 instead of -1",
         spec(5, max_unavailable=1), old(3),
         Diffs(scale_up_num=2, scale_up_limit=2, update_num=3)),
    # OnDelete: partition and surge ignored, never update.
    Case("OnDelete with partition 1 and maxSurge 1: controller updates nothing (step 1/2)",
         spec(3, partition=1, max_surge=1, update_type=UpdateType.ON_DELETE), old(3),
         Diffs()),
    Case("OnDelete: user deleted an old pod, recreate it at the new revision (step 2/2)",
         spec(3, partition=1, max_surge=1, update_type=UpdateType.ON_DELETE), old(2),
         Diffs(scale_up_num=1, scale_up_limit=1)),
    # Partition rollback (gate off by default).
    Case("partition raised to 4 with 4 new pods, rollback off: nothing moves back",
         spec(5, partition=4, max_unavailable=2), new(4) + old(1), Diffs()),
    Case("partition raised to 4 with 4 new pods, rollback on: move 3 back",
         spec(5, partition=4, max_unavailable=2), new(4) + old(1),
         Diffs(update_num=-3, update_max_unavailable=2), rollback=True),
    Case("rollback on but revisions equal: nothing moves",
         spec(5, partition=4, max_unavailable=2), new(5), Diffs(), current=NEW,
         rollback=True),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_calculate_diffs(case: Case) -> None:
    is_updated = scaling_is_updated(NEW) if case.for_scale else None
    got = calculate_diffs(case.spec, case.pods, case.current, NEW, NOW, is_updated=is_updated,
                          partition_rollback=case.rollback)
    assert got == case.want


LIMIT_CASES = [
    ("defaults for 10: partition 0, no surge, 20% unavailable",
     spec(10), Limits(10, 0, 0, 2, UNLIMITED)),
    ("maxUnavailable 25% of 10 rounds up to 3 without surge",
     spec(10, max_unavailable="25%"), Limits(10, 0, 0, 3, UNLIMITED)),
    ("maxUnavailable 25% of 10 rounds down to 2 with surge 10%",
     spec(10, max_unavailable="25%", max_surge="10%"), Limits(10, 0, 1, 2, UNLIMITED)),
    ("paused: surge 0, so maxUnavailable rounds up again",
     spec(10, max_unavailable="25%", max_surge="10%", paused=True),
     Limits(10, 0, 0, 3, UNLIMITED)),
    ("scale maxUnavailable 15% of 10 rounds up to 2",
     spec(10, scale_max_unavailable="15%"), Limits(10, 0, 0, 2, 2)),
    ("partition 99% of 1 keeps the single pod", spec(1, partition="99%"),
     Limits(1, 1, 0, 1, UNLIMITED)),
    ("OnDelete drops partition and surge",
     spec(4, partition=2, max_surge=1, update_type=UpdateType.ON_DELETE),
     Limits(4, 0, 0, 1, UNLIMITED)),
]


@pytest.mark.parametrize(("name", "cs", "want"), LIMIT_CASES, ids=[c[0] for c in LIMIT_CASES])
def test_resolve_limits(name: str, cs: CloneSetSpec, want: Limits) -> None:
    assert resolve_limits(cs) == want


def test_revision_matches_full_name_or_bare_hash() -> None:
    assert revision_matches(pod("web-84c5b"), "web-84c5b")
    assert revision_matches(pod("84c5b"), "web-84c5b")
    assert revision_matches(pod("web-84c5b"), "84c5b")
    assert not revision_matches(pod("web-6d9f7"), "web-84c5b")
    assert not revision_matches({"metadata": {}}, "web-84c5b")


def test_specified_delete_by_name_or_label() -> None:
    cs = spec(3, pods_to_delete=("a",))
    assert is_specified_delete(cs, pod(NEW, name="a"))
    assert is_specified_delete(cs, pod(NEW, name="b", specified_delete=True))
    assert not is_specified_delete(cs, pod(NEW, name="b"))
    assert not is_specified_delete(replace(cs, pods_to_delete=()), pod(NEW, name="a"))


def test_scaling_counts_preparing_update_as_updated() -> None:
    is_updated = scaling_is_updated(NEW)
    assert is_updated(pod(OLD, state="PreparingUpdate"))
    assert is_updated(pod(NEW))
    assert not is_updated(pod(OLD, state="Normal"))
