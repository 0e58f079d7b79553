"""FieldsV1, the JSON trie ``metadata.managedFields[].fieldsV1`` holds: read, write, edit.

:func:`encode` and :func:`decode` follow upstream's ``fieldpath/serialize.go``
byte for byte.  The rest edits stored tries without decoding them.  Every
write re-computes ``metadata.managedFields``, yet most entries change by a
field or two (the writer takes ``.spec.replicas``, the previous owner loses
it).  Decoding each entry into a :class:`~mizzen.apiserver.fieldpath.FieldSet`
and encoding it again costs about a millisecond per thousand fields, which a
50-container Deployment's Apply entry has; so entries read from the live
object keep their FieldsV1 dict, and membership tests and small additions or
removals work on it directly: :func:`has` walks one path, :func:`patch`
copies only the branches it changes (the input is shared with the stored
object and never mutated), keeping the trie exactly as :func:`encode` would
write it: elements sorted, ``"."`` first on a member that has children,
``{}`` for a member leaf.

Only canonical tries (this package's own output) may be edited here.  Part of
the hand-written server-side apply (no maintained Python implementation of
structured-merge-diff exists).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mizzen.apiserver.fieldpath_elements import Path, parse_element, sorted_elements

__all__ = ["decode", "encode", "has", "patch"]

_REMOVE, _ADD = 1, 2


def encode(trie: dict[str, Any]) -> dict[str, Any]:
    """FieldsV1 from a field set's trie (``{element: [is_member, children]}``).

    Elements sorted as upstream, ``{}`` for a member leaf, ``"."`` first on a
    member that has children, plain nesting for a prefix.
    """
    out: dict[str, Any] = {}
    for pe in sorted_elements(trie):
        member, kids = trie[pe]
        if kids:
            sub = encode(kids)
            out[pe] = {".": {}, **sub} if member else sub
        else:
            out[pe] = {}
    return out


def decode(raw: Any, *, trusted: bool = False) -> list[Path]:
    """The member paths of a FieldsV1 trie (upstream ``readIterV1``).

    Unknown element kinds are dropped, as upstream does; malformed ones raise
    :class:`ValueError`.  ``trusted`` input (this package's own output) is not
    re-spelled, so decoding a stored entry costs one walk.
    """
    if not isinstance(raw, dict):
        raise ValueError("fieldsV1 must be an object")
    out: list[Path] = []
    _read(raw, (), trusted, out)
    return out


def _read(level: dict[str, Any], prefix: Path, trusted: bool, out: list[Path]) -> None:
    # The walk of decode; module-level, as a nested function calling itself would be a
    # reference cycle left for the cyclic garbage collector on every write.
    for pe, sub in level.items():
        if pe == ".":
            continue
        if not trusted and pe[:2] != "f:":
            try:
                pe = parse_element(pe)
            except LookupError:
                continue  # an element kind from the future
        if type(sub) is not dict:
            raise ValueError(f"fieldsV1 entry {pe!r} must be an object")
        path = prefix + (pe,)
        if not sub:
            out.append(path)
            continue
        if "." in sub:
            out.append(path)
        _read(sub, path, trusted, out)


def has(raw: dict[str, Any], path: Path) -> bool:
    """Whether the FieldsV1 trie ``raw`` has ``path`` as a member."""
    node: Any = raw
    for pe in path:
        node = node.get(pe)
        if node is None:
            return False
    return not node or "." in node


def _edits(remove: Iterable[Path], add: Iterable[Path]) -> dict[str, list[Any]]:
    """A trie of edits: ``{element: [op, sub-edits]}``."""
    root: dict[str, list[Any]] = {}
    for op, paths in ((_REMOVE, remove), (_ADD, add)):
        for p in paths:
            level = root
            for pe in p[:-1]:
                level = level.setdefault(pe, [0, {}])[1]
            level.setdefault(p[-1], [0, {}])[0] = op
    return root


def _apply(level: dict[str, Any], edits: dict[str, list[Any]]) -> dict[str, Any]:
    out = dict(level)
    grew = False
    for pe, (op, sub) in edits.items():
        node = out.get(pe)
        if node is None:
            if op != _ADD and not _adds(sub):
                continue
            member, children = False, {}
        else:
            member = not node or "." in node
            children = {k: v for k, v in node.items() if k != "."}
        if sub:
            children = _apply(children, sub)
        if op:
            member = op == _ADD
        if children:
            new: dict[str, Any] = {".": {}, **children} if member else children
        elif member:
            new = {}
        else:
            out.pop(pe, None)
            continue
        grew = grew or node is None
        out[pe] = new
    return {k: out[k] for k in sorted_elements(out)} if grew else out


def _adds(edits: dict[str, list[Any]]) -> bool:
    return any(op == _ADD or _adds(sub) for op, sub in edits.values())


def patch(raw: dict[str, Any], remove: Iterable[Path] = (),
          add: Iterable[Path] = ()) -> dict[str, Any]:
    """A copy of the canonical trie ``raw`` without ``remove`` and with ``add`` as members."""
    edits = _edits(remove, add)
    return _apply(raw, edits) if edits else raw
