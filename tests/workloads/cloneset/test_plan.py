"""The CloneSet planner as tables: each case is one pass of a scenario, named as its step.

A case builds an :class:`Observed` from plain dicts — a v1beta1 CloneSet,
its revisions (``V1``: nginx:1, ``V2``: nginx:2) and pods made by
:func:`pod` — and checks the one write the pass decides.  Every pod starts
settled (Running, Ready for ten minutes, ``InPlaceUpdateReady`` True,
lifecycle Normal); the keyword arguments say what differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mizzen.api.cloneset.parse import parse_spec
from mizzen.workloads.cloneset import CloneSetPlan, Observed, Write, plan
from mizzen.workloads.cloneset.revision import new_revision
from mizzen.workloads.cloneset.status import StatusInputs, calculate_status

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
LONG_AGO = (NOW - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
API, KIND, UID = "apps.kruise.io/v1beta1", "CloneSet", "cs-uid"


def template(image: str) -> Obj:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": image}]}}


def cloneset(replicas: int = 3, image: str = "nginx:1", *, status: Obj | None = None,
             policy: str = "ReCreate", **rolling: Any) -> Obj:
    scale = rolling.pop("scale", {})
    return {"apiVersion": API, "kind": KIND,
            "metadata": {"name": "web", "namespace": "default", "uid": UID, "generation": 1,
                         "resourceVersion": "10"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": template(image), "scaleStrategy": scale,
                     "updateStrategy": {"type": rolling.pop("type", "RollingUpdate"),
                                        "rollingUpdate": {"podUpdatePolicy": policy,
                                                          **rolling}}},
            "status": status or {}}


def revision(image: str, number: int, tpl: Obj | None = None) -> Obj:
    rev = new_revision(cloneset(), tpl or template(image), number, 0, API, KIND)
    rev["metadata"]["creationTimestamp"] = LONG_AGO
    return rev


R1, R2 = revision("nginx:1", 1), revision("nginx:2", 2)
V1, V2 = R1["metadata"]["name"], R2["metadata"]["name"]


ENV = {**template("nginx:1"), "spec": {"containers": [
    {"name": "app", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]}]}}


def pod(id_: str, rev: str = "", *, ready: bool = True, state: str = "Normal",
        gate: str | None = "True", labels: dict[str, str] | None = None,
        image: str | None = None, phase: str = "Running") -> Obj:
    rev = rev or V1
    conditions: list[Obj] = [{"type": "Ready", "status": "True" if ready else "False",
                   "lastTransitionTime": LONG_AGO}]
    if gate is not None:
        conditions.append({"type": "InPlaceUpdateReady", "status": gate,
                           "reason": "StartInPlaceUpdate" if gate == "False" else None,
                           "lastTransitionTime": LONG_AGO})
    image = image or ("nginx:1" if rev == V1 else "nginx:2")
    return {"metadata": {
        "name": f"web-{id_}", "namespace": "default", "uid": f"uid-{id_}",
        "resourceVersion": "5", "creationTimestamp": LONG_AGO,
        "labels": {"app": "web", "controller-revision-hash": rev,
                   "apps.kruise.io/cloneset-instance-id": id_,
                   "lifecycle.apps.kruise.io/state": state, **(labels or {})},
        "ownerReferences": [{"apiVersion": API, "kind": KIND, "name": "web", "uid": UID,
                             "controller": True}]},
        "spec": {"nodeName": "node-0", "readinessGates": [{"conditionType": "InPlaceUpdateReady"}],
                 "containers": [{"name": "app", "image": image}]},
        "status": {"phase": phase, "conditions": conditions,
                   "containerStatuses": [{"name": "app", "image": image,
                                          "imageID": f"id-{image}", "ready": ready,
                                          "restartCount": 0,
                                          "state": {"running": {"startedAt": LONG_AGO}}}]}}


def settled_status(cs: Obj, pods: list[Obj], update: str = "", current: str = "") -> Obj:
    """What the status would say of ``pods`` (so the status step is a no-op)."""
    spec = parse_spec(cs)
    status, _ = calculate_status(StatusInputs(cs, spec, pods, update or V1, current or V1, 0,
                                              NOW))
    return status


@dataclass(frozen=True)
class Case:
    name: str
    cloneset: Obj
    pods: list[Obj] = field(default_factory=list)
    revisions: list[Obj] = field(default_factory=lambda: [R1])
    pvcs: list[Obj] = field(default_factory=list)
    satisfied: bool = True
    check: Callable[[CloneSetPlan], Any] = lambda p: None


def run(case: Case) -> CloneSetPlan:
    cs = case.cloneset
    observed = Observed(cs, parse_spec(cs), case.pods, case.pvcs, case.revisions,
                        {r["metadata"]["name"]: r for r in case.revisions}, 0, case.satisfied,
                        NOW)
    return plan(observed)


def three(rev: str = "", **kw: Any) -> list[Obj]:
    return [pod(i, rev, **kw) for i in ("aaaaa", "bbbbb", "ccccc")]


def with_status(cs: Obj, pods: list[Obj], update: str = "", current: str = "") -> Obj:
    cs["status"] = settled_status(cs, pods, update, current)
    return cs


def names(patches: Any) -> list[str]:
    return sorted(p.name for p in patches)


CASES = [
    Case("expectations pending: wait, write nothing", cloneset(), satisfied=False,
         check=lambda p: (p.write, p.step) == (Write.NONE, "wait")),
    Case("new CloneSet of 3: create revision 1 (step 1/4)", cloneset(), revisions=[],
         check=lambda p: p.write == Write.REVISION and p.revision_create is not None
         and p.revision_create["revision"] == 1 and p.revision_create["metadata"]["name"] == V1),
    Case("new CloneSet of 3: create 3 pods at revision 1 (step 2/4)", cloneset(),
         check=lambda p: (p.write, p.create) == (Write.CREATE, ((V1, 3),))),
    Case("new CloneSet of 3: InPlaceUpdateReady=True and PreparingNormal -> Normal, one "
         "pods/status write each (step 3/4)", cloneset(),
         pods=three(gate=None, state="PreparingNormal", ready=False),
         check=lambda p: p.write == Write.PATCH and p.step == "refresh"
         and [q.subresource for q in p.patches] == ["status"] * 3
         and all(q.body["metadata"]["labels"]["lifecycle.apps.kruise.io/state"] == "Normal"
                 and q.body["status"]["conditions"][0]["type"] == "InPlaceUpdateReady"
                 for q in p.patches)),
    Case("new CloneSet of 3: PreparingNormal -> Normal (step 4/4)", cloneset(),
         pods=three(state="PreparingNormal", ready=False),
         check=lambda p: p.step == "refresh" and all(
             q.body["metadata"]["labels"]["lifecycle.apps.kruise.io/state"] == "Normal"
             for q in p.patches)),
    Case("settled CloneSet of 3: write the status", cloneset(), pods=three(),
         check=lambda p: p.write == Write.STATUS and p.status is not None
         and p.status["readyReplicas"] == 3 and p.status["currentRevision"] == V1),
    Case("settled CloneSet of 3, status written: idle",
         with_status(cloneset(), three()), pods=three(),
         check=lambda p: (p.write, p.step) == (Write.NONE, "idle")),
    Case("pod relabelled away from the selector: release it", cloneset(),
         pods=[*three()[:2], pod("ddddd", labels={"app": "other"})],
         check=lambda p: (p.write, p.release) == (Write.RELEASE, ("web-ddddd",))),
    Case("scale 3 -> 1: delete 2 pods", cloneset(1), pods=three(),
         check=lambda p: p.write == Write.DELETE and len(p.delete) == 2),
    Case("scale 3 -> 2 during a rollout: the old-revision pod goes first", cloneset(2, "nginx:2"),
         revisions=[R1, R2], pods=[pod("aaaaa", V2), pod("bbbbb", V2), pod("ccccc", V1)],
         check=lambda p: p.delete == ("web-ccccc",)),
    Case("scale 1 -> 3 with scaleStrategy.maxUnavailable 1: create 1, say it is limited "
         "(step 1/2)", cloneset(3, scale={"maxUnavailable": 1}), pods=[pod("aaaaa")],
         check=lambda p: p.create == ((V1, 1),)
         and [e.reason for e in p.events] == ["ScaleUpLimited", "ScalingUp"]),
    Case("scale 1 -> 3 with scaleStrategy.maxUnavailable 1: wait while it is unavailable "
         "(step 2/2)", cloneset(3, scale={"maxUnavailable": 1}),
         pods=[pod("aaaaa"), pod("bbbbb", ready=False)],
         check=lambda p: p.write == Write.STATUS),
    Case("scale 3 -> 2, partition 1, a pod in PreparingUpdate counts as updated: "
         "the old pod stays, the unavailable new one goes",
         cloneset(2, "nginx:2", policy="InPlaceIfPossible", partition=1, maxUnavailable=1),
         revisions=[R1, R2],
         pods=[pod("aaaaa", V1, state="PreparingUpdate"), pod("bbbbb", V1), pod("ccccc", V2)],
         check=lambda p: p.write == Write.DELETE and p.delete == ("web-aaaaa",)),
    Case("scale 3 -> 2, partition 2, a pod in PreparingUpdate: it is the one new pod, "
         "so it goes (counted old, nothing could go and the CloneSet stalled)",
         cloneset(2, "nginx:2", policy="InPlaceIfPossible", partition=2, maxUnavailable=1),
         revisions=[R1, R2],
         pods=[pod("aaaaa", V1, state="PreparingUpdate"), pod("bbbbb", V1), pod("ccccc", V1)],
         check=lambda p: p.write == Write.DELETE and p.delete == ("web-aaaaa",)),
    Case("podsToDelete names a pod: delete it",
         cloneset(3, scale={"podsToDelete": ["web-bbbbb"]}), pods=three(),
         check=lambda p: (p.write, p.delete) == (Write.DELETE, ("web-bbbbb",))),
    Case("podsToDelete names a pod already gone: drop the name",
         with_status(cloneset(3, scale={"podsToDelete": ["web-zzzzz"]}), three()),
         pods=three(), check=lambda p: (p.write, p.pods_to_delete) == (Write.SPEC, ())),
    Case("ReCreate update, maxUnavailable 1: label one pod specified-delete",
         cloneset(3, "nginx:2", maxUnavailable=1), revisions=[R1, R2], pods=three(),
         check=lambda p: p.write == Write.PATCH and len(p.patches) == 1 and p.patches[0].body
         == {"metadata": {"labels": {"apps.kruise.io/specified-delete": "true"}}}),
    Case("in-place update 3 pods, maxUnavailable 2: take 2 out of endpoints, then patch them, "
         "both on the version planned from (step 1/2)",
         cloneset(3, "nginx:2", policy="InPlaceIfPossible", maxUnavailable=2),
         revisions=[R1, R2], pods=three(),
         check=lambda p: p.step == "update" and len(p.patches) == 4
         and [(q.subresource, q.chained) for q in p.patches]
         == [("status", False)] * 2 + [("", True)] * 2
         and all(q.body["metadata"]["resourceVersion"] == "5" for q in p.patches)
         and names(p.patches[:2]) == names(p.patches[2:])),
    Case("in-place update 3 pods, maxUnavailable 2: patch 2 pods started earlier (step 2/2)",
         cloneset(3, "nginx:2", policy="InPlaceIfPossible", maxUnavailable=2),
         revisions=[R1, R2],
         pods=[pod("aaaaa", gate="False"), pod("bbbbb", gate="False"), pod("ccccc")],
         check=lambda p: p.step == "update" and names(p.patches) == ["web-aaaaa", "web-bbbbb"]
         and all(q.body["spec"]["containers"] == [{"name": "app", "image": "nginx:2"}]
                 and q.body["metadata"]["labels"]["controller-revision-hash"] == V2
                 for q in p.patches)),
    Case("InPlaceOnly and an env change: refuse, report RolloutBlocked",
         {**cloneset(1, policy="InPlaceOnly"),
          "spec": {**cloneset(1, policy="InPlaceOnly")["spec"], "template": ENV}},
         revisions=[R1, revision("", 2, ENV)], pods=[pod("aaaaa")],
         check=lambda p: p.write == Write.STATUS and p.blocked is not None
         and p.blocked.reason == "InPlaceOnlyRefused"),
    Case("paused after an in-place update started: put the pod back into endpoints",
         cloneset(3, "nginx:2", policy="InPlaceIfPossible", paused=True), revisions=[R1, R2],
         pods=[pod("aaaaa", gate="False"), pod("bbbbb"), pod("ccccc")],
         check=lambda p: p.step == "update-put-back" and names(p.patches) == ["web-aaaaa"]
         and p.patches[0].body["status"]["conditions"][0]["status"] == "True"),
    Case("paused: no update, report RolloutBlocked Paused",
         cloneset(3, "nginx:2", paused=True), revisions=[R1, R2], pods=three(),
         check=lambda p: p.write == Write.STATUS and p.blocked is not None
         and p.blocked.reason == "Paused"),
    Case("OnDelete: nothing is updated", cloneset(3, "nginx:2", type="OnDelete"),
         revisions=[R1, R2], pods=three(),
         check=lambda p: p.write == Write.STATUS and p.blocked is None),
    Case("12 unused revisions, limit 10: delete the 2 oldest",
         with_status(cloneset(), three()),
         revisions=[revision(f"nginx:old-{i}", i) for i in range(1, 13)] + [
             {**R1, "revision": 13}], pods=three(),
         check=lambda p: p.write == Write.HISTORY and len(p.history) == 2),
]

# The documented worked example: replicas 5, maxSurge 1, maxUnavailable 0, partition 3.
WORKED = cloneset(5, "nginx:2", policy="InPlaceIfPossible", maxSurge=1, maxUnavailable=0,
                  partition=3)
FIVE_OLD = [pod(i) for i in ("aaaaa", "bbbbb", "ccccc", "ddddd", "eeeee")]
SURGED = [*FIVE_OLD, pod("fffff", V2)]
STARTED = [pod("aaaaa", gate="False"), *FIVE_OLD[1:], pod("fffff", V2)]
IN_PLACE = [pod("aaaaa", V2), *FIVE_OLD[1:], pod("fffff", V2)]
CASES += [
    Case("worked example: 5 old pods, surge 1 new pod (step 1/5)", WORKED,
         revisions=[R1, R2], pods=FIVE_OLD,
         check=lambda p: (p.write, p.create) == (Write.CREATE, ((V2, 1),))),
    Case("worked example: new pod ready, update 1 pod in place (step 2/5)", WORKED,
         revisions=[R1, R2], pods=SURGED,
         check=lambda p: p.step == "update" and names(p.patches) == ["web-aaaaa"] * 2
         and [q.subresource for q in p.patches] == ["status", ""]),
    Case("worked example: a start whose patch failed: write the patch (step 3/5)", WORKED,
         revisions=[R1, R2], pods=STARTED,
         check=lambda p: p.step == "update" and names(p.patches) == ["web-aaaaa"]),
    Case("worked example: 4 old / 2 new available, delete 1 old (step 4/5)", WORKED,
         revisions=[R1, R2], pods=IN_PLACE,
         check=lambda p: p.write == Write.DELETE and len(p.delete) == 1
         and p.delete[0] != "web-aaaaa"),
    Case("worked example: 3 old / 2 new, total 5: only the status is left (step 5/5)", WORKED,
         revisions=[R1, R2], pods=IN_PLACE[:1] + IN_PLACE[2:],
         check=lambda p: p.write == Write.STATUS and p.status is not None
         and (p.status["updatedReplicas"], p.status["replicas"]) == (2, 5)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_plan(case: Case) -> None:
    decided = run(case)
    result = case.check(decided)
    assert result is None or result is True, f"{case.name}: {decided}"
