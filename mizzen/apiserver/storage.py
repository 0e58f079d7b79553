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

A batch is *one* SQL statement: a multi-row ``INSERT`` into ``events``, whose
trigger applies each row to ``objects`` and ``meta`` in order, committed on its
own (autocommit).  The reason is the GIL, not SQLite: the module releases the
GIL for every step of a statement and must win it back from an event loop that
is busy serving requests, which under load costs up to a switch interval per
step — with a statement per row, that, not the disk, was most of a commit.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    res TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL,
    rv INTEGER NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (res, ns, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    rv INTEGER PRIMARY KEY, res TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL,
    type TEXT NOT NULL, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS events_apply AFTER INSERT ON events BEGIN
    INSERT OR REPLACE INTO objects
        SELECT NEW.res, NEW.ns, NEW.name, NEW.rv, NEW.value WHERE NEW.type != 'DELETED';
    DELETE FROM objects
        WHERE NEW.type = 'DELETED' AND res = NEW.res AND ns = NEW.ns AND name = NEW.name;
    INSERT OR REPLACE INTO meta VALUES ('rv', CAST(NEW.rv AS TEXT));
END;
"""
CHUNK = 512  # rows per INSERT statement (6 parameters each, far below SQLite's limit)


@functools.lru_cache(maxsize=CHUNK)
def _insert(n: int) -> str:
    """``INSERT INTO events VALUES (?,?,?,?,?,?),...`` for ``n`` rows (the same text for the
    same ``n``, so the connection's statement cache finds it prepared)."""
    return "INSERT INTO events VALUES " + ",".join(("(?,?,?,?,?,?)",) * n)


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
        db.executescript(SCHEMA)
        self._db = db

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("storage is not open")
        return self._db

    def close(self) -> None:
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

    def commit(self, rows: Sequence[Row]) -> CommitStats:
        """Persist a batch atomically; raises ``sqlite3.Error`` and leaves nothing on failure."""
        start = time.perf_counter()
        db = self.db
        params = [v for r in rows for v in (r.rv, r.res, r.ns, r.name, r.type, r.value)]
        if len(rows) <= CHUNK:
            db.execute(_insert(len(rows)), params)  # one statement, one transaction
        else:
            width = 6 * CHUNK
            db.execute("BEGIN IMMEDIATE")
            try:
                for at in range(0, len(params), width):
                    part = params[at:at + width]
                    db.execute(_insert(len(part) // 6), part)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return CommitStats(len(rows), time.perf_counter() - start)

    def compact(self, keep_after_rv: int) -> int:
        """Drop log entries at or below ``keep_after_rv``; returns how many went."""
        cur = self.db.execute("DELETE FROM events WHERE rv <= ?", (keep_after_rv,))
        return cur.rowcount

    def checkpoint(self) -> None:
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
