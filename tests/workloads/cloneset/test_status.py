"""CloneSet status: counts, revisions, the Progressing and RolloutBlocked conditions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mizzen.api.cloneset.types import CloneSetSpec
from mizzen.workloads.cloneset.status import (
    AVAILABLE,
    DEADLINE_EXCEEDED,
    PARTITION_AVAILABLE,
    PAUSED,
    PROGRESSING,
    ROLLOUT_BLOCKED,
    UPDATED,
    Blocked,
    StatusInputs,
    calculate_status,
    condition,
    needs_update,
    selector_string,
)

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
STAMP = "2024-05-01T11:00:00Z"
SELECTOR = {"matchLabels": {"app": "web"}}


def spec(replicas: int = 3, **kw: Any) -> CloneSetSpec:
    return CloneSetSpec(replicas=replicas, selector=SELECTOR, template={}, **kw)


def pod(revision: str, *, ready: bool = True, since: str = STAMP, gate: str | None = None,
        state: str | None = None) -> Obj:
    labels = {"controller-revision-hash": revision}
    if state:
        labels["lifecycle.apps.kruise.io/state"] = state
    conditions = [{"type": "Ready", "status": "True" if ready else "False",
                   "lastTransitionTime": since}]
    if gate is not None:
        conditions.append({"type": "InPlaceUpdateReady", "status": gate})
    return {"metadata": {"name": "p", "labels": labels},
            "status": {"phase": "Running", "conditions": conditions}}


def cloneset(status: Obj | None = None, generation: int = 2) -> Obj:
    return {"metadata": {"name": "web", "generation": generation}, "status": status or {}}


def run(s: CloneSetSpec, pods: list[Obj], *, update: str = "web-new", current: str = "web-old",
        old_status: Obj | None = None, now: datetime = NOW,
        blocked: Blocked | None = None) -> tuple[Obj, float | None]:
    return calculate_status(StatusInputs(cloneset(old_status), s, pods, update, current, 0, now,
                                         blocked))


def test_counts_every_kind_of_replica() -> None:
    pods = [pod("web-new"), pod("web-new", ready=False), pod("web-old"),
            pod("web-new", gate="False"), pod("web-old", state="PreparingUpdate")]
    status, _ = run(spec(5, partition=2), pods)
    assert status == {
        "observedGeneration": 2, "replicas": 5, "readyReplicas": 3, "availableReplicas": 2,
        "updatedReplicas": 3, "updatedReadyReplicas": 1, "updatedAvailableReplicas": 1,
        "expectedUpdatedReplicas": 3, "updateRevision": "web-new",
        "currentRevision": "web-old", "collisionCount": 0, "labelSelector": "app=web"}


@pytest.mark.parametrize(("case", "pods", "replicas", "current"), [
    ("all pods updated, count matches spec: current catches up", 3, 3, "web-new"),
    ("all pods updated but one missing: current stays", 2, 3, "web-old"),
    ("all pods updated, one too many: current stays", 4, 3, "web-old"),
])
def test_current_revision_follows_update_once_every_replica_is_updated(
        case: str, pods: int, replicas: int, current: str) -> None:
    status, _ = run(spec(replicas), [pod("web-new", ready=False) for _ in range(pods)])
    assert status["currentRevision"] == current, case


def test_expected_updated_replicas_uses_the_partition_rule() -> None:
    status, _ = run(spec(4, partition="99%"), [])
    assert status["expectedUpdatedReplicas"] == 1


def test_label_selector_string_sorts_requirements_by_key() -> None:
    selector = {"matchLabels": {"z": "1", "app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]},
                                     {"key": "env", "operator": "NotIn", "values": ["dev"]},
                                     {"key": "has", "operator": "Exists"},
                                     {"key": "gone", "operator": "DoesNotExist"}]}
    assert selector_string(selector) == "app=web,env notin (dev),!gone,has,tier in (a,b),z=1"


def test_min_ready_seconds_requeues_when_the_next_pod_becomes_available() -> None:
    recent = (NOW - timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, requeue = run(spec(1, min_ready_seconds=10), [pod("web-new", since=recent)])
    assert status["availableReplicas"] == 0 and requeue == pytest.approx(7.0)


def progressing(status: Obj) -> tuple[str, str] | None:
    cond = condition(status, PROGRESSING)
    return None if cond is None else (cond["status"], cond["reason"])


def test_no_deadline_no_progressing_condition() -> None:
    old = {"conditions": [{"type": PROGRESSING, "status": "True", "reason": UPDATED}]}
    status, _ = run(spec(1), [pod("web-old")], old_status=old)
    assert progressing(status) is None


@pytest.mark.parametrize(("case", "kw", "pods", "expected"), [
    ("rollout starts: progressing", {}, ["web-old", "web-old"], ("True", UPDATED)),
    ("every pod updated and available", {}, ["web-new", "web-new"], ("True", AVAILABLE)),
    ("paused mid rollout", {"paused": True}, ["web-old", "web-new"], ("True", PAUSED)),
    ("partition 1 reached", {"partition": 1}, ["web-old", "web-new"],
     ("True", PARTITION_AVAILABLE)),
])
def test_progressing_reasons(case: str, kw: dict[str, Any], pods: list[str],
                             expected: tuple[str, str]) -> None:
    status, _ = run(spec(2, progress_deadline_seconds=60, **kw), [pod(r) for r in pods])
    assert progressing(status) == expected, case


def test_deadline_runs_from_when_progress_began_and_then_is_exceeded() -> None:
    s = spec(2, progress_deadline_seconds=60)
    pods = [pod("web-old"), pod("web-new", ready=False)]
    status, requeue = run(s, pods, old_status={"updateRevision": "web-new"})
    assert progressing(status) == ("True", UPDATED) and requeue == pytest.approx(61.0)
    later = NOW + timedelta(seconds=30)
    again, requeue = run(s, pods, old_status=status, now=later)
    assert condition(again, PROGRESSING) == condition(status, PROGRESSING)
    assert requeue == pytest.approx(31.0)
    late = NOW + timedelta(seconds=61)
    exceeded, _ = run(s, pods, old_status=again, now=late)
    cond = condition(exceeded, PROGRESSING)
    assert cond is not None and (cond["status"], cond["reason"]) == ("False", DEADLINE_EXCEEDED)
    assert cond["message"] == "CloneSet revision web-new has timed out progressing"
    assert needs_update(cloneset(again), exceeded)
    # It stays exceeded until the rollout completes...
    still, _ = run(s, pods, old_status=exceeded, now=late + timedelta(seconds=5))
    assert progressing(still) == ("False", DEADLINE_EXCEEDED)
    # ...and a new update revision starts a fresh deadline.
    fresh, _ = run(s, pods, update="web-newer", old_status={**exceeded,
                                                             "updateRevision": "web-new"},
                   now=late + timedelta(seconds=5))
    assert progressing(fresh) == ("True", UPDATED)


def test_rollout_blocked_condition_appears_and_goes() -> None:
    blocked = Blocked("InPlaceOnlyRefused", "pod web-x: spec.containers[app].env changed")
    status, _ = run(spec(1), [pod("web-old")], blocked=blocked)
    cond = condition(status, ROLLOUT_BLOCKED)
    assert cond is not None and cond["status"] == "True"
    assert (cond["reason"], cond["message"]) == (blocked.reason, blocked.message)
    cleared, _ = run(spec(1), [pod("web-new")], old_status=status)
    assert condition(cleared, ROLLOUT_BLOCKED) is None


def test_unchanged_status_needs_no_write() -> None:
    status, _ = run(spec(2, progress_deadline_seconds=60), [pod("web-new"), pod("web-new")])
    assert not needs_update(cloneset(status), status)
    again, _ = run(spec(2, progress_deadline_seconds=60), [pod("web-new"), pod("web-new")],
                   old_status=status, now=NOW + timedelta(hours=1))
    assert again == status
    assert needs_update(cloneset(status), {**status, "readyReplicas": 1})
