"""The FieldsV1 a create records for its manager, in one walk of the new object.

On create, :func:`~mizzen.apiserver.managedfields.update_managed_fields` gives
the writer every field the object sets: upstream compares the new object with
the Go zero value of its type (:func:`~mizzen.apiserver.fieldpath_walk.zero_object`)
and the writer owns what was added or modified, minus the reset fields and the
identity metadata nobody owns.  Done literally, that is a comparison that
collects a few hundred path tuples, set differences over them, a trie built
from the paths and a FieldsV1 encoded from the trie — about half of the API
server's CPU per pod create.  The result, though, follows directly from the
object: this module walks the new object and its zero value together and
writes the FieldsV1 as it goes, with the same rules as
:func:`~mizzen.apiserver.fieldpath_walk.compare` (a value absent from the zero
side is a member with all it holds; a container the zero value already has
is only a prefix; both sides empty or equal is nothing), so the output is
identical, byte for byte, to the long way round (a property the tests check on
many objects).

Pods made from one template share their ``spec`` byte for byte, so the encoded
node of a top-level field (``metadata`` aside, which names the object) is kept
in its schema view's memo under the field's JSON text, and the next create of
the same value reuses it: the stored entries then share that subtree, which
nothing may mutate, as every stored FieldsV1.

Only the shapes a create can produce are handled: the zero side is ``None`` or
a zero struct whose keys the object also has, and the fields to ignore are
top-level names (what :func:`~mizzen.apiserver.managedfields.reset_fields`
returns).  :func:`created_fields_v1` returns ``None`` for anything else and
the caller takes the general path.  Hand-written, as the rest of server-side
apply: no maintained Python implementation of structured-merge-diff exists.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import orjson

from mizzen.apiserver.fieldpath import FieldSet, SchemaView
from mizzen.apiserver.fieldpath_elements import sorted_elements
from mizzen.apiserver.fieldpath_walk import index_items, zero_object

__all__ = ["STRIP_META", "STRIP_ROOT", "created_fields_v1"]

# What a view's memo keeps: top-level values of this many bytes of JSON, this many of them.
MEMO_MIN_BYTES = 256
MEMO_MAX_BYTES = 64 * 1024
MEMO_ENTRIES = 32
# Fields no manager owns (upstream stripMetaManager), at the root and in metadata.
STRIP_ROOT = frozenset({"f:apiVersion", "f:kind", "f:metadata"})
STRIP_META = frozenset({"f:name", "f:namespace", "f:creationTimestamp", "f:selfLink",
                        "f:uid", "f:clusterName", "f:generation", "f:managedFields",
                        "f:resourceVersion"})


def created_fields_v1(new: dict[str, Any], view: SchemaView,
                      ignored: FieldSet | None) -> dict[str, Any] | None:
    """FieldsV1 of the fields a create of ``new`` gives an ``Update`` manager.

    ``new`` is the object as it will be stored (its ``metadata.managedFields``
    is skipped); ``ignored`` the reset fields.  ``{}`` when the writer owns
    nothing; ``None`` when the fast path does not apply (see the module doc).
    """
    if ignored:
        for path in ignored.paths:
            if len(path) != 1:
                return None
        top = {path[0] for path in ignored.paths}
    else:
        top = set()
    zero = zero_object(new, view)
    root: dict[str, Any] = {}
    field = view.field
    for k in sorted(new):
        pe = "f:" + k
        if pe in top:
            continue
        x = new[k]
        child = field(k)[0]
        if k != "metadata" and (type(x) is dict or type(x) is list):
            node = _memoised(k in zero, zero.get(k), x, child)
        else:
            node = _changed(zero[k], x, child) if k in zero else _added(x, child)
        if node is not None:
            root[pe] = node
    meta = root.get("f:metadata")
    if meta is not None:
        _strip(root, "f:metadata", meta, STRIP_META, ("f:managedFields",))
    for pe in STRIP_ROOT:
        if pe in root:
            _unmember(root, pe)
    return root


def _memoised(in_zero: bool, zero: Any, new: Any, view: SchemaView) -> dict[str, Any] | None:
    """The encoded node of a top-level field, from ``view``'s memo when seen before.

    The key is the value's JSON text (equal text, equal value, types included)
    and whether the zero value has the field; small and huge values are not kept.
    """
    memo = view.memo()
    key = None
    if memo is not None:
        try:
            text = orjson.dumps(new)
        except orjson.JSONEncodeError:
            text = b""
        if MEMO_MIN_BYTES <= len(text) <= MEMO_MAX_BYTES:
            key = (in_zero, text)
            hit = memo.get(key)
            if hit is not None:
                return hit[0]  # type: ignore[no-any-return]
    node = _changed(zero, new, view) if in_zero else _added(new, view)
    if memo is not None and key is not None:
        if len(memo) >= MEMO_ENTRIES:
            del memo[next(iter(memo))]  # the oldest
        memo[key] = (node,)
    return node


def _strip(parent: dict[str, Any], pe: str, node: dict[str, Any],
           members: Collection[str], skip: Collection[str]) -> None:
    """Drop ``members`` of ``node`` as members (their children stay) and ``skip`` outright."""
    out = dict(node)
    for k in skip:
        out.pop(k, None)
    for k in members:
        if k in out:
            _unmember(out, k)
    if out:
        parent[pe] = out
    else:
        del parent[pe]


def _unmember(parent: dict[str, Any], pe: str) -> None:
    """Make ``parent[pe]`` a mere prefix (gone if it has no children)."""
    node = parent[pe]
    if not node:
        del parent[pe]
    elif "." in node:
        rest = {k: v for k, v in node.items() if k != "."}
        if rest:
            parent[pe] = rest
        else:
            del parent[pe]


def _prefix(zero: Any, new: Any, view: SchemaView, skip: Collection[str] = ()) -> dict[str, Any]:
    """The encoded children of a node the zero value already has (so not a member itself).

    ``zero`` is ``None`` or a zero struct; ``new`` is a dict or a list here.
    """
    out: dict[str, Any] = {}
    if type(new) is dict:
        zm: dict[str, Any] = zero if type(zero) is dict else {}
        field = view.field
        for k in sorted(new):
            pe = "f:" + k
            if pe in skip:
                continue
            x = new[k]
            if k in zm:
                node = _changed(zm[k], x, field(k)[0])
                if node is not None:
                    out[pe] = node
            else:
                out[pe] = _added(x, field(k)[0]) if type(x) is dict or type(x) is list else {}
        return out
    lt = view.list_type()
    item_view = view.item()
    items = index_items(new, lt, item_view)
    for pe in sorted_elements(items):
        out[pe] = _added(items[pe], item_view)
    return out


def _changed(zero: Any, new: Any, view: SchemaView) -> dict[str, Any] | None:
    """The encoded node for ``new`` over its zero value; ``None`` if nothing changed.

    A zero value is ``None`` or a zero struct (a dict), so any other difference
    makes ``new`` a modified leaf (``{}``).
    """
    tz, tn = type(zero), type(new)
    if tz is tn and (zero is new or zero == new):
        return None
    if tz is dict or tn is dict:
        if tn is not dict or (not zero and not new) or view.map_atomic():
            return {}
    elif tn is not list or zero is not None or not new or view.list_type().kind == "atomic":
        return {}
    out = _prefix(zero, new, view)
    return out if out else None


def _added(new: Any, view: SchemaView) -> dict[str, Any]:
    """The encoded node for a value the zero object lacks: a member, with all it holds."""
    tn = type(new)
    if tn is dict:
        if not new or view.map_atomic():
            return {}
        out: dict[str, Any] = {".": {}}
        field = view.field
        for k in sorted(new):
            x = new[k]
            out["f:" + k] = _added(x, field(k)[0]) if type(x) is dict or type(x) is list else {}
        return out
    if tn is list:
        if not new:
            return {}
        lt = view.list_type()
        if lt.kind == "atomic":
            return {}
        item_view = view.item()
        items = index_items(new, lt, item_view)
        out = {".": {}}
        for pe in sorted_elements(items):
            out[pe] = _added(items[pe], item_view)
        return out
    return {}
