"""Node and pod objects for the scheduler tests, as plain API dicts.

The same builders feed the planner's table tests (compiled straight into a
``ClusterState``) and the controller tests (created through the API), so a
case reads the same at both levels.
"""

from __future__ import annotations

from typing import Any

from mizzen.cluster.scheduler.nodeinfo import ZONE_LABEL

Obj = dict[str, Any]
NS = "default"


def node(name: str, zone: str = "", *, cpu: str = "4", memory: str = "8Gi", pods: int = 110,
         labels: dict[str, str] | None = None, taints: list[Obj] | None = None,
         ready: str | None = "True", unschedulable: bool = False,
         extra: dict[str, str] | None = None) -> Obj:
    """A Node with ``status.allocatable``, a Ready condition (``None``: no condition)."""
    all_labels = {"kubernetes.io/hostname": name, **(labels or {})}
    if zone:
        all_labels[ZONE_LABEL] = zone
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    allocatable = {"cpu": cpu, "memory": memory, "pods": str(pods), **(extra or {})}
    status: Obj = {"allocatable": allocatable, "capacity": dict(allocatable)}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready, "reason": "KubeletReady"}]
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": all_labels}, "spec": spec, "status": status}


def taint(key: str, value: str = "", effect: str = "NoSchedule") -> Obj:
    return {"key": key, "value": value, "effect": effect}


def toleration(key: str = "", value: str = "", effect: str = "",
               operator: str = "Equal") -> Obj:
    out: Obj = {"operator": operator}
    for k, v in (("key", key), ("value", value), ("effect", effect)):
        if v:
            out[k] = v
    return out


def term(*expressions: Obj, fields: list[Obj] | None = None) -> Obj:
    out: Obj = {"matchExpressions": list(expressions)}
    if fields:
        out["matchFields"] = fields
    return out


def expr(key: str, operator: str, *values: str) -> Obj:
    out: Obj = {"key": key, "operator": operator}
    if values:
        out["values"] = list(values)
    return out


def required(*terms: Obj) -> Obj:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                             {"nodeSelectorTerms": list(terms)}}}


def preferred(*weighted: tuple[int, Obj]) -> Obj:
    return {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": w, "preference": t} for w, t in weighted]}}


def container(name: str = "app", cpu: str | None = None, memory: str | None = None,
              **extra: Any) -> Obj:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    out: Obj = {"name": name, "image": "registry.example/app:1"}
    if requests:
        out["resources"] = {"requests": requests}
    out.update(extra)
    return out


def pod(name: str, cpu: str | None = None, memory: str | None = None, *, ns: str = NS,
        node_name: str = "", labels: dict[str, str] | None = None,
        owner: str | None = None, node_selector: dict[str, str] | None = None,
        tolerations: list[Obj] | None = None, affinity: Obj | None = None,
        containers: list[Obj] | None = None, init_containers: list[Obj] | None = None,
        overhead: dict[str, str] | None = None, spread: list[Obj] | None = None,
        phase: str | None = None, scheduler: str | None = None) -> Obj:
    """A Pod; ``owner`` is the UID of its controller (a ReplicaSet)."""
    spec: Obj = {"containers": containers if containers is not None
                 else [container(cpu=cpu, memory=memory)]}
    for key, value in (("nodeName", node_name), ("nodeSelector", node_selector),
                       ("tolerations", tolerations), ("affinity", affinity),
                       ("initContainers", init_containers), ("overhead", overhead),
                       ("topologySpreadConstraints", spread), ("schedulerName", scheduler)):
        if value:
            spec[key] = value
    meta: Obj = {"name": name, "namespace": ns, "uid": f"uid-{name}",
                 "labels": labels if labels is not None else {}}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                    "name": f"rs-{owner}", "uid": owner, "controller": True}]
    out: Obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    if phase:
        out["status"] = {"phase": phase}
    return out
