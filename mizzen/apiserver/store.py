"""The in-memory store in front of SQLite: state, revisions, group commit, change log.

All objects live in memory as ``Entry`` (the JSON bytes, the resourceVersion, and the parsed
dict while it is warm: see ``store_log.py``), so reads and lists never touch the disk and a
LIST is a join of cached bytes.  Writes are *staged* synchronously on the event loop —
the caller reads the latest value, checks preconditions and stages the new one
without awaiting in between, which makes every read-modify-write atomic
without locks — and then *committed* in batches by a thread of its own, which takes
everything staged so far whenever it is free and persists it in one SQLite transaction
(group commit, ``store_commit.py``).  Only after the commit are the writes acknowledged,
made visible to readers and published to watchers, in resourceVersion order.

Readers must never observe a write that could still be lost, so staged but
uncommitted values are kept out of sight: ``_shadow`` remembers, for each key
with writes in flight, the last committed value, and reads consult it first.
Writers see the staged values (``latest``) so that concurrent writes to one
key serialise on resourceVersion exactly as on etcd.  If a commit fails, every
staged write is rolled back and fails; nothing half-written becomes visible.

The change log keeps the last ``window`` writes, and no more than ``window_bytes`` of
values, for watch resumption and for consistent paginated lists at an older revision;
asking for anything older is answered with 410 Expired.  A logged event shares its value's
bytes with the stored entry (and with the next event's ``prev``): nothing is copied.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import orjson

from mizzen.apiserver import errors
from mizzen.apiserver.storage import CommitStats, Storage
from mizzen.apiserver.store_commit import CommitQueue
from mizzen.apiserver.store_log import ChangeLog, Entry, Event, WarmSet

__all__ = ["Entry", "EntryRange", "Event", "Store"]

Key = tuple[str, str, str]  # (store key "group/plural", namespace, name)
WINDOW_BYTES = 32 * 2**20  # the change log's default byte budget
WARM_ENTRIES = 64  # parsed dicts kept (current values most recently published or read)


class EntryRange(Sequence[Entry]):
    """Entries of one resource in key order, looked up in the store's map when read."""

    __slots__ = ("_by_ns", "_keys", "_start", "_stop")

    def __init__(self, by_ns: dict[str, dict[str, Entry]], keys: list[tuple[str, str]],
                 start: int = 0, stop: int | None = None) -> None:
        self._by_ns = by_ns
        self._keys = keys
        self._start = start
        self._stop = len(keys) if stop is None else stop

    def __len__(self) -> int:
        return self._stop - self._start

    @overload
    def __getitem__(self, i: int) -> Entry: ...

    @overload
    def __getitem__(self, i: slice) -> EntryRange: ...

    def __getitem__(self, i: int | slice) -> Entry | EntryRange:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step != 1:
                raise ValueError("an entry range slices with step 1 only")
            return EntryRange(self._by_ns, self._keys, self._start + start,
                              self._start + max(start, stop))
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        ns, name = self._keys[self._start + i]
        return self._by_ns[ns][name]

    def __iter__(self) -> Iterator[Entry]:
        by_ns = self._by_ns
        for ns, name in itertools.islice(self._keys, self._start, self._stop):
            yield by_ns[ns][name]


Listener = Callable[[list[Event]], None]
CommitObserver = Callable[[CommitStats], None]


class Store:
    """Objects by (store key, namespace, name), with revisions and a change log."""

    def __init__(self, storage: Storage, window: int = 50_000, *,
                 window_bytes: int = WINDOW_BYTES, warm: int = WARM_ENTRIES) -> None:
        self._storage = storage
        self._warm = WarmSet(warm)
        self._latest: dict[str, dict[str, dict[str, Entry]]] = {}
        self._shadow: dict[Key, Entry | None] = {}
        # Sorted (namespace, name) keys of _latest per (resource, namespace or None): kept
        # until a key of that resource comes or goes, so pages of a LIST do not sort again.
        self._order: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
        self._inflight: dict[Key, int] = {}
        self._rv = 0
        self.committed_rv = 0
        # Every event with rv > compacted_rv is in the log.
        self.compacted_rv = 0
        # Lists at a revision below this cannot be rebuilt (prev values unknown).
        self.snapshot_floor_rv = 0
        self._log = ChangeLog(window, window_bytes)
        self._queue = CommitQueue(storage, self._on_commit)
        # Opening and closing the database only; commits run on the queue's own thread.
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sqlite")
        self._listeners: list[Listener] = []
        self._commit_observers: list[CommitObserver] = []
        self._commits_since_compaction = 0

    # -- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._load)
        self._queue.start(loop, floor=self.compacted_rv)

    def _load(self) -> None:
        """Objects and the change log from SQLite, left cold (parsed when first read);
        an object's current value shares its bytes with its last logged write."""
        self._storage.open()
        last: dict[Key, Entry] = {}
        for row in self._storage.load_events():
            key = (row.res, row.ns, row.name)
            prev = last.get(key)
            entry = Entry(None, row.value, row.rv, self._warm, (row.ns, row.name))
            ev = Event(row.type, row.res, row.ns, row.name, entry, prev,
                       prev_known=prev is not None or row.type == "ADDED")
            ev.published()
            if prev is not None:
                prev.retire()
            if row.type == "DELETED":
                entry.retire()
            last[key] = entry
            self._log.append(ev)
        for res, ns, name, rv, value in self._storage.load_objects():
            logged = last.get((res, ns, name))
            entry = logged if logged is not None and logged.rv == rv else \
                Entry(None, value, rv, self._warm, (ns, name))
            self._latest.setdefault(res, {}).setdefault(ns, {})[name] = entry
        self._rv = self.committed_rv = self._storage.current_rv()
        first_rv = self._log.first_rv
        self.compacted_rv = first_rv - 1 if first_rv else self._rv
        self.snapshot_floor_rv = self._rv

    async def close(self) -> None:
        await self.flush()
        await self._queue.stop()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._storage.close)
        self._executor.shutdown(wait=True)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def add_commit_observer(self, observer: CommitObserver) -> None:
        self._commit_observers.append(observer)

    # -- reads (committed state only) -------------------------------------------------

    def get(self, res: str, ns: str, name: str) -> Entry | None:
        if self._shadow:
            key = (res, ns, name)
            if key in self._shadow:
                return self._shadow[key]
        return self._latest.get(res, {}).get(ns, {}).get(name)

    def _keyed(self, res: str, ns: str | None) -> dict[tuple[str, str], Entry]:
        """Committed objects of one resource by ``(namespace, name)``, unsorted."""
        by_ns = self._latest.get(res)
        if not by_ns:
            found: dict[tuple[str, str], Entry] = {}
        elif ns is not None:
            found = {(ns, n): e for n, e in by_ns.get(ns, {}).items()}
        else:
            found = {(s, n): e for s, names in by_ns.items() for n, e in names.items()}
        if self._shadow:
            for (r, s, n), committed in self._shadow.items():
                if r != res or (ns is not None and s != ns):
                    continue
                if committed is None:
                    found.pop((s, n), None)
                else:
                    found[(s, n)] = committed
        return found

    def list_entries(self, res: str, ns: str | None) -> list[Entry]:
        """Committed objects of one resource (all namespaces when ``ns`` is None), by key."""
        return list(self.snapshot(res, ns))

    def snapshot(self, res: str, ns: str | None) -> Sequence[Entry]:
        """:meth:`list_entries`, without resolving every entry up front: with no write of
        the resource in flight, a view that looks entries up as it is read, so a page of a
        long LIST costs its own entries only.  Valid until the loop next runs something
        else (read it before any ``await``)."""
        if not any(r == res and (ns is None or s == ns) for r, s, _ in self._shadow):
            return EntryRange(self._latest.get(res) or {}, self._sorted_keys(res, ns))
        found = self._keyed(res, ns)  # writes of this resource in flight: overlay them
        return [found[k] for k in sorted(found)]

    def _sorted_keys(self, res: str, ns: str | None) -> list[tuple[str, str]]:
        keys = self._order.get((res, ns))
        if keys is None:
            by_ns = self._latest.get(res) or {}
            if ns is not None:
                keys = [(ns, n) for n in sorted(by_ns.get(ns, ()))]
            else:
                keys = sorted((s, n) for s, names in by_ns.items() for n in names)
            self._order[(res, ns)] = keys
        return keys

    def _membership_changed(self, res: str, ns: str) -> None:
        self._order.pop((res, ns), None)
        self._order.pop((res, None), None)

    def count(self, res: str) -> int:
        by_ns = self._latest.get(res)
        return sum(len(names) for names in by_ns.values()) if by_ns else 0

    def namespaces_in_use(self, res: str) -> Iterator[str]:
        return iter([ns for ns, names in self._latest.get(res, {}).items() if names])

    def list_at(self, res: str, ns: str | None, rv: int) -> Sequence[Entry]:
        """The objects as they were at revision ``rv`` (consistent pagination, Exact reads);
        like :meth:`snapshot`, valid until the next ``await``."""
        if rv >= self.committed_rv:
            return self.snapshot(res, ns)
        if rv < max(self.compacted_rv, self.snapshot_floor_rv):
            raise errors.expired(f"too old resource version: {rv} ({self.compacted_rv + 1})")
        current = self._keyed(res, ns)
        for ev in reversed(self._log.between(rv, self.committed_rv)):
            if ev.res != res or (ns is not None and ev.ns != ns):
                continue
            if ev.prev is None:
                current.pop((ev.ns, ev.name), None)
            else:
                current[(ev.ns, ev.name)] = ev.prev
        return [current[k] for k in sorted(current)]

    def events_since(self, rv: int) -> list[Event]:
        """Committed events after ``rv``; 410 Expired when the log no longer has them."""
        if rv < self.compacted_rv:
            raise errors.expired(f"too old resource version: {rv} ({self.compacted_rv + 1})")
        return self._log.between(rv, self.committed_rv)

    # -- writes ------------------------------------------------------------------------

    def latest(self, res: str, ns: str, name: str) -> Entry | None:
        """The newest value including staged writes: what preconditions are checked against."""
        return self._latest.get(res, {}).get(ns, {}).get(name)

    def stage(self, typ: str, res: str, ns: str, name: str,
              obj: dict[str, Any]) -> tuple[Event, asyncio.Future[None]]:
        """Stage one write; returns its event and a future that completes on commit.

        ``obj`` becomes the stored value: it gets the new resourceVersion and must not be
        changed afterwards.  For DELETED, ``obj`` is the object as deleted.
        """
        self._rv += 1
        rv = self._rv
        obj["metadata"]["resourceVersion"] = str(rv)
        raw = orjson.dumps(obj)
        key = (res, ns, name)
        by_name = self._latest.setdefault(res, {}).setdefault(ns, {})
        prev = by_name.get(name)
        if key not in self._shadow:
            self._shadow[key] = prev
        self._inflight[key] = self._inflight.get(key, 0) + 1
        # Listeners and watchers read both values of a write when it is published: the
        # new dict and the replaced one stay (pinned) until then; only then does the new
        # one join the warm set, as the newest.
        entry = Entry(obj, raw, rv, self._warm, (ns, name))
        entry.pin()
        if prev is not None:
            prev.pin()
        if typ == "DELETED":
            if by_name.pop(name, None) is not None:
                self._membership_changed(res, ns)
        else:
            if prev is None:
                self._membership_changed(res, ns)
            by_name[name] = entry
        ev = Event(typ, res, ns, name, entry, prev)
        return ev, self._queue.add(ev)

    async def write(self, typ: str, res: str, ns: str, name: str, obj: dict[str, Any]) -> Event:
        ev, done = self.stage(typ, res, ns, name, obj)
        await asyncio.shield(done)
        return ev

    async def flush(self) -> None:
        """Wait until everything staged so far is committed (or failed)."""
        fut = self._queue.last_future  # batches complete in order: the newest is enough
        if fut is not None and not fut.done():
            try:
                await asyncio.shield(fut)
            except errors.ApiError:
                pass

    def _on_commit(self, batch: list[Event], done: asyncio.Future[None],
                   stats: CommitStats | None, exc: Exception | None) -> None:
        """A batch's result, on the loop, in commit order."""
        if exc is not None or stats is None:
            self._fail_all(batch, done, exc or RuntimeError("no commit result"))
            return
        self._committed(batch)
        if not done.done():
            done.set_result(None)
        for observer in self._commit_observers:
            observer(stats)
        for listener in self._listeners:
            listener(batch)
        warm = self._warm
        for ev in batch:
            ev.published()
            if ev.prev is not None:
                ev.prev.retire()
            if ev.type == "DELETED":
                ev.entry.retire()
            else:
                ev.entry.unpin()
                warm.add(ev.entry)
        self._commits_since_compaction += 1
        if self._commits_since_compaction >= 256 or self._log.over(slack=1.1):
            self._commits_since_compaction = 0
            self._compact()

    def _committed(self, batch: list[Event]) -> None:
        for ev in batch:
            key = (ev.res, ev.ns, ev.name)
            left = self._inflight[key] - 1
            if left:
                self._inflight[key] = left
                self._shadow[key] = None if ev.type == "DELETED" else ev.entry
            else:
                del self._inflight[key]
                del self._shadow[key]
            self._log.append(ev)
        self.committed_rv = batch[-1].rv

    def _fail_all(self, batch: list[Event], done: asyncio.Future[None], exc: Exception) -> None:
        error = errors.internal(f"storage commit failed: {type(exc).__name__}")
        for (res, ns, name), committed in self._shadow.items():
            by_name = self._latest.setdefault(res, {}).setdefault(ns, {})
            if committed is None:
                by_name.pop(name, None)
            else:
                committed.release()
                by_name[name] = committed
        self._shadow.clear()
        self._inflight.clear()
        self._order.clear()
        _, queued = self._queue.take_after_failure()  # staged on top of the failed writes
        for fut in (done, queued):
            if fut is not None and not fut.done():
                fut.set_exception(error)
                fut.exception()  # mark retrieved: every waiter gets it through shield
        self._rv = max(self._rv, self.committed_rv)

    def _compact(self) -> None:
        last = self._log.trim()
        if not last:
            return
        self.compacted_rv = last
        self._queue.compact(last)

    @property
    def pending_count(self) -> int:
        return self._queue.pending_count
