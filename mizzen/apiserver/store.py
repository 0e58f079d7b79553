"""The in-memory store in front of SQLite: state, revisions, group commit, change log.

All objects live in memory as ``Entry`` (the parsed dict, its JSON bytes and
its resourceVersion), so reads and lists never touch the disk and a LIST is a
join of cached bytes.  Writes are *staged* synchronously on the event loop —
the caller reads the latest value, checks preconditions and stages the new one
without awaiting in between, which makes every read-modify-write atomic
without locks — and then *committed* in batches: one flusher task hands all
writes staged so far to a worker thread that persists them in one SQLite
transaction (group commit).  Only after the commit are the writes acknowledged,
made visible to readers and published to watchers, in resourceVersion order.

Readers must never observe a write that could still be lost, so staged but
uncommitted values are kept out of sight: ``_shadow`` remembers, for each key
with writes in flight, the last committed value, and reads consult it first.
Writers see the staged values (``latest``) so that concurrent writes to one
key serialise on resourceVersion exactly as on etcd.  If a commit fails, every
staged write is rolled back and fails; nothing half-written becomes visible.

The change log (``Event`` list) keeps the last ``window`` writes for watch
resumption and for consistent paginated lists at an older revision; asking
for anything older is answered with 410 Expired.
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from mizzen.apiserver import errors
from mizzen.apiserver.storage import CommitStats, Row, Storage

Key = tuple[str, str, str]  # (store key "group/plural", namespace, name)


@dataclass(slots=True)
class Entry:
    """A stored object: never mutate ``obj``; build a new dict and write it."""

    obj: dict[str, Any]
    raw: bytes
    rv: int


@dataclass(slots=True)
class Event:
    """One committed write, as watchers see it."""

    type: str  # ADDED, MODIFIED, DELETED
    res: str
    ns: str
    name: str
    rv: int
    obj: dict[str, Any]
    raw: bytes
    # The value before this write; None for ADDED (or when unknown after a restart).
    prev: Entry | None
    prev_known: bool = True
    _line: bytes | None = field(default=None, repr=False)

    def line(self) -> bytes:
        """The watch-stream line for this event, encoded once for all watchers."""
        if self._line is None:
            self._line = b'{"type":"' + self.type.encode() + b'","object":' + self.raw + b"}\n"
        return self._line


Listener = Callable[[list[Event]], None]
CommitObserver = Callable[[CommitStats], None]


class Store:
    """Objects by (store key, namespace, name), with revisions and a change log."""

    def __init__(self, storage: Storage, window: int = 50_000) -> None:
        self._storage = storage
        self._window = window
        self._latest: dict[str, dict[str, dict[str, Entry]]] = {}
        self._shadow: dict[Key, Entry | None] = {}
        self._inflight: dict[Key, int] = {}
        self._rv = 0
        self.committed_rv = 0
        # Every event with rv > compacted_rv is in the log.
        self.compacted_rv = 0
        # Lists at a revision below this cannot be rebuilt (prev values unknown).
        self.snapshot_floor_rv = 0
        self._log: list[Event] = []
        self._log_rvs: list[int] = []
        self._pending: list[Event] = []
        self._pending_future: asyncio.Future[None] | None = None
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sqlite")
        self._listeners: list[Listener] = []
        self._commit_observers: list[CommitObserver] = []
        self._commits_since_compaction = 0

    # -- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._load)
        self._flusher = asyncio.create_task(self._flush_forever(), name="store-flusher")

    def _load(self) -> None:
        self._storage.open()
        for res, ns, name, rv, value in self._storage.load_objects():
            obj = orjson.loads(value)
            self._latest.setdefault(res, {}).setdefault(ns, {})[name] = Entry(obj, value, rv)
        last: dict[Key, Entry] = {}
        first_rv = 0
        for row in self._storage.load_events():
            key = (row.res, row.ns, row.name)
            obj = orjson.loads(row.value)
            prev = last.get(key)
            ev = Event(row.type, row.res, row.ns, row.name, row.rv, obj, row.value, prev,
                       prev_known=prev is not None or row.type == "ADDED")
            last[key] = Entry(obj, row.value, row.rv)
            self._log.append(ev)
            self._log_rvs.append(row.rv)
            first_rv = first_rv or row.rv
        self._rv = self.committed_rv = self._storage.current_rv()
        self.compacted_rv = first_rv - 1 if first_rv else self._rv
        self.snapshot_floor_rv = self._rv

    async def close(self) -> None:
        if self._flusher is not None:
            await self.flush()
            self._flusher.cancel()
            try:
                await self._flusher
            except asyncio.CancelledError:
                pass
            self._flusher = None
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

    def list_entries(self, res: str, ns: str | None) -> list[Entry]:
        """Committed objects of one resource (all namespaces when ``ns`` is None), by key."""
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
        return [found[k] for k in sorted(found)]

    def count(self, res: str) -> int:
        return sum(len(names) for names in self._latest.get(res, {}).values())

    def namespaces_in_use(self, res: str) -> Iterator[str]:
        return iter([ns for ns, names in self._latest.get(res, {}).items() if names])

    def list_at(self, res: str, ns: str | None, rv: int) -> list[Entry]:
        """The objects as they were at revision ``rv`` (consistent pagination, Exact reads)."""
        if rv >= self.committed_rv:
            return self.list_entries(res, ns)
        if rv < max(self.compacted_rv, self.snapshot_floor_rv):
            raise errors.expired(f"too old resource version: {rv} ({self.compacted_rv + 1})")
        current = {(e.obj["metadata"].get("namespace", ""), e.obj["metadata"]["name"]): e
                   for e in self.list_entries(res, ns)}
        start = bisect.bisect_right(self._log_rvs, rv)
        end = bisect.bisect_right(self._log_rvs, self.committed_rv)
        for ev in reversed(self._log[start:end]):
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
        start = bisect.bisect_right(self._log_rvs, rv)
        end = bisect.bisect_right(self._log_rvs, self.committed_rv)
        return self._log[start:end]

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
        if typ == "DELETED":
            by_name.pop(name, None)
        else:
            by_name[name] = Entry(obj, raw, rv)
        ev = Event(typ, res, ns, name, rv, obj, raw, prev)
        self._pending.append(ev)
        if self._pending_future is None:
            self._pending_future = asyncio.get_running_loop().create_future()
        self._wake.set()
        return ev, self._pending_future

    async def write(self, typ: str, res: str, ns: str, name: str, obj: dict[str, Any]) -> Event:
        ev, done = self.stage(typ, res, ns, name, obj)
        await asyncio.shield(done)
        return ev

    async def flush(self) -> None:
        """Wait until everything staged so far is committed (or failed)."""
        while self._pending_future is not None or self._pending:
            fut = self._pending_future
            if fut is None:
                await asyncio.sleep(0)
                continue
            try:
                await asyncio.shield(fut)
            except errors.ApiError:
                pass

    async def _flush_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, done = self._pending, self._pending_future
                self._pending, self._pending_future = [], None
                assert done is not None
                rows = [Row(e.rv, e.res, e.ns, e.name, e.type, e.raw) for e in batch]
                try:
                    stats = await loop.run_in_executor(self._executor, self._storage.commit, rows)
                except Exception as exc:  # disk full, I/O error: fail and roll back all
                    self._fail_all(batch, done, exc)
                    continue
                self._committed(batch)
                if not done.done():
                    done.set_result(None)
                for observer in self._commit_observers:
                    observer(stats)
                for listener in self._listeners:
                    listener(batch)
                self._commits_since_compaction += 1
                if self._commits_since_compaction >= 256:
                    self._commits_since_compaction = 0
                    self._compact()

    def _committed(self, batch: list[Event]) -> None:
        for ev in batch:
            key = (ev.res, ev.ns, ev.name)
            left = self._inflight[key] - 1
            if left:
                self._inflight[key] = left
                self._shadow[key] = None if ev.type == "DELETED" else Entry(ev.obj, ev.raw, ev.rv)
            else:
                del self._inflight[key]
                del self._shadow[key]
            self._log.append(ev)
            self._log_rvs.append(ev.rv)
        self.committed_rv = batch[-1].rv

    def _fail_all(self, batch: list[Event], done: asyncio.Future[None], exc: Exception) -> None:
        error = errors.internal(f"storage commit failed: {type(exc).__name__}")
        for (res, ns, name), committed in self._shadow.items():
            by_name = self._latest.setdefault(res, {}).setdefault(ns, {})
            if committed is None:
                by_name.pop(name, None)
            else:
                by_name[name] = committed
        self._shadow.clear()
        self._inflight.clear()
        self._pending = []
        for fut in (done, self._pending_future):
            if fut is not None and not fut.done():
                fut.set_exception(error)
                fut.exception()  # mark retrieved: every waiter gets it through shield
        self._pending_future = None
        self._rv = max(self._rv, self.committed_rv)

    def _compact(self) -> None:
        excess = len(self._log) - self._window
        if excess <= 0:
            return
        self.compacted_rv = self._log_rvs[excess - 1]
        del self._log[:excess]
        del self._log_rvs[:excess]
        keep_after = self.compacted_rv
        self._executor.submit(self._storage.compact, keep_after)

    @property
    def pending_count(self) -> int:
        return len(self._pending)
