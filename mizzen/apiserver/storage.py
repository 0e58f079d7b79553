"""SQLite persistence: the durable half of the store.

Two tables hold everything.  ``objects`` has the latest value of every live
object (one row per key) so a restart loads the whole state with one scan;
``events`` is the change log (one row per write, ``rv`` its primary key) kept
for a bounded window so that watches can resume across a restart.  The global
resourceVersion is the largest ``rv`` ever written; it is kept in ``meta`` as
well, so that compaction of the log can never move it backwards.

Writes arrive in batches from the store's group commit: one transaction per
batch, in WAL mode.  ``synchronous=FULL`` (the default) makes every
acknowledged write survive power loss; ``NORMAL`` survives process crashes
only and is faster.  The connection is used from a single worker thread
owned by the caller, never from the event loop.

A batch is *one* SQL statement, committed on its own (autocommit): a multi-row
``INSERT`` into the ``writes`` view, whose trigger applies each row in order —
log it in ``events``, upsert or delete it in ``objects``, move ``meta``'s rv — and
first drops the log rows the batch was asked to compact.  The reason is the GIL,
not SQLite: the module releases the GIL for every step of a statement and must
win it back from an event loop that is busy serving requests, which under load
costs up to a switch interval per step — with a statement per row, that, not the
disk, was most of a commit.  Compaction rides on the batches for the same reason,
and in slices (see :mod:`~mizzen.apiserver.store_commit`): deleting a few hundred
4 KB rows at once held up every write behind it for tens of milliseconds.  WAL
checkpoints are kept out of commits altogether (:mod:`~mizzen.apiserver.storage_checkpoint`).
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mizzen.apiserver.storage_checkpoint import Checkpointer

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    res TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL,
    rv INTEGER NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (res, ns, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    rv INTEGER PRIMARY KEY, res TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL,
    type TEXT NOT NULL, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
DROP TRIGGER IF EXISTS events_apply;
CREATE VIEW IF NOT EXISTS writes AS
    SELECT rv, res, ns, name, type, value, 0 AS compact_to FROM events;
CREATE TRIGGER IF NOT EXISTS writes_apply INSTEAD OF INSERT ON writes BEGIN
    DELETE FROM events WHERE rv <= NEW.compact_to;
    INSERT INTO events VALUES (NEW.rv, NEW.res, NEW.ns, NEW.name, NEW.type, NEW.value);
    INSERT OR REPLACE INTO objects
        SELECT NEW.res, NEW.ns, NEW.name, NEW.rv, NEW.value WHERE NEW.type != 'DELETED';
    DELETE FROM objects
        WHERE NEW.type = 'DELETED' AND res = NEW.res AND ns = NEW.ns AND name = NEW.name;
    INSERT OR REPLACE INTO meta VALUES ('rv', CAST(NEW.rv AS TEXT));
END;
"""
CHUNK = 512  # rows per INSERT statement (7 parameters each, far below SQLite's limit)


@functools.lru_cache(maxsize=CHUNK)
def _insert(n: int) -> str:
    """``INSERT INTO writes VALUES (?,?,?,?,?,?,?),...`` for ``n`` rows (the same text for
    the same ``n``, so the connection's statement cache finds it prepared)."""
    return "INSERT INTO writes VALUES " + ",".join(("(?,?,?,?,?,?,?)",) * n)


@dataclass(frozen=True, slots=True)
class Row:
    """One write to persist: the object's new value, or a deletion."""

    rv: int
    res: str
    ns: str
    name: str
    type: str  # ADDED, MODIFIED or DELETED
    value: bytes


@dataclass(frozen=True, slots=True)
class CommitStats:
    writes: int
    seconds: float


class Storage:
    """A SQLite database file with the objects table and the change log."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        if synchronous.upper() not in ("FULL", "NORMAL", "OFF"):
            raise ValueError(f"synchronous must be FULL, NORMAL or OFF, not {synchronous!r}")
        self.path = path
        self._synchronous = synchronous.upper()
        self._db: sqlite3.Connection | None = None
        self._checkpointer: Checkpointer | None = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                             cached_statements=CHUNK + 64)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={self._synchronous}")
        db.execute("PRAGMA temp_store=MEMORY")
        # 16 MiB of page cache: reads are served from memory by the store, so SQLite's
        # cache only speeds up finding the pages a commit rewrites.
        db.execute("PRAGMA cache_size=-16384")
        # Some builds (Debian's) zero every freed page, which doubles the pages a commit
        # writes once old values are replaced or compacted; FAST zeroes only what a commit
        # writes anyway (etcd keeps superseded values until it is compacted, too).
        db.execute("PRAGMA secure_delete=FAST")
        db.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's job, off this thread
        db.executescript(SCHEMA)
        self._db = db
        self._checkpointer = Checkpointer(self.path)
        self._checkpointer.start()

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("storage is not open")
        return self._db

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._db is not None:
            self._db.close()
            self._db = None

    def current_rv(self) -> int:
        row = self.db.execute("SELECT v FROM meta WHERE k='rv'").fetchone()
        meta_rv = int(row[0]) if row else 0
        log_rv = self.db.execute("SELECT COALESCE(MAX(rv), 0) FROM events").fetchone()[0]
        return max(meta_rv, int(log_rv))

    def load_objects(self) -> Iterator[tuple[str, str, str, int, bytes]]:
        yield from self.db.execute("SELECT res, ns, name, rv, value FROM objects")

    def load_events(self) -> Iterator[Row]:
        for rv, res, ns, name, typ, value in self.db.execute(
                "SELECT rv, res, ns, name, type, value FROM events ORDER BY rv"):
            yield Row(rv, res, ns, name, typ, value)

    def commit(self, rows: Sequence[Row], compact_to: int = 0) -> CommitStats:
        """Persist a batch atomically, first dropping log rows at or below ``compact_to``;
        raises ``sqlite3.Error`` and leaves nothing on failure."""
        start = time.perf_counter()
        db = self.db
        params = [v for r in rows for v in (r.rv, r.res, r.ns, r.name, r.type, r.value, 0)]
        if params:
            params[6] = compact_to  # the first row's trigger compacts, the others find nothing
        if len(rows) <= CHUNK:
            db.execute(_insert(len(rows)), params)  # one statement, one transaction
        else:
            width = 7 * CHUNK
            db.execute("BEGIN IMMEDIATE")
            try:
                for at in range(0, len(params), width):
                    part = params[at:at + width]
                    db.execute(_insert(len(part) // 7), part)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        if self._checkpointer is not None:
            self._checkpointer.poke()
        return CommitStats(len(rows), time.perf_counter() - start)

    def compact(self, keep_after_rv: int) -> int:
        """Drop log entries at or below ``keep_after_rv``; returns how many went."""
        cur = self.db.execute("DELETE FROM events WHERE rv <= ?", (keep_after_rv,))
        return cur.rowcount

    def checkpoint(self) -> None:
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
