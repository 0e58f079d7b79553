"""Validation of built-in objects: the schema walk, plus the rules kube-apiserver adds.

One pass yields two kinds of findings, because clients meet them differently:

* ``unknown``: fields the (strict) schema does not know, spelled as the strict JSON
  decoder spells them (``spec.containers[0].imagee``; map keys joined with a dot).
  The caller turns them into a 400 under ``fieldValidation=Strict`` or a warning.
* ``causes``: wrong types, bad formats, missing required fields, and the hand-written
  rules of upstream's ``pkg/apis/*/validation`` that clients actually hit, worded as
  upstream words them, for a 422 ``Invalid``.  Paths use ``field.Path`` spelling
  (``data[key]``).

This module holds the public :class:`Validator` and :class:`Verdict` and the schema
walk.  The walk runs on every write, so each kind's schema is compiled once into a
tree of closures (cached per :class:`Validator`, keyed by definition, with
trampolines for recursive definitions).  Scalar properties are checked inline by the
enclosing object; paths are linked tuples, formatted only when something is wrong.

The hand-written rules are plain code over raw dicts, not schema data, so they live
apart: per-kind and update rules in :mod:`mizzen.apiserver.validation_rules`, name,
label and selector formats in :mod:`mizzen.apiserver.validation_names`.  Their
public helpers are re-exported here (``__all__``) so existing imports keep working.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mizzen.apiserver.errors import Cause, field_invalid, field_required, field_type
from mizzen.apiserver.resources import ResourceInfo
from mizzen.apiserver.schema import Node, SchemaSet, node_types
from mizzen.apiserver.specmemo import SpecMemo
from mizzen.apiserver.validation_names import (
    CleanMeta,
    config_key,
    dns1035_label,
    dns1123_label,
    dns1123_subdomain,
    label_value,
    not_supported,
    port_name,
    qualified_name,
    selector_matches,
)
from mizzen.apiserver.validation_rules import (
    QUANTITY,
    QUANTITY_RE,
    WORKLOADS,
    check_object,
    check_update,
    parse_quantity,
)

__all__ = [
    "Validator", "Verdict", "check_object", "check_update", "config_key", "dns1035_label",
    "dns1123_label", "dns1123_subdomain", "field_path", "label_value", "not_supported",
    "parse_quantity", "port_name", "qualified_name", "selector_matches", "strict_path",
]

# A path is a chain (parent, segment): str = field, int = list index, tuple = map key.
Path = tuple[Any, Any] | None
Check = Callable[[Any, Path, "_Sink"], None]
# The check of a whole object; the flags say its ``spec``, its ``status`` are known clean.
RootCheck = Callable[[dict[str, Any], "_Sink", bool, bool], None]
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
CLEAN_SPECS = 128  # specs remembered clean, per Validator
CLEAN_SPEC_BYTES = 32 * 1024  # larger specs are walked every time
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
# Required in the OpenAPI but not enforced by upstream validation, or enforced by the
# object rules (validation_rules) with upstream's own wording instead.
_NOT_REQUIRED = frozenset({
    ("io.k8s.api.apps.v1.StatefulSetSpec", "serviceName"),
    *((f"io.k8s.api.apps.v1.{k}Spec", f) for k in WORKLOADS for f in ("selector", "template")),
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
    """Validates raw objects of built-in kinds; compiled schemas are cached per instance.

    A ``spec`` seen clean before is not walked again: the instance remembers the
    JSON text of the last :data:`CLEAN_SPECS` specs per kind that passed the schema
    walk and the spec rules without a finding (pods made from one template share
    theirs), and an update that leaves ``spec`` as stored skips it too, as it skips
    a ``status`` the registry carried over from the stored object.  Either way the
    walk would find nothing: it is a function of the text, and stored objects
    passed it.
    """

    def __init__(self, schemas: SchemaSet) -> None:
        self._schemas = schemas
        self._roots: dict[tuple[str, str, str], RootCheck | None] = {}
        self._specs: dict[tuple[str, bool], Spec] = {}
        self._pending: set[tuple[str, bool]] = set()
        self._clean: SpecMemo[None] = SpecMemo(CLEAN_SPECS, CLEAN_SPEC_BYTES)
        self._clean_meta = CleanMeta()

    def validate(self, info: ResourceInfo, obj: dict[str, Any],
                 old: dict[str, Any] | None = None) -> Verdict:
        key = (info.group, info.version, info.kind)
        if key not in self._roots:
            self._roots[key] = self._compile_root(*key)
        check = self._roots[key]
        if check is None:
            return Verdict()
        spec = self._clean.key(key, obj.get("spec"))
        seen = spec is not None and (spec in self._clean or (
            old is not None and spec == self._clean.key(key, old.get("spec"))))
        status = obj.get("status")
        sink = _Sink()
        check(obj, sink, seen, type(status) is dict and old is not None and
              status is old.get("status"))
        check_object(info, obj, sink.causes, spec_checked=seen, clean_meta=self._clean_meta)
        if old is not None:
            check_update(info, obj, old, sink.causes)
        if spec is not None and not seen and not sink.unknown and not sink.causes:
            self._clean.remember(spec, None)
        return Verdict(sink.unknown, sink.causes)

    def _compile_root(self, group: str, version: str, kind: str) -> RootCheck | None:
        node = self._schemas.root(group, version, kind)
        if node is None:
            return None
        name = self._schemas.definition_name(group, version, kind) or kind
        variants: dict[tuple[bool, bool], Check] = {}

        def check(obj: dict[str, Any], sink: _Sink, spec_seen: bool, status_seen: bool) -> None:
            which = (spec_seen, status_seen)
            walk = variants.get(which)
            if walk is None:
                skip = frozenset(p for p, seen in zip(("spec", "status"), which, strict=True)
                                 if seen)
                walk = variants[which] = self._object(node, name, lenient=False, root=True,
                                                      skip=skip)
            walk(obj, None, sink)
        return check

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

    def _object(self, node: Node, name: str, lenient: bool, root: bool = False,
                skip: frozenset[str] = frozenset()) -> Check:
        props: dict[str, Spec] = {}
        for prop, sub in (node.get("properties") or {}).items():
            if root and prop in ("apiVersion", "kind"):   # the caller checks the top-level kind
                sub = {k: v for k, v in sub.items() if k != "enum"}
            props[prop] = self._spec(sub, name, lenient or (root and prop == "status"))
            if prop in skip:
                props[prop] = (frozenset({dict}), props[prop][1], None)  # known clean
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
    if type(value) is str and not QUANTITY_RE.match(value):
        sink.causes.append(field_invalid(
            field_path(path), value, f"quantities must match the regular expression '{QUANTITY}'"))
