"""Custom-resource schemas: validation, pruning and defaulting as kube-apiserver does them.

A CRD version's ``schema.openAPIV3Schema`` (a structural schema) is compiled
once into a :class:`CrdSchema`; the server then, for every custom object it
decodes, calls :meth:`~CrdSchema.prune` (unknown fields, reported for
``fieldValidation``), :meth:`~CrdSchema.default` and
:meth:`~CrdSchema.validate` — the order of kube-apiserver's decoder and
strategy.  :func:`structural_errors` is the CRD-side check that a schema is
acceptable at all.

Why the work is split the way it is:

* The validator is a hand-written walker compiled into closures
  (:mod:`~mizzen.apiserver.crdschema_validate`), not ``jsonschema``: upstream's
  causes (``Invalid value: "string": spec.replicas in body must be of type
  integer: "string"``), its paths and its quirks come from kube-openapi's own
  traversal order and rules, which a generic validator would have to be
  re-mapped onto after the fact, at a higher cost per object.
* Pruning and defaulting only need the schema's skeleton, so they run on a
  separate compiled tree (:mod:`~mizzen.apiserver.crdschema_tree`) that knows
  which subtrees it can skip.
* List-type uniqueness, embedded resources and ObjectMeta coercion are not
  OpenAPI and live in :mod:`~mizzen.apiserver.crdschema_meta`; Go-style value
  and path spelling in :mod:`~mizzen.apiserver.crdschema_values`; formats and
  RE2 patterns in :mod:`~mizzen.apiserver.crdschema_formats`; the CRD schema
  checks in :mod:`~mizzen.apiserver.crdschema_structural`.

Root ``metadata`` is the server's business (ObjectMeta validation), except for
what the schema itself says about it; ``apiVersion``/``kind``/``metadata`` at
the root and in embedded resources are never pruned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mizzen.apiserver.crdschema_structural import structural_errors
from mizzen.apiserver.crdschema_tree import Node, default, prune
from mizzen.apiserver.crdschema_validate import compile_spec
from mizzen.apiserver.crdschema_values import Sink
from mizzen.apiserver.errors import Cause

__all__ = ["CrdSchema", "structural_errors"]


class CrdSchema:
    """One CRD version's ``openAPIV3Schema``, compiled once, applied to many objects."""

    __slots__ = ("_raw", "_spec", "_tree")

    def __init__(self, schema: dict[str, Any]) -> None:
        self._raw = schema
        self._tree = Node(schema, root=True)
        self._spec = compile_spec(schema, root=True)

    @property
    def raw(self) -> dict[str, Any]:
        """The schema as the CRD spells it."""
        return self._raw

    def validate(self, obj: dict[str, Any]) -> list[Cause]:
        """Causes for a 422 (empty when ``obj`` is valid); ``obj`` is not changed."""
        sink = Sink()
        step = self._spec[type(obj)]
        if step is not None:
            step(obj, None, sink)
        return sink.all()

    def prune(self, obj: dict[str, Any]) -> list[str]:
        """Drop unknown fields in place; their paths as the strict decoder reports them.

        Also drops, without reporting them, ``null`` where the schema is neither
        nullable nor defaulted, and what embedded resources' metadata cannot
        hold (its unknown fields are reported, after the others).
        """
        unknown: list[str] = []
        meta: list[str] = []
        prune(obj, self._tree, None, unknown, meta)
        unknown.sort()
        if meta:
            unknown.extend(sorted(meta))
        return unknown

    def default(self, obj: dict[str, Any]) -> None:
        """Apply the schema's defaults in place."""
        if self._tree.walk:
            default(obj, self._tree)

    def node_at(self, path: Sequence[str | int]) -> dict[str, Any] | None:
        """The schema node for a field path (property names and list indices), if any.

        Map values are found through ``additionalProperties``; nothing is found
        below an unknown field or a schema-less (preserved) subtree.
        """
        node: Any = self._raw
        for seg in path:
            if not isinstance(node, dict):
                return None
            if isinstance(seg, int) and not isinstance(seg, bool):
                node = node.get("items")
                continue
            props = node.get("properties")
            if isinstance(props, dict) and seg in props:
                node = props[seg]
            else:
                extra = node.get("additionalProperties")
                node = extra if isinstance(extra, dict) else None
        return node if isinstance(node, dict) else None
