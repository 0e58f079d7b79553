"""Kubernetes OpenAPI schemas of built-in types, from ``kubernetes-validate``.

The package ships the upstream OpenAPI definitions converted to JSON Schema,
with the Kubernetes extensions kept (``x-kubernetes-patch-merge-key``,
``x-kubernetes-list-type``, ``x-kubernetes-list-map-keys``,
``x-kubernetes-group-version-kind``).  Validation, strategic merge patch,
server-side apply and ``/openapi/v3`` all walk these schemas, so this module
only loads them once per :class:`SchemaSet` and offers navigation: resolving
``$ref``, stepping into a property or list item, and reading list semantics.

A node is the raw schema dict; navigation always returns resolved nodes (no
``$ref`` left at the top), or ``None`` where the schema says nothing.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from typing import Any

import orjson

Node = dict[str, Any]

DEFAULT_K8S_VERSION = "1.32.0"


@dataclass(frozen=True, slots=True)
class ListSemantics:
    """How a list merges: ``atomic`` (replaced whole), ``set`` or ``map`` (by ``keys``)."""

    list_type: str
    keys: tuple[str, ...] = ()
    # Strategic-merge-patch view: "merge" with a merge key, "replace", or "" (atomic).
    patch_strategy: str = ""
    merge_key: str = ""


class SchemaSet:
    """The built-in definitions of one Kubernetes version, loaded lazily."""

    def __init__(self, k8s_version: str = DEFAULT_K8S_VERSION) -> None:
        self.k8s_version = k8s_version
        self._defs: dict[str, Node] | None = None
        self._by_gvk: dict[tuple[str, str, str], str] = {}

    def _load(self) -> dict[str, Node]:
        if self._defs is None:
            base = importlib.resources.files("kubernetes_validate").joinpath(
                "kubernetes-json-schema", f"v{self.k8s_version}-local-strict", "_definitions.json")
            defs: dict[str, Node] = orjson.loads(base.read_bytes())["$defs"]
            for name, node in defs.items():
                for gvk in node.get("x-kubernetes-group-version-kind", ()):
                    self._by_gvk[(gvk["group"], gvk["version"], gvk["kind"])] = name
            self._defs = defs
        return self._defs

    @property
    def definitions(self) -> dict[str, Node]:
        """Every definition by its OpenAPI name (``io.k8s.api.core.v1.Pod``)."""
        return self._load()

    def definition_name(self, group: str, version: str, kind: str) -> str | None:
        self._load()
        return self._by_gvk.get((group, version, kind))

    def root(self, group: str, version: str, kind: str) -> Node | None:
        """The schema of a top-level kind, or ``None`` if this version has no such kind."""
        name = self.definition_name(group, version, kind)
        return self._load()[name] if name else None

    def resolve(self, node: Node | None) -> Node | None:
        """Follow ``$ref`` (possibly repeated) to the node it names."""
        defs = self._load()
        while node is not None and "$ref" in node:
            ref: str = node["$ref"]
            node = defs.get(ref.rsplit("/", 1)[-1])
        return node

    def prop(self, node: Node | None, name: str) -> Node | None:
        """The schema of field ``name`` of an object node (typed maps answer their values)."""
        node = self.resolve(node)
        if node is None:
            return None
        props = node.get("properties")
        if props and name in props:
            return self.resolve(props[name])
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return self.resolve(extra)
        return None

    def items(self, node: Node | None) -> Node | None:
        """The schema of a list node's elements."""
        node = self.resolve(node)
        if node is None:
            return None
        item = node.get("items")
        return self.resolve(item) if isinstance(item, dict) else None

    def list_semantics(self, node: Node | None) -> ListSemantics:
        """Merge semantics of a list node, as structured-merge-diff reads them."""
        node = self.resolve(node) or {}
        strategy = node.get("x-kubernetes-patch-strategy", "")
        merge_key = node.get("x-kubernetes-patch-merge-key", "")
        list_type = node.get("x-kubernetes-list-type")
        keys = tuple(node.get("x-kubernetes-list-map-keys", ()))
        if list_type is None:
            if "merge" in strategy.split(",") and merge_key:
                list_type, keys = "map", (merge_key,)
            else:
                list_type = "atomic"
        return ListSemantics(list_type, keys, strategy, merge_key)

    def map_is_atomic(self, node: Node | None) -> bool:
        node = self.resolve(node) or {}
        return node.get("x-kubernetes-map-type") == "atomic"


def node_types(node: Node) -> tuple[str, ...]:
    """The JSON types a node admits (``null`` included where the schema allows it)."""
    t = node.get("type")
    if t is None:
        return ()
    if isinstance(t, str):
        return (t,)
    return tuple(t)
