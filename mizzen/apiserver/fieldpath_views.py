"""Schema views for server-side apply: list and map semantics at each node of an object.

The field-set walks (:mod:`~mizzen.apiserver.fieldpath`,
:mod:`~mizzen.apiserver.fieldpath_walk`) only ask a node a handful of
questions (:class:`~mizzen.apiserver.fieldpath.SchemaView`); the answers come
from different places for the two kinds of resources, hence three views:

* :class:`BuiltinView` reads the OpenAPI definitions of built-in kinds
  through a :class:`~mizzen.apiserver.schema.SchemaSet`.  List semantics are
  kube-openapi's (``x-kubernetes-list-type``; failing that ``patch-strategy:
  merge`` with a merge key is a map list and without one a set; otherwise
  atomic).  Extensions written beside a ``$ref`` win over the referenced
  definition's (``PersistentVolumeSpec.claimRef`` is ``granular`` although
  ``ObjectReference`` is atomic).
* :class:`CrdView` reads a CRD version's ``openAPIV3Schema`` as written;
  ``metadata`` at the root is ObjectMeta whatever the CRD says, as the
  apiextensions server does.
* :class:`DeducedView` answers for fields no schema describes, as upstream's
  deduced type: maps granular (every key an element), lists atomic.

Child views are built lazily and memoised on their parent, so a root view kept
in a :class:`SchemaViews` (one per registry, not a module global) costs one walk
of the schema over the server's lifetime.  Hand-written for the same reason as
the rest of server-side apply: no maintained Python implementation of
structured-merge-diff exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from mizzen.apiserver.fieldpath import ListType, SchemaView
from mizzen.apiserver.schema import Node, SchemaSet

__all__ = ["DEDUCED", "BuiltinView", "CrdView", "DeducedView", "SchemaViews"]

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
ATOMIC = ListType("atomic")
_EMPTY: Mapping[str, bool] = MappingProxyType({})

# Go value (non-pointer) struct fields that exist in an empty object even when
# optional: ``kubectl create`` of a Deployment owns ``f:spec`` without ``"."``.
_VALUE_STRUCTS = frozenset({"metadata", "spec", "status", "template", "strategy",
                            "updateStrategy", "jobTemplate", "creationTimestamp",
                            "loadBalancer"})
# Defaults of list-map key fields that the bundled (OpenAPI v2 derived) schemas lack.
_KEY_DEFAULTS: Mapping[str, str] = MappingProxyType({"protocol": "TCP"})


class DeducedView:
    """A node no schema describes: granular maps, atomic lists."""

    __slots__ = ()

    def field(self, name: str) -> tuple[SchemaView, bool]:
        return self, False

    def item(self) -> SchemaView:
        return self

    def list_type(self) -> ListType:
        return ATOMIC

    def map_atomic(self) -> bool:
        return False

    def key_default(self, name: str) -> Any:
        return None

    def zero_fields(self) -> Mapping[str, bool]:
        return _EMPTY

    def memo(self) -> dict[Any, Any] | None:
        return None  # shared by every registry: keeps nothing


DEDUCED = DeducedView()  # stateless and immutable: safe to share


def _list_type(ext: Any) -> ListType:
    """List semantics from a node's extensions (``ext(name)`` reads one)."""
    kind = ext("x-kubernetes-list-type")
    if kind == "map":
        return ListType("map", tuple(ext("x-kubernetes-list-map-keys") or ()))
    if kind in ("set", "atomic"):
        return ListType(kind)
    strategy = ext("x-kubernetes-patch-strategy") or ""
    if "merge" in strategy.split(","):
        merge_key = ext("x-kubernetes-patch-merge-key")
        return ListType("map", (merge_key,)) if merge_key else ListType("set")
    return ATOMIC


class BuiltinView:
    """A node of a built-in kind's OpenAPI schema."""

    __slots__ = ("_atomic", "_fields", "_item", "_lt", "_memo", "_node", "_raw", "_schemas",
                 "_values", "_zero")

    def __init__(self, schemas: SchemaSet, raw: Node | None) -> None:
        self._schemas = schemas
        self._raw: Node = raw or {}
        self._node: Node = schemas.resolve(raw) or {}
        self._fields: dict[str, tuple[SchemaView, bool]] = {}
        self._values: SchemaView | None = None
        self._item: SchemaView | None = None
        self._lt: ListType | None = None
        self._zero: Mapping[str, bool] | None = None
        self._memo: dict[Any, Any] | None = None
        self._atomic = bool(self._ext("x-kubernetes-map-type") == "atomic")

    def _ext(self, name: str) -> Any:
        v = self._raw.get(name)
        return self._node.get(name) if v is None else v

    def field(self, name: str) -> tuple[SchemaView, bool]:
        hit = self._fields.get(name)
        if hit is not None:
            return hit
        props = self._node.get("properties")
        if props and name in props:
            hit = self._fields[name] = (BuiltinView(self._schemas, props[name]), True)
            return hit
        if self._values is None:
            extra = self._node.get("additionalProperties")
            self._values = BuiltinView(self._schemas, extra) if isinstance(extra, dict) \
                else DEDUCED
        return self._values, False

    def item(self) -> SchemaView:
        if self._item is None:
            items = self._node.get("items")
            self._item = BuiltinView(self._schemas, items) if isinstance(items, dict) \
                else DEDUCED
        return self._item

    def list_type(self) -> ListType:
        if self._lt is None:
            self._lt = _list_type(self._ext)
        return self._lt

    def map_atomic(self) -> bool:
        return self._atomic

    def key_default(self, name: str) -> Any:
        prop = self._schemas.resolve((self._node.get("properties") or {}).get(name)) or {}
        default = prop.get("default")
        return _KEY_DEFAULTS.get(name) if default is None else default

    def zero_fields(self) -> Mapping[str, bool]:
        if self._zero is None:
            props = self._node.get("properties") or {}
            required = set(self._node.get("required") or ())
            zero: dict[str, bool] = {}
            for name in props:
                if name in required or name in _VALUE_STRUCTS:
                    child = self._schemas.resolve(props[name]) or {}
                    zero[name] = "properties" in child
            self._zero = zero
        return self._zero

    def memo(self) -> dict[Any, Any] | None:
        if self._memo is None:
            self._memo = {}
        return self._memo


class CrdView:
    """A node of a custom resource's ``openAPIV3Schema`` (or the root of a schema-less one)."""

    __slots__ = ("_fields", "_item", "_memo", "_meta", "_node", "_resource", "_values")

    def __init__(self, node: dict[str, Any] | None, meta: SchemaView | None = None,
                 resource: bool = False) -> None:
        self._node: dict[str, Any] = node or {}
        self._meta = meta  # ObjectMeta's view, handed down to embedded resources
        self._resource = resource  # the root or an x-kubernetes-embedded-resource
        self._fields: dict[str, tuple[SchemaView, bool]] = {}
        self._values: SchemaView | None = None
        self._item: SchemaView | None = None
        self._memo: dict[Any, Any] | None = None

    @classmethod
    def root(cls, schema: dict[str, Any] | None, schemas: SchemaSet | None) -> CrdView:
        meta = BuiltinView(schemas, schemas.definitions.get(OBJECT_META)) if schemas else None
        return cls(schema, meta, resource=True)

    def _child(self, node: dict[str, Any]) -> CrdView:
        return CrdView(node, self._meta, bool(node.get("x-kubernetes-embedded-resource")))

    def field(self, name: str) -> tuple[SchemaView, bool]:
        hit = self._fields.get(name)
        if hit is not None:
            return hit
        if name == "metadata" and self._resource and self._meta is not None:
            hit = self._fields[name] = (self._meta, True)
            return hit
        props = self._node.get("properties")
        if isinstance(props, dict) and isinstance(props.get(name), dict):
            hit = self._fields[name] = (self._child(props[name]), True)
            return hit
        if self._values is None:
            extra = self._node.get("additionalProperties")
            self._values = self._child(extra) if isinstance(extra, dict) else DEDUCED
        return self._values, False

    def item(self) -> SchemaView:
        if self._item is None:
            items = self._node.get("items")
            self._item = self._child(items) if isinstance(items, dict) else DEDUCED
        return self._item

    def list_type(self) -> ListType:
        kind = self._node.get("x-kubernetes-list-type")
        if kind == "map":
            return ListType("map", tuple(self._node.get("x-kubernetes-list-map-keys") or ()))
        return ListType("set") if kind == "set" else ATOMIC

    def map_atomic(self) -> bool:
        return bool(self._node.get("x-kubernetes-map-type") == "atomic")

    def key_default(self, name: str) -> Any:
        props = self._node.get("properties")
        prop = props.get(name) if isinstance(props, dict) else None
        return prop.get("default") if isinstance(prop, dict) else None

    def zero_fields(self) -> Mapping[str, bool]:
        return _EMPTY  # an empty unstructured object has no fields at all

    def memo(self) -> dict[Any, Any] | None:
        if self._memo is None:
            self._memo = {}
        return self._memo


class SchemaViews:
    """Root views per kind, built once and kept by their owner (the registry)."""

    def __init__(self, schemas: SchemaSet) -> None:
        self._schemas = schemas
        self._builtin: dict[tuple[str, str, str], SchemaView] = {}
        self._custom: dict[tuple[str, str, str], tuple[object, SchemaView]] = {}

    def builtin(self, group: str, version: str, kind: str) -> SchemaView:
        """The view of a built-in kind (deduced if this Kubernetes version lacks it)."""
        gvk = (group, version, kind)
        view = self._builtin.get(gvk)
        if view is None:
            root = self._schemas.root(group, version, kind)
            view = BuiltinView(self._schemas, root) if root is not None \
                else CrdView.root(None, self._schemas)
            self._builtin[gvk] = view
        return view

    def custom(self, group: str, version: str, kind: str,
               schema: dict[str, Any] | None) -> SchemaView:
        """The view of a custom resource version; rebuilt when its schema object changes."""
        gvk = (group, version, kind)
        hit = self._custom.get(gvk)
        if hit is not None and hit[0] is schema:
            return hit[1]
        view = CrdView.root(schema, self._schemas)
        self._custom[gvk] = (schema, view)
        return view
