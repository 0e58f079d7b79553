"""A node as the scheduler sees it: the static facts, compiled once per node version.

Node objects change every few seconds (heartbeats rewrite
``status.conditions``), but what scheduling depends on changes rarely:
labels, allocatable, taints, ``spec.unschedulable`` and readiness.
:class:`NodeInfo` holds exactly that, so two versions of a node compare equal
when a change cannot affect any decision — the controller uses this to
re-examine unschedulable pods only on changes that matter.

**Readiness as taints.**  Upstream's scheduler has no readiness filter: the
node lifecycle controller taints a node ``node.kubernetes.io/not-ready``
(Ready is False) or ``node.kubernetes.io/unreachable`` (Ready is Unknown),
and pods that tolerate the taint (DaemonSet pods do) may still land there.
A Mizzen cluster may run without that controller, so the taint is implied
here from the Ready condition — a node with no Ready condition at all counts
as not ready — unless the node already carries it.  Unschedulable pods then
get upstream's message, ``node(s) had untolerated taint
{node.kubernetes.io/not-ready: }``.

``spec.unschedulable`` (cordon) is kept as a flag rather than a taint because
upstream reports it with its own reason, ``node(s) were unschedulable``; a pod
tolerating ``node.kubernetes.io/unschedulable:NoSchedule`` may still land.

Zones come from ``topology.kubernetes.io/zone`` (or the deprecated
``failure-domain.beta.kubernetes.io/zone``); a node with neither is in the
zone ``""``, which the spreading score treats like any other zone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mizzen.cluster.scheduler.quantity import CPU, MEMORY, PODS, QuantityError, to_units
from mizzen.cluster.scheduler.selectors import (
    NO_EXECUTE,
    NO_SCHEDULE,
    PREFER_NO_SCHEDULE,
    Taint,
)

__all__ = [
    "LEGACY_ZONE_LABEL",
    "NOT_READY_TAINT",
    "UNREACHABLE_TAINT",
    "UNSCHEDULABLE_TAINT",
    "ZONE_LABEL",
    "NodeInfo",
]

log = logging.getLogger(__name__)

ZONE_LABEL = "topology.kubernetes.io/zone"
LEGACY_ZONE_LABEL = "failure-domain.beta.kubernetes.io/zone"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """The scheduling-relevant facts of one node; equal iff no decision could differ."""

    name: str
    labels: Mapping[str, str]
    zone: str  # topology.kubernetes.io/zone, "" when unlabelled
    # status.allocatable in scheduler units (cpu: millicores), "pods" excluded.
    allocatable: Mapping[str, int]
    cpu: int  # allocatable millicores (also in ``allocatable``; read by every score)
    memory: int  # allocatable bytes
    max_pods: int  # status.allocatable.pods (0 when absent, as upstream)
    # NoSchedule and NoExecute taints, the implied readiness taint included.
    taints: tuple[Taint, ...]
    prefer_taints: tuple[Taint, ...]  # PreferNoSchedule taints (a score, not a filter)
    unschedulable: bool  # spec.unschedulable (cordoned)
    ready: bool  # the Ready condition is True

    @classmethod
    def of(cls, node: Mapping[str, Any]) -> NodeInfo:
        meta = node.get("metadata") or {}
        spec = node.get("spec") or {}
        status = node.get("status") or {}
        name = str(meta.get("name") or "")
        labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
        allocatable: dict[str, int] = {}
        max_pods = 0
        for resource, value in (status.get("allocatable") or {}).items():
            try:
                units = to_units(resource, value)
            except QuantityError:
                log.warning("node %s: ignoring malformed allocatable %s=%r", name, resource,
                            value)
                continue
            if resource == PODS:
                max_pods = units
            else:
                allocatable[resource] = units
        ready_status = next((str(c.get("status")) for c in status.get("conditions") or ()
                             if c.get("type") == "Ready"), "")
        taints = [Taint.of(t) for t in spec.get("taints") or ()]
        hard = [t for t in taints if t.effect in (NO_SCHEDULE, NO_EXECUTE)]
        if ready_status != "True":
            implied = UNREACHABLE_TAINT if ready_status == "Unknown" else NOT_READY_TAINT
            if not any(t.key == implied for t in hard):
                hard.append(Taint(implied, "", NO_SCHEDULE))
        return cls(
            name=name, labels=labels,
            zone=labels.get(ZONE_LABEL, labels.get(LEGACY_ZONE_LABEL, "")),
            allocatable=allocatable, cpu=allocatable.get(CPU, 0),
            memory=allocatable.get(MEMORY, 0), max_pods=max_pods, taints=tuple(hard),
            prefer_taints=tuple(t for t in taints if t.effect == PREFER_NO_SCHEDULE),
            unschedulable=bool(spec.get("unschedulable")), ready=ready_status == "True")
