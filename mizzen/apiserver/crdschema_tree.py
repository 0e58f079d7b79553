"""Pruning and defaulting of custom resources: upstream's algorithms on a compiled skeleton.

Pruning and defaulting only look at a structural schema's skeleton
(``properties``, ``additionalProperties``, ``items`` and the
``x-kubernetes-*`` flags; value validations such as ``allOf`` never keep a
field), so the schema is compiled once into a tree of :class:`Node` objects
with that skeleton and a few precomputed facts (may anything below need a
default?  is a preserved subtree entirely opaque?) that let the walks skip
whole subtrees — an embedded pod template under
``x-kubernetes-preserve-unknown-fields`` costs one attribute check.

:func:`prune` does in one walk what kube-apiserver's decoder does in three
(``pruning.PruneWithOptions``, ``PruneNonNullableNullsWithoutDefaults``,
``objectmeta.Coerce`` for embedded resources), with the same results:

* unknown fields are removed and reported (sorted, strict-decoder spelling),
  except below ``x-kubernetes-preserve-unknown-fields`` and for
  ``apiVersion``/``kind``/``metadata`` of the root and of embedded resources;
  an ``additionalProperties`` without a schema keeps its keys but prunes every
  object below them, as upstream does;
* ``null`` is removed where the schema says non-nullable and has no default
  (silently: it is not an unknown field);
* embedded resources' metadata is reduced to ObjectMeta (see crdschema_meta).

:func:`default` is ``structuraldefaulting.Default``: a missing property of a
present object gets its default (deep-copied) and so does an explicit ``null``
where the property is not nullable; items and map values that are ``null``
get the items/values default; defaulting recurses into defaulted values.
"""

from __future__ import annotations

from typing import Any

import orjson

from mizzen.apiserver.crdschema_meta import META_FIELDS, coerce_embedded
from mizzen.apiserver.crdschema_values import Path, strict_path

_CONTAINERS = (dict, list)


class Node:
    """The skeleton of one schema node."""

    __slots__ = ("default_bytes", "default_value", "defaults", "drop_null", "embedded",
                 "extra", "has_default", "has_extra", "items", "known", "leaf", "nullable",
                 "opaque", "preserve", "props", "root", "walk")

    def __init__(self, schema: dict[str, Any], root: bool = False) -> None:
        self.root = root
        self.preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        self.embedded = root or schema.get("x-kubernetes-embedded-resource") is True
        self.nullable = schema.get("nullable") is True
        self.has_default = "default" in schema and schema["default"] is not None
        self.default_value = schema.get("default") if self.has_default else None
        self.default_bytes = orjson.dumps(self.default_value) \
            if type(self.default_value) in _CONTAINERS else b""
        self.drop_null = not self.nullable and not self.has_default
        props = schema.get("properties")
        self.props = {k: Node(v) for k, v in props.items() if isinstance(v, dict)} \
            if isinstance(props, dict) else {}
        extra = schema.get("additionalProperties")
        self.has_extra = extra is not None  # a schema, true or false: keys are kept
        self.extra = Node(extra) if isinstance(extra, dict) else None
        items = schema.get("items")
        self.items = Node(items) if isinstance(items, dict) else None
        self.defaults = [(k, n) for k, n in self.props.items() if n.has_default]
        self.walk: bool = bool(self.defaults) or any(n.walk for n in self.props.values()) or any(
            n is not None and (n.has_default or n.walk) for n in (self.extra, self.items))
        self.leaf = not self.props and self.extra is None and self.items is None
        self.opaque = self.preserve and self.leaf and not self.embedded
        # Keys kept without looking (None: all, through additionalProperties).
        self.known = None if self.has_extra else frozenset(self.props) | (
            META_FIELDS if self.embedded else frozenset())

    def make_default(self) -> Any:
        """A fresh copy of this node's default."""
        if self.default_bytes:
            return orjson.loads(self.default_bytes)
        return self.default_value


def prune(obj: Any, node: Node | None, path: Path, unknown: list[str], meta: list[str]) -> None:
    """Remove what ``node`` does not know from ``obj`` (in place), recording paths."""
    t = type(obj)
    if node is None:
        if t is dict:
            unknown.extend(strict_path((path, k)) for k in obj)
            obj.clear()
        elif t is list:
            for i, value in enumerate(obj):
                if type(value) in _CONTAINERS:
                    prune(value, None, (path, i), unknown, meta)
        return
    if node.preserve:
        _keep(obj, node, path, unknown, meta)
        return
    if t is dict:
        known = node.known
        if known is not None and not obj.keys() <= known:
            for key in [k for k in obj if k not in known]:
                unknown.append(strict_path((path, key)))
                del obj[key]
        _inside(obj, node, path, unknown, meta, True)
    elif t is list:
        items = node.items
        for i, value in enumerate(obj):
            if type(value) in _CONTAINERS:
                prune(value, items, (path, i), unknown, meta)


def _keep(obj: Any, node: Node, path: Path, unknown: list[str], meta: list[str]) -> None:
    """``skipPrune``: unknown fields stay, known ones are pruned below."""
    if node.opaque:
        return
    t = type(obj)
    if t is dict:
        _inside(obj, node, path, unknown, meta, node.has_extra)
    elif t is list and node.items is not None:
        for i, value in enumerate(obj):
            if type(value) in _CONTAINERS:
                _keep(value, node.items, (path, i), unknown, meta)


def _inside(obj: dict[str, Any], node: Node, path: Path, unknown: list[str], meta: list[str],
            all_known: bool) -> None:
    """Prune the values of an object whose unknown keys are gone (or are to stay)."""
    props, extra, embedded = node.props, node.extra, node.embedded
    drop: list[str] | None = None
    for key, value in obj.items():
        if type(value) in _CONTAINERS:
            child = props.get(key, extra)
            if embedded and key in META_FIELDS:
                prune_nulls(value, child)  # never pruned, but nulls are
            elif child is not None or all_known or key in props:
                prune(value, child, (path, key), unknown, meta)
        elif value is None:
            child = props.get(key, extra)
            if child is not None and child.drop_null:
                if drop is None:
                    drop = []
                drop.append(key)
    if drop:
        for key in drop:
            del obj[key]
    if embedded and not node.root:
        coerce_embedded(obj, path, meta)


def prune_nulls(obj: Any, node: Node | None) -> None:
    """``PruneNonNullableNullsWithoutDefaults`` alone, for subtrees pruning skips."""
    if node is None or node.leaf:
        return
    if type(obj) is dict:
        for key in [k for k, v in obj.items() if v is None]:
            child = node.props.get(key) or node.extra
            if child is not None and child.drop_null:
                del obj[key]
        for key, value in obj.items():
            if type(value) in _CONTAINERS:
                prune_nulls(value, node.props.get(key) or node.extra)
    elif type(obj) is list:
        for value in obj:
            if type(value) in _CONTAINERS:
                prune_nulls(value, node.items)


def default(obj: Any, node: Node) -> None:
    """Apply ``node``'s defaults to ``obj`` in place (``obj`` has the node's shape or not)."""
    t = type(obj)
    if t is dict:
        for key, child in node.defaults:
            if key not in obj or (obj[key] is None and not child.nullable):
                obj[key] = child.make_default()
        props, extra = node.props, node.extra
        for key, value in obj.items():
            sub = props.get(key)
            if sub is None:
                if extra is None:
                    continue
                sub = extra
                if value is None and sub.has_default and not sub.nullable:
                    value = obj[key] = sub.make_default()
            if sub.walk and type(value) in _CONTAINERS:
                default(value, sub)
    elif t is list:
        items = node.items
        if items is None:
            return
        for i, value in enumerate(obj):
            if value is None and items.has_default and not items.nullable:
                value = obj[i] = items.make_default()
            if items.walk and type(value) in _CONTAINERS:
                default(value, items)
