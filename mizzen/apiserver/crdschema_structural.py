"""Whether a CRD version's ``openAPIV3Schema`` is acceptable, as kube-apiserver decides.

A CRD write is rejected (422) when its schema fails any of three upstream passes,
reproduced here over the raw schema dicts with upstream's messages and
``field.Path`` spelling (``...openAPIV3Schema.properties[spec].type``):

1. ``ValidateCustomResourceDefinitionOpenAPISchema``: unsupported keywords
   (``$ref``, ``definitions``, ``patternProperties``...), ``uniqueItems``,
   ``additionalProperties`` next to ``properties``, defaults in top-level
   metadata, ``x-kubernetes-list-type``/``map-type``/``list-map-keys`` rules.
2. ``ValidateStructural``: every specified node has a ``type`` (unless
   ``x-kubernetes-int-or-string`` or ``x-kubernetes-preserve-unknown-fields``),
   arrays have ``items``, value validations (``allOf``/``anyOf``/``oneOf``/
   ``not``) add no types, defaults or extensions, root ``metadata`` restricts
   at most ``name``/``generateName``, embedded resources are objects, patterns
   compile.  These causes are sorted as upstream sorts them.
3. Only when 2 found nothing: every ``default`` is valid against its own node
   and has no unknown fields (``ValidateDefaults``), using the same compiled
   validator and pruner custom resources get.

The passes are plain recursive functions; a schema is checked once per CRD
write, so clarity wins over speed here.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

import orjson

from mizzen.apiserver.crdschema_formats import compile_pattern
from mizzen.apiserver.crdschema_tree import Node, prune
from mizzen.apiserver.crdschema_validate import compile_spec
from mizzen.apiserver.crdschema_values import (
    Sink,
    forbidden,
    go_quote,
    invalid,
    not_supported,
    required,
)
from mizzen.apiserver.errors import Cause

_TYPES = ("array", "boolean", "integer", "number", "object", "string")
_META = ("metadata", "kind", "apiVersion")
_ROOT, _ITEM, _FIELD = 0, 1, 2
_NO_TYPE = MappingProxyType({_ROOT: "must not be empty at the root",
            _ITEM: "must not be empty for specified array items",
            _FIELD: "must not be empty for specified object fields"})
# (keyword, reported when present even if empty, message)
_UNSUPPORTED = (("id", False, "id is not supported"),
                ("additionalItems", True, "additionalItems is not supported"),
                ("patternProperties", False, "patternProperties is not supported"),
                ("definitions", False, "definitions is not supported"),
                ("dependencies", True, "dependencies is not supported"),
                ("$ref", True, "$ref is not supported"))
_NESTED_FORBIDDEN = (
    ("type", "must be empty"), ("additionalProperties", "must be undefined"),
    ("default", "must be undefined"), ("title", "must be empty"),
    ("description", "must be empty"), ("nullable", "must be false"),
    ("externalDocs", "must be undefined"),
    ("x-kubernetes-preserve-unknown-fields", "must be false"),
    ("x-kubernetes-embedded-resource", "must be false"),
    ("x-kubernetes-int-or-string", "must be false"),
    ("x-kubernetes-list-map-keys", "must be empty"),
    ("x-kubernetes-list-type", "must be undefined"),
    ("x-kubernetes-map-type", "must be undefined"),
    ("x-kubernetes-validations", "must be empty"))


def structural_errors(schema: dict[str, Any], prefix: str = "openAPIV3Schema") -> list[Cause]:
    """Why kube-apiserver would reject ``schema`` (empty when it is acceptable).

    ``prefix`` is the schema's own field path, e.g.
    ``spec.versions[0].schema.openAPIV3Schema``.
    """
    out: list[Cause] = []
    if schema.get("nullable") is True:
        out.append(forbidden(f"{prefix}.nullable", "nullable cannot be true at the root"))
    found: list[Cause] = []
    _invariants(schema, _ROOT, prefix, found)
    _completeness(schema, schema, prefix, prefix, found)
    found.sort(key=lambda c: f"{c.field}: {c.message}")
    if not found:
        _defaults(schema, prefix, True, False, found)
    out += found
    _openapi(schema, prefix, out, root=True, inside_meta=False, no_default=None)
    return out


def _props(s: dict[str, Any]) -> dict[str, Any]:
    props = s.get("properties")
    return {k: v for k, v in props.items() if isinstance(v, dict)} \
        if isinstance(props, dict) else {}


def _type(s: dict[str, Any]) -> str:
    t = s.get("type")
    return t if isinstance(t, str) else ""


def _openapi(s: Any, path: str, out: list[Cause], root: bool, inside_meta: bool,
             no_default: str | None) -> None:
    """``ValidateCustomResourceDefinitionOpenAPISchema`` (``no_default``: why defaults are out)."""
    if not isinstance(s, dict):
        return
    t = _type(s)
    if t and t not in _TYPES:
        out.append(not_supported(f"{path}.type", t, list(_TYPES)))
    if s.get("default") is not None and no_default is not None:
        out.append(forbidden(f"{path}.default", f"must not be set {no_default}".rstrip()))
    out += [forbidden(f"{path}.{key}", why) for key, present, why in _UNSUPPORTED
            if (s.get(key) is not None if present else s.get(key))]
    if t == "null":
        out.append(forbidden(f"{path}.type",
                             "type cannot be set to null, use nullable as an alternative"))
    items = s.get("items")
    if isinstance(items, list) and items:
        out.append(forbidden(f"{path}.items", "items must be a schema object and not an array"))
    if inside_meta and s.get("x-kubernetes-embedded-resource") is True:
        out.append(forbidden(f"{path}.x-kubernetes-embedded-resource",
                             "must not be used inside of resource meta"))
    if s.get("uniqueItems") is True:
        out.append(forbidden(f"{path}.uniqueItems", "uniqueItems cannot be set to true since the "
                             "runtime complexity becomes quadratic"))
    props, extra = _props(s), s.get("additionalProperties")
    if extra is not None:
        if props and (extra is False or isinstance(extra, dict)):
            out.append(forbidden(f"{path}.additionalProperties",
                                 "additionalProperties and properties are mutual exclusive"))
        _openapi(extra, f"{path}.additionalProperties", out, False, inside_meta,
                 "inside additionalProperties applying to object metadata" if inside_meta
                 else no_default)
    embedded = s.get("x-kubernetes-embedded-resource") is True
    for key, sub in props.items():
        meta = (root or embedded) and key in _META
        _openapi(sub, f"{path}.properties[{key}]", out, False, inside_meta or meta,
                 f"in top-level {key}" if root and meta else no_default)
    _openapi(s.get("not"), f"{path}.not", out, False, inside_meta, no_default)
    for key in ("allOf", "oneOf", "anyOf"):
        for i, sub in enumerate(s.get(key) or ()):
            _openapi(sub, f"{path}.{key}[{i}]", out, False, inside_meta, no_default)
    if isinstance(items, dict):
        _openapi(items, f"{path}.items", out, False, inside_meta, no_default)
    if s.get("x-kubernetes-preserve-unknown-fields") is False:
        out.append(invalid(f"{path}.x-kubernetes-preserve-unknown-fields", False,
                           "must be true or undefined"))
    _list_rules(s, path, t, out)


def _list_rules(s: dict[str, Any], path: str, t: str, out: list[Cause]) -> None:
    map_type, list_type = s.get("x-kubernetes-map-type"), s.get("x-kubernetes-list-type")
    keys = s.get("x-kubernetes-list-map-keys") or []
    items = s.get("items")

    def wrong_type(kind: str, why: str) -> None:
        detail = f"must be {kind} if {why} is specified"
        out.append(required(f"{path}.type", detail) if not t else
                   invalid(f"{path}.type", t, detail))

    if map_type is not None and t != "object":
        wrong_type("object", "x-kubernetes-map-type")
    if map_type is not None and map_type not in ("atomic", "granular"):
        out.append(not_supported(f"{path}.x-kubernetes-map-type", map_type, ["atomic", "granular"]))
    if list_type is not None and t != "array":
        wrong_type("array", "x-kubernetes-list-type")
    elif list_type == "set" and isinstance(items, dict):
        atomic = "must be atomic as item of a list with x-kubernetes-list-type=set"
        if _type(items) == "array" and items.get("x-kubernetes-list-type", "atomic") != "atomic":
            out.append(invalid(f"{path}.items.x-kubernetes-list-type",
                               items.get("x-kubernetes-list-type"), atomic))
        if _type(items) == "object" and items.get("x-kubernetes-map-type") != "atomic":
            out.append(invalid(f"{path}.items.x-kubernetes-map-type",
                               items.get("x-kubernetes-list-type"), atomic))
    if list_type is not None and list_type not in ("atomic", "set", "map"):
        out.append(not_supported(f"{path}.x-kubernetes-list-type", list_type,
                                 ["atomic", "set", "map"]))
    if keys and list_type != "map":
        detail = "must be map if x-kubernetes-list-map-keys is non-empty"
        out.append(required(f"{path}.x-kubernetes-list-type", detail) if list_type is None else
                   invalid(f"{path}.x-kubernetes-list-type", list_type, detail))
    if list_type != "map":
        return
    if not keys:
        out.append(required(f"{path}.x-kubernetes-list-map-keys",
                            "must not be empty if x-kubernetes-list-type is map"))
    if items is None:
        out.append(required(f"{path}.items", "must have a schema if x-kubernetes-list-type is map"))
    elif not isinstance(items, dict):
        out.append(invalid(f"{path}.items", items,
                           "must only have a single schema if x-kubernetes-list-type is map"))
    elif _type(items) != "object":
        out.append(invalid(f"{path}.items.type", _type(items),
                           "must be object if parent array's x-kubernetes-list-type is map"))
    else:
        shown = "[]string{" + ", ".join(go_quote(str(k)) for k in keys) + "}"
        at = f"{path}.x-kubernetes-list-map-keys"
        item_props, seen = _props(items), set()
        for key in keys:
            if key not in item_props:
                out.append(Cause("FieldValueInvalid", f"Invalid value: {shown}: entries must all "
                                 "be names of item properties", at))
            elif _type(item_props[key]) in ("array", "object"):
                out.append(invalid(f"{path}.items.properties[{key}].type", "object", "must be a "
                                   "scalar type if parent array's x-kubernetes-list-type is map"))
            if key in seen:
                out.append(Cause("FieldValueInvalid", f"Invalid value: {shown}: must not contain "
                                 "duplicate entries", at))
            seen.add(key)


def _invariants(s: Any, level: int, path: str, out: list[Cause]) -> None:
    """``validateStructuralInvariants`` for one node of the structural skeleton."""
    if not isinstance(s, dict):
        return
    t, props, items = _type(s), _props(s), s.get("items")
    extra = s.get("additionalProperties")
    if t == "array" and items is None:
        out.append(required(f"{path}.items", "must be specified"))
    if isinstance(items, dict):
        _invariants(items, _ITEM, f"{path}.items", out)
    for key, sub in props.items():
        _invariants(sub, _FIELD, f"{path}.properties[{key}]", out)
    if extra is not None:
        if level == _ROOT:
            out.append(forbidden(f"{path}.additionalProperties", "must not be used at the root"))
        if isinstance(extra, dict):
            _invariants(extra, _FIELD, f"{path}.additionalProperties", out)
    int_or_string = s.get("x-kubernetes-int-or-string") is True
    preserve = s.get("x-kubernetes-preserve-unknown-fields") is True
    embedded = s.get("x-kubernetes-embedded-resource") is True
    for key in ("x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource"):
        if int_or_string and s.get(key) is True:
            out.append(invalid(f"{path}.{key}", True,
                               "must be false if x-kubernetes-int-or-string is true"))
    all_of = s.get("allOf")
    first = all_of[0] if isinstance(all_of, list) and all_of else None
    _value_validation(s, _int_or_string(s.get("anyOf")), isinstance(first, dict) and
                      _int_or_string(first.get("anyOf")), level, path, out)
    if embedded and t != "object":
        detail = "must be object if x-kubernetes-embedded-resource is true"
        out.append(invalid(f"{path}.type", t, detail) if t else required(f"{path}.type", detail))
    elif not t and not int_or_string and not preserve:
        out.append(required(f"{path}.type", _NO_TYPE[level]))
    if embedded and extra is not None:
        out.append(forbidden(f"{path}.additionalProperties",
                             "must not be used if x-kubernetes-embedded-resource is set"))
    if level == _ROOT and t and t != "object":
        out.append(invalid(f"{path}.type", t, "must be object at the root"))
    check_meta = level == _ROOT or embedded
    for key in ("kind", "apiVersion"):
        if check_meta and key in props and _type(props[key]) != "string":
            out.append(invalid(f"{path}.properties[{key}].type", _type(props[key]),
                               "must be string"))
    if "metadata" in props:
        meta, at = props["metadata"], f"{path}.properties[metadata]"
        if check_meta and _type(meta) != "object":
            out.append(invalid(f"{at}.type", _type(meta), "must be object"))
        if level == _ROOT and (not set(_props(meta)) <= {"name", "generateName"} or any(
                v not in (None, False, "", [], {}) for k, v in meta.items()
                if k not in ("type", "default", "properties", "example"))):
            out.append(forbidden(at, "must not specify anything other than name and generateName,"
                                 " but metadata is implicitly specified"))
    if embedded and not preserve and not props:
        out.append(required(f"{path}.properties", "must not be empty if "
                            "x-kubernetes-embedded-resource is true without "
                            "x-kubernetes-preserve-unknown-fields"))


def _int_or_string(alternatives: Any) -> bool:
    """The ``anyOf`` that int-or-string fields may carry without breaking structurality."""
    return bool(alternatives == [{"type": "integer"}, {"type": "string"}])


def _value_validation(v: dict[str, Any], skip_any_of: bool, skip_first_all_of_any_of: bool,
                      level: int, path: str, out: list[Cause]) -> None:
    if not skip_any_of:
        for i, sub in enumerate(v.get("anyOf") or ()):
            _nested(sub, False, level, f"{path}.anyOf[{i}]", out)
    for i, sub in enumerate(v.get("allOf") or ()):
        _nested(sub, skip_first_all_of_any_of and i == 0, level, f"{path}.allOf[{i}]", out)
    for i, sub in enumerate(v.get("oneOf") or ()):
        _nested(sub, False, level, f"{path}.oneOf[{i}]", out)
    _nested(v.get("not"), False, level, f"{path}.not", out)
    pattern = v.get("pattern")
    if isinstance(pattern, str) and pattern:
        try:
            compile_pattern(pattern)
        except re.error as exc:
            out.append(invalid(f"{path}.pattern", pattern,
                               f"must be a valid regular expression, but isn't: {exc}"))


def _nested(v: Any, skip_any_of: bool, level: int, path: str, out: list[Cause]) -> None:
    """``validateNestedValueValidation``: value validations may not shape the object."""
    if not isinstance(v, dict):
        return
    _value_validation(v, skip_any_of, False, level, path, out)
    _nested(v.get("items"), False, level, f"{path}.items", out)
    for key, sub in _props(v).items():
        _nested(sub, False, _FIELD, f"{path}.properties[{key}]", out)
    for key, rule in _NESTED_FORBIDDEN:
        if v.get(key) not in (None, False, "", [], {}):
            out.append(forbidden(f"{path}.{key}", f"{rule} to be structural"))
    if "metadata" in _props(v):
        out.append(forbidden(f"{path}.properties[metadata]",
                             "must not be specified in a nested context"))


def _completeness(v: dict[str, Any], s: Any, s_path: str, v_path: str, out: list[Cause]) -> None:
    """``validateValueValidationCompleteness`` (from the root, as upstream)."""
    if not isinstance(s, dict):
        out.append(required(s_path, f"because it is defined in {v_path}"))
        return
    _complete_nested(v.get("not"), s, s_path, f"{v_path}.not", out)
    for key in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(v.get(key) or ()):
            _complete_nested(sub, s, s_path, f"{v_path}.{key}[{i}]", out)


def _complete_nested(v: Any, s: Any, s_path: str, v_path: str, out: list[Cause]) -> None:
    if not isinstance(v, dict):
        return
    if not isinstance(s, dict):
        out.append(required(s_path, f"because it is defined in {v_path}"))
        return
    _completeness(v, s, s_path, v_path, out)
    if isinstance(v.get("items"), dict):
        _complete_nested(v["items"], s.get("items"), f"{s_path}.items", f"{v_path}.items", out)
    s_props = _props(s)
    for key, sub in _props(v).items():
        at, where = f"{s_path}.properties[{key}]", f"{v_path}.properties[{key}]"
        if key not in s_props:
            out.append(required(at, f"because it is defined in {where}"))
        else:
            _complete_nested(sub, s_props[key], at, where, out)


def _defaults(s: Any, path: str, resource_root: bool, inside_meta: bool,
              out: list[Cause]) -> None:
    """``ValidateDefaults``: each default is pruned and valid against its own node."""
    if not isinstance(s, dict):
        return
    embedded = resource_root or s.get("x-kubernetes-embedded-resource") is True
    if embedded:
        inside_meta = False
    value = s.get("default")
    if value is not None:
        at = f"{path}.default"
        if not inside_meta:
            unknown: list[str] = []
            prune(orjson.loads(orjson.dumps(value)), Node(s, root=embedded), None, unknown, [])
            if unknown:
                out.append(invalid(at, value, "must not have unknown fields"))
        sink = Sink(at)
        compile_spec(s, root=resource_root).full(value, None, sink)
        out += sink.late or sink.causes  # upstream: metadata errors, else schema errors
    if isinstance(s.get("items"), dict):
        _defaults(s["items"], f"{path}.items", False, inside_meta, out)
    for key, sub in _props(s).items():
        _defaults(sub, f"{path}.properties[{key}]", False,
                  inside_meta or (embedded and key in _META), out)
