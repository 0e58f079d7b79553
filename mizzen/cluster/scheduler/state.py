"""The scheduler's own view of the cluster: per-node totals kept up to date incrementally.

A decision must not rescan every pod of the cluster (the benchmark schedules
10,000 pods; O(pods × nodes) per decision would take minutes), so this module
keeps, per node, the running sums the filters and scores read, and per spread
group the pod counts by node and by zone.  Every change is an O(1) update:
a pod bound, a pod gone, a node's zone relabelled (O(pods on that node)).

**Fed by two sources:**

* the informers: :meth:`ClusterState.observe_pod` / :meth:`remove_pod` for
  every pod event, :meth:`set_node` / :meth:`remove_node` for every node event;
* the scheduler itself: :meth:`assume` records a pod on the node just chosen,
  *before* the binding is sent, exactly as kube-scheduler's cache does.  The
  informer will show the binding only later, and the next decision — possibly
  in the same millisecond, on another worker — must already see that capacity
  as taken.  When the informer's version of the pod shows it bound, the
  assumption becomes a confirmed entry (same totals, nothing double counted:
  entries are keyed by pod).  A failed binding calls :meth:`forget`.

An assumed pod survives informer events that still show it pending (they are
older than our binding); it is replaced by whatever node the informer reports
once it is bound (normally ours), and removed by the pod's deletion.

**What counts.**  Pods bound to a node (or assumed) hold their effective
requests and one pod slot until they are deleted or reach Succeeded/Failed;
pods being deleted still hold resources but no longer count for spreading,
as upstream.  Pods bound to nodes the state has not seen are tracked and
counted as soon as the node appears.

**Topology spread** needs "matching pods per node" for arbitrary label
selectors; :meth:`selector_counts` builds such a count the first time a
selector is asked for (one scan) and then maintains it with every pod change.

Readers — the planner — get :class:`NodeState` objects and count mappings that
this class keeps changing: they must only read them, and only between awaits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mizzen.cluster.scheduler.nodeinfo import NodeInfo
from mizzen.cluster.scheduler.podinfo import PodInfo
from mizzen.cluster.scheduler.quantity import CPU, MEMORY, QuantityError
from mizzen.cluster.scheduler.selectors import LabelSelector

__all__ = ["ClusterState", "NodeState"]

log = logging.getLogger(__name__)
Obj = Mapping[str, Any]
_NO_COUNTS: Mapping[str, int] = {}


class NodeState:
    """A node's static facts plus the totals of the pods on it (read-only to callers)."""

    __slots__ = ("info", "nonzero_cpu", "nonzero_memory", "pod_count", "requested",
                 "requested_cpu", "requested_memory")

    def __init__(self, info: NodeInfo) -> None:
        self.info = info
        self.requested: dict[str, int] = {}  # summed effective requests of its pods
        self.requested_cpu = 0  # requested["cpu"], kept apart for the planner's hot loop
        self.requested_memory = 0  # requested["memory"]
        self.nonzero_cpu = 0  # summed requests with upstream's defaults (for scoring)
        self.nonzero_memory = 0
        self.pod_count = 0

    @property
    def name(self) -> str:
        return self.info.name

    def _add(self, pod: PodInfo, sign: int) -> None:
        requested = self.requested
        for name, amount in pod.requests.items():
            requested[name] = requested.get(name, 0) + sign * amount
        self.requested_cpu = requested.get(CPU, 0)
        self.requested_memory = requested.get(MEMORY, 0)
        self.nonzero_cpu += sign * pod.nonzero_cpu
        self.nonzero_memory += sign * pod.nonzero_memory
        self.pod_count += sign


@dataclass(slots=True)
class _Entry:
    info: PodInfo
    node: str
    zone: str  # the zone it is counted under in the group's zone counts
    assumed: bool  # chosen by us, binding not yet seen in the informer


class ClusterState:
    """Nodes, the pods on them, and the aggregates decisions read."""

    def __init__(self) -> None:
        self._nodes: dict[str, NodeState] = {}
        self._sorted: list[NodeState] | None = None
        self._pods: dict[str, _Entry] = {}
        self._on_node: dict[str, set[str]] = {}
        # spread group -> node -> pods, and group -> zone -> pods
        self._group_nodes: dict[str, dict[str, int]] = {}
        self._group_zones: dict[str, dict[str, int]] = {}
        # (namespace, selector) -> node -> matching pods
        self._selectors: dict[tuple[str, LabelSelector], dict[str, int]] = {}

    # -- reads -------------------------------------------------------------------------

    def nodes(self) -> Sequence[NodeState]:
        """Every known node, by name."""
        if self._sorted is None:
            self._sorted = sorted(self._nodes.values(), key=lambda n: n.info.name)
        return self._sorted

    def node(self, name: str) -> NodeState | None:
        return self._nodes.get(name)

    def group_counts(self, group: str) -> tuple[Mapping[str, int], Mapping[str, int]]:
        """Pods of a spread group per zone and per node."""
        return self._group_zones.get(group, _NO_COUNTS), self._group_nodes.get(group, _NO_COUNTS)

    def selector_counts(self, namespace: str, selector: LabelSelector) -> Mapping[str, int]:
        """Pods of ``namespace`` matching ``selector`` per node (not counting deleting ones)."""
        key = (namespace, selector)
        counts = self._selectors.get(key)
        if counts is None:
            counts = {}
            for entry in self._pods.values():
                info = entry.info
                if (not info.deleting and info.namespace == namespace
                        and selector.matches(info.labels)):
                    counts[entry.node] = counts.get(entry.node, 0) + 1
            self._selectors[key] = counts
        return counts

    def is_assumed(self, key: str) -> bool:
        entry = self._pods.get(key)
        return entry is not None and entry.assumed

    def node_of(self, key: str) -> str | None:
        """The node a pod is counted on (bound or assumed), if any."""
        entry = self._pods.get(key)
        return entry.node if entry is not None else None

    def pods_on(self, node: str) -> list[PodInfo]:
        return [self._pods[k].info for k in sorted(self._on_node.get(node, ()))]

    @property
    def assumed(self) -> int:
        """Pods assumed and not yet confirmed by the informer."""
        return sum(1 for e in self._pods.values() if e.assumed)

    def __len__(self) -> int:
        """Pods holding capacity (bound or assumed)."""
        return len(self._pods)

    # -- nodes -------------------------------------------------------------------------

    def set_node(self, node: Obj) -> bool:
        """Add or update a node; ``True`` if anything scheduling depends on changed."""
        info = NodeInfo.of(node)
        state = self._nodes.get(info.name)
        if state is None:
            state = self._nodes[info.name] = NodeState(info)
            self._sorted = None
            for key in self._on_node.get(info.name, ()):
                state._add(self._pods[key].info, 1)
        elif state.info == info:
            return False
        else:
            state.info = info
        self._rezone(info.name, info.zone)
        return True

    def remove_node(self, name: str) -> bool:
        """Forget a node (its pods stay tracked until they are deleted)."""
        if self._nodes.pop(name, None) is None:
            return False
        self._sorted = None
        return True

    def _rezone(self, node: str, zone: str) -> None:
        for key in self._on_node.get(node, ()):
            entry = self._pods[key]
            if entry.zone == zone:
                continue
            group = entry.info.group
            if group is not None and not entry.info.deleting:
                _bump(self._group_zones, group, entry.zone, -1)
                _bump(self._group_zones, group, zone, 1)
            entry.zone = zone

    # -- pods --------------------------------------------------------------------------

    def observe_pod(self, pod: Obj) -> None:
        """Apply the informer's latest version of a pod."""
        meta = pod.get("metadata") or {}
        ns, name = meta.get("namespace") or "", meta.get("name") or ""
        key = f"{ns}/{name}" if ns else str(name)
        node = (pod.get("spec") or {}).get("nodeName") or ""
        terminal = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        entry = self._pods.get(key)
        if not node or terminal:
            if entry is not None and (terminal or not entry.assumed):
                self._drop(key)
            return
        if (entry is not None and entry.node == node and entry.info.uid == meta.get("uid")
                and entry.info.deleting == bool(meta.get("deletionTimestamp"))
                and entry.info.labels == (meta.get("labels") or {})):
            entry.assumed = False  # the informer caught up with our binding
            return
        try:
            info = PodInfo.of(pod)
        except QuantityError as exc:
            log.warning("pod %s: %s; not counted", key, exc)
            return
        if entry is not None:
            self._drop(key)
        self._put(_Entry(info, node, "", assumed=False))

    def remove_pod(self, key: str) -> None:
        """The pod was deleted."""
        if key in self._pods:
            self._drop(key)

    def assume(self, pod: PodInfo, node: str) -> None:
        """Count ``pod`` on ``node`` now, before its binding is written."""
        if pod.key in self._pods:
            self._drop(pod.key)
        self._put(_Entry(pod, node, "", assumed=True))

    def forget(self, key: str) -> None:
        """Drop an assumption whose binding failed (confirmed entries are kept)."""
        entry = self._pods.get(key)
        if entry is not None and entry.assumed:
            self._drop(key)

    def _put(self, entry: _Entry) -> None:
        info, node = entry.info, entry.node
        self._pods[info.key] = entry
        self._on_node.setdefault(node, set()).add(info.key)
        state = self._nodes.get(node)
        if state is not None:
            state._add(info, 1)
            entry.zone = state.info.zone
        self._count(entry, 1)

    def _drop(self, key: str) -> None:
        entry = self._pods.pop(key)
        keys = self._on_node.get(entry.node)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._on_node[entry.node]
        state = self._nodes.get(entry.node)
        if state is not None:
            state._add(entry.info, -1)
        self._count(entry, -1)

    def _count(self, entry: _Entry, sign: int) -> None:
        info = entry.info
        if info.deleting:
            return
        if info.group is not None:
            _bump(self._group_nodes, info.group, entry.node, sign)
            _bump(self._group_zones, info.group, entry.zone, sign)
        for (namespace, selector), counts in self._selectors.items():
            if namespace == info.namespace and selector.matches(info.labels):
                value = counts.get(entry.node, 0) + sign
                if value:
                    counts[entry.node] = value
                else:
                    counts.pop(entry.node, None)


def _bump(table: dict[str, dict[str, int]], group: str, where: str, sign: int) -> None:
    counts = table.get(group)
    if counts is None:
        counts = table[group] = {}
    value = counts.get(where, 0) + sign
    if value:
        counts[where] = value
    else:
        del counts[where]
        if not counts:
            del table[group]
