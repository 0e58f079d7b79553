"""The informer's local copy of a resource: a read-only store with secondary indexes.

**Objects in the cache are never mutated.**  Readers get the stored dicts
themselves — copying every object on every read would cost more than the rest
of a reconcile — so a reconciler that wants to change an object must call
:func:`copy_of` first and write the copy to the API.  The informer replaces a
stored object with the new dict from the watch; it never edits one in place.

Because Python cannot freeze a dict cheaply, the rule is enforced on request:
``Cache(check_mutations=True)`` (the tests turn it on) keeps the serialised
bytes of each object and, whenever an object is replaced or removed, compares
the old dict with its bytes and raises :class:`CacheMutationError` naming the
key if someone changed it.  That costs one ``orjson.dumps`` per write and
nothing per read, and it catches the bug at the next event for that object.

Keys are ``"namespace/name"`` (``"name"`` when cluster-scoped), as
``str(Request)`` renders them.  An :data:`Indexer` maps an object to the index
values it should be found under; the built-in ones cover the lookups
controllers need most — by namespace, by owner UID, by ``spec.nodeName``, and
by label (``"key=value"``).  Indexes are kept up to date on every write, so
``by_index`` is one dict lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import orjson

__all__ = [
    "BY_LABEL",
    "BY_NAMESPACE",
    "BY_NODE_NAME",
    "BY_OWNER_UID",
    "Cache",
    "CacheMutationError",
    "Indexer",
    "by_label",
    "by_namespace",
    "by_node_name",
    "by_owner_uid",
    "copy_of",
    "key_of",
]

Obj = dict[str, Any]
Indexer = Callable[[Obj], Iterable[str]]
Change = tuple[Obj | None, Obj | None]
# Spelled here: inside Cache, ``list`` is the method.
Objs = list[Obj]
Changes = list[Change]
Strs = list[str]

BY_NAMESPACE = "namespace"
BY_OWNER_UID = "owner-uid"
BY_NODE_NAME = "node-name"
BY_LABEL = "label"


class CacheMutationError(RuntimeError):
    """An object handed out by the cache was changed in place."""


def key_of(obj: Mapping[str, Any]) -> str:
    """``"namespace/name"``, or ``"name"`` for cluster-scoped objects."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or ""
    return f"{ns}/{meta.get('name', '')}" if ns else str(meta.get("name", ""))


def copy_of(obj: Mapping[str, Any]) -> Obj:
    """A deep, independent copy of a JSON object (safe to change and send)."""
    copied: Obj = orjson.loads(orjson.dumps(obj))
    return copied


def by_namespace(obj: Obj) -> Iterable[str]:
    ns = (obj.get("metadata") or {}).get("namespace")
    return (ns,) if ns else ()


def by_owner_uid(obj: Obj) -> Iterable[str]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return tuple(str(ref["uid"]) for ref in refs if ref.get("uid"))


def by_node_name(obj: Obj) -> Iterable[str]:
    node = (obj.get("spec") or {}).get("nodeName")
    return (node,) if node else ()


def by_label(obj: Obj) -> Iterable[str]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return tuple(f"{k}={v}" for k, v in labels.items())


def _labels_match(obj: Obj, selector: Mapping[str, str]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


class Cache:
    """Objects by key, plus named indexes; written only by its informer."""

    def __init__(self, indexers: Mapping[str, Indexer] | None = None, *,
                 check_mutations: bool = False) -> None:
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, Indexer] = {}
        # index name -> index value -> keys
        self._indexes: dict[str, dict[str, set[str]]] = {}
        self._check = check_mutations
        self._snapshots: dict[str, bytes] = {}
        self.resource_version = ""
        for name, fn in (indexers or {}).items():
            self.add_indexer(name, fn)

    # -- reads (return stored objects: never change them) ----------------------------

    def get(self, name: str, namespace: str = "") -> Obj | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def get_by_key(self, key: str) -> Obj | None:
        return self._items.get(key)

    def list(self, namespace: str | None = None,
             labels: Mapping[str, str] | None = None) -> Objs:
        """Objects, optionally in one namespace and matching every ``labels`` pair."""
        if namespace is not None and BY_NAMESPACE in self._indexers:
            found: Iterable[Obj] = self.by_index(BY_NAMESPACE, namespace)
        elif namespace is not None:
            found = (o for o in self._items.values()
                     if (o.get("metadata") or {}).get("namespace", "") == namespace)
        else:
            found = self._items.values()
        if labels:
            return [o for o in found if _labels_match(o, labels)]
        return list(found)

    def by_index(self, index: str, value: str) -> Objs:
        """Objects whose indexer ``index`` yields ``value``."""
        try:
            keys = self._indexes[index].get(value, ())
        except KeyError:
            raise KeyError(f"no indexer named {index!r}") from None
        return [self._items[k] for k in sorted(keys)]

    def index_keys(self, index: str, value: str) -> Strs:
        return sorted(self._indexes[index].get(value, ()))

    def keys(self) -> Strs:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[Obj]:
        return iter(list(self._items.values()))

    # -- indexes ---------------------------------------------------------------------

    def add_indexer(self, name: str, fn: Indexer) -> None:
        """Register (or replace) an index and build it over the current objects."""
        self._indexers[name] = fn
        index: dict[str, set[str]] = {}
        for key, obj in self._items.items():
            for value in fn(obj):
                index.setdefault(value, set()).add(key)
        self._indexes[name] = index

    def _index(self, key: str, obj: Obj) -> None:
        for name, fn in self._indexers.items():
            index = self._indexes[name]
            for value in fn(obj):
                index.setdefault(value, set()).add(key)

    def _unindex(self, key: str, obj: Obj) -> None:
        for name, fn in self._indexers.items():
            index = self._indexes[name]
            for value in fn(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]

    # -- writes (the informer's) -----------------------------------------------------

    def _verify(self, key: str, obj: Obj) -> None:
        if self._check and self._snapshots.get(key) != orjson.dumps(obj):
            raise CacheMutationError(
                f"cached object {key} was modified in place; use copy_of() before changing it")

    def upsert(self, obj: Obj) -> Obj | None:
        """Store ``obj`` (taking ownership of it); returns the object it replaced."""
        key = key_of(obj)
        old = self._items.get(key)
        if old is not None:
            self._verify(key, old)
            self._unindex(key, old)
        self._items[key] = obj
        self._index(key, obj)
        if self._check:
            self._snapshots[key] = orjson.dumps(obj)
        return old

    def remove(self, key: str) -> Obj | None:
        """Drop the object under ``key``; returns it (or ``None`` if absent)."""
        old = self._items.pop(key, None)
        if old is not None:
            self._verify(key, old)
            self._unindex(key, old)
            self._snapshots.pop(key, None)
        return old

    def replace(self, objs: Iterable[Obj], resource_version: str) -> Changes:
        """Make the cache exactly ``objs`` (a relist); returns what changed, in order.

        Each change is ``(old, new)``: ``(None, obj)`` was added, ``(old, None)``
        was deleted, and ``(old, new)`` was updated — only reported when the
        resourceVersion differs, so a relist of an unchanged world is silent.
        """
        fresh = {key_of(o): o for o in objs}
        changes: Changes = []
        for key in [k for k in self._items if k not in fresh]:
            changes.append((self.remove(key), None))
        for obj in fresh.values():
            old = self.upsert(obj)
            if old is None or _rv(old) != _rv(obj):
                changes.append((old, obj))
        self.resource_version = resource_version
        return changes


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))
