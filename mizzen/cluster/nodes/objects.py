"""The API objects of one simulated node: its Node, its conditions, its heartbeat Lease.

Everything here is a pure function of the configuration, the node's index
and the time, so the planner can compare what *should* be with what the
cache holds, and tests can assert on exact objects.

Why each piece looks as it does:

* **Addresses and pod ranges come from the node's index** (its position in
  :class:`~mizzen.cluster.config.ClusterConfig`, or after it for nodes added at
  run time): node *i* gets the *i*-th host of ``node_cidr`` (from ``.2``, as a
  router takes ``.1``) and the *i*-th ``/24`` of ``pod_cidr`` as
  ``spec.podCIDR``, from which the kubelet simulator hands out pod IPs.
* **The status is written on create** (the API server keeps a Node's status
  on create, as upstream does), so a new node is Ready in one write.
* **Readiness** follows the node's ``NODE_NOT_READY`` annotation: absent,
  Ready=True; ``"true"``, Ready=False as a kubelet reports it; ``"unknown"``,
  every kubelet condition Unknown as the node lifecycle controller sets them
  when the kubelet stops posting.  The matching taint
  (``node.kubernetes.io/not-ready`` or ``.../unreachable``, NoSchedule) is
  what the lifecycle controller adds; the simulator adds it too, since a
  Mizzen cluster runs no lifecycle controller.
* **Lease times are MicroTime** (``2006-01-02T15:04:05.000000Z``); condition
  times are seconds-precision ``metav1.Time``.
"""

from __future__ import annotations

import ipaddress
import uuid
from datetime import UTC, datetime
from typing import Any

from mizzen.cluster.config import (
    NODE_LEASE_NAMESPACE,
    NODE_NOT_READY,
    NODE_NOT_READY_FALSE,
    NODE_NOT_READY_UNKNOWN,
    SIM_NODE_LABEL,
    ClusterConfig,
    NodeSpec,
)

__all__ = [
    "CONDITION_TYPES",
    "NOT_READY_TAINT",
    "UNREACHABLE_TAINT",
    "Readiness",
    "conditions",
    "lease_object",
    "micro_time",
    "node_ip",
    "node_object",
    "parse_time",
    "pod_cidr",
    "readiness_of",
    "rfc3339",
    "wanted_taints",
]

Obj = dict[str, Any]

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
CONTAINER_RUNTIME = "mizzen-sim://1.0"
KUBELET_PORT = 10250

# The kubelet's conditions, in the order it reports them, with (reason, message) when
# healthy.  Ready is handled apart because it is the one that changes.
_HEALTHY: dict[str, tuple[str, str]] = {
    "MemoryPressure": ("KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    "DiskPressure": ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    "PIDPressure": ("KubeletHasSufficientPID", "kubelet has sufficient PID available"),
}
CONDITION_TYPES = ("NetworkUnavailable", *_HEALTHY, "Ready")


class Readiness:
    """What the node reports as Ready (the values of its condition's ``status``)."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


def rfc3339(t: datetime) -> str:
    """Seconds-precision ``metav1.Time``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(t: datetime) -> str:
    """``metav1.MicroTime``, as Leases carry it."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> datetime | None:
    """A Time or MicroTime from the API, or ``None`` when absent or unreadable."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def node_ip(config: ClusterConfig, index: int) -> str:
    """The InternalIP of node ``index`` (hosts of ``node_cidr`` from ``.2``)."""
    net = ipaddress.ip_network(config.node_cidr, strict=False)
    if index + 2 >= net.num_addresses - 1:
        raise ValueError(f"node_cidr {config.node_cidr} has no address for node #{index}")
    return str(net.network_address + index + 2)


def pod_cidr(config: ClusterConfig, index: int) -> str:
    """``spec.podCIDR`` of node ``index``: the ``index``-th /24 of ``pod_cidr``."""
    net = ipaddress.ip_network(config.pod_cidr, strict=False)
    prefix = max(24, net.prefixlen)
    count = 2 ** (prefix - net.prefixlen)
    if index >= count:
        raise ValueError(f"pod_cidr {config.pod_cidr} has no /{prefix} for node #{index}")
    size = 2 ** (net.max_prefixlen - prefix)
    return f"{net.network_address + index * size}/{prefix}"


def readiness_of(node: Obj | None) -> str:
    """What ``node``'s annotations ask it to report as Ready."""
    annotations = ((node or {}).get("metadata") or {}).get("annotations") or {}
    value = str(annotations.get(NODE_NOT_READY, "")).lower()
    if value == NODE_NOT_READY_FALSE:
        return Readiness.FALSE
    if value == NODE_NOT_READY_UNKNOWN:
        return Readiness.UNKNOWN
    return Readiness.TRUE


def _condition(kind: str, status: str, reason: str, message: str, heartbeat: str,
               transition: str) -> Obj:
    return {"type": kind, "status": status, "lastHeartbeatTime": heartbeat,
            "lastTransitionTime": transition, "reason": reason, "message": message}


def conditions(readiness: str, now: datetime, current: list[Obj] | None = None) -> list[Obj]:
    """The node's conditions for ``readiness`` at ``now``.

    Every condition gets ``now`` as its heartbeat; its transition time is kept
    from ``current`` when its status did not change.  Conditions of other
    types in ``current`` (a node problem detector's) are kept, in place.
    """
    stamp = rfc3339(now)
    old = {str(c.get("type")): c for c in current or ()}

    def make(kind: str, status: str, reason: str, message: str) -> Obj:
        before = old.get(kind)
        same = before is not None and before.get("status") == status
        transition = str(before.get("lastTransitionTime")) if same and before else stamp
        return _condition(kind, status, reason, message, stamp, transition)

    ours = {"NetworkUnavailable": make("NetworkUnavailable", "False", "RouteCreated",
                                       "RouteController created a route")}
    for kind, (reason, message) in _HEALTHY.items():
        if readiness == Readiness.UNKNOWN:
            ours[kind] = make(kind, "Unknown", "NodeStatusUnknown",
                              "Kubelet stopped posting node status.")
        else:
            ours[kind] = make(kind, "False", reason, message)
    if readiness == Readiness.TRUE:
        ours["Ready"] = make("Ready", "True", "KubeletReady", "kubelet is posting ready status")
    elif readiness == Readiness.FALSE:
        ours["Ready"] = make("Ready", "False", "KubeletNotReady",
                             f"simulated: node annotated {NODE_NOT_READY}={NODE_NOT_READY_FALSE}")
    else:
        ours["Ready"] = make("Ready", "Unknown", "NodeStatusUnknown",
                             "Kubelet stopped posting node status.")
    merged = [ours.pop(str(c.get("type"))) if c.get("type") in ours else c
              for c in current or ()]
    return merged + [ours[k] for k in CONDITION_TYPES if k in ours]


def wanted_taints(spec: NodeSpec | None, current: list[Obj] | None, readiness: str) -> list[Obj]:
    """The node's taints: its current ones (or the configured ones on create) with the
    readiness taint added or removed to match ``readiness``."""
    if current is None:
        taints = [{"key": k, "value": v, "effect": e} if v else {"key": k, "effect": e}
                  for k, v, e in (spec.taints if spec else ())]
    else:
        taints = [t for t in current if t.get("key") not in (NOT_READY_TAINT, UNREACHABLE_TAINT)]
    if readiness == Readiness.FALSE:
        taints.append({"key": NOT_READY_TAINT, "effect": "NoSchedule"})
    elif readiness == Readiness.UNKNOWN:
        taints.append({"key": UNREACHABLE_TAINT, "effect": "NoSchedule"})
    return taints


def node_object(spec: NodeSpec, index: int, config: ClusterConfig, now: datetime) -> Obj:
    """The Node to create for ``spec``: labels, taints, pod range and a Ready status."""
    labels = {
        "kubernetes.io/hostname": spec.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": spec.zone,
        "node.kubernetes.io/instance-type": "mizzen-sim",
        SIM_NODE_LABEL: "true",
        **dict(spec.labels),
    }
    resources = {"cpu": spec.cpu, "memory": spec.memory, "pods": str(spec.pods),
                 "ephemeral-storage": spec.ephemeral_storage}
    ident = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{spec.name}.nodes.mizzen.dev"))
    cidr = pod_cidr(config, index)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": spec.name, "labels": labels,
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {"podCIDR": cidr, "podCIDRs": [cidr], "providerID": f"mizzen-sim://{spec.name}",
                 "taints": wanted_taints(spec, None, Readiness.TRUE)},
        "status": {
            "capacity": dict(resources),
            "allocatable": dict(resources),
            "conditions": conditions(Readiness.TRUE, now),
            "addresses": [{"type": "InternalIP", "address": node_ip(config, index)},
                          {"type": "Hostname", "address": spec.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
            "nodeInfo": {
                "machineID": ident.replace("-", ""), "systemUUID": ident, "bootID": ident,
                "kernelVersion": "6.8.0-mizzen", "osImage": "Mizzen simulated node",
                "containerRuntimeVersion": CONTAINER_RUNTIME,
                "kubeletVersion": config.kubelet_version,
                "kubeProxyVersion": config.kubelet_version,
                "operatingSystem": "linux", "architecture": "amd64",
            },
        },
    }


def lease_object(node: Obj, config: ClusterConfig, now: datetime) -> Obj:
    """The heartbeat Lease of ``node`` (owned by it, so it goes when the node goes)."""
    meta = node["metadata"]
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": meta["name"], "namespace": NODE_LEASE_NAMESPACE,
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": meta["name"],
                                 "uid": meta["uid"]}],
        },
        "spec": {"holderIdentity": meta["name"],
                 "leaseDurationSeconds": config.lease_duration,
                 "renewTime": micro_time(now)},
    }
