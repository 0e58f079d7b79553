"""Deployments and ReplicaSets as plain dicts for the planner tables, at a fixed ``NOW``.

A ReplicaSet is described by what the planner reads: its template (so whether
it is the "new" one), size, the counts its controller reported, annotations
and age.  By default its status is *settled*: its controller has observed its
latest generation and every replica is available.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mizzen.cluster.deployment.revision import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    POD_TEMPLATE_HASH,
    REVISION,
    compute_hash,
)

Obj = dict[str, Any]
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
D_UID = "deploy-uid"
LABELS = {"app": "web"}


def stamp(seconds_ago: float = 0) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def template(image: str) -> Obj:
    return {"metadata": {"labels": dict(LABELS)},
            "spec": {"containers": [{"name": "app", "image": image}]}}


V1, V2, V3 = template("nginx:1"), template("nginx:2"), template("nginx:3")


def cond(type_: str, status: str, reason: str, message: str = "", updated_ago: float = 0,
         since_ago: float | None = None) -> Obj:
    return {"type": type_, "status": status, "lastUpdateTime": stamp(updated_ago),
            "lastTransitionTime": stamp(updated_ago if since_ago is None else since_ago),
            "reason": reason, "message": message}


def dep(replicas: int = 10, tpl: Obj = V2, *, surge: Any = "25%", unavailable: Any = "25%",
        strategy: str = "RollingUpdate", paused: bool = False, deadline: int | None = 600,
        history: int = 10, generation: int = 2, status: Obj | None = None,
        annotations: dict[str, str] | None = None, deleting: bool = False,
        selector: Obj | None = None) -> Obj:
    spec: Obj = {"replicas": replicas,
                 "selector": selector if selector is not None else {"matchLabels": LABELS},
                 "template": tpl, "revisionHistoryLimit": history,
                 "strategy": {"type": strategy}}
    if strategy == "RollingUpdate":
        spec["strategy"]["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    if deadline is not None:
        spec["progressDeadlineSeconds"] = deadline
    if paused:
        spec["paused"] = True
    meta: Obj = {"name": "web", "namespace": "default", "uid": D_UID, "generation": generation,
                 "annotations": {REVISION: "1", **(annotations or {})}}
    if deleting:
        meta["deletionTimestamp"] = stamp()
    default_status: Obj = {"observedGeneration": generation - 1, "replicas": replicas,
                           "updatedReplicas": replicas, "readyReplicas": replicas,
                           "availableReplicas": replicas,
                           "conditions": [cond("Available", "True", "MinimumReplicasAvailable"),
                                          cond("Progressing", "True", "NewReplicaSetAvailable",
                                               updated_ago=3600)]}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec,
            "status": default_status if status is None else status}


def rs(tpl: Obj, replicas: int, *, available: int | None = None, ready: int | None = None,
       actual: int | None = None, revision: int = 1, created_ago: float = 3600,
       desired: int | None = None, max_replicas: int | None = None, settled: bool = True,
       owner: str | None = D_UID, labels: Obj | None = None, name: str | None = None,
       annotations: dict[str, str] | None = None, conditions: list[Obj] | None = None) -> Obj:
    pod_hash = compute_hash(tpl)
    ann = {REVISION: str(revision), **(annotations or {})}
    if desired is not None:
        ann[DESIRED_REPLICAS] = str(desired)
    if max_replicas is not None:
        ann[MAX_REPLICAS] = str(max_replicas)
    rs_labels = labels if labels is not None else {**LABELS, POD_TEMPLATE_HASH: pod_hash}
    meta: Obj = {"name": name or f"web-{pod_hash}", "namespace": "default",
                 "uid": f"uid-{name or pod_hash}", "generation": 3, "labels": rs_labels,
                 "annotations": ann, "creationTimestamp": stamp(created_ago)}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment",
                                    "name": "web", "uid": owner, "controller": True}]
    available = replicas if available is None else available
    status: Obj = {"replicas": replicas if actual is None else actual,
                   "readyReplicas": available if ready is None else ready,
                   "availableReplicas": available, "observedGeneration": 3 if settled else 2}
    if conditions:
        status["conditions"] = conditions
    tmeta = {"labels": {**tpl["metadata"]["labels"], POD_TEMPLATE_HASH: pod_hash}}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta,
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": {**LABELS, POD_TEMPLATE_HASH: pod_hash}},
                     "template": {**tpl, "metadata": tmeta}},
            "status": status}


def name(tpl: Obj) -> str:
    return f"web-{compute_hash(tpl)}"


def pod(owner_rs: Obj, phase: str = "Running") -> Obj:
    return {"metadata": {"name": f"{owner_rs['metadata']['name']}-x", "namespace": "default",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": owner_rs["metadata"]["name"],
                                              "uid": owner_rs["metadata"]["uid"],
                                              "controller": True}]},
            "status": {"phase": phase}}
