"""Group commit on a thread of its own: the store's writes reach SQLite in batches, back to back.

The event loop *queues* each staged write (:meth:`CommitQueue.add`, a list append under a
lock) and never waits for the disk.  One thread owns the SQLite connection: whenever it is
free it takes everything queued so far as one batch, commits it in one transaction, tells
the loop (``call_soon_threadsafe``), and at once takes the next batch, so the disk is busy
as long as writes keep coming and a batch holds whatever arrived during the previous
commit.

Why not the loop handing batches to an executor, as it once did: then every commit waited
twice for the loop — for the flusher task to be scheduled after the previous commit, and
for the worker thread to get the GIL back from a loop busy serving requests — and under
load those waits, not the disk, set the pace (a few milliseconds of idle disk per batch,
and batches that grow until latency does).  Here the loop is off the commit path: it only
appends, and later applies the results in order.

Results arrive in commit order, one callback per batch, on the loop.  A failed commit
*halts* the thread: writes queued after it were staged on top of the failed ones, so the
loop must fail them as well (:meth:`take_after_failure`) before anything else commits.

Log compaction (dropping change-log rows the store no longer keeps) rides on the batches,
in slices: each commit also deletes up to twice as many old rows as it writes, in the same
transaction, so the log shrinks as fast as it grows under load without any commit paying
for hundreds of rows at once; once writes have paused for a while, the thread compacts a
slice on its own.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from mizzen.apiserver.storage import CommitStats, Row, Storage
from mizzen.apiserver.store_log import Event

__all__ = ["CommitQueue", "Done"]

log = logging.getLogger(__name__)

MIN_SLICE = 32  # log rows a commit may compact, at least
IDLE_SLICE = 256  # log rows compacted at once when writes pause ...
IDLE_DELAY = 0.1  # ... for this long (seconds): a closed loop of writers pauses between batches
# (batch, its future, stats on success, the error on failure), called on the loop.
Done = Callable[[list[Event], "asyncio.Future[None]", CommitStats | None, Exception | None],
                None]


class CommitQueue:
    """Writes waiting for the commit thread, and the thread that commits them."""

    def __init__(self, storage: Storage, on_done: Done) -> None:
        self._storage = storage
        self._on_done = on_done
        self._cond = threading.Condition(threading.Lock())
        self._pending: list[Event] = []
        self._future: asyncio.Future[None] | None = None
        self._last: asyncio.Future[None] | None = None  # of the newest batch, committed or not
        self._halted = False
        self._stopping = False
        self._compact_to = 0  # log rows at or below are to go
        self._floor = 0  # log rows at or below are gone (the thread's own)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop, floor: int = 0) -> None:
        """Start the thread; the database holds no log rows at or below ``floor``."""
        self._loop = loop
        self._floor = self._compact_to = floor
        self._thread = threading.Thread(target=self._run, name="sqlite-commit", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Let the thread finish what it holds and end (call once nothing is queued)."""
        thread = self._thread
        if thread is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify()
        await asyncio.get_running_loop().run_in_executor(None, thread.join)
        self._thread = None

    # -- on the loop -----------------------------------------------------------------------

    def add(self, ev: Event) -> asyncio.Future[None]:
        """Queue one staged write; the future completes when its batch is committed."""
        with self._cond:
            self._pending.append(ev)
            fut = self._future
            if fut is None:
                assert self._loop is not None, "the commit thread is not started"
                fut = self._future = self._last = self._loop.create_future()
                self._cond.notify()
            return fut

    def take_after_failure(self) -> tuple[list[Event], asyncio.Future[None] | None]:
        """After a failed batch: what was queued since (to fail too); the thread goes on."""
        with self._cond:
            rest, fut = self._pending, self._future
            self._pending, self._future = [], None
            self._halted = False
            self._cond.notify()
            return rest, fut

    def compact(self, upto: int) -> None:
        """Drop the change log's rows at or below ``upto`` from the database, soon."""
        with self._cond:
            self._compact_to = max(self._compact_to, upto)
            self._cond.notify()

    @property
    def last_future(self) -> asyncio.Future[None] | None:
        return self._last

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    # -- on the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        storage, cond = self._storage, self._cond
        while True:
            with cond:
                while not (self._pending and not self._halted) and not self._stopping:
                    if self._compact_to <= self._floor:
                        cond.wait()
                    elif not cond.wait(IDLE_DELAY) and not self._pending:
                        break  # no write for a while: compact a slice on its own
                batch: list[Event] = []
                done = None
                if self._pending and not self._halted:
                    batch, done = self._pending, self._future
                    self._pending, self._future = [], None
                target = self._compact_to
                if not batch and (target <= self._floor or self._halted) and self._stopping:
                    return
            if done is not None:
                self._commit(storage, batch, done, self._slice(target, 2 * len(batch)))
            elif target > self._floor:
                upto = self._slice(target, IDLE_SLICE)
                try:
                    storage.compact(upto)
                    self._floor = upto
                except Exception:  # the rows stay; the next slice retries them
                    log.exception("compacting the change log up to %d failed", upto)

    def _slice(self, target: int, rows: int) -> int:
        """How far the next compaction goes: toward ``target``, ``rows`` log rows at most
        (revisions are dense, so a range of revisions is about as many rows)."""
        return min(target, self._floor + max(rows, MIN_SLICE)) if target > self._floor else 0

    def _commit(self, storage: Storage, batch: list[Event], done: asyncio.Future[None],
                compact_to: int) -> None:
        stats: CommitStats | None = None
        error: Exception | None = None
        try:
            rows = [Row(e.rv, e.res, e.ns, e.name, e.type, e.entry.raw) for e in batch]
            stats = storage.commit(rows, compact_to)
            self._floor = max(self._floor, compact_to)
        except Exception as exc:  # disk full, I/O error: the loop fails and rolls back all
            error = exc
            with self._cond:
                self._halted = True
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._on_done, batch, done, stats, error)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            log.warning("commit result dropped: the event loop is closed")
