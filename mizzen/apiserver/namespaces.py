"""Namespace lifecycle: seeding and the deletion of a terminating namespace's content.

On a real cluster kube-controller-manager's namespace controller empties a
Terminating namespace and then removes its ``kubernetes`` finalizer; the
embedded server has no controller manager of its own for this, so the server
runs this small loop itself.  It is event driven: every committed write in a
terminating namespace (or to the namespace) marks it dirty, and the loop
deletes whatever is left, finalizing the namespace once nothing remains.
Objects that wait for a kubelet or a finalizer simply keep it dirty until
their final delete arrives as an event.
"""

from __future__ import annotations

import logging

from mizzen.apiserver import objectmeta
from mizzen.apiserver.context import NS_RES, Context
from mizzen.apiserver.deletion import DeleteOptions, Deleter
from mizzen.apiserver.keyloop import KeyLoop
from mizzen.apiserver.resources import Catalogue
from mizzen.apiserver.store import Event, Store

log = logging.getLogger(__name__)

SEED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class NamespaceLifecycle:
    """Seeds namespaces and finalizes terminating ones."""

    def __init__(self, deleter: Deleter, catalogue: Catalogue) -> None:
        self._deleter = deleter
        self._catalogue = catalogue
        self._loop: KeyLoop[str] = KeyLoop("namespace-lifecycle", self._finalize, log)

    @property
    def _store(self) -> Store:
        return self._deleter.registry.store

    async def seed(self) -> None:
        info = self._catalogue.get("", "v1", "namespaces")
        assert info is not None
        for name in SEED_NAMESPACES:
            if self._store.latest(NS_RES, "", name) is None:
                body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
                await self._deleter.registry.create(Context(info, None), body)

    def start(self) -> None:
        # Namespaces already terminating when the server starts are picked up again.
        self._loop.start()
        self._loop.mark_all(e.obj["metadata"]["name"]
                            for e in self._store.list_entries(NS_RES, None)
                            if objectmeta.is_deleting(e.obj))

    async def stop(self) -> None:
        await self._loop.stop()

    def on_events(self, batch: list[Event]) -> None:
        store = self._store
        for ev in batch:
            if ev.res == NS_RES:
                if objectmeta.is_deleting(ev.obj) and ev.type != "DELETED":
                    self._loop.mark(ev.name)
            elif ev.ns:
                ns = store.get(NS_RES, "", ev.ns)
                if ns is not None and objectmeta.entry_is_deleting(ns):
                    self._loop.mark(ev.ns)

    async def _finalize(self, name: str) -> None:
        store = self._store
        ns = store.latest(NS_RES, "", name)
        if ns is None or not objectmeta.is_deleting(ns.obj):
            return
        remaining = 0
        seen: set[str] = set()
        for info in self._catalogue:
            if not info.namespaced or info.store_key in seen:
                continue
            seen.add(info.store_key)
            entries = store.list_entries(info.store_key, name)
            if not entries:
                continue
            remaining += len(entries)
            ctx = Context(info, name)
            await self._deleter.delete_collection(
                ctx, [e for e in entries if not objectmeta.is_deleting(e.obj)],
                DeleteOptions(propagation="Background"))
        if remaining:
            return
        ns = store.latest(NS_RES, "", name)
        if ns is None:
            return
        new = objectmeta.deep_copy(ns.obj)
        spec = new.setdefault("spec", {})
        spec["finalizers"] = [f for f in spec.get("finalizers") or () if f != "kubernetes"]
        if not spec["finalizers"]:
            del spec["finalizers"]
        if spec.get("finalizers") or new["metadata"].get("finalizers"):
            await store.write("MODIFIED", NS_RES, "", name, new)
            return
        await store.write("DELETED", NS_RES, "", name, new)
