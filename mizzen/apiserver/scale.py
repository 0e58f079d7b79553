"""The ``scale`` subresource: an ``autoscaling/v1`` Scale view of a workload.

kubectl scale, HPAs and our own controllers read and write replicas through
this view.  The paths to replicas and the selector come from the
:class:`ResourceInfo` (fixed for built-ins, ``specReplicasPath`` and friends
for custom resources), so the same code serves both.
"""

from __future__ import annotations

from typing import Any

import orjson

from mizzen.apiserver import errors
from mizzen.apiserver.resources import ResourceInfo


def _get(obj: dict[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.lstrip(".").split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _set(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = path.lstrip(".").split(".")
    cur = obj
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[part] = nxt
        cur = nxt
    cur[parts[-1]] = value


def selector_string(selector: Any) -> str:
    """A ``metav1.LabelSelector`` as the label-selector string Scale reports."""
    if isinstance(selector, str):
        return selector
    if not isinstance(selector, dict):
        return ""
    # Upstream sorts every requirement by key, labels and expressions alike.
    parts: list[tuple[str, str]] = [(k, f"{k}={v}")
                                    for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        joined = ",".join(sorted(str(v) for v in values))
        if op == "In":
            parts.append((key, f"{key} in ({joined})"))
        elif op == "NotIn":
            parts.append((key, f"{key} notin ({joined})"))
        elif op == "Exists":
            parts.append((key, key))
        elif op == "DoesNotExist":
            parts.append((key, f"!{key}"))
    parts.sort(key=lambda p: p[0])
    return ",".join(text for _, text in parts)


def scale_of(info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
    """The Scale object for ``obj``."""
    if not info.has_scale:
        raise errors.not_found(f"{info.plural}/scale", info.group, obj["metadata"]["name"])
    m = obj["metadata"]
    selector: Any
    if info.custom:
        selector = _get(obj, info.scale_selector_path) if info.scale_selector_path else ""
    else:
        selector = (obj.get("spec") or {}).get("selector")
    status: dict[str, Any] = {"replicas": int(_get(obj, info.scale_status_path) or 0)}
    sel = selector_string(selector)
    if sel:
        status["selector"] = sel
    meta = {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion",
                              "creationTimestamp") if k in m}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": meta,
        "spec": {"replicas": int(_get(obj, info.scale_spec_path) or 0)},
        "status": status,
    }


def set_scale_replicas(info: ResourceInfo, obj: dict[str, Any],
                       scale: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` with the replicas a Scale body asks for."""
    if not info.has_scale:
        raise errors.not_found(f"{info.plural}/scale", info.group, obj["metadata"]["name"])
    replicas = (scale.get("spec") or {}).get("replicas")
    if replicas is None:
        replicas = 0
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.invalid("Scale", "autoscaling", obj["metadata"]["name"], [
            errors.field_invalid("spec.replicas", replicas,
                                 "must be greater than or equal to 0")])
    new: dict[str, Any] = orjson.loads(orjson.dumps(obj))
    _set(new, info.scale_spec_path, replicas)
    return new
