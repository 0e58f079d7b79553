"""Structural sharing: cached objects hold one copy of the parts they have in common.

Why this exists: an informer keeps every object of its resource parsed, and most of a pod
is the same as its siblings'.  Ten thousand pods of one template carry ten thousand equal
copies of the template's ``spec`` (differing only in ``nodeName``: one copy per node
would do), of its labels and owner references, and of condition lists whose timestamps
fall in the same second.  Parsed, a pod is about 9 KB; those parts are more than half of
it.  Since cached objects are read-only (``cache.py``), equal parts can simply be the
same object.

:class:`Sharer` does that for a few paths chosen by the caller (:data:`DEFAULT_PATHS`:
``metadata.labels``, ``metadata.annotations``, ``metadata.ownerReferences``, ``spec``,
``status.conditions``).  For each path of an object arriving from the API:

1. if the previous version of the same object (the one it replaces in the cache) has an
   equal value there, that value is taken — the usual case of a status update, and an
   equality test costs less than encoding;
2. otherwise the value is looked up by the hash of its JSON encoding in a bounded table of
   values seen before (verified by equality, so a hash collision only costs a miss), and
   taken from there, or entered as the newest;
3. the table forgets its least recently used values beyond ``capacity``; a forgotten value
   stays shared by the objects that hold it, it is only not handed to new ones.

What it costs: one ``orjson.dumps`` of each path that changed, a few microseconds per
event; what it saves is most of the memory of a large cache (and equality tests between
shared parts are identity tests).  It never changes what an object says, only which
equal dict or list represents it, so the rule that a cached object must not be changed
in place now also protects its siblings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

__all__ = ["DEFAULT_PATHS", "Path", "Sharer"]

Obj = dict[str, Any]
Path = tuple[str, ...]

DEFAULT_PATHS: tuple[Path, ...] = (
    ("metadata", "labels"),
    ("metadata", "annotations"),
    ("metadata", "ownerReferences"),
    ("spec",),
    ("status", "conditions"),
)


class Sharer:
    """Replaces parts of incoming objects with equal parts already held (one informer's)."""

    def __init__(self, paths: Iterable[Path] = DEFAULT_PATHS, capacity: int = 4096) -> None:
        self.paths = tuple(tuple(p) for p in paths)
        if any(not p for p in self.paths):
            raise ValueError("a shared path names at least one field")
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._table: dict[tuple[Path, int], Any] = {}
        self.hits = 0  # parts replaced by an equal part held before
        self.misses = 0  # parts entered as new

    def __len__(self) -> int:
        return len(self._table)

    def share(self, obj: Obj, old: Mapping[str, Any] | None = None) -> Obj:
        """Make ``obj``'s shared paths point at equal values held before (in place: ``obj``
        is a fresh object the caller owns); ``old`` is the version it replaces, if any."""
        for path in self.paths:
            parent: Any = obj
            prior: Any = old
            for name in path[:-1]:
                parent = parent.get(name) if isinstance(parent, dict) else None
                prior = prior.get(name) if isinstance(prior, dict) else None
            if not isinstance(parent, dict):
                continue
            last = path[-1]
            value = parent.get(last)
            if not isinstance(value, dict | list) or not value:
                continue
            held = prior.get(last) if isinstance(prior, dict) else None
            if held is not None and held is not value and held == value:
                parent[last] = held
                self.hits += 1
                continue
            parent[last] = self._canonical(path, value)
        return obj

    def _canonical(self, path: Path, value: Any) -> Any:
        key = (path, hash(orjson.dumps(value)))
        table = self._table
        held = table.pop(key, None)
        if held is not None and held == value:
            table[key] = held  # most recently used again
            self.hits += 1
            return held
        table[key] = value
        self.misses += 1
        if len(table) > self.capacity:
            del table[next(iter(table))]
        return value
