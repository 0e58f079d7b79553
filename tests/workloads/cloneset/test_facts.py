"""Per-pod planner facts: equal to the pod-level rules they stand for, memoised per pod
version, bounded; and the refresh step's skip never drops a write.

The pods are generated from a seeded random source over the states that matter
(lifecycle state, readiness gates and their conditions, revision label, the in-place
state and grace annotations, container statuses), so each property is checked over a
few thousand combinations, the same ones on every run.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mizzen.api.cloneset.parse import parse_spec
from mizzen.cluster.podutil import rfc3339
from mizzen.workloads.cloneset.decision import Observed, Pass
from mizzen.workloads.cloneset.facts import FactsMemo, pod_facts
from mizzen.workloads.cloneset.ranking import activity_key
from mizzen.workloads.cloneset.refresh import refresh_pod, refresh_pods
from mizzen.workloads.cloneset.status import is_update_ready
from mizzen.workloads.inplace import (
    ContainerRecord,
    InPlaceUpdateState,
    PendingSpec,
    completion,
    is_started,
)
from mizzen.workloads.lifecycle import is_pod_available
from tests.workloads.cloneset.test_plan import R1, R2, V1, V2, cloneset

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
STATES = ("", "Normal", "PreparingNormal", "PreparingUpdate", "Updating", "Updated",
          "PreparingDelete", "Unknown")
LIFECYCLES: list[Obj | None] = [
    None,
    {"preNormal": {"labelsHandler": {"warm": "true"}}},
    {"inPlaceUpdate": {"labelsHandler": {"hook": "true"}, "markPodNotReady": True}},
    {"preDelete": {"finalizersHandler": ["example.com/drain"]}},
]


def _ago(seconds: float) -> str:
    return rfc3339(NOW - timedelta(seconds=seconds))


def _condition(type_: str, status: str, reason: str | None = None) -> Obj:
    cond: Obj = {"type": type_, "status": status, "lastTransitionTime": _ago(300)}
    if reason is not None:
        cond["reason"] = reason
    return cond


def random_pod(rng: random.Random, i: int) -> Obj:
    """One pod of a CloneSet moving from ``V1`` (nginx:1) to ``V2`` (nginx:2)."""
    rev = rng.choice((V1, V2, ""))
    labels: Obj = {"app": "web"}
    if rev:
        labels["controller-revision-hash"] = rev
    state = rng.choice(STATES)
    if state:
        labels["lifecycle.apps.kruise.io/state"] = state
    if rng.random() < 0.2:
        labels["hook"] = "true"
    if rng.random() < 0.2:
        labels["warm"] = "true"
    if rng.random() < 0.05:
        labels["unavailable-pod.kruise.io/held"] = "true"
    gates = []
    conditions = []
    if rng.random() < 0.8:
        gates.append({"conditionType": "InPlaceUpdateReady"})
    if rng.random() < 0.3:
        gates.append({"conditionType": "KruisePodReady"})
    ipu = rng.choice((None, "True", "False-start", "False", "True-reason"))
    if ipu == "True":
        conditions.append(_condition("InPlaceUpdateReady", "True"))
    elif ipu == "True-reason":
        conditions.append(_condition("InPlaceUpdateReady", "True", "Odd"))
    elif ipu == "False-start":
        conditions.append(_condition("InPlaceUpdateReady", "False", "StartInPlaceUpdate"))
    elif ipu == "False":
        conditions.append(_condition("InPlaceUpdateReady", "False", "Other"))
    if rng.random() < 0.5:
        conditions.append(_condition("KruisePodReady", rng.choice(("True", "False"))))
    ready = rng.random() < 0.7
    conditions.append({"type": "Ready", "status": "True" if ready else "False",
                       "lastTransitionTime": _ago(rng.choice((5, 60, 600)))})
    image = rng.choice(("nginx:1", "nginx:2"))
    running = rng.random() < 0.8
    annotations: Obj = {}
    kind = rng.choice(("none", "done", "waiting", "next", "bad", "grace", "grace-over",
                       "bad-grace"))
    started = NOW - timedelta(seconds=rng.choice((10, 100)))
    record = {"app": ContainerRecord(image_id=rng.choice(("id-nginx:1", "id-nginx:2")))}
    if kind in ("done", "waiting", "next", "grace", "grace-over"):
        state_obj = InPlaceUpdateState(V2, started, record,
                                       next_container_images={"side": "envoy:2"}
                                       if kind == "next" else {})
        annotations["apps.kruise.io/inplace-update-state"] = state_obj.to_json()
    if kind in ("grace", "grace-over"):
        annotations["apps.kruise.io/inplace-update-grace"] = PendingSpec(
            V2, {"app": "nginx:2"}, grace_seconds=30 if kind == "grace" else 5).to_json()
    if kind == "bad":
        annotations["apps.kruise.io/inplace-update-state"] = "{not json"
    if kind == "bad-grace":
        annotations["apps.kruise.io/inplace-update-grace"] = "[]"
    meta: Obj = {"name": f"web-{i}", "namespace": "default", "uid": f"uid-{i}",
                 "resourceVersion": str(10 + i), "labels": labels, "annotations": annotations,
                 "creationTimestamp": _ago(rng.choice((100, 1000)))}
    if rng.random() < 0.05:
        meta["deletionTimestamp"] = _ago(1)
    return {"metadata": meta,
            "spec": {"nodeName": rng.choice(("node-0", "")), "readinessGates": gates,
                     "containers": [{"name": "app", "image": image}]},
            "status": {"phase": rng.choice(("Running", "Running", "Pending", "Succeeded")),
                       "conditions": conditions,
                       "containerStatuses": [{
                           "name": "app", "image": image, "imageID": f"id-{image}",
                           "ready": ready and running, "restartCount": rng.randrange(3),
                           "state": {"running": {"startedAt": _ago(50)}} if running
                           else {"waiting": {"reason": "ContainerCreating"}}}]}}


PODS = [random_pod(random.Random(seed), seed) for seed in range(2000)]


@pytest.mark.parametrize("min_ready", [0, 30])
def test_facts_equal_the_pod_level_rules(min_ready: int) -> None:
    for pod in PODS:
        f = pod_facts(pod)
        name = pod["metadata"]["name"]
        assert f.available(min_ready, NOW) == is_pod_available(pod, min_ready, NOW), name
        assert f.update_ready == is_update_ready(pod), name
        assert f.completed == completion(pod).done, name
        assert f.started == is_started(pod), name
        assert f.activity_key == activity_key(pod), name


def _pass(pod: Obj, lifecycle: Obj | None) -> Pass:
    cs = cloneset(1, "nginx:2", policy="InPlaceIfPossible")
    if lifecycle is not None:
        cs["spec"]["lifecycle"] = lifecycle
    observed = Observed(cs, parse_spec(cs), [pod], [], [R1, R2],
                        {V1: R1, V2: R2}, 0, True, NOW)
    return Pass(observed, (pod,), V2, V1, {})


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=["none", "preNormal", "inPlaceUpdate",
                                                       "preDelete"])
def test_refresh_skips_only_pods_it_would_not_write_for(lifecycle: Obj | None) -> None:
    skipped = 0
    for pod in PODS:
        if not pod_facts(pod).refresh_quiet(V2):
            continue
        skipped += 1
        patches, wait = refresh_pod(_pass(pod, lifecycle), pod)  # the decisions in full
        assert not patches and wait is None, pod["metadata"]["name"]
    assert skipped > len(PODS) // 10  # the skip is not vacuous


def test_the_refresh_step_writes_what_the_full_decisions_write() -> None:
    for pod in PODS[:300]:
        p = _pass(pod, None)
        patches, wait = refresh_pod(p, pod)
        step = refresh_pods(p)
        assert (step.plan is not None) == bool(patches)
        assert step.requeue_after == wait


def test_settled_and_waiting_pods_are_skipped_and_due_ones_are_not() -> None:
    assert pod_facts(_settled()).refresh_quiet(V2)
    waiting = _settled(state="Updating", image_id="id-nginx:1", running=False)
    assert pod_facts(waiting).refresh_quiet(V2)
    due = _settled(state="Updating", image_id="id-nginx:1")  # the kubelet runs nginx:2
    assert not pod_facts(due).refresh_quiet(V2)
    new = _settled(state="PreparingNormal")
    assert not pod_facts(new).refresh_quiet(V2)


def _settled(state: str = "Normal", image_id: str | None = None, running: bool = True) -> Obj:
    """A pod on ``V2`` running nginx:2; with ``image_id``, an in-place update from it."""
    annotations = {}
    if image_id is not None:
        annotations["apps.kruise.io/inplace-update-state"] = InPlaceUpdateState(
            V2, NOW, {"app": ContainerRecord(image_id)}).to_json()
    return {"metadata": {"name": "web-x", "uid": "uid-x", "resourceVersion": "7",
                         "labels": {"controller-revision-hash": V2,
                                    "lifecycle.apps.kruise.io/state": state},
                         "annotations": annotations},
            "spec": {"nodeName": "node-0",
                     "readinessGates": [{"conditionType": "InPlaceUpdateReady"}],
                     "containers": [{"name": "app", "image": "nginx:2"}]},
            "status": {"phase": "Running", "conditions": [
                _condition("InPlaceUpdateReady", "True"), _condition("Ready", "True")],
                "containerStatuses": [{
                    "name": "app", "image": "nginx:2" if running else "nginx:1",
                    "imageID": "id-nginx:2" if running else "id-nginx:1", "ready": running,
                    "state": {"running": {"startedAt": _ago(5)}} if running
                    else {"waiting": {"reason": "ContainerCreating"}}}]}}


def test_the_memo_derives_once_per_pod_version() -> None:
    memo = FactsMemo()
    pod = _settled()
    first = memo.of(pod)
    assert memo.of(pod) is first and memo.derived == 1
    decoded_again = {**pod, "metadata": dict(pod["metadata"])}  # a relist: equal, new object
    assert memo.of(decoded_again) is first and memo.derived == 1
    changed = {**pod, "metadata": {**pod["metadata"], "resourceVersion": "8",
                                   "labels": {"controller-revision-hash": V1}}}
    assert memo.of(changed).revision == V1 and memo.derived == 2
    assert len(memo) == 1  # one entry per pod, the newest version


def test_pods_without_uid_or_version_are_derived_every_time() -> None:
    memo = FactsMemo()
    pod = _settled()
    del pod["metadata"]["resourceVersion"]
    memo.of(pod)
    memo.of(pod)
    assert memo.derived == 2 and len(memo) == 0


def test_the_memo_is_bounded_and_forgets_deleted_pods() -> None:
    memo = FactsMemo(capacity=3)
    pods = []
    for i in range(5):
        pod = _settled()
        pod["metadata"] = {**pod["metadata"], "uid": f"uid-{i}"}
        pods.append(pod)
        memo.of(pod)
    assert len(memo) == 3
    memo.of(pods[4])
    assert memo.derived == 5  # still there
    memo.of(pods[0])
    assert memo.derived == 6  # evicted, derived again
    memo.forget("uid-0")
    assert len(memo) == 2
    memo.of(pods[0])
    assert memo.derived == 7
