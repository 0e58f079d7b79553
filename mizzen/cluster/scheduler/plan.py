"""Where one pod should run: filters, then scores, over the state's per-node totals.

:func:`plan` is pure — a compiled pod and a read-only :class:`Snapshot` in, a
frozen :class:`Decision` out, no I/O and no clock (nothing it decides depends
on the time: backoff and timestamps belong to the controller).  It costs
O(nodes) per pod with small constants, because the snapshot already holds
every per-node sum (see ``state.py``).

**Filters**, in upstream's plugin order; a node fails on the first that
rejects it, and the reason is counted for the message:

===================  ==========================================================
NodeUnschedulable    ``spec.unschedulable`` unless the pod tolerates
                     ``node.kubernetes.io/unschedulable:NoSchedule``
TaintToleration      the first NoSchedule/NoExecute taint the pod does not
                     tolerate (readiness taints included, see ``nodeinfo.py``)
NodeAffinity         ``nodeSelector`` and the required node affinity
NodeResourcesFit     the pod slot ("Too many pods"), then every requested
                     resource ("Insufficient cpu", ...) — all that fail count
PodTopologySpread    each ``DoNotSchedule`` constraint: the skew of the
                     node's domain after placing the pod must stay within
                     ``maxSkew``; ``minDomains``, ``matchLabelKeys`` and
                     both node-inclusion policies are honoured
                     (``ScheduleAnyway`` constraints are not scored)
===================  ==========================================================

**Scores**, compared in this order (a lexicographic key, not upstream's
weighted sum, so the outcome is easy to predict and to test):

1. fewest PreferNoSchedule taints the pod does not tolerate;
2. highest sum of matching ``preferredDuringScheduling`` node-affinity weights;
3. fewest pods of the pod's spread group in the node's **zone**, then on the
   **node** — so replicas of one owner go round the zones, then round the
   nodes of each zone;
4. least allocated: the smallest (cpu + memory) fraction of allocatable after
   placing the pod, using requests with upstream's defaults for containers
   that request nothing;
5. a stable tiebreak: the CRC-32 of pod key and node name, so pods facing
   equal nodes spread over them instead of piling onto the first by name.

**The message** for an unschedulable pod is upstream's ``FitError``:
``0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector,
2 Insufficient cpu.`` — one ``"<count> <reason>"`` per reason, sorted as
strings (as Go's ``sort.Strings`` does), without the preemption suffix since
Mizzen does not preempt.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from mizzen.cluster.scheduler.nodeinfo import UNSCHEDULABLE_TAINT, NodeInfo
from mizzen.cluster.scheduler.podinfo import PodInfo
from mizzen.cluster.scheduler.quantity import CPU, MEMORY
from mizzen.cluster.scheduler.selectors import NO_SCHEDULE, LabelSelector, Taint, tolerated
from mizzen.cluster.scheduler.state import NodeState

__all__ = [
    "NO_NODES",
    "REASON_AFFINITY",
    "REASON_SPREAD",
    "REASON_SPREAD_LABEL",
    "REASON_TOO_MANY_PODS",
    "REASON_UNSCHEDULABLE",
    "Decision",
    "Snapshot",
    "fit_message",
    "plan",
]

NO_NODES = "no nodes available to schedule pods"
REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
REASON_TOO_MANY_PODS = "Too many pods"
REASON_SPREAD = "node(s) didn't match pod topology spread constraints"
REASON_SPREAD_LABEL = REASON_SPREAD + " (missing required label)"
_UNSCHEDULABLE_TAINT = Taint(UNSCHEDULABLE_TAINT, "", NO_SCHEDULE)


class Snapshot(Protocol):
    """What a decision reads (``state.ClusterState`` implements it)."""

    def nodes(self) -> Sequence[NodeState]: ...

    def group_counts(self, group: str) -> tuple[Mapping[str, int], Mapping[str, int]]: ...

    def selector_counts(self, namespace: str, selector: LabelSelector) -> Mapping[str, int]: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one pod."""

    # The node to bind the pod to; None when no node passes every filter.
    node: str | None
    # Upstream's FailedScheduling message when ``node`` is None, else "".
    message: str
    # How many nodes passed every filter (the candidates that were scored).
    feasible: int
    # Nodes rejected, per reason, sorted by reason (a node short of both cpu and
    # memory counts under each).
    reasons: tuple[tuple[str, int], ...] = ()

    @property
    def schedulable(self) -> bool:
        return self.node is not None


def fit_message(total: int, reasons: Mapping[str, int]) -> str:
    """``0/<total> nodes are available: <n> <reason>, ... .`` as upstream's FitError."""
    if total == 0:
        return NO_NODES
    message = f"0/{total} nodes are available:"
    parts = sorted(f"{count} {reason}" for reason, count in reasons.items())
    if parts:
        message += " " + ", ".join(parts) + "."
    return message


def plan(pod: PodInfo, snapshot: Snapshot) -> Decision:
    """Choose a node for ``pod``, or explain why none fits."""
    nodes = snapshot.nodes()
    reasons: dict[str, int] = {}
    feasible = _filter(pod, nodes, reasons)
    if pod.spread and feasible:
        feasible = _spread_filter(pod, nodes, feasible, snapshot, reasons)
    ordered = tuple(sorted(reasons.items()))
    if not feasible:
        return Decision(None, fit_message(len(nodes), reasons), 0, ordered)
    return Decision(_best(pod, feasible, snapshot), "", len(feasible), ordered)


# -- filters -----------------------------------------------------------------------------


def _filter(pod: PodInfo, nodes: Sequence[NodeState], reasons: dict[str, int]
            ) -> list[NodeState]:
    """The nodes passing every per-node filter.  This loop runs nodes × pods times, so
    the common case (no selector, no taints, room left) reads a few attributes only."""
    constrained = bool(pod.node_selector) or pod.required is not None
    cpu, memory = pod.requests.get(CPU, 0), pod.requests.get(MEMORY, 0)
    others = tuple((k, v) for k, v in pod.requests.items() if k != CPU and k != MEMORY)
    feasible: list[NodeState] = []
    for n in nodes:
        info = n.info
        if constrained or info.taints or info.unschedulable:
            reason = _static_reason(pod, info)
            if reason is not None:
                reasons[reason] = reasons.get(reason, 0) + 1
                continue
        if (n.pod_count < info.max_pods
                and (not cpu or n.requested_cpu + cpu <= info.cpu)
                and (not memory or n.requested_memory + memory <= info.memory)
                and (not others or _fits_others(n, others))):
            feasible.append(n)
        else:
            _count_misfits(pod, n, reasons)
    return feasible


def _fits_others(node: NodeState, others: tuple[tuple[str, int], ...]) -> bool:
    requested, allocatable = node.requested, node.info.allocatable
    return all(requested.get(k, 0) + v <= allocatable.get(k, 0) for k, v in others)


def _count_misfits(pod: PodInfo, node: NodeState, reasons: dict[str, int]) -> None:
    """Every NodeResourcesFit reason of a node that does not fit (upstream lists them all)."""
    info = node.info
    if node.pod_count + 1 > info.max_pods:
        reasons[REASON_TOO_MANY_PODS] = reasons.get(REASON_TOO_MANY_PODS, 0) + 1
    requested, allocatable = node.requested, info.allocatable
    for name, amount in pod.requests.items():
        if requested.get(name, 0) + amount > allocatable.get(name, 0):
            short = f"Insufficient {name}"
            reasons[short] = reasons.get(short, 0) + 1


def _static_reason(pod: PodInfo, info: NodeInfo) -> str | None:
    """Why the node is excluded whatever its load (None: it is not)."""
    if info.unschedulable and not tolerated(pod.tolerations, _UNSCHEDULABLE_TAINT):
        return REASON_UNSCHEDULABLE
    for taint in info.taints:
        if not tolerated(pod.tolerations, taint):
            return f"node(s) had untolerated taint {taint.describe()}"
    if not _affinity_matches(pod, info):
        return REASON_AFFINITY
    return None


def _affinity_matches(pod: PodInfo, info: NodeInfo) -> bool:
    labels = info.labels
    for key, value in pod.node_selector:
        if labels.get(key) != value:
            return False
    return pod.required is None or pod.required.matches(labels, info.name)


def _spread_filter(pod: PodInfo, nodes: Sequence[NodeState], candidates: list[NodeState],
                   snapshot: Snapshot, reasons: dict[str, int]) -> list[NodeState]:
    keys = [c.topology_key for c in pod.spread]
    # Only nodes carrying every constraint's topology key make up domains; each
    # constraint's node-inclusion policies may narrow that further.
    labelled = [n for n in nodes if all(k in n.info.labels for k in keys)]
    limits: list[tuple[str, Mapping[str, int], int]] = []
    for c in pod.spread:
        matching = (snapshot.selector_counts(pod.namespace, c.selector)
                    if c.selector is not None else {})
        per_domain: dict[str, int] = {}
        for n in labelled:
            info = n.info
            if c.honor_affinity and not _affinity_matches(pod, info):
                continue
            if c.honor_taints and any(not tolerated(pod.tolerations, t) for t in info.taints):
                continue
            domain = info.labels[c.topology_key]
            per_domain[domain] = per_domain.get(domain, 0) + matching.get(info.name, 0)
        floor = min(per_domain.values(), default=0)
        if c.min_domains is not None and len(per_domain) < c.min_domains:
            floor = 0
        # skew = matching pods in the domain + the pod itself - the global minimum
        limits.append((c.topology_key, per_domain, floor + c.max_skew - int(c.self_match)))
    survivors: list[NodeState] = []
    for n in candidates:
        labels = n.info.labels
        if any(k not in labels for k in keys):
            reasons[REASON_SPREAD_LABEL] = reasons.get(REASON_SPREAD_LABEL, 0) + 1
        elif all(per_domain.get(labels[key], 0) <= most
                 for key, per_domain, most in limits):
            survivors.append(n)
        else:
            reasons[REASON_SPREAD] = reasons.get(REASON_SPREAD, 0) + 1
    return survivors


# -- scores ------------------------------------------------------------------------------


def _best(pod: PodInfo, feasible: list[NodeState], snapshot: Snapshot) -> str:
    if len(feasible) == 1:
        return feasible[0].info.name
    zones, per_node = snapshot.group_counts(pod.group) if pod.group else ({}, {})
    cpu, memory = pod.nonzero_cpu, pod.nonzero_memory
    preferred = bool(pod.preferred)
    best_head: tuple[int, int, int, int] | None = None
    best_load = 0.0
    tied: list[str] = []
    for n in feasible:
        info = n.info
        # scores 1-3: cheap integers first, so most nodes are dismissed before the load
        head = (_untolerated_soft_taints(pod, info) if info.prefer_taints else 0,
                -_preference(pod, info) if preferred else 0,
                zones.get(info.zone, 0) if zones else 0,
                per_node.get(info.name, 0) if per_node else 0)
        if best_head is not None and head > best_head:
            continue
        # score 4, least allocated: cpu and memory fractions after placing the pod, each <= 1
        used_cpu = (n.nonzero_cpu + cpu) / info.cpu if info.cpu else 1.0
        used_memory = (n.nonzero_memory + memory) / info.memory if info.memory else 1.0
        load = (used_cpu if used_cpu < 1.0 else 1.0) + (
            used_memory if used_memory < 1.0 else 1.0)
        if best_head is None or head < best_head or load < best_load:
            best_head, best_load, tied = head, load, [info.name]
        elif load == best_load:
            tied.append(info.name)
    if len(tied) == 1:
        return tied[0]
    # score 5: a stable per-pod shuffle of the equal nodes
    seed = zlib.crc32(pod.key.encode())
    return min(tied, key=lambda name: (zlib.crc32(name.encode(), seed), name))


def _untolerated_soft_taints(pod: PodInfo, info: NodeInfo) -> int:
    return sum(1 for t in info.prefer_taints if not tolerated(pod.tolerations, t))


def _preference(pod: PodInfo, info: NodeInfo) -> int:
    """The summed weights of the preferred node-affinity terms the node matches."""
    return sum(w for w, term in pod.preferred if term.matches(info.labels, info.name))
