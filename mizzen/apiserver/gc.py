"""Garbage collection of dependents, run inside the embedded server.

On a real cluster kube-controller-manager's garbage collector does this; the
embedded server has to, or deleting a Deployment would leave its ReplicaSets
and Pods behind.  It follows the same rules:

- **background**: an object whose owners (``ownerReferences``, by uid) are all
  gone is deleted — whether the owner was just deleted or never existed;
- **foreground**: an owner with the ``foregroundDeletion`` finalizer has its
  dependents deleted first, and loses the finalizer (and so is removed) once
  no dependent with ``blockOwnerDeletion: true`` is left;
- **orphan**: an owner with the ``orphan`` finalizer has its uid stripped from
  its dependents' ``ownerReferences``, then loses the finalizer.

It is event driven, like :mod:`namespaces`: two in-memory indexes (uid → key
of every live object, owner uid → dependents) are kept current from committed
events, and only the keys an event could affect are re-examined.  Every
decision is re-checked against the newest value in the store before acting.
"""

from __future__ import annotations

import logging
from typing import Any

from mizzen.apiserver import objectmeta
from mizzen.apiserver.context import Context
from mizzen.apiserver.deletion import DeleteOptions, Deleter
from mizzen.apiserver.keyloop import KeyLoop
from mizzen.apiserver.resources import Catalogue, ResourceInfo
from mizzen.apiserver.store import Event, Key, Store

log = logging.getLogger(__name__)

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"


def _owner_uids(obj: dict[str, Any] | None) -> list[str]:
    if obj is None:
        return []
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return [r["uid"] for r in refs if isinstance(r, dict) and r.get("uid")]


class GarbageCollector:
    """Deletes dependents whose owners are gone and finalizes foreground/orphan owners."""

    def __init__(self, deleter: Deleter, catalogue: Catalogue) -> None:
        self._deleter = deleter
        self._catalogue = catalogue
        self._uids: dict[str, Key] = {}
        self._dependents: dict[str, set[Key]] = {}
        self._loop: KeyLoop[Key] = KeyLoop("garbage-collector", self._process, log,
                                           retry_codes=(409,), quiet_codes=(404,),
                                           workers=16)

    @property
    def _store(self) -> Store:
        return self._deleter.registry.store

    # -- indexes -------------------------------------------------------------------------

    def _index(self, key: Key, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if old is not None:
            uid = old["metadata"].get("uid")
            if uid and self._uids.get(uid) == key and new is None:
                del self._uids[uid]
            for owner in _owner_uids(old):
                deps = self._dependents.get(owner)
                if deps is not None:
                    deps.discard(key)
                    if not deps:
                        del self._dependents[owner]
        if new is not None:
            uid = new["metadata"].get("uid")
            if uid:
                self._uids[uid] = key
            for owner in _owner_uids(new):
                self._dependents.setdefault(owner, set()).add(key)

    def start(self) -> None:
        store = self._store
        seen: set[str] = set()
        for info in self._catalogue:
            if info.store_key in seen:
                continue
            seen.add(info.store_key)
            for entry in store.list_entries(info.store_key, None):
                key = (info.store_key, entry.obj["metadata"].get("namespace", ""),
                       entry.obj["metadata"]["name"])
                self._index(key, None, entry.obj)
        self._loop.start()
        for deps in list(self._dependents.values()):
            self._loop.mark_all(deps)
        self._loop.mark_all(list(self._uids.values()))

    async def stop(self) -> None:
        await self._loop.stop()

    def on_events(self, batch: list[Event]) -> None:
        for ev in batch:
            key = (ev.res, ev.ns, ev.name)
            old = ev.prev.obj if ev.prev is not None else None
            new = None if ev.type == "DELETED" else ev.obj
            self._index(key, old, new)
            uid = ev.obj["metadata"].get("uid", "")
            if ev.type == "DELETED":
                # Dependents may now be orphans; owners waiting on this one may proceed.
                self._loop.mark_all(self._dependents.get(uid, ()))
                for owner in _owner_uids(ev.obj):
                    owner_key = self._uids.get(owner)
                    if owner_key is not None:
                        self._loop.mark(owner_key)
                continue
            finalizers = ev.obj["metadata"].get("finalizers") or ()
            if objectmeta.is_deleting(ev.obj) and (FOREGROUND in finalizers
                                                   or ORPHAN in finalizers):
                self._loop.mark(key)
            if objectmeta.is_deleting(ev.obj):
                for owner in _owner_uids(ev.obj):
                    owner_key = self._uids.get(owner)
                    if owner_key is not None:
                        self._loop.mark(owner_key)
            owners = _owner_uids(ev.obj)
            if owners and any(o not in self._uids for o in owners):
                self._loop.mark(key)

    # -- work ----------------------------------------------------------------------------

    def _info(self, store_key: str) -> ResourceInfo | None:
        for info in self._catalogue:
            if info.store_key == store_key:
                return info
        return None

    def _owner_alive(self, owner_uid: str, dependent_ns: str) -> bool:
        key = self._uids.get(owner_uid)
        if key is None:
            return False
        owner_ns = key[1]
        return owner_ns in ("", dependent_ns)

    async def _process(self, key: Key) -> None:
        store = self._store
        entry = store.latest(*key)
        if entry is None:
            return
        obj = entry.obj
        info = self._info(key[0])
        if info is None:
            return
        finalizers = list(obj["metadata"].get("finalizers") or ())
        if objectmeta.is_deleting(obj) and ORPHAN in finalizers:
            await self._orphan(obj, info, key)
            return
        if objectmeta.is_deleting(obj) and FOREGROUND in finalizers:
            await self._foreground(obj, info, key)
            return
        owners = _owner_uids(obj)
        if owners and not objectmeta.is_deleting(obj) and \
                not any(self._owner_alive(o, key[1]) for o in owners):
            policy = "Background"
            ctx = Context(info, key[1] or None, key[2])
            await self._deleter.delete(ctx, DeleteOptions(propagation=policy))

    async def _orphan(self, owner: dict[str, Any], info: ResourceInfo, key: Key) -> None:
        uid = owner["metadata"]["uid"]
        for dep_key in list(self._dependents.get(uid, ())):
            dep = self._store.latest(*dep_key)
            if dep is None:
                continue
            new = objectmeta.deep_copy(dep.obj)
            refs = [r for r in new["metadata"].get("ownerReferences") or ()
                    if r.get("uid") != uid]
            if refs:
                new["metadata"]["ownerReferences"] = refs
            else:
                new["metadata"].pop("ownerReferences", None)
            await self._store.write("MODIFIED", *dep_key, new)
        await self._drop_finalizer(owner, key, ORPHAN)

    async def _foreground(self, owner: dict[str, Any], info: ResourceInfo, key: Key) -> None:
        uid = owner["metadata"]["uid"]
        blocking = 0
        for dep_key in list(self._dependents.get(uid, ())):
            dep = self._store.latest(*dep_key)
            if dep is None:
                continue
            ref: dict[str, Any] = next((r for r in dep.obj["metadata"].get("ownerReferences") or ()
                        if r.get("uid") == uid), {})
            if ref.get("blockOwnerDeletion"):
                blocking += 1
            if not objectmeta.is_deleting(dep.obj):
                dep_info = self._info(dep_key[0])
                if dep_info is not None:
                    ctx = Context(dep_info, dep_key[1] or None, dep_key[2])
                    await self._deleter.delete(ctx, DeleteOptions(propagation="Foreground"))
        if blocking == 0:
            await self._drop_finalizer(owner, key, FOREGROUND)

    async def _drop_finalizer(self, obj: dict[str, Any], key: Key, finalizer: str) -> None:
        latest = self._store.latest(*key)
        if latest is None:
            return
        new = objectmeta.deep_copy(latest.obj)
        remaining = [f for f in new["metadata"].get("finalizers") or () if f != finalizer]
        if remaining:
            new["metadata"]["finalizers"] = remaining
        else:
            new["metadata"].pop("finalizers", None)
        typ = "DELETED" if objectmeta.should_delete_now(new) else "MODIFIED"
        await self._store.write(typ, *key, new)
