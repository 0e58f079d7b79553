"""The census: the from-scratch definition as a table, and the incremental book against it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mizzen.cluster.podutil import BY_CONTROLLER, by_controller
from mizzen.cluster.replicaset.census import Census, CensusBook, census_of
from mizzen.runtime.cache import Cache, key_of

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
UID = "rs-uid"
LABELS = {"app": "web"}


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def rs(*, min_ready: int = 0, deleting: bool = False, template: Obj | None = None) -> Obj:
    meta: Obj = {"name": "web", "namespace": "default", "uid": UID}
    if deleting:
        meta["deletionTimestamp"] = stamp(0)
    spec: Obj = {"replicas": 3, "selector": {"matchLabels": LABELS},
                 "template": {"metadata": {"labels": template or {**LABELS, "tier": "f"}}}}
    if min_ready:
        spec["minReadySeconds"] = min_ready
    return {"metadata": meta, "spec": spec}


def p(name: str, *, owner: str | None = UID, labels: Obj | None = None,
      ready_for: float | None = None, phase: str = "Running", deleting: bool = False,
      rv: int = 1) -> Obj:
    meta: Obj = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                 "resourceVersion": str(rv),
                 "labels": labels if labels is not None else {**LABELS, "tier": "f"}}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                    "name": "web", "uid": owner, "controller": True}]
    if deleting:
        meta["deletionTimestamp"] = stamp(0)
    status: Obj = {"phase": phase}
    if ready_for is not None:
        status["conditions"] = [{"type": "Ready", "status": "True",
                                 "lastTransitionTime": stamp(ready_for)}]
    return {"metadata": meta, "status": status}


@dataclass(frozen=True)
class Case:
    name: str
    rs: Obj
    pods: list[Obj]
    want: Census


CASES = [
    Case("three pods just created: 3 replicas, none ready", rs(),
         [p("a"), p("b"), p("c")], Census(3, 3, 0, 0)),
    Case("two of three ready: ready 2, available 2 (no minReadySeconds)", rs(),
         [p("a", ready_for=1), p("b", ready_for=1), p("c")], Census(3, 3, 2, 2)),
    Case("minReadySeconds 30, ready for 10 s and 40 s: one available, next in 20 s",
         rs(min_ready=30), [p("a", ready_for=10), p("b", ready_for=40)],
         Census(2, 2, 2, 1, next_available=NOW + timedelta(seconds=20))),
    Case("terminating and finished pods are not replicas", rs(),
         [p("a", deleting=True), p("b", phase="Succeeded"), p("c", phase="Failed"), p("d")],
         Census(1, 1, 0, 0)),
    Case("orphan the selector matches: adopt it, not yet counted", rs(),
         [p("orphan", owner=None), p("mine")], Census(1, 1, 0, 0, adopt=("orphan",))),
    Case("owned pod relabelled away: release it, not counted", rs(),
         [p("moved", labels={"app": "other"}), p("mine")],
         Census(1, 1, 0, 0, release=("moved",))),
    Case("being deleted: neither adopts nor releases", rs(deleting=True),
         [p("orphan", owner=None), p("moved", labels={"app": "other"})], Census()),
    Case("another controller's pod is ignored", rs(), [p("theirs", owner="other")], Census()),
    Case("a pod missing a template label counts, but not as fully labelled", rs(),
         [p("a", labels=dict(LABELS))], Census(1, 0, 0, 0)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_census_of(case: Case) -> None:
    assert census_of(case.rs, case.pods, NOW) == case.want


def candidates(cache: Cache) -> list[Obj]:
    return cache.by_index(BY_CONTROLLER, UID) + cache.by_index(BY_CONTROLLER,
                                                                 "orphan/default")


def random_pod(rng: random.Random, name: str, rv: int) -> Obj:
    return p(name, owner=rng.choice([UID, UID, UID, None, "other"]),
             labels=rng.choice([None, dict(LABELS), {"app": "other"}]),
             ready_for=rng.choice([None, 5, 50]), phase=rng.choice(["Running", "Pending",
                                                                    "Succeeded"]),
             deleting=rng.random() < 0.1, rv=rv)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("min_ready", [0, 30])
def test_book_matches_a_census_from_scratch_after_every_change(seed: int,
                                                                min_ready: int) -> None:
    rng = random.Random(seed)
    cache = Cache({BY_CONTROLLER: by_controller})
    book = CensusBook(cache)
    owner = rs(min_ready=min_ready)
    for i in range(10):
        cache.upsert(random_pod(rng, f"pod-{i}", 1))
    for step in range(300):
        name = f"pod-{rng.randrange(15)}"
        old = cache.get(name, "default")
        if old is not None and rng.random() < 0.2:
            cache.remove(key_of(old))
            book.changed(old)
        else:
            new = random_pod(rng, name, step + 2)
            replaced = cache.upsert(new)
            book.changed(replaced)
            book.changed(new)
        if rng.random() < 0.3:  # passes happen now and then, changes pile up between
            assert book.census(owner, NOW) == census_of(owner, candidates(cache), NOW), step
    assert book.census(owner, NOW) == census_of(owner, candidates(cache), NOW)


def test_book_rebuilds_when_the_template_labels_change() -> None:
    cache = Cache({BY_CONTROLLER: by_controller})
    book = CensusBook(cache)
    cache.upsert(p("a", labels=dict(LABELS)))
    assert book.census(rs(), NOW).labelled == 0
    relabelled = rs(template=dict(LABELS))
    assert book.census(relabelled, NOW) == census_of(relabelled, candidates(cache), NOW)
    assert book.census(relabelled, NOW).labelled == 1


def test_forgotten_replicaset_is_counted_afresh() -> None:
    cache = Cache({BY_CONTROLLER: by_controller})
    book = CensusBook(cache)
    cache.upsert(p("a"))
    assert book.census(rs(), NOW).replicas == 1
    book.forget(UID)
    cache.upsert(p("b"))  # no book for it: the change is not recorded ...
    book.changed(cache.get("b", "default"))
    assert book.census(rs(), NOW).replicas == 2  # ... and the rebuild still sees it
