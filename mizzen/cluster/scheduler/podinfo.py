"""A pod as the scheduler sees it, compiled once from the API object.

Everything the filters and scores read is parsed here, once per pod version,
so a decision over a hundred nodes never touches raw dicts or quantity
strings again.

**Effective requests** follow upstream's ``resourcehelper.PodRequests``:

1. the requests of the regular containers are summed (a missing request falls
   back to the limit, as the API server's defaulting does);
2. init containers run one at a time, so each contributes only its own peak —
   except sidecars (``restartPolicy: Always``), which keep running: they are
   added to the sum and to every later init container's peak;
3. the pod needs the larger of (1+sidecars) and the highest init peak, per
   resource;
4. ``spec.overhead`` (the RuntimeClass's) is added on top.

``nonzero_cpu``/``nonzero_memory`` repeat the computation with upstream's
defaults for containers that request nothing (100m, 200Mi): the scores use
them so that best-effort pods still spread by load instead of all looking
free.

**Spread group**: pods with the same controller owner (a ReplicaSet, a
StatefulSet, a CloneSet) spread against each other; a pod with no controller
spreads with the pods of its namespace carrying exactly the same labels; a
pod with neither has no group and does not spread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mizzen.cluster.scheduler.quantity import CPU, MEMORY, to_units
from mizzen.cluster.scheduler.selectors import (
    LabelSelector,
    NodeSelector,
    NodeSelectorTerm,
    Toleration,
)

__all__ = [
    "DEFAULT_CPU_REQUEST",
    "DEFAULT_MEMORY_REQUEST",
    "DEFAULT_SCHEDULER",
    "PodInfo",
    "SpreadConstraint",
    "pod_requests",
    "spread_group",
]

DEFAULT_SCHEDULER = "default-scheduler"
DEFAULT_CPU_REQUEST = 100  # millicores, upstream's schedutil.DefaultMilliCPURequest
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024  # bytes, schedutil.DefaultMemoryRequest

Obj = Mapping[str, Any]
Amounts = dict[str, int]


@dataclass(frozen=True, slots=True)
class SpreadConstraint:
    """A ``topologySpreadConstraints`` entry with ``whenUnsatisfiable: DoNotSchedule``."""

    max_skew: int
    topology_key: str
    # Which pods of the namespace count; None (no labelSelector) counts none.
    selector: LabelSelector | None
    # Fewer eligible domains than this make the global minimum 0 (None: unset).
    min_domains: int | None
    # The pod itself matches ``selector``: placing it adds one to its domain.
    self_match: bool
    # nodeAffinityPolicy Honor (default): only nodes matching the pod's node
    # affinity/selector make up the domains; Ignore: every node does.
    honor_affinity: bool = True
    # nodeTaintsPolicy Honor: nodes with taints the pod does not tolerate are left
    # out of the domains; Ignore (default): they count.
    honor_taints: bool = False


@dataclass(frozen=True, slots=True)
class PodInfo:
    """What scheduling needs to know about one pod (read-only, shared freely)."""

    key: str  # "namespace/name", as the cache keys it
    namespace: str
    name: str
    uid: str
    node_name: str  # spec.nodeName; "" while pending
    scheduler_name: str
    labels: Mapping[str, str] = field(compare=False)
    # Effective requests in scheduler units (cpu: millicores); only non-zero entries.
    requests: Mapping[str, int] = field(compare=False)
    nonzero_cpu: int = DEFAULT_CPU_REQUEST  # for scoring: requests with defaults for "none"
    nonzero_memory: int = DEFAULT_MEMORY_REQUEST
    node_selector: tuple[tuple[str, str], ...] = ()  # spec.nodeSelector pairs
    required: NodeSelector | None = None  # required node affinity; None: any node
    preferred: tuple[tuple[int, NodeSelectorTerm], ...] = ()  # (weight, term)
    tolerations: tuple[Toleration, ...] = ()
    spread: tuple[SpreadConstraint, ...] = ()  # DoNotSchedule constraints only
    group: str | None = None  # spread group (see the module docstring); None: no spreading
    terminal: bool = False  # Succeeded or Failed: holds no resources
    deleting: bool = False  # deletionTimestamp set: still holds resources, not counted in spread

    @classmethod
    def of(cls, pod: Obj) -> PodInfo:
        """Compile ``pod`` (raises ``QuantityError`` on a malformed quantity)."""
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        ns = str(meta.get("namespace") or "")
        name = str(meta.get("name") or "")
        labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
        affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
        required_raw = affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
        preferred = tuple(
            (int(p.get("weight") or 0), NodeSelectorTerm.of(p.get("preference") or {}))
            for p in affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or ())
        phase = (pod.get("status") or {}).get("phase")
        requests, nonzero = _effective(spec, _nonzero)
        return cls(
            key=f"{ns}/{name}" if ns else name, namespace=ns, name=name,
            uid=str(meta.get("uid") or ""), node_name=str(spec.get("nodeName") or ""),
            scheduler_name=str(spec.get("schedulerName") or DEFAULT_SCHEDULER),
            labels=labels, requests=requests,
            nonzero_cpu=nonzero.get(CPU, 0), nonzero_memory=nonzero.get(MEMORY, 0),
            node_selector=tuple(sorted((str(k), str(v))
                                       for k, v in (spec.get("nodeSelector") or {}).items())),
            required=NodeSelector.of(required_raw) if required_raw is not None else None,
            preferred=tuple(p for p in preferred if p[0]),
            tolerations=tuple(Toleration.of(t) for t in spec.get("tolerations") or ()),
            spread=_constraints(spec, labels),
            group=spread_group(meta, ns, labels),
            terminal=phase in ("Succeeded", "Failed"),
            deleting=bool(meta.get("deletionTimestamp")))

    @property
    def bound(self) -> bool:
        return bool(self.node_name)


def spread_group(meta: Obj, namespace: str, labels: Mapping[str, str]) -> str | None:
    """The controller owner's UID, else the namespace and exact label set, else None."""
    for ref in meta.get("ownerReferences") or ():
        if ref.get("controller") and ref.get("uid"):
            return f"owner:{ref['uid']}"
    if labels:
        return f"labels:{namespace}:" + ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return None


def _amounts(resources: Obj | None) -> Amounts:
    resources = resources or {}
    merged = dict(resources.get("limits") or {})
    merged.update(resources.get("requests") or {})
    out: Amounts = {}
    for name, value in merged.items():
        units = to_units(name, value)
        if units:
            out[name] = units
    return out


def _nonzero(amounts: Amounts) -> Amounts:
    """Only cpu and memory, with upstream's defaults where a container asks for none."""
    return {CPU: amounts.get(CPU) or DEFAULT_CPU_REQUEST,
            MEMORY: amounts.get(MEMORY) or DEFAULT_MEMORY_REQUEST}


def _add(into: Amounts, more: Mapping[str, int]) -> None:
    for name, value in more.items():
        into[name] = into.get(name, 0) + value


def _max(into: Amounts, other: Mapping[str, int]) -> None:
    for name, value in other.items():
        if value > into.get(name, 0):
            into[name] = value


def _combine(containers: Iterable[Amounts], inits: Iterable[tuple[Amounts, bool]],
             overhead: Mapping[str, int]) -> Amounts:
    total: Amounts = {}
    for amounts in containers:
        _add(total, amounts)
    sidecars: Amounts = {}
    init_peak: Amounts = {}
    for own, sidecar in inits:
        if sidecar:
            _add(total, own)
            _add(sidecars, own)
            peak = dict(sidecars)
        else:
            peak = dict(own)
            _add(peak, sidecars)
        _max(init_peak, peak)
    _max(total, init_peak)
    _add(total, overhead)
    return total


def pod_requests(spec: Obj, per_container: Callable[[Amounts], Amounts] | None = None
                 ) -> dict[str, int]:
    """The pod's effective requests (see the module docstring), overhead included.

    ``per_container`` rewrites each container's amounts first (``_nonzero``
    gives the scoring variant).
    """
    return _effective(spec, per_container)[0]


def _effective(spec: Obj, variant: Callable[[Amounts], Amounts] | None = None
               ) -> tuple[Amounts, Amounts]:
    """(effective requests, the same with ``variant`` applied per container)."""
    containers = [_amounts(c.get("resources")) for c in spec.get("containers") or ()]
    inits = [(_amounts(c.get("resources")), c.get("restartPolicy") == "Always")
             for c in spec.get("initContainers") or ()]
    overhead = {n: to_units(n, v) for n, v in (spec.get("overhead") or {}).items()}
    requests = _combine(containers, inits, overhead)
    varied = requests
    if variant is not None:
        varied = _combine([variant(a) for a in containers],
                          [(variant(a), s) for a, s in inits], overhead)
    return {k: v for k, v in requests.items() if v}, varied


def _constraints(spec: Obj, labels: Mapping[str, str]) -> tuple[SpreadConstraint, ...]:
    out: list[SpreadConstraint] = []
    for raw in spec.get("topologySpreadConstraints") or ():
        if raw.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
            continue
        raw_selector = raw.get("labelSelector")
        selector = None
        if raw_selector is not None:
            keys: Iterable[str] = raw.get("matchLabelKeys") or ()
            extra = [(k, labels[k]) for k in keys if k in labels]
            selector = LabelSelector.of(raw_selector, extra)
        min_domains = raw.get("minDomains")
        out.append(SpreadConstraint(
            max_skew=int(raw.get("maxSkew") or 1), topology_key=str(raw.get("topologyKey")),
            selector=selector, min_domains=int(min_domains) if min_domains else None,
            self_match=selector is not None and selector.matches(labels),
            honor_affinity=raw.get("nodeAffinityPolicy", "Honor") != "Ignore",
            honor_taints=raw.get("nodeTaintsPolicy", "Ignore") == "Honor"))
    return tuple(out)
