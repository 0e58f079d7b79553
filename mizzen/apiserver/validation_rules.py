"""The hand-written rules kube-apiserver adds to the schema, per kind and on update.

:class:`mizzen.apiserver.validation.Validator` calls :func:`check_object` on every
write of a built-in kind and :func:`check_update` when there is an old object.  They
follow upstream's ``pkg/apis/*/validation`` for what clients actually hit: object
names, metadata, pods and pod templates, workloads (selector against template
labels), services, ConfigMap/Secret keys, and immutability on update (workload
selectors, most of a StatefulSet's and a pod's spec, immutable ConfigMaps and
Secrets, cluster IPs, bound claims).  Messages and ``field.Path`` spellings are
upstream's, so causes read as a real cluster's 422 ``Invalid``.

The rules are plain functions over raw dicts, dispatched by kind, kept apart from
the compiled schema walk because they are code, not schema data.  They read
defensively: they run even when the schema walk has already reported type errors.
Name, label and selector formats live in :mod:`mizzen.apiserver.validation_names`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

import orjson

from mizzen.apiserver.errors import Cause, field_forbidden, field_invalid, field_required
from mizzen.apiserver.resources import ResourceInfo
from mizzen.apiserver.validation_names import (
    CleanMeta,
    as_dict,
    as_list,
    check_labels,
    check_meta,
    check_selector,
    config_key,
    dns1035_label,
    dns1123_label,
    dns1123_subdomain,
    duplicate,
    go_map,
    go_selector,
    go_strings,
    invalid_go,
    not_supported,
    port_name,
    selector_matches,
)

QUANTITY = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
QUANTITY_RE = re.compile(QUANTITY)
WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")
_RESTART_POLICIES = ["Always", "OnFailure", "Never"]
_PROTOCOLS = ["SCTP", "TCP", "UDP"]
_PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_IMMUTABLE_SET = "field is immutable when `immutable` is set"
_POD_UPDATABLE = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be "
    "set to 1 if it was previously negative)")
_STS_UPDATABLE = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")
_PVC_UPDATABLE = ("spec is immutable after creation except resources.requests and "
                  "volumeAttributesClassName for bound claims")


# -- object rules ---------------------------------------------------------------------


def _port_range(value: Any, at: str, causes: list[Cause]) -> None:
    if type(value) is int and not 1 <= value <= 65535:
        causes.append(field_invalid(at, value, "must be between 1 and 65535, inclusive"))


def _pod_spec(spec: Any, at: str, causes: list[Cause]) -> None:
    if spec is None:
        causes.append(field_required(f"{at}.containers"))
        return
    spec = as_dict(spec)
    if spec.get("containers") == []:
        causes.append(field_required(f"{at}.containers"))
    seen: set[str] = set()
    for group in ("containers", "initContainers"):
        for i, ctr in enumerate(as_list(spec.get(group))):
            here, ctr = f"{at}.{group}[{i}]", as_dict(ctr)
            name, image = ctr.get("name"), ctr.get("image")
            if isinstance(name, str) and name:
                causes += [field_invalid(f"{here}.name", name, m) for m in dns1123_label(name)]
                if name in seen:
                    causes.append(duplicate(f"{here}.name", name))
                seen.add(name)
            if not image:
                causes.append(field_required(f"{here}.image"))
            elif isinstance(image, str) and image != image.strip():
                causes.append(field_invalid(f"{here}.image", image,
                                            "must not have leading or trailing whitespace"))
            policy = ctr.get("imagePullPolicy")
            if policy is not None and policy not in _PULL_POLICIES:
                causes.append(not_supported(f"{here}.imagePullPolicy", policy, _PULL_POLICIES))
            for j, port in enumerate(as_list(ctr.get("ports"))):
                _container_port(as_dict(port), f"{here}.ports[{j}]", causes)
    policy = spec.get("restartPolicy")
    if policy is not None and policy not in _RESTART_POLICIES:
        causes.append(not_supported(f"{at}.restartPolicy", policy, _RESTART_POLICIES))


def _container_port(port: dict[str, Any], at: str, causes: list[Cause]) -> None:
    if port.get("containerPort") == 0:
        causes.append(field_required(f"{at}.containerPort"))
    _port_range(port.get("containerPort"), f"{at}.containerPort", causes)
    if port.get("hostPort"):
        _port_range(port.get("hostPort"), f"{at}.hostPort", causes)
    if port.get("protocol") is not None and port["protocol"] not in _PROTOCOLS:
        causes.append(not_supported(f"{at}.protocol", port["protocol"], _PROTOCOLS))
    if isinstance(port.get("name"), str) and port["name"]:
        causes += [field_invalid(f"{at}.name", port["name"], m) for m in port_name(port["name"])]


def _workload(obj: dict[str, Any], kind: str, causes: list[Cause]) -> None:
    spec = as_dict(obj.get("spec"))
    for name in ("replicas", "revisionHistoryLimit", "minReadySeconds"):
        if type(spec.get(name)) is int and spec[name] < 0:
            causes.append(field_invalid(f"spec.{name}", spec[name],
                                        "must be greater than or equal to 0"))
    template = as_dict(spec.get("template"))
    tmeta = as_dict(template.get("metadata"))
    selector = spec.get("selector")
    if selector is None:
        causes.append(field_required("spec.selector"))
    elif isinstance(selector, dict):
        check_selector(selector, "spec.selector", causes)
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            causes.append(invalid_go("spec.selector", go_selector(selector),
                                      f"empty selector is invalid for {kind.lower()}"))
        elif not selector_matches(selector, as_dict(tmeta.get("labels"))):
            causes.append(invalid_go("spec.template.metadata.labels", go_map(tmeta.get("labels")),
                                      "`selector` does not match template `labels`"))
    check_meta(tmeta, "spec.template.metadata", causes)
    _pod_spec(template.get("spec"), "spec.template.spec", causes)
    policy = as_dict(template.get("spec")).get("restartPolicy")
    if policy is not None and policy != "Always":
        causes.append(not_supported("spec.template.spec.restartPolicy", policy, ["Always"]))
    if kind == "Deployment":
        _deployment_strategy(as_dict(spec.get("strategy")), causes)


def _is_zero(value: Any) -> bool:
    return value == 0 or (isinstance(value, str) and value.strip() in ("0", "0%"))


def _deployment_strategy(strategy: dict[str, Any], causes: list[Cause]) -> None:
    """The rules upstream checks on ``spec.strategy`` beyond the schema."""
    rolling = strategy.get("rollingUpdate")
    if strategy.get("type") == "Recreate" and rolling is not None:
        causes.append(field_forbidden("spec.strategy.rollingUpdate",
                                      "may not be specified when strategy `type` is 'Recreate'"))
    if isinstance(rolling, dict) and _is_zero(rolling.get("maxSurge")) and \
            _is_zero(rolling.get("maxUnavailable")):
        causes.append(field_invalid("spec.strategy.rollingUpdate.maxUnavailable",
                                    rolling.get("maxUnavailable"),
                                    "may not be 0 when `maxSurge` is 0"))


def _service(obj: dict[str, Any], causes: list[Cause]) -> None:
    spec = as_dict(obj.get("spec"))
    kind = spec.get("type")
    if kind is not None and kind not in _SERVICE_TYPES:
        causes.append(not_supported("spec.type", kind, _SERVICE_TYPES))
    ports = as_list(spec.get("ports"))
    headless = spec.get("clusterIP") == "None" or as_list(spec.get("clusterIPs"))[:1] == ["None"]
    if not ports and not headless and kind != "ExternalName":
        causes.append(field_required("spec.ports"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        here, port = f"spec.ports[{i}]", as_dict(port)
        name = port.get("name")
        if not name and len(ports) > 1:
            causes.append(field_required(f"{here}.name"))
        elif isinstance(name, str) and name:
            causes += [field_invalid(f"{here}.name", name, m) for m in dns1123_label(name)]
            if name in names:
                causes.append(duplicate(f"{here}.name", name))
            names.add(name)
        _port_range(port.get("port") or 0, f"{here}.port", causes)
        if port.get("protocol") is not None and port["protocol"] not in _PROTOCOLS:
            causes.append(not_supported(f"{here}.protocol", port["protocol"], _PROTOCOLS))
        target = port.get("targetPort")
        if type(target) is int and target != 0:
            _port_range(target, f"{here}.targetPort", causes)
        elif isinstance(target, str) and target:
            causes += [field_invalid(f"{here}.targetPort", target, m) for m in port_name(target)]
    check_labels(spec.get("selector"), "spec.selector", causes)


def _data_keys(obj: dict[str, Any], fields: tuple[str, ...], causes: list[Cause]) -> None:
    for name in fields:
        for key in as_dict(obj.get(name)):
            causes += [field_invalid(f"{name}[{key}]", key, m) for m in config_key(key)]
    for key in as_dict(obj.get("binaryData")):
        if key in as_dict(obj.get("data")):
            causes.append(field_invalid(f"binaryData[{key}]", key,
                                        "duplicate of key present in data"))


_SPEC_ONLY = frozenset({("", "Pod"), ("", "Service")})  # and the workloads: rules on spec alone
_NAME_RULES = MappingProxyType({("", "Namespace"): dns1123_label, ("", "Service"): dns1035_label})


def check_object(info: ResourceInfo, obj: dict[str, Any], causes: list[Cause], *,
                 spec_checked: bool = False, clean_meta: CleanMeta | None = None) -> None:
    """Object-level rules of upstream validation, for ``info``'s kind.

    ``spec_checked``: the object's ``spec`` is known to pass the rules that read
    only ``spec`` (pods, workloads, services), which are then skipped.  ``clean_meta``
    remembers metadata names that passed before.
    """
    meta = as_dict(obj.get("metadata"))
    name = meta.get("name")
    if not name:
        causes.append(Cause("FieldValueRequired",
                            "Required value: name or generateName is required", "metadata.name"))
    elif isinstance(name, str):
        rule = _NAME_RULES.get((info.group, info.kind), dns1123_subdomain)
        causes += [field_invalid("metadata.name", name, m) for m in rule(name)]
    (clean_meta.check if clean_meta is not None else check_meta)(meta, "metadata", causes)
    kind = (info.group, info.kind)
    if spec_checked and (kind in _SPEC_ONLY or (info.group == "apps" and info.kind in WORKLOADS)):
        return
    if kind == ("", "Pod"):
        _pod_spec(obj.get("spec"), "spec", causes)
    elif info.group == "apps" and info.kind in WORKLOADS:
        _workload(obj, info.kind, causes)
    elif kind == ("", "Service"):
        _service(obj, causes)
    elif kind == ("", "ConfigMap"):
        _data_keys(obj, ("data", "binaryData"), causes)
    elif kind == ("", "Secret"):
        _data_keys(obj, ("data",), causes)


# -- update rules ---------------------------------------------------------------------


def check_update(info: ResourceInfo, obj: dict[str, Any], old: dict[str, Any],
                 causes: list[Cause]) -> None:
    """Immutability rules of upstream ``Validate*Update`` for ``info``'s kind."""
    spec, old_spec = as_dict(obj.get("spec")), as_dict(old.get("spec"))
    kind = (info.group, info.kind)
    if info.group == "apps" and info.kind in WORKLOADS:
        sel, old_sel = as_dict(spec.get("selector")), as_dict(old_spec.get("selector"))
        if not _same(sel, old_sel):
            causes.append(invalid_go("spec.selector", go_selector(sel), "field is immutable"))
        if info.kind == "StatefulSet":
            allowed = ("replicas", "ordinals", "template", "updateStrategy",
                       "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
            if not _same(_without(spec, allowed), _without(old_spec, allowed)):
                causes.append(field_forbidden("spec", _STS_UPDATABLE))
    elif kind == ("", "Pod"):
        _pod_update(spec, old_spec, causes)
    elif kind in (("", "ConfigMap"), ("", "Secret")):
        if old.get("immutable") is True:
            if obj.get("immutable") is not True:
                causes.append(field_forbidden("immutable", _IMMUTABLE_SET))
            for name in ("data", "binaryData"):
                if not _same(obj.get(name), old.get(name)):
                    causes.append(field_forbidden(name, _IMMUTABLE_SET))
        if info.kind == "Secret" and obj.get("type") and obj.get("type") != old.get("type"):
            causes.append(field_invalid("type", obj["type"], "field is immutable"))
    elif kind == ("", "Service"):
        before = old_spec.get("clusterIP") or (as_list(old_spec.get("clusterIPs")) or [""])[0]
        now = [spec.get("clusterIP"), *as_list(spec.get("clusterIPs"))[:1]]
        external = "ExternalName" in (spec.get("type"), old_spec.get("type"))
        if not external and before and any(ip and ip != before for ip in now):
            shown = as_list(spec.get("clusterIPs")) or [spec.get("clusterIP")]
            causes.append(invalid_go("spec.clusterIPs[0]", go_strings(shown),
                                      "may not change once set"))
    elif kind == ("", "PersistentVolumeClaim"):
        _pvc_update(spec, old_spec, as_dict(old.get("status")), causes)


def _pod_update(spec: dict[str, Any], old: dict[str, Any], causes: list[Cause]) -> None:
    if spec == old:
        return  # nothing changed, so nothing forbidden changed (the rules compare with ==)
    munged = dict(spec)
    for group in ("containers", "initContainers"):
        new_list, old_list = as_list(spec.get(group)), as_list(old.get(group))
        if new_list and len(new_list) == len(old_list):
            munged[group] = [_take(as_dict(n), as_dict(o), ("image",))
                             for n, o in zip(new_list, old_list, strict=True)]
    munged = _take(munged, old, ("activeDeadlineSeconds", "tolerations", "schedulingGates"))
    grace, old_grace = spec.get("terminationGracePeriodSeconds"), old.get(
        "terminationGracePeriodSeconds")
    if type(old_grace) is int and old_grace < 0 and grace == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if not _same(munged, old):
        causes.append(field_forbidden("spec", _POD_UPDATABLE + _diff(old, munged, "spec")))
    new_tolerations = [_without(as_dict(t), ("tolerationSeconds",))
                       for t in as_list(spec.get("tolerations"))]
    for i, toleration in enumerate(as_list(old.get("tolerations"))):
        if _without(as_dict(toleration), ("tolerationSeconds",)) not in new_tolerations:
            causes.append(field_forbidden(f"spec.tolerations[{i}]", "existing toleration can not "
                                          "be modified except its tolerationSeconds"))


def _pvc_update(spec: dict[str, Any], old: dict[str, Any], status: dict[str, Any],
                causes: list[Cause]) -> None:
    def comparable(s: dict[str, Any]) -> Any:
        out = _without(s, ("volumeAttributesClassName",) + (
            () if old.get("volumeName") else ("volumeName",)))
        out["resources"] = _without(as_dict(s.get("resources")), ("requests",))
        return out
    if not _same(comparable(spec), comparable(old)):
        causes.append(field_forbidden("spec", _PVC_UPDATABLE + _diff(old, spec, "spec")))

    def storage(s: dict[str, Any], *keys: str) -> Decimal | None:
        for key in keys:
            s = as_dict(s.get(key))
        return parse_quantity(s.get("storage"))

    new, before = storage(spec, "resources", "requests"), storage(old, "resources", "requests")
    capacity = storage(status, "capacity") or Decimal(0)
    if new is not None and before is not None and new < before and new <= capacity:
        causes.append(field_forbidden("spec.resources.requests.storage",
                                      "field can not be less than status.capacity"))


_SUFFIXES = MappingProxyType({
    "": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    **{s: Decimal(10) ** (3 * i) for i, s in enumerate("kMGTPE", 1)},
    **{s + "i": Decimal(2) ** (10 * i) for i, s in enumerate("KMGTPE", 1)}})


def parse_quantity(value: Any) -> Decimal | None:
    """A resource quantity (``1Gi``, ``500m``, ``1e3``) as a number, ``None`` if malformed."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    match = QUANTITY_RE.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    number, suffix = match.groups()
    try:
        if suffix[:1] in ("e", "E") and suffix[1:].lstrip("+-").isdigit():
            return Decimal(number + suffix)
        return Decimal(number) * _SUFFIXES[suffix]
    except (InvalidOperation, KeyError):
        return None


def _take(d: dict[str, Any], source: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """``d`` with ``keys`` as they are in ``source`` (present or absent)."""
    out = _without(d, keys)
    out.update((k, source[k]) for k in keys if k in source)
    return out


def _without(d: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys}


def _same(a: Any, b: Any) -> bool:
    """Go's semantic equality: absent, null and empty collections are all alike."""
    return bool(a == b or _pruned(a) == _pruned(b))


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: p for k, v in value.items() if (p := _pruned(v)) is not None}
        return out or None
    if isinstance(value, list):
        return [_pruned(v) for v in value] or None
    return value


def _diff(old: Any, new: Any, at: str, limit: int = 8) -> str:
    """A short listing of what changed, in place of upstream's ``cmp.Diff`` output."""
    lines: list[str] = []

    def walk(a: Any, b: Any, here: str) -> None:
        if len(lines) >= limit or _same(a, b):
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                walk(a.get(key), b.get(key), f"{here}.{key}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{here}[{i}]")
        else:
            lines.append(f"  {here}: {orjson.dumps(a).decode()} -> {orjson.dumps(b).decode()}")
    walk(old, new, at)
    return "".join("\n" + line for line in lines)
