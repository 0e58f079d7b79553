"""The parts of custom-resource handling that are not OpenAPI: list types and embedded objects.

kube-apiserver runs these as separate passes after the kube-openapi validation
(``listtype.ValidateListSetsAndMaps``, ``objectmeta.Validate``,
``objectmeta.Coerce``), with ``field.Path`` spelling (map keys as ``[key]``).
Here they are plain functions the compiled walkers call at the nodes that need
them, so no extra pass over the object is made; their causes go to
:attr:`Sink.late` and :attr:`Sink.lists` to keep upstream's order (OpenAPI causes
first, then embedded resources, then list types).

* ``x-kubernetes-list-type: set`` / ``map``: the second occurrence of a value
  (of a key, for maps: ``x-kubernetes-list-map-keys``) is a ``Duplicate value``;
  scalars are compared with their JSON type (``1`` and ``1.0`` differ, as Go's
  ``int64`` and ``float64`` do), compounds by their sorted-key JSON.
* ``x-kubernetes-embedded-resource``: ``apiVersion`` and ``kind`` are required
  strings and ``metadata`` must be an ObjectMeta; on the way in (pruning) the
  metadata is round-tripped through ObjectMeta's fields as upstream's JSON
  decoding does: unknown fields are dropped (and reported like pruned fields),
  fields of the wrong type are dropped, empty ``omitempty`` fields vanish.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import orjson

from mizzen.apiserver.crdschema_formats import is_date_time
from mizzen.apiserver.crdschema_values import (
    Path,
    Sink,
    duplicate,
    field_path,
    invalid,
    required,
)
from mizzen.apiserver.errors import Cause
from mizzen.apiserver.validation_names import check_meta, dns1035_label, dns1123_label

META_FIELDS = frozenset({"apiVersion", "kind", "metadata"})
ListCheck = Callable[[list[Any], Path, Sink], None]

_UNSPECIFIED = object()
_STRING_MAP, _STRING_LIST, _OBJECT_LIST = "map[string]string", "[]string", "[]object"
# ObjectMeta's JSON fields: the Go type they decode into ("time" is a metav1.Time string).
_OBJECT_META = MappingProxyType({
    "name": "string", "generateName": "string", "namespace": "string", "selfLink": "string",
    "uid": "string", "resourceVersion": "string", "generation": "int64",
    "creationTimestamp": "time", "deletionTimestamp": "time",
    "deletionGracePeriodSeconds": "*int64", "labels": _STRING_MAP, "annotations": _STRING_MAP,
    "ownerReferences": _OBJECT_LIST, "finalizers": _STRING_LIST, "managedFields": _OBJECT_LIST})
_JSON_KIND = MappingProxyType({str: "string", int: "number", float: "number", bool: "bool",
                               dict: "object", list: "array"})


# -- list types -------------------------------------------------------------------------

def _identity(value: Any) -> Any:
    t = type(value)
    if t is dict or t is list:
        return (dict, orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    return (t, value)


def _second_occurrences(values: list[Any]) -> list[int]:
    if len(values) <= 1:
        return []
    seen: dict[Any, int] = {}
    out = []
    for i, value in enumerate(values):
        key = _identity(value)
        times = seen.get(key, 0)
        seen[key] = times + 1
        if times == 1:
            out.append(i)
    return out


def _check_set(value: list[Any], path: Path, sink: Sink) -> None:
    for i in _second_occurrences(value):
        sink.lists.append(duplicate(field_path((path, i), sink.prefix), value[i]))


def _map_checker(keys: tuple[str, ...]) -> ListCheck:
    def check(value: list[Any], path: Path, sink: Sink) -> None:
        for i, item in enumerate(value):
            if item is not None and type(item) is not dict:
                sink.lists.append(invalid(field_path((path, i), sink.prefix), item,
                                         "must be an object for an array of list-type map"))
                return
        if len(value) <= 1:
            return
        if len(keys) == 1:
            key = keys[0]
            found = [_UNSPECIFIED if item is None or key not in item else item[key]
                     for item in value]
            for i in _second_occurrences(found):
                shown = {} if found[i] is _UNSPECIFIED else {key: found[i]}
                sink.lists.append(duplicate(field_path((path, i), sink.prefix), shown))
            return
        tuples = [{k: item[k] for k in keys if k in item} if item is not None else {}
                  for item in value]
        for i in _second_occurrences(tuples):
            sink.lists.append(duplicate(field_path((path, i), sink.prefix), tuples[i]))
    return check


def list_type_check(node: dict[str, Any]) -> ListCheck | None:
    """The uniqueness check for an array node's ``x-kubernetes-list-type`` (if any)."""
    kind = node.get("x-kubernetes-list-type")
    if kind == "set":
        return _check_set
    if kind == "map":
        return _map_checker(tuple(node.get("x-kubernetes-list-map-keys") or ()))
    return None


# -- embedded resources: validation -----------------------------------------------------

def _decode_error(meta: Any) -> str | None:
    """Go's ``json.Unmarshal`` error decoding ``meta`` into an ObjectMeta, if any."""
    if meta is None:
        return None
    if type(meta) is not dict:
        return f"json: cannot unmarshal {_JSON_KIND.get(type(meta), 'value')} into Go value " \
               "of type v1.ObjectMeta"
    for key, value in meta.items():
        want = _OBJECT_META.get(key)
        if want is not None and value is not None and _coerce(want, value) is _UNSPECIFIED:
            go = {"time": "v1.Time", "*int64": "int64", _OBJECT_LIST: "[]object"}.get(want, want)
            return f"json: cannot unmarshal {_JSON_KIND.get(type(value), 'value')} into Go " \
                   f"struct field ObjectMeta.{key} of type {go}"
    return None


def _path_segment(value: str, prefix: bool) -> list[str]:
    errs = [] if prefix or value not in (".", "..") else [f"may not be '{value}'"]
    return errs + [f"may not contain '{c}'" for c in "/%" if c in value]


def validate_embedded(obj: dict[str, Any], path: Path, sink: Sink) -> None:
    """``objectmeta.validateEmbeddedResource``: TypeMeta required, ObjectMeta loosely valid."""
    late = sink.late

    def at(name: str) -> str:
        return field_path((path, name), sink.prefix)

    for name in ("apiVersion", "kind"):
        if name not in obj:
            late.append(required(at(name)))
    for key, value in obj.items():
        if key == "apiVersion":
            if type(value) is not str:
                late.append(invalid(at(key), value, "must be a string"))
            elif not value:
                late.append(required(at(key)))
            elif value.count("/") > 1:
                late.append(invalid(at(key), value, f"unexpected GroupVersion string: {value}"))
        elif key == "kind":
            if type(value) is not str:
                late.append(invalid(at(key), value, "must be a string"))
            elif not value:
                late.append(required(at(key)))
            elif errs := dns1035_label(value.lower()):
                late.append(invalid(at(key), value, "may have mixed case, but should otherwise "
                                    "match: " + ",".join(errs)))
        elif key == "metadata":
            error = _decode_error(value)
            if error is not None:
                late.append(invalid(at(key), value, error))
            elif type(value) is dict:
                _validate_meta(value, at(key), late)


def _validate_meta(meta: dict[str, Any], at: str, out: list[Cause]) -> None:
    generate = meta.get("generateName") or ""
    if generate:
        out += [invalid(f"{at}.generateName", generate, m) for m in _path_segment(generate, True)]
    name = meta.get("name") or "fakename"
    out += [invalid(f"{at}.name", name, m) for m in _path_segment(name, False)]
    namespace = meta.get("namespace") or ""
    if namespace:
        out += [invalid(f"{at}.namespace", namespace, m) for m in dns1123_label(namespace)]
    generation = meta.get("generation")
    if type(generation) is int and generation < 0:
        out.append(invalid(f"{at}.generation", generation, "must be greater than or equal to 0"))
    check_meta(meta, at, out)


# -- embedded resources: coercion (part of pruning) -------------------------------------

def _coerce(want: str, value: Any) -> Any:
    """``value`` as ObjectMeta's field decodes and re-encodes it; ``_UNSPECIFIED`` if it can't."""
    t = type(value)
    if want == "string":
        return value if t is str else _UNSPECIFIED
    if want in ("int64", "*int64"):
        if t is int or (t is float and value.is_integer()):
            return int(value)
        return _UNSPECIFIED
    if want == "time":
        return value if t is str and is_date_time(value) else _UNSPECIFIED
    if want == _STRING_MAP:
        ok = t is dict and all(type(v) is str or v is None for v in value.values())
        return {k: v or "" for k, v in value.items()} if ok else _UNSPECIFIED
    if want == _STRING_LIST:
        ok = t is list and all(type(v) is str or v is None for v in value)
        return [v or "" for v in value] if ok else _UNSPECIFIED
    ok = t is list and all(type(v) is dict or v is None for v in value)
    return value if ok else _UNSPECIFIED


def coerce_embedded(obj: dict[str, Any], path: Path, unknown: list[str]) -> None:
    """``objectmeta.Coerce`` on one embedded resource, dropping invalid fields.

    Non-string ``apiVersion``/``kind`` are dropped; ``metadata`` keeps only what
    ObjectMeta decodes, and its unknown fields are appended to ``unknown``.
    """
    for key in ("apiVersion", "kind"):
        if key in obj and type(obj[key]) is not str:
            del obj[key]
    if "metadata" not in obj:
        return
    meta = obj["metadata"]
    if meta is None:
        obj["metadata"] = {}
        return
    if type(meta) is not dict:
        return  # upstream passes undecodable metadata through; validation reports it
    kept: dict[str, Any] = {}
    for key, value in meta.items():
        want = _OBJECT_META.get(key)
        if want is None:
            unknown.append(field_path(((path, "metadata"), key)))
            continue
        if value is None:
            continue
        value = _coerce(want, value)
        if value is _UNSPECIFIED or (not value and want != "*int64"):
            continue  # undecodable, or empty and omitted on re-encoding
        kept[key] = value
    obj["metadata"] = kept
