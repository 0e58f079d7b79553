"""Shared informers: one list+watch per resource (and scope), feeding a cache and handlers.

An informer keeps :class:`~mizzen.runtime.cache.Cache` equal to the server's
view of one resource — optionally one namespace and label/field selection — and
tells every registered :class:`ResourceEventHandler` what changed.  The manager
makes one per distinct scope and shares it between controllers, so N
controllers watching pods cost one watch, not N.

The loop, with its reasons:

1. **List** (paged with ``limit`` and ``continue``; ``Client.list_all`` falls
   back to one unpaged list if the snapshot expires between pages) and replace the cache,
   turning the difference into add/update/delete callbacks.  The list's
   resourceVersion becomes the informer's position.
2. **Watch from that position** with bookmarks allowed.  Every event moves the
   position forward; a BOOKMARK moves it without an object, so a quiet
   selection does not fall behind the server's change-log window.
3. **The stream ends** (``timeout_seconds`` passed, the server closed a slow
   watcher, a connection dropped): watch again *from the last position* — no
   relist, no callbacks for objects that did not change.
4. **410 Gone** (the position fell out of the server's window, in-stream or on
   the request): relist, then watch from the new list.  Deletions missed in
   between surface as deletes with the last known object.
5. Other errors back off exponentially on the injected clock (0.8 s doubling
   to 30 s, reset after a stream that worked), then resume like step 3.

Handlers run synchronously on the informer's task, in event order, and must
be cheap (they enqueue keys); one that raises is logged and the others still
run.  A handler registered after the first sync is first told about every
cached object as an add, so late controllers start from the same view.
Objects passed to handlers are the cache's own dicts: read-only (see
``cache.py``).  Listed items get ``kind`` and ``apiVersion`` filled in so they
look like watched ones.

**managedFields are dropped** from cached objects by default, as client-go's
``TransformStripManagedFields`` does when a controller installs it: no controller reads
them from a cache, and they are about half of a pod's memory once parsed (10,000 cached
pods: roughly 90 MB).  ``strip_managed_fields=False`` keeps them.  **Equal parts are
shared** between cached objects (``sharing.py``: a pod template's ``spec``, labels, owner
references, condition lists): another half of what is left.  ``share_paths=()`` turns it
off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import Resource
from mizzen.runtime.cache import Cache, Indexer, key_of
from mizzen.runtime.clock import Clock, wait_event
from mizzen.runtime.sharing import DEFAULT_PATHS, Path, Sharer

__all__ = ["FuncHandler", "InformerStats", "ResourceEventHandler", "SharedInformer"]

log = logging.getLogger(__name__)
Obj = dict[str, Any]


class ResourceEventHandler(Protocol):
    """Receives an informer's changes; objects are read-only cache entries."""

    def on_add(self, obj: Obj) -> None: ...

    def on_update(self, old: Obj, new: Obj) -> None: ...

    def on_delete(self, obj: Obj) -> None: ...


@dataclass(frozen=True, eq=False)
class FuncHandler:
    """A handler from plain functions; any may be omitted.  Compared by identity."""

    add: Callable[[Obj], None] | None = None
    update: Callable[[Obj, Obj], None] | None = None
    delete: Callable[[Obj], None] | None = None

    def on_add(self, obj: Obj) -> None:
        if self.add is not None:
            self.add(obj)

    def on_update(self, old: Obj, new: Obj) -> None:
        if self.update is not None:
            self.update(old, new)

    def on_delete(self, obj: Obj) -> None:
        if self.delete is not None:
            self.delete(obj)


@dataclass
class InformerStats:
    """Counters since start; ``metrics.py`` exports them."""

    lists: int = 0  # completed full lists (the first one included)
    relists_gone: int = 0  # relists caused by 410 Gone
    watches: int = 0  # watch requests started
    events: int = 0  # ADDED/MODIFIED/DELETED events applied
    bookmarks: int = 0
    errors: int = 0  # failed lists/watches (410 excluded)
    handler_errors: int = 0


class SharedInformer:
    """List+watch one resource into a cache and fan changes out to handlers."""

    def __init__(self, client: Client, resource: Resource, clock: Clock, *,
                 namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None, page_size: int | None = 500,
                 watch_timeout: int = 300, indexers: Mapping[str, Indexer] | None = None,
                 check_mutations: bool = False, backoff_base: float = 0.8,
                 backoff_cap: float = 30.0, strip_managed_fields: bool = True,
                 share_paths: Iterable[Path] = DEFAULT_PATHS) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.page_size = page_size
        self.watch_timeout = watch_timeout
        self.cache = Cache(indexers, check_mutations=check_mutations)
        self.stats = InformerStats()
        self._clock = clock
        self._backoff = (backoff_base, backoff_cap)
        self._strip = strip_managed_fields
        paths = tuple(share_paths)
        self.sharer = Sharer(paths) if paths else None
        self._handlers: list[ResourceEventHandler] = []
        self._synced = asyncio.Event()
        self._running = False

    # -- public surface --------------------------------------------------------------

    @property
    def has_synced(self) -> bool:
        """The first list has been applied to the cache."""
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Wait for the first list; ``False`` if ``timeout`` clock-seconds pass first."""
        return await wait_event(self._clock, self._synced, timeout)

    @property
    def resource_version(self) -> str:
        """The position the next watch resumes from ("" before the first list)."""
        return self.cache.resource_version

    def add_handler(self, handler: ResourceEventHandler) -> None:
        """Register ``handler``; after the first sync it first gets an add per cached object."""
        self._handlers.append(handler)
        if self.has_synced:
            for obj in self.cache:
                self._call(handler.on_add, obj)

    def remove_handler(self, handler: ResourceEventHandler) -> None:
        """Stop delivering to ``handler`` (no-op if it is not registered)."""
        if handler in self._handlers:
            self._handlers.remove(handler)

    async def run(self) -> None:
        """List, then watch and resume forever; returns only by cancellation."""
        if self._running:
            raise RuntimeError(f"informer for {self.resource.plural} is already running")
        self._running = True
        failures = 0
        need_list = True
        try:
            while True:
                try:
                    if need_list:
                        await self._list()
                        need_list = False
                    await self._watch()
                    failures = 0
                except ApiError as exc:
                    if exc.gone:
                        log.info("%s: resourceVersion %s expired; relisting",
                                 self.resource.plural, self.resource_version)
                        self.stats.relists_gone += 1
                        need_list = True
                        continue
                    failures = await self._failed(exc, failures)
                except Exception as exc:  # connection errors, bad responses: retry
                    failures = await self._failed(exc, failures)
        finally:
            self._running = False

    # -- list and watch --------------------------------------------------------------

    async def _failed(self, exc: Exception, failures: int) -> int:
        self.stats.errors += 1
        base, cap = self._backoff
        delay = min(cap, base * 2**min(failures, 16))
        log.warning("%s informer: %s: %s; retrying in %.1fs", self.resource.plural,
                    type(exc).__name__, exc, delay)
        await self._clock.sleep(delay)
        return failures + 1

    async def _list(self) -> None:
        items, rv = await self.client.list_all(
            self.resource, self.namespace, label_selector=self.label_selector,
            field_selector=self.field_selector, limit=self.page_size)
        items = [self._prepare(o) for o in items]
        changes = self.cache.replace(items, rv)
        self.stats.lists += 1
        for old, new in changes:
            if new is None:
                assert old is not None
                self._dispatch_delete(old)
            elif old is None:
                self._dispatch_add(new)
            else:
                self._dispatch_update(old, new)
        self._synced.set()

    async def _watch(self) -> None:
        self.stats.watches += 1
        stream = self.client.watch(
            self.resource, self.namespace, resource_version=self.resource_version,
            label_selector=self.label_selector, field_selector=self.field_selector,
            allow_bookmarks=True, timeout_seconds=self.watch_timeout)
        try:
            async for event in stream:
                self._apply(event.type, event.object)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    def _apply(self, typ: str, obj: Obj) -> None:
        rv = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        if typ == "BOOKMARK":
            self.stats.bookmarks += 1
        elif typ in ("ADDED", "MODIFIED"):
            self.stats.events += 1
            obj = self._prepare(obj)
            old = self.cache.upsert(obj)
            if old is None:
                self._dispatch_add(obj)
            else:
                self._dispatch_update(old, obj)
        elif typ == "DELETED":
            self.stats.events += 1
            obj = self._typed(obj)
            self.cache.remove(key_of(obj))
            self._dispatch_delete(obj)
        else:
            log.warning("%s informer: ignoring watch event %r", self.resource.plural, typ)
            return
        if rv:
            self.cache.resource_version = rv

    def _prepare(self, obj: Obj) -> Obj:
        """A fresh object from the API, as the cache keeps it: typed, without managedFields,
        its equal parts shared with the version it replaces and with other objects."""
        obj = self._typed(obj)
        if self.sharer is not None:
            self.sharer.share(obj, self.cache.get_by_key(key_of(obj)))
        return obj

    def _typed(self, obj: Obj) -> Obj:
        if self._strip:
            meta = obj.get("metadata")
            if meta and "managedFields" in meta:
                del meta["managedFields"]
        if "kind" not in obj:
            obj["kind"] = self.resource.kind
        if "apiVersion" not in obj:
            obj["apiVersion"] = self.resource.api_version
        return obj

    # -- fan-out ---------------------------------------------------------------------

    def _call(self, fn: Callable[..., None], *args: Obj) -> None:
        try:
            fn(*args)
        except Exception:
            self.stats.handler_errors += 1
            log.exception("%s informer: event handler failed", self.resource.plural)

    def _dispatch_add(self, obj: Obj) -> None:
        for handler in list(self._handlers):
            self._call(handler.on_add, obj)

    def _dispatch_update(self, old: Obj, new: Obj) -> None:
        for handler in list(self._handlers):
            self._call(handler.on_update, old, new)

    def _dispatch_delete(self, obj: Obj) -> None:
        for handler in list(self._handlers):
            self._call(handler.on_delete, obj)
