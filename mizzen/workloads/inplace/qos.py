"""A pod's QoS class, and which resource changes a container may take in place.

Why here: an in-place resize (upstream's ``InPlaceWorkloadVerticalScaling``
gate) is only allowed when the pod keeps its QoS class — the kubelet cannot
move a running pod between the Guaranteed, Burstable and BestEffort cgroup
trees — and only for ``cpu`` and ``memory``.  The diff needs both facts over
raw template dicts, so they live in one small pure module.

The class follows ``qos.ComputePodQOS``: only ``cpu`` and ``memory`` count,
zero quantities are ignored; no request or limit anywhere is BestEffort;
Guaranteed needs every container (init containers too) to limit both and to
request exactly its limits.  Templates are not defaulted, so a missing
request counts as equal to its limit, as API defaulting would make it.
Pod-level ``spec.resources``, when present, decides on its own (as upstream).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

from mizzen.cluster.scheduler.quantity import QuantityError, parse

__all__ = ["RESIZABLE", "QosClass", "qos_class", "same_quantities"]

# Resources an in-place resize may change.
RESIZABLE = frozenset({"cpu", "memory"})


class QosClass(StrEnum):
    GUARANTEED = "Guaranteed"
    BURSTABLE = "Burstable"
    BEST_EFFORT = "BestEffort"


def _amounts(items: Mapping[str, Any] | None) -> dict[str, Decimal]:
    """The non-zero cpu/memory quantities of a requests or limits map."""
    out: dict[str, Decimal] = {}
    for name, raw in (items or {}).items():
        if name not in RESIZABLE:
            continue
        try:
            value = parse(raw)
        except QuantityError:
            continue
        if value > 0:
            out[name] = value
    return out


def _class_of(resources: Iterable[Mapping[str, Any]]) -> QosClass:
    any_set = False
    guaranteed = True
    for res in resources:
        limits = _amounts(res.get("limits"))
        requests = {**limits, **_amounts(res.get("requests"))}  # a missing request = limit
        any_set = any_set or bool(limits) or bool(requests)
        if set(limits) != RESIZABLE or requests != limits:
            guaranteed = False
    if not any_set:
        return QosClass.BEST_EFFORT
    return QosClass.GUARANTEED if guaranteed else QosClass.BURSTABLE


def qos_class(pod_spec: Mapping[str, Any]) -> QosClass:
    """The QoS class of a pod (or template) spec."""
    pod_level = pod_spec.get("resources")
    if pod_level:
        return _class_of((pod_level,))
    containers = (*(pod_spec.get("initContainers") or ()), *(pod_spec.get("containers") or ()))
    return _class_of(c.get("resources") or {} for c in containers)


def same_quantities(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Whether two requests/limits maps hold equal cpu and memory (``"1"`` == ``"1000m"``)."""
    def exact(items: Mapping[str, Any] | None) -> dict[str, Decimal | None]:
        out: dict[str, Decimal | None] = {}
        for name, raw in (items or {}).items():
            if name in RESIZABLE:
                try:
                    out[name] = parse(raw)
                except QuantityError:
                    out[name] = None
        return out
    return exact(a) == exact(b)
