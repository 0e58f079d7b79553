"""Walks over objects for server-side apply: compare, merge, remove and friends.

These are structured-merge-diff's ``typed`` operations (``compare.go``,
``merge.go``, ``remove.go``), hand-written since no maintained Python
implementation exists.  Each is one recursive function over plain JSON
values beside a :class:`~mizzen.apiserver.fieldpath.SchemaView`; the shape
follows upstream closely because ownership semantics hang on its details:

* :func:`compare` reports leaves Added/Modified/Removed, and also a map, list
  or list item that appears or disappears as a whole (upstream's post-item
  hook): that is how an update comes to own ``k:{"name":"web"}`` itself.  Both
  sides empty (or null) is one leaf, so ``{}`` → absent is a removal.
  Unchanged subtrees are skipped with one C-level ``==`` (here and in
  :func:`merge`); the price is that a ``1`` → ``true`` swap inside a
  container goes unseen (schemas forbid it).
* :func:`merge` is the apply merge: maps recurse, map and set lists merge by
  element with upstream's ordering (the configuration's order for shared and
  new items, live-only items kept in place), atomic values are replaced; a
  ``null`` in the configuration over a non-empty live map or list is a no-op.
  Values taken from either side are shared, not copied.
* :func:`remove_items` drops fields, list items and map elements named by a
  field set; a map or list emptied by it disappears (upstream writes ``null``,
  which the typed round trip drops).
* :func:`members` answers "which of these paths would ``ToFieldSet`` of the
  object list" by walking only those paths (pruning needs it for a few paths
  of a large object).
* :func:`zero_object` is the Go zero value a create is compared against, so
  the creator's managedFields match upstream's (no ``"."`` on ``f:spec``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mizzen.apiserver.fieldpath import FieldSet, ListType, Path, SchemaView, item_element
from mizzen.apiserver.fieldpath_elements import field, index

__all__ = ["MISSING", "Comparison", "compare", "index_items", "members", "merge", "remove_items",
           "same", "zero_object"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # an absent value (distinct from null); immutable


def same(a: Any, b: Any) -> bool:
    """Upstream value equality: numbers compare numerically, booleans are not numbers."""
    if a is b:
        return True
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if ta is dict:
        return tb is dict and a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    if ta is list:
        return tb is list and len(a) == len(b) and \
            all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@dataclass(frozen=True, slots=True)
class Comparison:
    """What changed between two versions of an object, as field sets."""

    added: FieldSet
    modified: FieldSet
    removed: FieldSet

    def is_same(self) -> bool:
        return not (self.added or self.modified or self.removed)

    def exclude(self, fields: FieldSet | None) -> Comparison:
        """Upstream ``ExcludeFields``: forget changes at or below ``fields``."""
        if not fields:
            return self
        return Comparison(self.added.recursive_difference(fields),
                          self.modified.recursive_difference(fields),
                          self.removed.recursive_difference(fields))


def index_items(items: list[Any] | None, lt: ListType, view: SchemaView) -> dict[str, Any]:
    """List items by element, in order; a repeated element keeps its first item."""
    out: dict[str, Any] = {}
    for i, item in enumerate(items or ()):
        try:
            pe = item_element(item, i, lt, view)
        except ValueError:
            pe = index(i)
        out.setdefault(pe, item)
    return out


# What may stand opposite a map (or a list) without making the node a leaf.
_MAP_SIDES = frozenset({dict, type(None), _Missing})
_LIST_SIDES = frozenset({list, type(None), _Missing})


def compare(lhs: Any, rhs: Any, view: SchemaView) -> Comparison:
    """Fields added, modified and removed going from ``lhs`` to ``rhs``."""
    walk = _Compare()
    walk.walk(lhs, rhs, view, ())
    return Comparison(FieldSet(walk.added), FieldSet(walk.modified), FieldSet(walk.removed))


class _Compare:
    """The state of one :func:`compare`.  A class rather than nested functions: a closure
    that calls itself is a reference cycle, left for the cyclic collector on every write."""

    __slots__ = ("added", "modified", "removed")

    def __init__(self) -> None:
        self.added: list[Path] = []
        self.modified: list[Path] = []
        self.removed: list[Path] = []

    def leaf(self, a: Any, b: Any, path: Path) -> None:
        if a is MISSING:
            self.added.append(path)
        elif b is MISSING:
            self.removed.append(path)
        elif not same(a, b):
            self.modified.append(path)

    def walk(self, a: Any, b: Any, view: SchemaView, path: Path) -> None:
        ta, tb = type(a), type(b)
        if ta is tb and (a is b or a == b):
            return
        if ta is dict or tb is dict:
            if ta not in _MAP_SIDES or tb not in _MAP_SIDES or (not a and not b) \
                    or view.map_atomic():
                self.leaf(a, b, path)
                return
            am: dict[str, Any] = a if ta is dict else {}
            bm: dict[str, Any] = b if tb is dict else {}
            for k, x in am.items():
                y = bm.get(k, MISSING)
                if x is not y and (type(x) is not type(y) or x != y):  # walk's own first test
                    self.walk(x, y, view.field(k)[0], (*path, field(k)))
            for k, y in bm.items():
                if k not in am:
                    self.walk(MISSING, y, view.field(k)[0], (*path, field(k)))
        elif ta is list or tb is list:
            lt = view.list_type()
            if ta not in _LIST_SIDES or tb not in _LIST_SIDES or (not a and not b) \
                    or lt.kind == "atomic":
                self.leaf(a, b, path)
                return
            item_view = view.item()
            ai = index_items(a if ta is list else None, lt, item_view)
            bi = index_items(b if tb is list else None, lt, item_view)
            for pe, x in ai.items():
                y = bi.get(pe, MISSING)
                if x is not y and (type(x) is not type(y) or x != y):
                    self.walk(x, y, item_view, (*path, pe))
            for pe, y in bi.items():
                if pe not in ai:
                    self.walk(MISSING, y, item_view, (*path, pe))
        else:
            self.leaf(a, b, path)
            return
        if a is MISSING:
            self.added.append(path)
        elif b is MISSING:
            self.removed.append(path)


def merge(lhs: Any, rhs: Any, view: SchemaView) -> Any:
    """``rhs`` (an applied configuration) merged onto ``lhs`` (the live object)."""
    if rhs is MISSING:
        return lhs
    if lhs is MISSING:
        return rhs
    if type(lhs) is type(rhs) and lhs == rhs:
        return lhs  # nothing to merge (see the module docstring on ``==``)
    if type(lhs) is dict and type(rhs) is dict:
        if (not lhs and not rhs) or view.map_atomic():
            return rhs
        out = dict(lhs)
        for k, y in rhs.items():
            x = lhs.get(k, MISSING)
            out[k] = y if x is MISSING else merge(x, y, view.field(k)[0])
        return out
    if type(lhs) is list and type(rhs) is list:
        lt = view.list_type()
        if (not lhs and not rhs) or lt.kind == "atomic":
            return rhs
        return _merge_items(lhs, rhs, lt, view.item())
    if rhs is None and type(lhs) in (dict, list) and lhs and not (
            view.map_atomic() if type(lhs) is dict else view.list_type().kind == "atomic"):
        return lhs
    return rhs


def _merge_items(lhs: list[Any], rhs: list[Any], lt: ListType, view: SchemaView) -> list[Any]:
    """Upstream's list merge order: shared items in the configuration's order."""
    lobs, robs = index_items(lhs, lt, view), index_items(rhs, lt, view)
    lorder, rorder = list(lobs), list(robs)
    shared = [pe for pe in rorder if pe in lobs]
    nxt = 0  # index into shared of the next shared item to emit
    out: list[Any] = []
    li = ri = 0
    while li < len(lorder) or ri < len(rorder):
        if li < len(lorder) and ri < len(rorder):
            pe = lorder[li]
            if pe == rorder[ri]:
                out.append(merge(lobs[pe], robs[pe], view))
                li += 1
                ri += 1
                nxt += 1
                continue
            if pe in robs and nxt < len(shared) and shared[nxt] != pe:
                li += 1  # a shared item, emitted when the configuration reaches it
                continue
        if li < len(lorder) and lorder[li] not in robs:
            out.append(lobs[lorder[li]])
            li += 1
            continue
        if ri < len(rorder):
            pe = rorder[ri]
            out.append(merge(lobs.get(pe, MISSING), robs[pe], view))
            ri += 1
            if nxt < len(shared) and shared[nxt] == pe:
                nxt += 1
            continue
        li += 1  # a shared live item already emitted
    return out


def remove_items(obj: Any, fields: FieldSet, view: SchemaView) -> Any:
    """``obj`` without the fields, list items and map elements in ``fields``."""
    if not fields:
        return obj
    out = _remove(obj, fields.trie(), view)
    return {} if out is MISSING else out


def _remove(v: Any, level: dict[str, Any], view: SchemaView) -> Any:
    if type(v) is dict:
        if not v or view.map_atomic():
            return v
        out: dict[str, Any] = {}
        for k, x in v.items():
            node = level.get("f:" + k)
            if node is None:
                out[k] = x
            elif not node[0]:
                y = _remove(x, node[1], view.field(k)[0]) if node[1] else x
                if y is not MISSING:
                    out[k] = y
        return out if out else MISSING
    if type(v) is list:
        lt = view.list_type()
        if not v or lt.kind == "atomic":
            return v
        item_view = view.item()
        items: list[Any] = []
        for i, item in enumerate(v):
            try:
                pe = item_element(item, i, lt, item_view)
            except ValueError:
                pe = index(i)
            node = level.get(pe)
            if node is None:
                items.append(item)
            elif not node[0]:
                y = _remove(item, node[1], item_view) if node[1] else item
                if y is not MISSING:
                    items.append(y)
        return items if items else MISSING
    return v


def members(obj: Any, fields: FieldSet, view: SchemaView) -> FieldSet:
    """``fields`` ∩ ``from_object(obj)``, walking only the branches ``fields`` names."""
    out: list[Path] = []
    _members(obj, fields.trie(), view, (), out)
    return FieldSet(out)


def _members(v: Any, level: dict[str, Any], view: SchemaView, path: Path,
             out: list[Path]) -> None:
    # The walk of members (module-level: see _Compare).
    if type(v) is dict and not view.map_atomic():
        for pe, (member, kids) in level.items():
            if pe[:2] != "f:" or pe[2:] not in v:
                continue
            x = v[pe[2:]]
            child, declared = view.field(pe[2:])
            container = type(x) is dict or type(x) is list
            if member and (not container or not declared or (
                    child.map_atomic() if type(x) is dict
                    else child.list_type().kind == "atomic")):
                out.append((*path, pe))
            if kids:
                _members(x, kids, child, (*path, pe), out)
    elif type(v) is list and view.list_type().kind != "atomic":
        item_view = view.item()
        items = index_items(v, view.list_type(), item_view)
        for pe, (member, kids) in level.items():
            if pe in items:
                if member:
                    out.append((*path, pe))
                if kids:
                    _members(items[pe], kids, item_view, (*path, pe), out)


def zero_object(new: dict[str, Any], view: SchemaView) -> dict[str, Any]:
    """The parts of an empty Go object of ``new``'s kind that ``new`` also has.

    Upstream compares a create with ``New()`` of the type, whose value structs
    (``spec``, ``template``, ...) and required fields exist (``{}`` or ``null``),
    so creating does not own them as wholes.  Custom resources have none.
    """
    out: dict[str, Any] = {}
    for name, is_struct in view.zero_fields().items():
        if name in new:
            sub = new[name]
            out[name] = zero_object(sub, view.field(name)[0]) \
                if is_struct and type(sub) is dict else None
    return out
