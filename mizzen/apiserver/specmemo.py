"""A small bounded memo keyed by the JSON text of an object's ``spec``.

Two steps of every write depend, for pods and workloads, on ``spec`` alone:
defaulting (:class:`~mizzen.apiserver.defaults.Defaulter`) and the spec part of
validation (:class:`~mizzen.apiserver.validation.Validator`).  Controllers send
the same spec again and again: every pod of a ReplicaSet carries its template's,
and an update or a status write carries the stored one.  Both steps are pure
functions of the value, so each keeps one of these memos and skips the work for a
spec it has seen.

The key is the group, version and kind plus the spec's compact JSON text (``orjson``): equal text
means an equal value, types included (``1``, ``1.0`` and ``true`` differ), which a
Python ``==`` would not promise.  Encoding costs a few microseconds, far less than
either step.  Entries leave oldest first; specs whose text is large are not kept,
so the memory a memo holds stays small (entries × bytes).  A memo belongs to the
object that owns it (one per registry), never to the module.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import orjson

__all__ = ["SpecMemo"]

V = TypeVar("V")
Key = tuple[tuple[str, ...], bytes]  # ((group, version, kind), spec text)


class SpecMemo(Generic[V]):
    """What a pure step made of a spec, for the last ``entries`` specs of up to ``max_bytes``."""

    def __init__(self, entries: int, max_bytes: int) -> None:
        self.entries = entries
        self.max_bytes = max_bytes
        self._memo: dict[Key, V] = {}  # oldest first

    def key(self, kind: tuple[str, ...], spec: Any) -> Key | None:
        """The key of ``spec``; ``None`` if it is not a JSON object small enough to keep."""
        if type(spec) is not dict:
            return None
        try:
            text = orjson.dumps(spec)
        except TypeError:  # orjson.JSONEncodeError: a value JSON cannot carry
            return None
        return (kind, text) if len(text) <= self.max_bytes else None

    def __contains__(self, key: Key) -> bool:
        return key in self._memo

    def __getitem__(self, key: Key) -> V:
        return self._memo[key]

    def __len__(self) -> int:
        return len(self._memo)

    def remember(self, key: Key, value: V) -> None:
        """Keep ``value`` for ``key``, dropping the oldest entry when full."""
        if key not in self._memo and len(self._memo) >= self.entries:
            del self._memo[next(iter(self._memo))]
        self._memo[key] = value
