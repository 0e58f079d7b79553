"""Table (``meta.k8s.io/v1``) rendering: the rows ``kubectl get`` prints.

kubectl does not format built-in objects: it asks for ``as=Table`` and prints
the cells the server computed, so columns and cells follow kube-apiserver
1.32's printers.  Like the real server, this always computes the wide form and
marks wide-only columns ``priority: 1`` (kubectl shows them with ``-o wide``).

A :class:`Printer` pairs column definitions with one function from an object to
its cells.  Built-in kinds have printers, found by group and plural; everything
else gets Name and Age.  Custom resources bring a second source of printers,
built from ``additionalPrinterColumns`` (JSONPath cells, ``date`` cells via
:func:`since`); the Table envelope around the rows is :mod:`~mizzen.apiserver.tablerows`.

A printer never reads the clock: a cell that depends on it (an age, a pod's last
restart) is a :class:`Since`, turned into text by :func:`render_cells` with the
``now`` of each response.  So a row's cells are a function of the object alone,
which lets lists cache them per stored version (:mod:`~mizzen.apiserver.tablerows`),
and output stays deterministic in tests and watches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from mizzen.apiserver.resources import ResourceInfo
from mizzen.apiserver.scale import selector_string

Obj = dict[str, Any]
CellsFn = Callable[[Obj], list[Any]]  # cells, with Since where the clock matters


@dataclass(frozen=True, slots=True)
class Column:
    """One ``columnDefinitions`` entry (``asdict`` gives the wire form)."""

    name: str
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Printer:
    """The columns of one kind and how to compute a row's cells (always the wide form)."""

    columns: tuple[Column, ...]
    cells: CellsFn


def _get(obj: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def _str(obj: Any, *keys: str) -> str:
    v = _get(obj, *keys)
    return "" if v is None else str(v)


def _int(obj: Any, *keys: str, default: int = 0) -> int:
    v = _get(obj, *keys)
    return v if isinstance(v, int) and not isinstance(v, bool) else default


def _dicts(value: Any) -> list[Obj]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 ``Time``/``MicroTime`` string as an aware datetime (``None`` if unset)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def human_duration(d: timedelta) -> str:
    """apimachinery's ``duration.HumanDuration``: two or three significant figures."""
    seconds = int(d.total_seconds())  # truncates toward zero, as Go's int() does
    minutes, hours = seconds // 60, seconds // 3600
    days, years = hours // 24, hours // (24 * 365)
    steps: tuple[tuple[bool, str, int, str], ...] = (
        (seconds < 120, f"{seconds}s", 0, ""),
        (minutes < 10, f"{minutes}m", seconds % 60, "s"),
        (minutes < 180, f"{minutes}m", 0, ""),
        (hours < 8, f"{hours}h", minutes % 60, "m"),
        (hours < 48, f"{hours}h", 0, ""),
        (hours < 24 * 8, f"{days}d", hours % 24, "h"),
        (hours < 24 * 365 * 2, f"{days}d", 0, ""),
        (hours < 24 * 365 * 8, f"{years}y", days % 365, "d"),
    )
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    for below, text, rest, unit in steps:
        if below:
            return f"{text}{rest}{unit}" if rest else text
    return f"{years}y"


@dataclass(frozen=True, slots=True)
class Since:
    """A cell that reads the clock: how long ago ``when`` was, between ``prefix`` and
    ``suffix`` (a pod's restarts read ``2 (5m ago)``)."""

    when: datetime
    prefix: str = ""
    suffix: str = ""

    def text(self, now: datetime) -> str:
        return self.prefix + human_duration(now - self.when) + self.suffix


def since(value: Any) -> Since | str:
    """``translateTimestampSince`` of a timestamp: its age, ``<unknown>`` if unset."""
    t = parse_time(value)
    return "<unknown>" if t is None else Since(t)


def age(value: Any, now: datetime) -> str:
    """The human age of a timestamp at ``now``, ``<unknown>`` if unset."""
    cell = since(value)
    return cell.text(now) if isinstance(cell, Since) else cell


def render_cells(cells: list[Any], now: datetime) -> list[Any]:
    """A printer's cells as sent: every :class:`Since` as its text at ``now``."""
    return [c.text(now) if type(c) is Since else c for c in cells]


def _name(obj: Obj) -> str:
    return _str(obj, "metadata", "name")


def _age(obj: Obj) -> Since | str:
    return since(_get(obj, "metadata", "creationTimestamp"))


def format_labels(labels: Any) -> str:
    """``labels.FormatLabels``: sorted ``k=v`` pairs, ``<none>`` when empty."""
    if not isinstance(labels, dict) or not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def _template(obj: Obj, *, selector: bool = True, none: str = "<none>") -> list[str]:
    containers = _dicts(_get(obj, "spec", "template", "spec", "containers"))
    cells = [",".join(_str(c, "name") for c in containers),
             ",".join(_str(c, "image") for c in containers)]
    return cells + [selector_string(_get(obj, "spec", "selector")) or none] if selector else cells


def _exit_reason(term: Obj) -> str:
    signal = _int(term, "signal")
    return f"Signal:{signal}" if signal else f"ExitCode:{_int(term, 'exitCode')}"


def _condition(status: Obj, kind: str) -> Obj:
    return next((c for c in _dicts(status.get("conditions")) if c.get("type") == kind), {})


def _later(last: datetime | None, cs: Obj) -> datetime | None:
    """The later of ``last`` and when container status ``cs`` last terminated."""
    finished = parse_time(_get(cs, "lastState", "terminated", "finishedAt"))
    return finished if last is None or (finished is not None and finished > last) else last


def pod_status(pod: Obj) -> tuple[int, int, str, int, datetime | None]:
    """(ready, total, status text, restarts, last restart) exactly as kubectl shows a pod."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase = str(status.get("phase") or "Pending")
    reason = str(status.get("reason") or phase)
    if _condition(status, "PodScheduled").get("reason") == "SchedulingGated":
        reason = "SchedulingGated"
    init_specs = _dicts(spec.get("initContainers"))
    sidecars = {c.get("name") for c in init_specs if c.get("restartPolicy") == "Always"}
    total = len(_dicts(spec.get("containers"))) + len(sidecars)
    ready = restarts = sidecar_restarts = 0
    last: datetime | None = None
    sidecar_last, initializing = last, False
    for i, cs in enumerate(_dicts(status.get("initContainerStatuses"))):
        restarts += _int(cs, "restartCount")
        last = _later(last, cs)
        sidecar = cs.get("name") in sidecars
        if sidecar:
            sidecar_restarts += _int(cs, "restartCount")
            sidecar_last = _later(sidecar_last, cs)
        term, waiting = _get(cs, "state", "terminated"), _str(cs, "state", "waiting", "reason")
        if isinstance(term, dict) and _int(term, "exitCode") == 0:
            continue
        if sidecar and cs.get("started") is True:
            ready += 1 if cs.get("ready") else 0
            continue
        initializing = True
        if isinstance(term, dict):
            reason = "Init:" + str(term.get("reason") or _exit_reason(term))
        elif waiting and waiting != "PodInitializing":
            reason = f"Init:{waiting}"
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        break
    if not initializing or _condition(status, "Initialized").get("status") == "True":
        restarts, last, running = sidecar_restarts, sidecar_last, False
        for cs in reversed(_dicts(status.get("containerStatuses"))):
            restarts += _int(cs, "restartCount")
            last = _later(last, cs)
            term, waiting = _get(cs, "state", "terminated"), _str(cs, "state", "waiting", "reason")
            if waiting:
                reason = waiting
            elif isinstance(term, dict):
                reason = str(term.get("reason") or _exit_reason(term))
            elif cs.get("ready") and isinstance(_get(cs, "state", "running"), dict):
                running, ready = True, ready + 1
        if reason == "Completed" and running:
            ready_condition = _condition(status, "Ready").get("status") == "True"
            reason = "Running" if ready_condition else "NotReady"
    if _get(pod, "metadata", "deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return ready, total, reason, restarts, last


def _pod_cells(pod: Obj) -> list[Any]:
    ready, total, reason, restarts, last = pod_status(pod)
    restart_text: Since | str = Since(last, f"{restarts} (", " ago)") if restarts and last \
        else str(restarts)
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    ips = _dicts(status.get("podIPs"))
    ip = str((ips[0].get("ip") if ips else None) or status.get("podIP") or "<none>")
    gates = _dicts(spec.get("readinessGates"))
    passed = sum(1 for g in gates
                 if _condition(status, str(g.get("conditionType"))).get("status") == "True")
    return [_name(pod), f"{ready}/{total}", reason, restart_text, _age(pod), ip,
            spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>",
            f"{passed}/{len(gates)}" if gates else "<none>"]


def _node_cells(node: Obj) -> list[Any]:
    status = node.get("status") or {}
    ready = _condition(status, "Ready").get("status")
    state = ["Unknown" if ready is None else "Ready" if ready == "True" else "NotReady"]
    if _get(node, "spec", "unschedulable"):
        state.append("SchedulingDisabled")
    labels = _get(node, "metadata", "labels") or {}
    prefix = "node-role.kubernetes.io/"
    roles = {k.removeprefix(prefix) for k in labels if k.startswith(prefix) and k != prefix}
    roles |= {str(labels["kubernetes.io/role"])} if labels.get("kubernetes.io/role") else set()
    addresses = {a.get("type"): str(a.get("address")) for a in
                 reversed(_dicts(status.get("addresses")))}
    info = status.get("nodeInfo") or {}
    return [_name(node), ",".join(state), ",".join(sorted(roles)) or "<none>", _age(node),
            _str(info, "kubeletVersion"), addresses.get("InternalIP", "<none>"),
            addresses.get("ExternalIP", "<none>"), info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def _deployment_cells(d: Obj) -> list[Any]:
    s = d.get("status") or {}
    return [_name(d), f"{_int(s, 'readyReplicas')}/{_int(d, 'spec', 'replicas', default=1)}",
            _int(s, "updatedReplicas"), _int(s, "availableReplicas"), _age(d),
            *_template(d, none="")]


def _replicaset_cells(rs: Obj) -> list[Any]:
    s = rs.get("status") or {}
    return [_name(rs), _int(rs, "spec", "replicas", default=1), _int(s, "replicas"),
            _int(s, "readyReplicas"), _age(rs), *_template(rs)]


def _statefulset_cells(sts: Obj) -> list[Any]:
    ready = f"{_int(sts, 'status', 'readyReplicas')}/{_int(sts, 'spec', 'replicas', default=1)}"
    return [_name(sts), ready, _age(sts), *_template(sts, selector=False)]


def _daemonset_cells(ds: Obj) -> list[Any]:
    counts = [_int(ds, "status", k) for k in (
        "desiredNumberScheduled", "currentNumberScheduled", "numberReady",
        "updatedNumberScheduled", "numberAvailable")]
    node_selector = format_labels(_get(ds, "spec", "template", "spec", "nodeSelector"))
    return [_name(ds), *counts, node_selector, _age(ds), *_template(ds)]


def _service_external_ip(svc: Obj, kind: str) -> str:
    external = [str(x) for x in _get(svc, "spec", "externalIPs") or ()]
    ingress = _dicts(_get(svc, "status", "loadBalancer", "ingress"))
    lb = sorted({str(i.get("ip") or i.get("hostname")) for i in ingress
                 if i.get("ip") or i.get("hostname")})
    return {"ClusterIP": ",".join(external) or "<none>", "NodePort": ",".join(external) or "<none>",
            "LoadBalancer": ",".join(lb + external) or "<pending>",
            "ExternalName": _str(svc, "spec", "externalName")}.get(kind, "<unknown>")


def _service_cells(svc: Obj) -> list[Any]:
    spec = svc.get("spec") or {}
    kind = str(spec.get("type") or "ClusterIP")
    ips = spec.get("clusterIPs") or []
    ports = ",".join(":".join(str(_int(p, k)) for k in ("port", "nodePort") if _int(p, k) > 0)
                     + f"/{p.get('protocol') or 'TCP'}" for p in _dicts(spec.get("ports")))
    return [_name(svc), kind, str(ips[0] if ips else spec.get("clusterIP") or "<none>"),
            _service_external_ip(svc, kind), ports or "<none>", _age(svc),
            format_labels(spec.get("selector"))]


def _event_cells(ev: Obj) -> list[Any]:
    first_seen = "firstTimestamp" if parse_time(ev.get("firstTimestamp")) else "eventTime"
    first = since(ev.get(first_seen))
    last = since(ev["lastTimestamp"]) if parse_time(ev.get("lastTimestamp")) else first
    count = _int(ev, "count")
    series = ev.get("series")
    if isinstance(series, dict):
        last, count = since(series.get("lastObservedTime")), _int(series, "count")
    elif count == 0:
        count = 1
    kind, name = _str(ev, "involvedObject", "kind").lower(), _str(ev, "involvedObject", "name")
    component = _str(ev, "source", "component") or _str(ev, "reportingComponent")
    host = _str(ev, "source", "host") or _str(ev, "reportingInstance")
    return [last, _str(ev, "type"), _str(ev, "reason"), f"{kind}/{name}" if name else kind,
            _str(ev, "involvedObject", "fieldPath"), f"{component}, {host}" if host else component,
            _str(ev, "message").strip(), first, count, _name(ev)]


def _simple(*cells: Callable[[Obj], Any]) -> CellsFn:
    """Name, the given cells, then Age: the shape of most small printers."""
    def compute(obj: Obj) -> list[Any]:
        return [_name(obj), *(cell(obj) for cell in cells), _age(obj)]
    return compute


def columns(spec: str) -> tuple[Column, ...]:
    """Columns from ``"Name|Ready|#Count|*IP"``: ``#`` integer, ``*`` wide (priority 1)."""
    return tuple(Column(raw.lstrip("#*"), "integer" if raw[0] == "#" else "string",
                        "name" if raw.lstrip("#*") == "Name" else "", "", int(raw[0] == "*"))
                 for raw in spec.split("|"))


_WORKLOAD_WIDE = "|Age|*Containers|*Images|*Selector"
DEFAULT_PRINTER = Printer(columns("Name|Age"), _simple())

_PRINTERS: MappingProxyType[tuple[str, str], Printer] = MappingProxyType({
    ("", "pods"): Printer(columns(
        "Name|Ready|Status|Restarts|Age|*IP|*Node|*Nominated Node|*Readiness Gates"),
        _pod_cells),
    ("", "nodes"): Printer(columns(
        "Name|Status|Roles|Age|Version|*Internal-IP|*External-IP|*OS-Image|*Kernel-Version"
        "|*Container-Runtime"), _node_cells),
    ("apps", "deployments"): Printer(
        columns("Name|Ready|Up-to-date|Available" + _WORKLOAD_WIDE), _deployment_cells),
    ("apps", "replicasets"): Printer(
        columns("Name|#Desired|#Current|#Ready" + _WORKLOAD_WIDE), _replicaset_cells),
    ("apps", "statefulsets"): Printer(
        columns("Name|Ready|Age|*Containers|*Images"), _statefulset_cells),
    ("apps", "daemonsets"): Printer(columns(
        "Name|#Desired|#Current|#Ready|#Up-to-date|#Available|Node Selector" + _WORKLOAD_WIDE),
        _daemonset_cells),
    ("", "services"): Printer(
        columns("Name|Type|Cluster-IP|External-IP|Port(s)|Age|*Selector"), _service_cells),
    ("", "namespaces"): Printer(columns("Name|Status|Age"),
                               _simple(lambda o: _get(o, "status", "phase") or "Active")),
    ("", "configmaps"): Printer(columns("Name|Data|Age"), _simple(
        lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))),
    ("", "secrets"): Printer(columns("Name|Type|Data|Age"), _simple(
        lambda o: o.get("type") or "Opaque", lambda o: len(o.get("data") or {}))),
    ("", "events"): Printer(columns(
        "Last Seen|Type|Reason|Object|*Subobject|*Source|Message|*First Seen|*Count|*Name"),
        _event_cells),
    ("coordination.k8s.io", "leases"): Printer(
        columns("Name|Holder|Age"), _simple(lambda o: _str(o, "spec", "holderIdentity"))),
})


def printer_for(info: ResourceInfo) -> Printer:
    """The built-in printer of a resource, or Name/Age."""
    found = None if info.custom else _PRINTERS.get((info.group, info.plural))
    return found or DEFAULT_PRINTER
