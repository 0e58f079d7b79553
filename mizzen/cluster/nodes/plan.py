"""What to do next for one simulated node: pure, one write at most.

:func:`plan_node` looks at what the configuration wants, the cached Node and
its cached Lease, and the time, and names the single write that brings them
closest to the truth, in this order:

1. a node removed at run time: delete the Node, then its Lease;
2. a configured node with no Node object: create it (status included);
3. the Ready condition disagrees with the node's ``NODE_NOT_READY``
   annotation, or its heartbeat is older than ``node_status_report_interval``:
   patch ``nodes/status`` (the kubelet's "on change or every few minutes");
4. the readiness taint disagrees with the condition: patch the Node's taints;
5. the Lease is missing or older than ``heartbeat_interval``: create or renew
   it — unless the node is Unknown, whose kubelet has stopped heartbeating.

Nothing due: no write, and look again when the next renewal or report falls
due.  After a write the controller's watch brings the next pass; the plan
still asks for a look after one heartbeat interval, so a write that changed
nothing (and so caused no event) cannot stall the heartbeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from mizzen.cluster.config import SIM_NODE_LABEL, ClusterConfig, NodeSpec
from mizzen.cluster.nodes.objects import (
    Readiness,
    conditions,
    lease_object,
    micro_time,
    node_object,
    parse_time,
    readiness_of,
    wanted_taints,
)

__all__ = ["NodeAction", "NodeInputs", "NodePlan", "plan_node"]

Obj = dict[str, Any]


class NodeAction(StrEnum):
    """The one kind of write a pass makes."""

    NONE = "none"
    CREATE_NODE = "create-node"
    DELETE_NODE = "delete-node"
    PATCH_STATUS = "patch-status"  # merge patch of nodes/status (conditions)
    PATCH_TAINTS = "patch-taints"  # merge patch of spec.taints, with the resourceVersion
    CREATE_LEASE = "create-lease"
    RENEW_LEASE = "renew-lease"  # update (PUT) of the Lease, with its resourceVersion
    DELETE_LEASE = "delete-lease"


@dataclass(frozen=True, slots=True)
class NodeInputs:
    """Everything the planner may look at for one node."""

    # The node's configuration; None when it is not (or no longer) simulated.
    spec: NodeSpec | None
    # Position of the node, for its InternalIP and pod range.
    index: int
    # Removed at run time: what is left of it in the API is deleted.
    removed: bool
    # The cached Node and Lease (read-only), None when absent.
    node: Obj | None
    lease: Obj | None
    now: datetime
    config: ClusterConfig


@dataclass(frozen=True, slots=True)
class NodePlan:
    """The decision of one pass."""

    # Which write to make (NONE: nothing is due).
    action: NodeAction
    # The object to create, the patch, or the full Lease to update; None for NONE/deletes.
    body: Obj | None = None
    # Look again after this many seconds (None: only on the next event).
    requeue_after: float | None = None


def _sim(obj: Obj | None) -> bool:
    return SIM_NODE_LABEL in (((obj or {}).get("metadata") or {}).get("labels") or {})


def _conditions_differ(current: list[Obj], wanted: list[Obj]) -> bool:
    def key(items: list[Obj]) -> dict[str, tuple[Any, Any]]:
        return {str(c.get("type")): (c.get("status"), c.get("reason")) for c in items}

    return key(current) != key(wanted)


def _ready_heartbeat(current: list[Obj]) -> datetime | None:
    for c in current:
        if c.get("type") == "Ready":
            return parse_time(c.get("lastHeartbeatTime"))
    return None


def _seconds(later: datetime, now: datetime) -> float:
    return max((later - now).total_seconds(), 0.0)


def plan_node(inp: NodeInputs) -> NodePlan:
    """The next write for one node (see the module docstring for the order)."""
    cfg, now, node, lease = inp.config, inp.now, inp.node, inp.lease
    safety = cfg.heartbeat_interval
    if inp.removed:
        if node is not None and _sim(node):
            return NodePlan(NodeAction.DELETE_NODE)
        if lease is not None:
            return NodePlan(NodeAction.DELETE_LEASE)
        return NodePlan(NodeAction.NONE)
    if inp.spec is None:
        return NodePlan(NodeAction.NONE)
    if node is None:
        return NodePlan(NodeAction.CREATE_NODE, node_object(inp.spec, inp.index, cfg, now),
                        safety)

    readiness = readiness_of(node)
    current: list[Obj] = list((node.get("status") or {}).get("conditions") or ())
    wanted = conditions(readiness, now, current)
    heartbeat = _ready_heartbeat(current)
    report_due = (heartbeat + timedelta(seconds=cfg.node_status_report_interval)
                  if heartbeat is not None else now)
    stale = readiness != Readiness.UNKNOWN and report_due <= now
    if _conditions_differ(current, wanted) or stale:
        return NodePlan(NodeAction.PATCH_STATUS, {"status": {"conditions": wanted}}, safety)

    taints: list[Obj] = list((node.get("spec") or {}).get("taints") or ())
    taints_wanted = wanted_taints(inp.spec, taints, readiness)
    if taints_wanted != taints:
        rv = node["metadata"].get("resourceVersion")
        return NodePlan(NodeAction.PATCH_TAINTS, {"metadata": {"resourceVersion": rv},
                                                  "spec": {"taints": taints_wanted}}, safety)

    if readiness == Readiness.UNKNOWN:
        return NodePlan(NodeAction.NONE)  # no heartbeats, no periodic reports
    if lease is None:
        return NodePlan(NodeAction.CREATE_LEASE, lease_object(node, cfg, now), safety)
    renewed = parse_time((lease.get("spec") or {}).get("renewTime"))
    renew_due = (renewed + timedelta(seconds=cfg.heartbeat_interval)
                 if renewed is not None else now)
    if renew_due <= now:
        body = {**lease, "spec": {**(lease.get("spec") or {}),
                                  "holderIdentity": node["metadata"]["name"],
                                  "leaseDurationSeconds": cfg.lease_duration,
                                  "renewTime": micro_time(now)}}
        return NodePlan(NodeAction.RENEW_LEASE, body, safety)
    return NodePlan(NodeAction.NONE,
                    requeue_after=_seconds(min(renew_due, report_due), now) or None)
