"""Validation of custom resources against a structural schema, compiled into closures.

Why a hand-written compiled walker rather than ``jsonschema``: every custom
resource write is validated, and what clients see is kube-openapi's wording on
``field.Error`` causes (``spec.replicas in body must be of type integer:
"string"``), its paths, and its quirks — checks apply by the *value's* kind
(a string under an integer schema still gets ``pattern`` checked), combinator
failures land on the root path, ``minProperties`` stops the object's other
checks, integer bounds are truncated to int64, unsupported formats are
ignored.  Reproducing those on top of ``jsonschema`` would cost a translation
pass per error and its generic per-keyword dispatch; compiling each node once
into a closure keeps validating a typical object to a few tens of microseconds.

:func:`compile_spec` turns a schema node into a :class:`Spec`: a table from the
value's Python type to what must run for it — ``None`` when the node checks
nothing beyond the (correct) type, which is most leaves, so the parent makes no
call at all; the one kind-specific step when that is all there is (an object's
property loop, an array's item loop), saving a call level per node; otherwise
the full check.  A check gets the value, its linked path and the :class:`Sink`;
names and messages are formatted only on failure.  Combinators first try the
alternatives' tables (an int-or-string ``anyOf`` passes without running
anything) and run alternatives only when that does not decide.  The scalar
keywords' steps live in :mod:`~mizzen.apiserver.crdschema_scalars`.
"""

from __future__ import annotations

from types import MappingProxyType, NoneType
from typing import Any

from mizzen.apiserver.crdschema_formats import format_checker
from mizzen.apiserver.crdschema_meta import list_type_check, validate_embedded
from mizzen.apiserver.crdschema_scalars import Check, count, enum_step, number_step, string_step
from mizzen.apiserver.crdschema_values import (
    Path,
    Sink,
    go_quote,
    invalid,
    openapi_name,
    required,
    too_many,
    type_invalid,
)

_ALL = (str, int, float, bool, dict, list)
_ACCEPT = MappingProxyType({"string": (str,), "integer": (int,), "number": (int, float),
                            "boolean": (bool,), "object": (dict,), "array": (list,)})
_KIND = MappingProxyType({str: "string", int: "integer", float: "number", bool: "boolean",
                          dict: "object", list: "array", NoneType: "null"})
_GO_KIND_FORMAT = MappingProxyType({int: "int64", float: "float64"})


class Spec(dict[type, Check | None]):
    """What to run for a value, by its type (``None``: nothing); other types get ``full``."""

    __slots__ = ("full",)

    def __init__(self, table: dict[type, Check | None], full: Check) -> None:
        super().__init__(table)
        self.full = full

    def __missing__(self, key: type) -> Check:
        return self.full


def _nothing(value: Any, path: Path, sink: Sink) -> None:
    return None


def _anything() -> Spec:
    """The spec of a node that constrains nothing."""
    return Spec(dict.fromkeys((*_ALL, NoneType)), _nothing)


def _type_error(sink: Sink, path: Path, expected: str, actual: str) -> None:
    name = openapi_name(path)
    sink.causes.append(type_invalid(sink.field(name), actual,
                                    f"{name} in body must be of type {expected}: "
                                    f"{go_quote(actual)}"))


def _root_error(sink: Sink, path: Path, message: str) -> None:
    """A kube-openapi error that is not a field error: reported on the root path."""
    sink.causes.append(invalid(sink.prefix, "", f"{go_quote(openapi_name(path))} {message}"))


def _combinators(node: dict[str, Any]) -> list[Check]:
    steps: list[Check] = []

    def alternatives(key: str) -> list[Spec]:
        alts = node.get(key)
        return [compile_spec(a) for a in alts if isinstance(a, dict)] \
            if isinstance(alts, list) else []

    def run(spec: Spec, value: Any, path: Path, sink: Sink) -> list[Any]:
        step = spec[type(value)]
        if step is None:
            return []
        trial = Sink(sink.prefix)
        step(value, path, trial)
        return trial.causes

    any_of, one_of, all_of = alternatives("anyOf"), alternatives("oneOf"), alternatives("allOf")
    if any_of:
        def any_step(value: Any, path: Path, sink: Sink) -> None:
            t = type(value)
            if any(spec[t] is None for spec in any_of):
                return
            best: list[Any] | None = None
            for spec in any_of:
                found = run(spec, value, path, sink)
                if not found:
                    return
                if best is None or len(found) < len(best):
                    best = found
            _root_error(sink, path, "must validate at least one schema (anyOf)")
            sink.causes.extend(best or ())
        steps.append(any_step)
    if one_of:
        def one_step(value: Any, path: Path, sink: Sink) -> None:
            valid, best = 0, None
            for spec in one_of:
                found = run(spec, value, path, sink)
                if not found:
                    valid, best = valid + 1, None
                elif valid == 0 and (best is None or len(found) < len(best)):
                    best = found
            if valid != 1:
                why = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
                _root_error(sink, path, f"must validate one and only one schema (oneOf). {why}")
                sink.causes.extend(best or ())
        steps.append(one_step)
    if all_of:
        def all_step(value: Any, path: Path, sink: Sink) -> None:
            valid = 0
            for spec in all_of:
                found = run(spec, value, path, sink)
                sink.causes.extend(found)
                valid += not found
            if valid != len(all_of):
                _root_error(sink, path, "must validate all the schemas (allOf)"
                            + (". None validated" if valid == 0 else ""))
        steps.append(all_step)
    if isinstance(node.get("not"), dict):
        negated = compile_spec(node["not"])

        def not_step(value: Any, path: Path, sink: Sink) -> None:
            if not run(negated, value, path, sink):
                _root_error(sink, path, "must not validate the schema (not)")
        steps.append(not_step)
    return steps


def _array_step(node: dict[str, Any]) -> Check | None:
    items = compile_spec(node["items"]) if isinstance(node.get("items"), dict) else None
    low, high = count(node, "minItems"), count(node, "maxItems")
    unique = node.get("uniqueItems") is True
    list_type = list_type_check(node)
    if items is None and low is None and high is None and not unique and list_type is None:
        return None
    def check(value: list[Any], path: Path, sink: Sink) -> None:
        if items is not None:
            for i, item in enumerate(value):
                step = items[type(item)]
                if step is not None:
                    step(item, (path, i), sink)
        n = len(value)
        if low is not None and n < low:
            name = openapi_name(path)
            sink.causes.append(invalid(sink.field(name), n,
                                       f"{name} in body should have at least {low} items"))
        if high is not None and n > high:
            sink.causes.append(too_many(sink.field(openapi_name(path)), n, high))
        if unique and any(a == b for i, a in enumerate(value) for b in value[i + 1:]):
            name = openapi_name(path)
            sink.causes.append(invalid(sink.field(name), "",
                                       f"{name} in body shouldn't contain duplicates"))
        if list_type is not None:
            list_type(value, path, sink)
    return check


def _object_step(node: dict[str, Any], root: bool) -> Check | None:
    raw = node.get("properties")
    props = {k: compile_spec(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    extra = node.get("additionalProperties")
    closed = extra is False
    extra_spec = compile_spec(extra) if isinstance(extra, dict) else None
    req = tuple(r for r in node.get("required") or () if isinstance(r, str))
    low, high = count(node, "minProperties"), count(node, "maxProperties")
    embedded = node.get("x-kubernetes-embedded-resource") is True and not root
    if not (props or closed or extra_spec or req or embedded) and low is None and high is None:
        return None
    lookup = props.get

    def check(value: dict[str, Any], path: Path, sink: Sink) -> None:
        n = len(value)
        if low is not None and n < low:
            name = openapi_name(path)
            sink.causes.append(invalid(sink.field(name), n,
                                       f"{name} in body should have at least {low} properties"))
            return
        if high is not None and n > high:
            sink.causes.append(too_many(sink.field(openapi_name(path)), n, high))
            return
        for key, item in value.items():
            spec = lookup(key)
            if spec is None:
                if closed:
                    name = openapi_name(path)
                    sink.causes.append(invalid(sink.field(name), key,
                                               f"{name}.{key} in body is a forbidden property"))
                elif extra_spec is not None:
                    step = extra_spec[type(item)]
                    if step is not None:
                        step(item, (path, (key,)), sink)
            else:
                step = spec[type(item)]
                if step is not None:
                    step(item, (path, key), sink)
        for key in req:
            if key not in value:
                sink.causes.append(required(sink.field(openapi_name((path, key)))))
        if embedded:
            validate_embedded(value, path, sink)
    return check


def compile_spec(node: Any, root: bool = False) -> Spec:
    """Compile one schema node (and everything below it)."""
    if not isinstance(node, dict):
        return _anything()
    names = ["integer", "string"] if node.get("x-kubernetes-int-or-string") is True else (
        [node["type"]] if isinstance(node.get("type"), str) and node["type"] else [])
    accept = frozenset(t for n in names for t in _ACCEPT.get(n, ())) if names else frozenset(_ALL)
    integral_floats = "integer" in names and "number" not in names
    numeric = integral_floats or "number" in names
    expected = ",".join(names)
    nullable = node.get("nullable") is True
    fmt_check = format_checker(node.get("format"))
    fmt_name = str(node.get("format")) if fmt_check is not None else ""
    typed = bool(names) or fmt_check is not None
    combos = _combinators(node)
    enum = enum_step(node)
    by_kind: dict[type, list[Check]] = {t: [] for t in _ALL}
    string = string_step(node)
    if string is not None:
        by_kind[str].append(string)
    if fmt_check is not None:
        def format_step(value: str, path: Path, sink: Sink) -> None:
            if not fmt_check(value):
                name = openapi_name(path)
                sink.causes.append(type_invalid(sink.field(name), value, f"{name} in body must "
                                                f"be of type {fmt_name}: {go_quote(value)}"))
        by_kind[str].append(format_step)
    number = number_step(node)
    if number is not None:
        by_kind[int].append(number)
        by_kind[float].append(number)
    array = _array_step(node)
    if array is not None:
        by_kind[list].append(array)
    if enum is not None:
        for t in _ALL:
            by_kind[t].append(enum)
    obj = _object_step(node, root)
    if obj is not None:
        by_kind[dict].append(obj)
    steps = {t: tuple(s) for t, s in by_kind.items() if s}

    def check(value: Any, path: Path, sink: Sink) -> None:
        t = type(value)
        if value is None:
            if names and not nullable:
                _type_error(sink, path, expected, "null")
            if enum is not None:
                enum(value, path, sink)
            return
        if typed and t not in accept:
            if fmt_name and t is not str and t is not list:
                if not (integral_floats and t is float and value.is_integer()):
                    _type_error(sink, path, fmt_name, _GO_KIND_FORMAT.get(t, ""))
            elif not (fmt_name and not numeric and t in (str, list)) and not (
                    integral_floats and t is float and value.is_integer()):
                _type_error(sink, path, expected, _KIND.get(t, ""))
        for step in combos:
            step(value, path, sink)
        for step in steps.get(t, ()):
            step(value, path, sink)

    table: dict[type, Check | None] = {}
    if not combos:
        for kind in accept:
            if fmt_name and not names and kind not in (str, list):
                continue  # a format without a type: other kinds fail the format's type check
            kind_steps = steps.get(kind, ())
            if len(kind_steps) <= 1:
                table[kind] = kind_steps[0] if kind_steps else None
    if (nullable or not names) and enum is None:
        table[NoneType] = None
    return Spec(table, check)
