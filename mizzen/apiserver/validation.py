"""Validation of built-in objects: the schema walk plus the rules kube-apiserver adds.

One pass yields two kinds of findings, because clients meet them differently:

* ``unknown``: fields the (strict) schema does not know, spelled as the strict JSON
  decoder spells them (``spec.containers[0].imagee``; map keys joined with a dot).
  The caller turns them into a 400 under ``fieldValidation=Strict`` or a warning.
* ``causes``: wrong types, bad formats, missing required fields, and the hand-written
  rules of upstream's ``pkg/apis/*/validation`` that clients actually hit (names,
  labels, pods, workloads, services, immutability on update), worded as upstream
  words them, for a 422 ``Invalid``.  Paths use ``field.Path`` spelling (``data[key]``).

The schema walk runs on every write, so each kind's schema is compiled once into a
tree of closures (cached per :class:`Validator`, keyed by definition, with
trampolines for recursive definitions).  Scalar properties are checked inline by the
enclosing object; paths are linked tuples, formatted only when something is wrong.

The hand-written rules (second half of the module) are plain functions over raw
dicts, dispatched by kind.  They read defensively: they run even when the schema
walk has already reported type errors.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

import orjson

from mizzen.apiserver.errors import (
    Cause,
    field_forbidden,
    field_invalid,
    field_required,
    field_type,
)
from mizzen.apiserver.resources import ResourceInfo
from mizzen.apiserver.schema import Node, SchemaSet, node_types

# A path is a chain (parent, segment): str = field, int = list index, tuple = map key.
Path = tuple[Any, Any] | None
Check = Callable[[Any, Path, "_Sink"], None]
# What a property demands: accepted Python types (None: anything), their schema
# name for messages, and a deeper check (None: nothing more to look at).
Spec = tuple[frozenset[type] | None, str, Check | None]
_ANY: Spec = (None, "", None)

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,),
}
_TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean",
               dict: "object", list: "array"}
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_QUANTITY = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_QUANTITY_RE = re.compile(_QUANTITY)
_WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")
# Required in the OpenAPI but not enforced by upstream validation, or enforced by the
# object rules below with upstream's own wording instead.
_NOT_REQUIRED = frozenset({
    ("io.k8s.api.apps.v1.StatefulSetSpec", "serviceName"),
    *((f"io.k8s.api.apps.v1.{k}Spec", f) for k in _WORKLOADS for f in ("selector", "template")),
})


@dataclass(frozen=True, slots=True)
class Verdict:
    """What is wrong with one object: unknown field paths, and causes for a 422."""

    unknown: list[str] = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)


def strict_path(path: Path) -> str:
    """``spec.containers[0].imagee``, map keys as ``.key`` (the strict decoder's spelling)."""
    parts: list[str] = []
    while path is not None:
        path, seg = path
        if type(seg) is int:
            parts.append(f"[{seg}]")
        else:
            parts.append("." + (seg[0] if type(seg) is tuple else seg))
    return "".join(reversed(parts)).lstrip(".")


def field_path(path: Path) -> str:
    """``spec.containers[0].image``, map keys as ``[key]`` (``field.Path`` spelling)."""
    parts: list[str] = []
    while path is not None:
        path, seg = path
        if type(seg) is int:
            parts.append(f"[{seg}]")
        elif type(seg) is tuple:
            parts.append(f"[{seg[0]}]")
        else:
            parts.append("." + seg)
    return "".join(reversed(parts)).lstrip(".")


class _Sink:
    __slots__ = ("causes", "unknown")

    def __init__(self) -> None:
        self.unknown: list[str] = []
        self.causes: list[Cause] = []

    def wrong_type(self, path: Path, value: Any, expected: str) -> None:
        where, actual = field_path(path), _TYPE_NAMES.get(type(value), "unknown")
        self.causes.append(field_type(
            where, f'"{actual}": {where} in body must be of type {expected}: "{actual}"'))


class Validator:
    """Validates raw objects of built-in kinds; compiled schemas are cached per instance."""

    def __init__(self, schemas: SchemaSet) -> None:
        self._schemas = schemas
        self._roots: dict[tuple[str, str, str], Check | None] = {}
        self._specs: dict[tuple[str, bool], Spec] = {}
        self._pending: set[tuple[str, bool]] = set()

    def validate(self, info: ResourceInfo, obj: dict[str, Any],
                 old: dict[str, Any] | None = None) -> Verdict:
        key = (info.group, info.version, info.kind)
        if key not in self._roots:
            self._roots[key] = self._compile_root(*key)
        check = self._roots[key]
        if check is None:
            return Verdict()
        sink = _Sink()
        check(obj, None, sink)
        check_object(info, obj, sink.causes)
        if old is not None:
            check_update(info, obj, old, sink.causes)
        return Verdict(sink.unknown, sink.causes)

    def _compile_root(self, group: str, version: str, kind: str) -> Check | None:
        node = self._schemas.root(group, version, kind)
        if node is None:
            return None
        name = self._schemas.definition_name(group, version, kind) or kind
        return self._object(node, name, lenient=False, root=True)

    def _named(self, name: str, lenient: bool) -> Spec:
        key = (name, lenient)
        if key in self._specs:
            return self._specs[key]
        node = self._schemas.definitions.get(name)
        if node is None:
            return _ANY
        if key in self._pending:   # recursive definition: look the check up when called
            def late(value: Any, path: Path, sink: _Sink) -> None:
                deeper = self._specs[key][2]
                if deeper is not None:
                    deeper(value, path, sink)
            return (*_types(node), late)
        self._pending.add(key)
        spec = self._spec(node, name, lenient)
        self._pending.discard(key)
        self._specs[key] = spec
        return spec

    def _spec(self, node: Node, name: str, lenient: bool) -> Spec:
        ref = node.get("$ref")
        if ref is not None:
            return self._named(ref.rsplit("/", 1)[-1], lenient)
        types, tname = _types(node)
        if types is None:
            return _ANY
        if "oneOf" in node:
            return (types, tname, _quantity if tname == "string or number" else None)
        if dict in types:
            extra = node.get("additionalProperties")
            if "properties" in node:
                return (types, tname, self._object(node, name, lenient))
            if isinstance(extra, dict):
                return (types, tname, _each(self._spec(extra, name, lenient), keyed=True))
            return (types, tname, None)
        if list in types:
            item = node.get("items")
            item_spec = self._spec(item, name, lenient) if isinstance(item, dict) else _ANY
            return (types, tname, None if item_spec == _ANY else _each(item_spec, keyed=False))
        return (types, tname, _scalar(node))

    def _object(self, node: Node, name: str, lenient: bool, root: bool = False) -> Check:
        props: dict[str, Spec] = {}
        for prop, sub in (node.get("properties") or {}).items():
            if root and prop in ("apiVersion", "kind"):   # the caller checks the top-level kind
                sub = {k: v for k, v in sub.items() if k != "enum"}
            props[prop] = self._spec(sub, name, lenient or (root and prop == "status"))
        required = () if lenient else tuple(
            r for r in node.get("required", ()) if r in props and (name, r) not in _NOT_REQUIRED
            and not (props[r][0] or frozenset()) & {int, float, bool})
        extra = node.get("additionalProperties")
        closed = extra is False
        extra_spec = self._spec(extra, name, lenient) if isinstance(extra, dict) else None
        values = _each(extra_spec or _ANY, keyed=True)

        lookup = props.get

        def check(value: Any, path: Path, sink: _Sink) -> None:
            for key, item in value.items():
                spec = lookup(key)
                if spec is None:
                    if closed:
                        sink.unknown.append(strict_path((path, key)))
                    elif extra_spec is not None and item is not None:
                        values({key: item}, path, sink)
                    continue
                if item is None:
                    continue
                types, tname, deeper = spec
                if types is not None and type(item) not in types:
                    sink.wrong_type((path, key), item, tname)
                elif deeper is not None:
                    deeper(item, (path, key), sink)
            for prop in required:
                got = value.get(prop)
                if got is None or got == "":
                    sink.causes.append(field_required(field_path((path, prop))))
        return check


def _types(node: Node) -> tuple[frozenset[type] | None, str]:
    names = [t for alt in node.get("oneOf", [node]) for t in node_types(alt) if t != "null"]
    if not names:
        return None, ""
    return frozenset(t for n in names for t in _TYPES.get(n, ())), " or ".join(names)


def _each(item: Spec, keyed: bool) -> Check:
    """Check every element of a list (``keyed``: every value of a typed map)."""
    types, tname, deeper = item

    def check(value: Any, path: Path, sink: _Sink) -> None:
        for key, element in (value.items() if keyed else enumerate(value)):
            if element is None:
                continue
            where = (path, (key,) if keyed else key)
            if types is not None and type(element) not in types:
                sink.wrong_type(where, element, tname)
            elif deeper is not None:
                deeper(element, where, sink)
    return check


def _scalar(node: Node) -> Check | None:
    fmt, enum = node.get("format"), node.get("enum")
    bounds = _INT_RANGES.get(fmt) if isinstance(fmt, str) else None
    allowed = frozenset(enum) if enum else None
    if bounds is None and allowed is None and fmt not in ("date-time", "byte"):
        return None

    def check(value: Any, path: Path, sink: _Sink) -> None:
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            sink.causes.append(field_invalid(field_path(path), value, f"must fit in {fmt}"))
        elif fmt == "date-time" and not _DATE_TIME.fullmatch(value):
            sink.causes.append(field_invalid(
                field_path(path), value, "must be an RFC 3339 date-time (e.g. 2006-01-02T15:04:05Z)"
            ))
        elif fmt == "byte" and not _is_base64(value):
            sink.causes.append(field_invalid(field_path(path), "<value omitted>",
                                             "illegal base64 data"))
        if allowed is not None and value not in allowed:
            sink.causes.append(not_supported(field_path(path), value, list(enum or ())))
    return check


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _quantity(value: Any, path: Path, sink: _Sink) -> None:
    if type(value) is str and not _QUANTITY_RE.match(value):
        sink.causes.append(field_invalid(
            field_path(path), value, f"quantities must match the regular expression '{_QUANTITY}'"))


# -- hand-written rules: messages from k8s.io/apimachinery/pkg/util/validation ----------

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = _LABEL + r"(\." + _LABEL + r")*"
_DNS1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QNAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(" + _QNAME + ")?"
_CONFIG_KEY = r"[-._a-zA-Z0-9]+"
_RE = MappingProxyType({p: re.compile(p) for p in (
    _LABEL, _SUBDOMAIN, _DNS1035, _QNAME, _LABEL_VALUE, _CONFIG_KEY, r"[-a-z0-9]+", r".*[a-z].*")})
_ANNOTATIONS_LIMIT = 256 * 1024
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


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _matches(fmt: str, value: str, max_len: int, msg: str, *examples: str) -> list[str]:
    if len(value) <= max_len and _RE[fmt].fullmatch(value):
        return []
    errs = [f"must be no more than {max_len} characters"] if len(value) > max_len else []
    if not _RE[fmt].fullmatch(value):
        errs.append(_regex_error(msg, fmt, *examples))
    return errs


def dns1123_label(value: str) -> list[str]:
    return _matches(_LABEL, value, 63, "a lowercase RFC 1123 label must consist of lower case "
                    "alphanumeric characters or '-', and must start and end with an alphanumeric "
                    "character", "my-name", "123-abc")


def dns1123_subdomain(value: str) -> list[str]:
    return _matches(_SUBDOMAIN, value, 253, "a lowercase RFC 1123 subdomain must consist of lower "
                    "case alphanumeric characters, '-' or '.', and must start and end with an "
                    "alphanumeric character", "example.com")


def dns1035_label(value: str) -> list[str]:
    return _matches(_DNS1035, value, 63, "a DNS-1035 label must consist of lower case alphanumeric "
                    "characters or '-', start with an alphabetic character, and end with an "
                    "alphanumeric character", "my-name", "abc-123")


def qualified_name(value: str) -> list[str]:
    """Label keys, annotation keys and finalizers: ``[prefix/]name``."""
    parts = value.split("/")
    if len(parts[-1]) <= 63 and _RE[_QNAME].fullmatch(parts[-1]) and (len(parts) == 1 or (
            len(parts) == 2 and len(parts[0]) <= 253 and _RE[_SUBDOMAIN].fullmatch(parts[0]))):
        return []
    msg = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
           "with an alphanumeric character")
    if len(parts) > 2:
        return ["a qualified name " + _regex_error(msg, _QNAME, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    errs: list[str] = []
    if len(parts) == 2:
        if not parts[0]:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in dns1123_subdomain(parts[0])]
    name = parts[-1]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _RE[_QNAME].fullmatch(name):
        errs.append("name part " + _regex_error(msg, _QNAME, "MyName", "my.name", "123-abc"))
    return errs


def label_value(value: str) -> list[str]:
    return _matches(_LABEL_VALUE, value, 63, "a valid label must be an empty string or consist "
                    "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                    "alphanumeric character", "MyValue", "my_value", "12345")


def config_key(value: str) -> list[str]:
    errs = _matches(_CONFIG_KEY, value, 253, "a valid config key must consist of alphanumeric "
                    "characters, '-', '_' or '.'", "key.name", "KEY_NAME", "key-name")
    if value in (".", ".."):
        errs.append(f"must not be '{value}'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def port_name(value: str) -> list[str]:
    """IANA service names (container and target ports)."""
    errs = ["must be no more than 15 characters"] if len(value) > 15 else []
    if not _RE["[-a-z0-9]+"].fullmatch(value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _RE[".*[a-z].*"].fullmatch(value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def not_supported(path: str, value: Any, valid: list[str]) -> Cause:
    shown = value if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else _goq(str(value))
    return Cause("FieldValueNotSupported", f"Unsupported value: {shown}: supported values: "
                 + ", ".join(_goq(v) for v in valid), path)


def _duplicate(path: str, value: str) -> Cause:
    return Cause("FieldValueDuplicate", f"Duplicate value: {_goq(value)}", path)


def _invalid_go(path: str, shown: str, detail: str) -> Cause:
    """An Invalid cause whose value upstream prints with Go's ``%#v``."""
    return Cause("FieldValueInvalid", f"Invalid value: {shown}: {detail}", path)


def _goq(s: str) -> str:
    return orjson.dumps(s).decode()


def _go_map(m: Any) -> str:
    if not isinstance(m, dict):
        return "map[string]string(nil)"
    return "map[string]string{" + ", ".join(
        f"{_goq(str(k))}:{_goq(str(v))}" for k, v in sorted(m.items())) + "}"


def _go_strings(items: Any) -> str:
    if not isinstance(items, list):
        return "[]string(nil)"
    return "[]string{" + ", ".join(_goq(str(v)) for v in items) + "}"


def _go_selector(sel: dict[str, Any]) -> str:
    exprs = sel.get("matchExpressions")
    shown = "[]v1.LabelSelectorRequirement(nil)" if not isinstance(exprs, list) else (
        "[]v1.LabelSelectorRequirement{" + ", ".join(
            f"v1.LabelSelectorRequirement{{Key:{_goq(str(e.get('key', '')))}, Operator:"
            f"{_goq(str(e.get('operator', '')))}, Values:{_go_strings(e.get('values'))}}}"
            for e in exprs if isinstance(e, dict)) + "}")
    return (f"v1.LabelSelector{{MatchLabels:{_go_map(sel.get('matchLabels'))}, "
            f"MatchExpressions:{shown}}}")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _labels(labels: Any, at: str, causes: list[Cause]) -> None:
    for key, value in _dict(labels).items():
        causes += [field_invalid(at, key, m) for m in qualified_name(key)]
        if isinstance(value, str):
            causes += [field_invalid(at, value, m) for m in label_value(value)]


def _meta(meta: Any, at: str, causes: list[Cause]) -> None:
    """Labels, annotations and finalizers of ``metadata`` (object or template)."""
    meta = _dict(meta)
    _labels(meta.get("labels"), f"{at}.labels", causes)
    annotations, size = _dict(meta.get("annotations")), 0
    for key, value in annotations.items():
        causes += [field_invalid(f"{at}.annotations", key, m) for m in qualified_name(key.lower())]
        size += len(key) + (len(value) if isinstance(value, str) else 0)
    if size > _ANNOTATIONS_LIMIT:
        causes.append(Cause("FieldValueTooLong",
                            f"Too long: may not be more than {_ANNOTATIONS_LIMIT} bytes",
                            f"{at}.annotations"))
    for fin in _list(meta.get("finalizers")):
        if isinstance(fin, str):
            causes += [field_invalid(f"{at}.finalizers", fin, m) for m in qualified_name(fin)]


def _selector(sel: dict[str, Any], at: str, causes: list[Cause]) -> None:
    _labels(sel.get("matchLabels"), f"{at}.matchLabels", causes)
    for i, expr in enumerate(_list(sel.get("matchExpressions"))):
        here, expr = f"{at}.matchExpressions[{i}]", _dict(expr)
        op, values = expr.get("operator"), expr.get("values")
        if op in ("In", "NotIn") and not values:
            causes.append(Cause("FieldValueRequired", "Required value: must be specified when "
                                "`operator` is 'In' or 'NotIn'", f"{here}.values"))
        elif op in ("Exists", "DoesNotExist") and values:
            causes.append(field_forbidden(f"{here}.values", "may not be specified when "
                                          "`operator` is 'Exists' or 'DoesNotExist'"))
        elif op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            causes.append(field_invalid(f"{here}.operator", op, "not a valid selector operator"))
        if isinstance(expr.get("key"), str):
            causes += [field_invalid(f"{here}.key", expr["key"], m)
                       for m in qualified_name(expr["key"])]


def selector_matches(sel: dict[str, Any], labels: dict[str, Any]) -> bool:
    """Whether a ``LabelSelector`` selects ``labels`` (an empty selector selects everything)."""
    if any(labels.get(k) != v for k, v in _dict(sel.get("matchLabels")).items()):
        return False
    for expr in _list(sel.get("matchExpressions")):
        expr = _dict(expr)
        key, op, values = str(expr.get("key")), expr.get("operator"), _list(expr.get("values"))
        present = key in labels
        ok = {"In": present and labels.get(key) in values,
              "NotIn": not present or labels.get(key) not in values,
              "Exists": present, "DoesNotExist": not present}.get(str(op), False)
        if not ok:
            return False
    return True


def _port_range(value: Any, at: str, causes: list[Cause]) -> None:
    if type(value) is int and not 1 <= value <= 65535:
        causes.append(field_invalid(at, value, "must be between 1 and 65535, inclusive"))


def _pod_spec(spec: Any, at: str, causes: list[Cause]) -> None:
    if spec is None:
        causes.append(field_required(f"{at}.containers"))
        return
    spec = _dict(spec)
    if spec.get("containers") == []:
        causes.append(field_required(f"{at}.containers"))
    seen: set[str] = set()
    for group in ("containers", "initContainers"):
        for i, ctr in enumerate(_list(spec.get(group))):
            here, ctr = f"{at}.{group}[{i}]", _dict(ctr)
            name, image = ctr.get("name"), ctr.get("image")
            if isinstance(name, str) and name:
                causes += [field_invalid(f"{here}.name", name, m) for m in dns1123_label(name)]
                if name in seen:
                    causes.append(_duplicate(f"{here}.name", name))
                seen.add(name)
            if not image:
                causes.append(field_required(f"{here}.image"))
            elif isinstance(image, str) and image != image.strip():
                causes.append(field_invalid(f"{here}.image", image,
                                            "must not have leading or trailing whitespace"))
            policy = ctr.get("imagePullPolicy")
            if policy is not None and policy not in _PULL_POLICIES:
                causes.append(not_supported(f"{here}.imagePullPolicy", policy, _PULL_POLICIES))
            for j, port in enumerate(_list(ctr.get("ports"))):
                _container_port(_dict(port), f"{here}.ports[{j}]", causes)
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
    spec = _dict(obj.get("spec"))
    for name in ("replicas", "revisionHistoryLimit", "minReadySeconds"):
        if type(spec.get(name)) is int and spec[name] < 0:
            causes.append(field_invalid(f"spec.{name}", spec[name],
                                        "must be greater than or equal to 0"))
    template = _dict(spec.get("template"))
    tmeta = _dict(template.get("metadata"))
    selector = spec.get("selector")
    if selector is None:
        causes.append(field_required("spec.selector"))
    elif isinstance(selector, dict):
        _selector(selector, "spec.selector", causes)
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            causes.append(_invalid_go("spec.selector", _go_selector(selector),
                                      f"empty selector is invalid for {kind.lower()}"))
        elif not selector_matches(selector, _dict(tmeta.get("labels"))):
            causes.append(_invalid_go("spec.template.metadata.labels", _go_map(tmeta.get("labels")),
                                      "`selector` does not match template `labels`"))
    _meta(tmeta, "spec.template.metadata", causes)
    _pod_spec(template.get("spec"), "spec.template.spec", causes)
    policy = _dict(template.get("spec")).get("restartPolicy")
    if policy is not None and policy != "Always":
        causes.append(not_supported("spec.template.spec.restartPolicy", policy, ["Always"]))


def _service(obj: dict[str, Any], causes: list[Cause]) -> None:
    spec = _dict(obj.get("spec"))
    kind = spec.get("type")
    if kind is not None and kind not in _SERVICE_TYPES:
        causes.append(not_supported("spec.type", kind, _SERVICE_TYPES))
    ports = _list(spec.get("ports"))
    headless = spec.get("clusterIP") == "None" or _list(spec.get("clusterIPs"))[:1] == ["None"]
    if not ports and not headless and kind != "ExternalName":
        causes.append(field_required("spec.ports"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        here, port = f"spec.ports[{i}]", _dict(port)
        name = port.get("name")
        if not name and len(ports) > 1:
            causes.append(field_required(f"{here}.name"))
        elif isinstance(name, str) and name:
            causes += [field_invalid(f"{here}.name", name, m) for m in dns1123_label(name)]
            if name in names:
                causes.append(_duplicate(f"{here}.name", name))
            names.add(name)
        _port_range(port.get("port") or 0, f"{here}.port", causes)
        if port.get("protocol") is not None and port["protocol"] not in _PROTOCOLS:
            causes.append(not_supported(f"{here}.protocol", port["protocol"], _PROTOCOLS))
        target = port.get("targetPort")
        if type(target) is int and target != 0:
            _port_range(target, f"{here}.targetPort", causes)
        elif isinstance(target, str) and target:
            causes += [field_invalid(f"{here}.targetPort", target, m) for m in port_name(target)]
    _labels(spec.get("selector"), "spec.selector", causes)


def _data_keys(obj: dict[str, Any], fields: tuple[str, ...], causes: list[Cause]) -> None:
    for name in fields:
        for key in _dict(obj.get(name)):
            causes += [field_invalid(f"{name}[{key}]", key, m) for m in config_key(key)]
    for key in _dict(obj.get("binaryData")):
        if key in _dict(obj.get("data")):
            causes.append(field_invalid(f"binaryData[{key}]", key,
                                        "duplicate of key present in data"))


_NAME_RULES = MappingProxyType({("", "Namespace"): dns1123_label, ("", "Service"): dns1035_label})


def check_object(info: ResourceInfo, obj: dict[str, Any], causes: list[Cause]) -> None:
    """Object-level rules of upstream validation, for ``info``'s kind."""
    meta = _dict(obj.get("metadata"))
    name = meta.get("name")
    if not name:
        causes.append(Cause("FieldValueRequired",
                            "Required value: name or generateName is required", "metadata.name"))
    elif isinstance(name, str):
        rule = _NAME_RULES.get((info.group, info.kind), dns1123_subdomain)
        causes += [field_invalid("metadata.name", name, m) for m in rule(name)]
    _meta(meta, "metadata", causes)
    kind = (info.group, info.kind)
    if kind == ("", "Pod"):
        _pod_spec(obj.get("spec"), "spec", causes)
    elif info.group == "apps" and info.kind in _WORKLOADS:
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
    spec, old_spec = _dict(obj.get("spec")), _dict(old.get("spec"))
    kind = (info.group, info.kind)
    if info.group == "apps" and info.kind in _WORKLOADS:
        sel, old_sel = _dict(spec.get("selector")), _dict(old_spec.get("selector"))
        if not _same(sel, old_sel):
            causes.append(_invalid_go("spec.selector", _go_selector(sel), "field is immutable"))
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
        before = old_spec.get("clusterIP") or (_list(old_spec.get("clusterIPs")) or [""])[0]
        now = [spec.get("clusterIP"), *_list(spec.get("clusterIPs"))[:1]]
        external = "ExternalName" in (spec.get("type"), old_spec.get("type"))
        if not external and before and any(ip and ip != before for ip in now):
            shown = _list(spec.get("clusterIPs")) or [spec.get("clusterIP")]
            causes.append(_invalid_go("spec.clusterIPs[0]", _go_strings(shown),
                                      "may not change once set"))
    elif kind == ("", "PersistentVolumeClaim"):
        _pvc_update(spec, old_spec, _dict(old.get("status")), causes)


def _pod_update(spec: dict[str, Any], old: dict[str, Any], causes: list[Cause]) -> None:
    munged = dict(spec)
    for group in ("containers", "initContainers"):
        new_list, old_list = _list(spec.get(group)), _list(old.get(group))
        if new_list and len(new_list) == len(old_list):
            munged[group] = [_take(_dict(n), _dict(o), ("image",))
                             for n, o in zip(new_list, old_list, strict=True)]
    munged = _take(munged, old, ("activeDeadlineSeconds", "tolerations", "schedulingGates"))
    grace, old_grace = spec.get("terminationGracePeriodSeconds"), old.get(
        "terminationGracePeriodSeconds")
    if type(old_grace) is int and old_grace < 0 and grace == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if not _same(munged, old):
        causes.append(field_forbidden("spec", _POD_UPDATABLE + _diff(old, munged, "spec")))
    new_tolerations = [_without(_dict(t), ("tolerationSeconds",))
                       for t in _list(spec.get("tolerations"))]
    for i, toleration in enumerate(_list(old.get("tolerations"))):
        if _without(_dict(toleration), ("tolerationSeconds",)) not in new_tolerations:
            causes.append(field_forbidden(f"spec.tolerations[{i}]", "existing toleration can not "
                                          "be modified except its tolerationSeconds"))


def _pvc_update(spec: dict[str, Any], old: dict[str, Any], status: dict[str, Any],
                causes: list[Cause]) -> None:
    def comparable(s: dict[str, Any]) -> Any:
        out = _without(s, ("volumeAttributesClassName",) + (
            () if old.get("volumeName") else ("volumeName",)))
        out["resources"] = _without(_dict(s.get("resources")), ("requests",))
        return out
    if not _same(comparable(spec), comparable(old)):
        causes.append(field_forbidden("spec", _PVC_UPDATABLE + _diff(old, spec, "spec")))

    def storage(s: dict[str, Any], *keys: str) -> Decimal | None:
        for key in keys:
            s = _dict(s.get(key))
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
    match = _QUANTITY_RE.match(value) if isinstance(value, str) else None
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
