"""Field sets: which fields of an object a manager owns, and their FieldsV1 encoding.

Server-side apply tracks ownership as *sets of field paths*, exactly as
``sigs.k8s.io/structured-merge-diff`` does (``fieldpath.Set``,
``typed.ToFieldSet``); ``metadata.managedFields[].fieldsV1`` is that set
written as a trie.  No maintained Python implementation of
structured-merge-diff exists, so this is hand-written, and shaped so:

* A :class:`FieldSet` is a ``frozenset`` of paths (tuples of element strings
  in their FieldsV1 spelling, see :mod:`~mizzen.apiserver.fieldpath_elements`).
  Union, difference, intersection and equality are then the C set
  operations, which matters: every write intersects each manager's set with
  the fields it changed.  Tree-shaped work (FieldsV1, upstream's iteration
  order) builds a small trie on demand.
* What a path means depends on the schema: an associative list item is
  ``k:{...}``, a set item ``v:...``, an atomic list or map is one leaf.  That
  knowledge sits behind the :class:`SchemaView` protocol, so the same walk
  serves built-in kinds (:class:`~mizzen.apiserver.fieldpath_views.BuiltinView`)
  and custom resources (:class:`~mizzen.apiserver.fieldpath_views.CrdView`).
* :func:`from_object` reproduces ``ToFieldSet``: scalars, atomic lists/maps,
  list items and map *elements* (keys not declared as struct fields) are
  members; a struct field holding a map is only a prefix.  That is why
  FieldsV1 shows ``".": {}`` on list items and on labels created by updates.

FieldsV1 itself (reading, writing, editing stored tries in place of decoding
them) is :mod:`~mizzen.apiserver.fieldpath_v1`; the walks over object pairs
(compare, merge, remove) are :mod:`~mizzen.apiserver.fieldpath_walk`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple, Protocol

from mizzen.apiserver import fieldpath_v1
from mizzen.apiserver.fieldpath_elements import (
    Path,
    field,
    index,
    key,
    path_string,
    sorted_elements,
    value,
)

__all__ = ["FieldPathError", "FieldSet", "ListType", "Path", "SchemaView", "from_object",
           "item_element"]

_MISSING = object()


class ListType(NamedTuple):
    """How a list merges: ``atomic`` (one leaf), ``set`` (by value) or ``map`` (by ``keys``)."""

    kind: str
    keys: tuple[str, ...] = ()


class SchemaView(Protocol):
    """What the field-set walks need to know about one schema node."""

    def field(self, name: str) -> tuple[SchemaView, bool]:
        """The child's view, and whether ``name`` is a declared struct field.

        Keys that are not declared (map elements, unknown fields) are members
        of the field set even when their value is a map.
        """
        ...

    def item(self) -> SchemaView:
        """The view of a list's items."""
        ...

    def list_type(self) -> ListType: ...

    def map_atomic(self) -> bool:
        """Whether a map (or struct) at this node is replaced and owned as a whole."""
        ...

    def key_default(self, name: str) -> Any:
        """The default of field ``name`` of this (list item) node, ``None`` if none."""
        ...

    def zero_fields(self) -> Mapping[str, bool]:
        """Declared fields present in the Go zero value of this struct, each mapped to
        whether it is itself a struct (built-in kinds only; see ``fieldpath_walk``)."""
        ...

    def memo(self) -> dict[Any, Any] | None:
        """A cache for results computed from values at this node (``None``: do not cache).

        Owned by the view, so it lives as long as the schema it depends on; see
        :mod:`~mizzen.apiserver.fieldpath_created` for its one user.
        """
        ...


class FieldPathError(ValueError):
    """An object the typed conversion rejects: ``(path, message)`` pairs, as upstream words them."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__(self.text())

    def text(self) -> str:
        lines = [f"{p}: {m}" if p else m for p, m in self.problems]
        if len(lines) == 1:
            return lines[0]
        return "\n".join(["errors:", *("  " + line for line in lines)])


class FieldSet:
    """An immutable set of field paths with set algebra and FieldsV1 (de)serialisation."""

    __slots__ = ("paths",)

    def __init__(self, paths: Iterable[Path] = ()) -> None:
        self.paths: frozenset[Path] = paths if isinstance(paths, frozenset) else frozenset(paths)

    @classmethod
    def of(cls, *dotted: str) -> FieldSet:
        """Field-only paths from dotted names (``"spec.replicas"``), for tests and constants."""
        return cls(tuple(field(n) for n in d.split(".")) for d in dotted)

    def __repr__(self) -> str:
        return "FieldSet(" + ", ".join(path_string(p) for p in self.sorted()) + ")"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldSet) and self.paths == other.paths

    def __hash__(self) -> int:
        return hash(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __bool__(self) -> bool:
        return bool(self.paths)

    def __contains__(self, path: object) -> bool:
        return path in self.paths

    def __iter__(self) -> Iterator[Path]:
        return iter(self.sorted())

    def union(self, other: FieldSet) -> FieldSet:
        return self if not other.paths else FieldSet(self.paths | other.paths)

    def difference(self, other: FieldSet) -> FieldSet:
        return self if not other.paths else FieldSet(self.paths - other.paths)

    def intersection(self, other: FieldSet) -> FieldSet:
        return FieldSet(self.paths & other.paths)

    __or__ = union
    __sub__ = difference
    __and__ = intersection

    def recursive_difference(self, other: FieldSet) -> FieldSet:
        """Drop every path that is, or lies below, a path of ``other``."""
        if not other.paths or not self.paths:
            return self
        o = other.paths
        lengths = sorted({len(q) for q in o})
        if lengths == [1]:
            heads = {q[0] for q in o}
            return FieldSet(p for p in self.paths if p[0] not in heads)
        return FieldSet(p for p in self.paths
                        if not any(p[:n] in o for n in lengths if n <= len(p)))

    def with_prefix(self, pe: str) -> FieldSet:
        """The paths below element ``pe``, relative to it."""
        return FieldSet(p[1:] for p in self.paths if len(p) > 1 and p[0] == pe)

    # -- tree views ---------------------------------------------------------------------

    def trie(self) -> dict[str, Any]:
        """``{element: [is_member, children]}``; children have the same shape."""
        root: dict[str, list[Any]] = {}
        for p in self.paths:
            level = root
            for pe in p[:-1]:
                node = level.get(pe)
                if node is None:
                    node = level[pe] = [False, {}]
                level = node[1]
            node = level.get(p[-1])
            if node is None:
                level[p[-1]] = [True, {}]
            else:
                node[0] = True
        return root

    def sorted(self) -> list[Path]:
        """Paths in upstream's ``Set.Iterate`` order: members of a node, then its children."""
        out: list[Path] = []
        _sorted_walk(self.trie(), (), out)
        return out

    def to_fields_v1(self) -> dict[str, Any]:
        """The FieldsV1 trie exactly as upstream emits it (sorted, ``"."`` on member prefixes)."""
        return fieldpath_v1.encode(self.trie())

    @classmethod
    def from_fields_v1(cls, raw: Any, *, trusted: bool = False) -> FieldSet:
        """Parse a FieldsV1 trie; :class:`ValueError` if upstream would reject it.

        ``trusted`` input (this package's own output) skips re-spelling elements.
        """
        return cls(fieldpath_v1.decode(raw, trusted=trusted))


def item_element(item: Any, i: int, lt: ListType, view: SchemaView) -> str:
    """The element naming list item ``item`` (at position ``i``) of a set or map list.

    Raises :class:`ValueError` with upstream's wording when the item cannot be keyed.
    """
    if lt.kind == "set":
        return value(item)
    if item is None:
        raise ValueError("associative list with keys may not have a null element")
    if not isinstance(item, dict):
        raise ValueError("associative list with keys may not have non-map elements")
    fields: dict[str, Any] = {}
    for name in lt.keys:
        v = item.get(name, _MISSING)
        if v is _MISSING:
            v = view.key_default(name)
            if v is None:
                raise ValueError(f'associative list with keys has an element that omits key '
                                 f'field "{name}" (and doesn\'t have default value)')
        fields[name] = v
    return key(fields)


def from_object(obj: Any, view: SchemaView, *, strict: bool = False) -> FieldSet:
    """The fields ``obj`` sets (upstream ``ToFieldSet``).

    With ``strict`` (an applied configuration), duplicate list keys and items
    that cannot be keyed raise :class:`FieldPathError`; otherwise such items
    are named by index and duplicates collapse, as upstream tolerates in live
    objects.
    """
    out: list[Path] = []
    problems: list[tuple[str, str]] = []
    _object_walk(obj, view, (), out, problems, strict)
    if problems:
        raise FieldPathError(problems)
    return FieldSet(out)


def _object_walk(v: Any, view: SchemaView, path: Path, out: list[Path],
                 problems: list[tuple[str, str]], strict: bool) -> None:
    # The walk of from_object; module-level, as a nested function calling itself would
    # be a reference cycle left for the cyclic garbage collector on every write.
    if type(v) is dict:
        if view.map_atomic():
            out.append(path)
            return
        member = view.field
        for k, x in v.items():
            child, declared = member(k)
            p = path + ("f:" + k,)
            tx = type(x)
            if tx is dict or tx is list:
                _object_walk(x, child, p, out, problems, strict)
                if not declared:
                    out.append(p)
            else:
                out.append(p)
    elif type(v) is list:
        lt = view.list_type()
        if lt.kind == "atomic":
            out.append(path)
            return
        item_view = view.item()
        seen: set[str] = set()
        for i, item in enumerate(v):
            try:
                pe = item_element(item, i, lt, item_view)
            except ValueError as exc:
                if strict:
                    problems.append((path_string(path), f"element {i}: {exc}"))
                    continue
                pe = index(i)
            if pe in seen:
                if strict:
                    problems.append((path_string(path), "duplicate entries for key "
                                     + path_string((pe,))))
                continue
            seen.add(pe)
            p = path + (pe,)
            out.append(p)
            ti = type(item)
            if ti is dict or ti is list:
                _object_walk(item, item_view, p, out, problems, strict)
    elif path:
        out.append(path)


def _sorted_walk(level: dict[str, Any], prefix: Path, out: list[Path]) -> None:
    # The walk of FieldSet.sorted (module-level: see _object_walk).
    pes = sorted_elements(level)
    out.extend((*prefix, pe) for pe in pes if level[pe][0])
    for pe in pes:
        if level[pe][1]:
            _sorted_walk(level[pe][1], (*prefix, pe), out)
