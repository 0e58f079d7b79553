"""The Deployment planner as tables: every case is one step of a scenario, named so.

Each case gives the observed state and the parts of the plan that matter for
that step (:class:`Want`); fields left ``None`` are not compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from mizzen.cluster.deployment.decisions import DeploymentPlan, Observed
from mizzen.cluster.deployment.plan import plan
from mizzen.cluster.deployment.revision import (
    CHANGE_CAUSE,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    POD_TEMPLATE_HASH,
    REVISION,
    REVISION_HISTORY,
)
from tests.cluster.deployment.builders import (
    NOW,
    V1,
    V2,
    V3,
    cond,
    dep,
    name,
    pod,
    rs,
)

Obj = dict[str, Any]
OLD, NEW = name(V1), name(V2)
COMPLETE_V2 = {"observedGeneration": 2, "replicas": 10, "updatedReplicas": 10,
               "readyReplicas": 10, "availableReplicas": 10,
               "conditions": [cond("Available", "True", "MinimumReplicasAvailable"),
                              cond("Progressing", "True", "NewReplicaSetAvailable")]}
ROLLING = [cond("Available", "True", "MinimumReplicasAvailable"),
           cond("Progressing", "True", "ReplicaSetUpdated", updated_ago=30)]


def rolling_status(**counts: int) -> Obj:
    return {"observedGeneration": 2, **counts, "conditions": ROLLING}


@dataclass(frozen=True)
class Want:
    step: str
    # ReplicaSet name -> replicas after the updates.
    sizes: dict[str, int] | None = None
    # replicas of the ReplicaSet to create, and some of its annotations.
    create: int | None = None
    create_annotations: dict[str, str] | None = None
    delete: tuple[str, ...] | None = None
    adopt: tuple[str, ...] | None = None
    release: tuple[str, ...] | None = None
    annotations: dict[str, str] | None = None
    # condition type -> (status, reason[, message]) in the written status.
    conditions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # status fields expected in the written status.
    status: dict[str, Any] | None = None
    events: tuple[str, ...] | None = None
    requeue_after: float | None = None


@dataclass(frozen=True)
class Case:
    name: str
    deployment: Obj
    rss: list[Obj]
    want: Want
    pods: list[Obj] = field(default_factory=list)
    created: str | None = None
    create_failure: str | None = None


def check(got: DeploymentPlan, want: Want) -> None:
    assert got.step == want.step
    if want.sizes is not None:
        assert {u.name: u.replicas for u in got.updates} == want.sizes
    if want.create is not None:
        assert got.create is not None and got.create["spec"]["replicas"] == want.create
    if want.create_annotations is not None:
        assert got.create is not None
        annotations = got.create["metadata"]["annotations"]
        assert {k: annotations.get(k) for k in want.create_annotations} == \
            want.create_annotations
    for attr in ("delete", "adopt", "release", "annotations", "requeue_after"):
        if getattr(want, attr) is not None:
            assert getattr(got, attr) == getattr(want, attr), attr
    if want.conditions:
        assert got.status is not None
        found = {c["type"]: c for c in got.status.get("conditions", [])}
        for type_, expected in want.conditions.items():
            actual = (found[type_]["status"], found[type_]["reason"],
                      found[type_]["message"])[:len(expected)]
            assert actual == expected, type_
    if want.status is not None:
        assert got.status is not None
        assert {k: got.status.get(k) for k in want.status} == want.status
    if want.events is not None:
        assert tuple(e.message for e in got.events) == want.events


R10 = "rolling update 10 replicas maxSurge 25% maxUnavailable 25%"
RC = "Recreate 3 replicas"
CASES = [
    # -- a rolling update, step by step ------------------------------------------------
    Case(f"{R10}: template changed, create the new RS with 3 (step 1/9)",
         dep(), [rs(V1, 10, desired=10, max_replicas=13)],
         Want("create new replica set", create=3,
              create_annotations={REVISION: "2", DESIRED_REPLICAS: "10", MAX_REPLICAS: "13"},
              events=(f"Scaled up replica set {NEW} from 0 to 3",))),
    Case(f"{R10}: new RS seen, record revision 2 on the Deployment (step 2/9)",
         dep(), [rs(V1, 10), rs(V2, 3, available=0, revision=2, created_ago=1)],
         Want("record revision", annotations={REVISION: "2"}), created=NEW),
    Case(f"{R10}: Progressing NewReplicaSetCreated (step 3/9)",
         dep(annotations={REVISION: "2"}),
         [rs(V1, 10), rs(V2, 3, available=0, revision=2, created_ago=1)],
         Want("new replica set created",
              conditions={"Progressing": ("True", "NewReplicaSetCreated",
                                          f'Created new replica set "{NEW}"')}),
         created=NEW),
    Case(f"{R10}: 13 pods, 3 new unavailable: old scaled 10 to 8 (step 4/9)",
         dep(annotations={REVISION: "2"}, status=rolling_status(replicas=10)),
         [rs(V1, 10, desired=10, max_replicas=13),
          rs(V2, 3, available=0, revision=2, desired=10, max_replicas=13)],
         Want("rolling: scale down old replica sets", sizes={OLD: 8},
              events=(f"Scaled down replica set {OLD} from 10 to 8",))),
    Case(f"{R10}: old RS has not reported on its new size yet: status only (step 5/9)",
         dep(annotations={REVISION: "2"}, status=rolling_status(replicas=13)),
         [rs(V1, 8, actual=10, available=10, settled=False),
          rs(V2, 3, available=0, revision=2)],
         Want("status")),
    Case(f"{R10}: 3 new available, 11 pods: new scaled 3 to 5 (step 6/9)",
         dep(annotations={REVISION: "2"}, status=rolling_status(replicas=11)),
         [rs(V1, 8), rs(V2, 3, revision=2)],
         Want("rolling: scale up new replica set", sizes={NEW: 5})),
    Case(f"{R10}: 5 new of which 3 available: old scaled 8 to 5 (step 7/9)",
         dep(annotations={REVISION: "2"}, status=rolling_status(replicas=13)),
         [rs(V1, 8), rs(V2, 5, available=3, revision=2)],
         Want("rolling: scale down old replica sets", sizes={OLD: 5})),
    Case(f"{R10}: all 10 new available, old at 0: successfully progressed (step 8/9)",
         dep(annotations={REVISION: "2"}, status=rolling_status(replicas=10)),
         [rs(V1, 0), rs(V2, 10, revision=2)],
         Want("status", status={"replicas": 10, "updatedReplicas": 10,
                                "availableReplicas": 10, "observedGeneration": 2},
              conditions={"Progressing": ("True", "NewReplicaSetAvailable",
                                          f'ReplicaSet "{NEW}" has successfully progressed.'),
                          "Available": ("True", "MinimumReplicasAvailable")})),
    Case(f"{R10}: complete and recorded: nothing to do (step 9/9)",
         dep(annotations={REVISION: "2"}, status=COMPLETE_V2),
         [rs(V1, 0), rs(V2, 10, revision=2, desired=10, max_replicas=13)], Want("idle")),
    # -- fenceposts --------------------------------------------------------------------
    Case("rolling update 3 replicas maxSurge 1 maxUnavailable 0: new RS starts at 1 (step 1/2)",
         dep(3, surge=1, unavailable=0), [rs(V1, 3)], Want("create new replica set", create=1)),
    Case("rolling update 3 replicas maxSurge 1 maxUnavailable 0: old waits for a new pod "
         "to be available (step 2/2)",
         dep(3, surge=1, unavailable=0, annotations={REVISION: "2"},
             status=rolling_status(replicas=4, updatedReplicas=1, readyReplicas=3,
                                   availableReplicas=3, unavailableReplicas=1)),
         [rs(V1, 3), rs(V2, 1, available=0, revision=2)], Want("idle", requeue_after=571.0)),
    Case("maxSurge 0 and maxUnavailable 0 (validation's job): unavailable resolves to 1, "
         "new RS starts at 0",
         dep(3, surge=0, unavailable=0), [rs(V1, 3)], Want("create new replica set", create=0)),
    Case("maxSurge 0 maxUnavailable 0, new RS at 0: old scaled 3 to 2",
         dep(3, surge=0, unavailable=0, annotations={REVISION: "2"},
             status=rolling_status(replicas=3)),
         [rs(V1, 3), rs(V2, 0, revision=2)],
         Want("rolling: scale down old replica sets", sizes={OLD: 2})),
    Case("unhealthy old replicas go first, beyond the availability budget",
         dep(4, surge=1, unavailable=0, annotations={REVISION: "2"},
             status=rolling_status(replicas=5)),
         [rs(V1, 4, available=2), rs(V2, 1, available=1, revision=2)],
         Want("rolling: scale down old replica sets", sizes={OLD: 3})),
    # -- Recreate ----------------------------------------------------------------------
    Case(f"{RC}: scale the old RS to 0 first (step 1/4)",
         dep(3, strategy="Recreate"), [rs(V1, 3)],
         Want("recreate: scale down old replica sets", sizes={OLD: 0})),
    Case(f"{RC}: old RS still reports pods: wait (step 2/4)",
         dep(3, strategy="Recreate"), [rs(V1, 0, actual=3)], Want("status")),
    Case(f"{RC}: an old pod is still terminating: wait (step 3/4)",
         dep(3, strategy="Recreate", status={"observedGeneration": 2}),
         [rs(V1, 0, available=0)], Want("status"), pods=[pod(rs(V1, 0))]),
    Case(f"{RC}: old pods gone: create the new RS at full size (step 4/4)",
         dep(3, strategy="Recreate"), [rs(V1, 0, available=0)],
         Want("create new replica set", create=3,
              create_annotations={DESIRED_REPLICAS: "3", MAX_REPLICAS: "3"}),
         pods=[pod(rs(V1, 0), phase="Succeeded")]),
    # -- paused, scaling ---------------------------------------------------------------
    Case("paused with a new template: Progressing DeploymentPaused (step 1/3)",
         dep(paused=True), [rs(V1, 10)],
         Want("paused", conditions={"Progressing": ("Unknown", "DeploymentPaused",
                                                    "Deployment is paused")})),
    Case("paused with a new template: no new RS, status only (step 2/3)",
         dep(paused=True, status={**COMPLETE_V2, "conditions": [
             cond("Progressing", "Unknown", "DeploymentPaused")]}), [rs(V1, 10)],
         Want("status", status={"updatedReplicas": None})),
    Case("resumed: Progressing DeploymentResumed, then the rollout (step 3/3)",
         dep(status={"conditions": [cond("Progressing", "Unknown", "DeploymentPaused",
                                         updated_ago=9999)]}), [rs(V1, 10)],
         Want("resumed", conditions={"Progressing": ("Unknown", "DeploymentResumed",
                                                     "Deployment is resumed")})),
    Case("scaled 10 to 5 while paused: the only active RS follows",
         dep(5, V1, paused=True, status={**COMPLETE_V2, "conditions": [
             cond("Progressing", "Unknown", "DeploymentPaused")]}),
         [rs(V1, 10, desired=10, max_replicas=13)], Want("scale", sizes={OLD: 5})),
    Case("scaled 10 to 20 mid-rollout (new 5, old 8): proportional, larger RS first",
         dep(20, annotations={REVISION: "2"}, status=rolling_status(replicas=13)),
         [rs(V1, 8, desired=10, max_replicas=13),
          rs(V2, 5, available=3, revision=2, desired=10, max_replicas=13)],
         Want("scale proportionally", sizes={OLD: 15, NEW: 10})),
    Case("scaled 10 to 0 mid-rollout: every active RS to 0",
         dep(0, annotations={REVISION: "2"}, status=rolling_status(replicas=13)),
         [rs(V1, 8, desired=10, max_replicas=13),
          rs(V2, 5, available=3, revision=2, desired=10, max_replicas=13)],
         Want("scale proportionally", sizes={OLD: 0, NEW: 0})),
    # -- progress deadline -------------------------------------------------------------
    Case("new pods never ready, 700 s since the last progress, deadline 600: timed out",
         dep(annotations={REVISION: "2"}, status={
             "observedGeneration": 2, "replicas": 13, "updatedReplicas": 5,
             "readyReplicas": 8, "availableReplicas": 8, "unavailableReplicas": 5,
             "conditions": [cond("Available", "True", "MinimumReplicasAvailable"),
                            cond("Progressing", "True", "ReplicaSetUpdated",
                                 updated_ago=700)]}),
         [rs(V1, 8, available=8), rs(V2, 5, available=0, revision=2)],
         Want("status", conditions={"Progressing": (
             "False", "ProgressDeadlineExceeded", f'ReplicaSet "{NEW}" has timed out '
             "progressing.")})),
    Case("new pods not ready, 100 s since the last progress: look again in 501 s",
         dep(annotations={REVISION: "2"}, status={
             "observedGeneration": 2, "replicas": 13, "updatedReplicas": 5,
             "readyReplicas": 8, "availableReplicas": 8, "unavailableReplicas": 5,
             "conditions": [cond("Available", "True", "MinimumReplicasAvailable"),
                            cond("Progressing", "True", "ReplicaSetUpdated",
                                 updated_ago=100)]}),
         [rs(V1, 8, available=8), rs(V2, 5, available=0, revision=2)],
         Want("idle", requeue_after=501.0)),
    Case("a new pod became ready (minReadySeconds pending): progressing, lastUpdateTime "
         "refreshed",
         dep(annotations={REVISION: "2"}, status={
             "observedGeneration": 2, "replicas": 13, "updatedReplicas": 5,
             "readyReplicas": 8, "availableReplicas": 8, "unavailableReplicas": 5,
             "conditions": [cond("Available", "True", "MinimumReplicasAvailable"),
                            cond("Progressing", "True", "ReplicaSetUpdated",
                                 updated_ago=100)]}),
         [rs(V1, 8, available=8), rs(V2, 5, available=0, ready=1, revision=2)],
         Want("status", conditions={"Progressing": ("True", "ReplicaSetUpdated",
                                                    f'ReplicaSet "{NEW}" is progressing.')})),
    # -- revisions, rollback, history --------------------------------------------------
    Case("kubectl rollout undo (template back to revision 1): old RS becomes revision 3, "
         "history keeps 1",
         dep(10, V1, annotations={REVISION: "2"}, status=COMPLETE_V2),
         [rs(V1, 0, revision=1), rs(V2, 10, revision=2)],
         Want("sync new replica set annotations", sizes={OLD: 0}),
         ),
    Case("change-cause is copied to the new RS",
         dep(annotations={CHANGE_CAUSE: "kubectl set image nginx:2"}), [rs(V1, 10)],
         Want("create new replica set",
              create_annotations={CHANGE_CAUSE: "kubectl set image nginx:2"})),
    Case("revisionHistoryLimit 1, complete: delete the oldest zero-sized RS",
         dep(10, V3, history=1, annotations={REVISION: "3"}, status=COMPLETE_V2),
         [rs(V1, 0, revision=1), rs(V2, 0, revision=2), rs(V3, 10, revision=3)],
         Want("clean up old replica sets", delete=(OLD,))),
    Case("no Progressing condition yet, new RS exists: FoundNewReplicaSet",
         dep(10, V1, status={"observedGeneration": 1}), [rs(V1, 10)],
         Want("found new replica set", conditions={"Progressing": (
             "True", "FoundNewReplicaSet", f'Found new replica set "{OLD}"')})),
    # -- collisions, failures, claiming ------------------------------------------------
    Case("the hash's name is taken by another template: collisionCount 1",
         dep(), [rs(V1, 10), rs(V3, 0, name=NEW, owner="someone-else",
                                labels={"other": "x"})],
         Want("hash collision", status={"collisionCount": 1})),
    Case("the last create failed: Progressing ReplicaSetCreateError first",
         dep(), [rs(V1, 10)],
         Want("report failed create", conditions={"Progressing": (
             "False", "ReplicaSetCreateError",
             f'Failed to create new replica set "{NEW}": quota exceeded')}),
         create_failure="quota exceeded"),
    Case("an orphan RS the selector matches is adopted",
         dep(10, V1), [rs(V1, 10, owner=None)], Want("claim", adopt=(OLD,))),
    Case("an owned RS the selector no longer matches is released",
         dep(10, V1), [rs(V1, 10), rs(V2, 1, labels={"app": "other"})],
         Want("claim", release=(NEW,))),
    Case("being deleted: no new RS, status only",
         dep(deleting=True), [rs(V1, 10)], Want("status")),
    Case("an empty selector selects everything: warn, record observedGeneration",
         dep(selector={}), [],
         Want("selecting all", status={"observedGeneration": 2},
              events=("This deployment is selecting all pods. A non-empty selector is "
                      "required.",))),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_plan(case: Case) -> None:
    observed = Observed(case.deployment, case.rss, case.pods, NOW, case.created,
                        case.create_failure)
    check(plan(observed), case.want)


def test_rollback_keeps_revision_history() -> None:
    got = plan(Observed(dep(10, V1, annotations={REVISION: "2"}, status=COMPLETE_V2),
                        [rs(V1, 0, revision=1, annotations={REVISION_HISTORY: "0"}),
                         rs(V2, 10, revision=2)], [], NOW))
    (update,) = got.updates
    assert update.annotations[REVISION] == "3"
    assert update.annotations[REVISION_HISTORY] == "0,1"


def test_new_replica_set_object() -> None:
    got = plan(Observed(dep(annotations={"kubectl.kubernetes.io/last-applied-configuration":
                                         "{}"}), [rs(V1, 10)], [], NOW))
    created = got.create
    assert created is not None
    pod_hash = NEW.removeprefix("web-")
    assert created["metadata"]["name"] == NEW
    assert created["metadata"]["labels"] == {"app": "web", POD_TEMPLATE_HASH: pod_hash}
    assert created["spec"]["selector"] == {"matchLabels": {"app": "web",
                                                           POD_TEMPLATE_HASH: pod_hash}}
    assert created["spec"]["template"]["metadata"]["labels"][POD_TEMPLATE_HASH] == pod_hash
    assert created["metadata"]["ownerReferences"] == [{
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "deploy-uid",
        "controller": True, "blockOwnerDeletion": True}]
    assert "kubectl.kubernetes.io/last-applied-configuration" not in \
        created["metadata"]["annotations"]
