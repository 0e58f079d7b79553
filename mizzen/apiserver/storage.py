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
"""

from __future__ import annotations

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
"""


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
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
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
        db.execute("BEGIN IMMEDIATE")
        try:
            upserts = [(r.res, r.ns, r.name, r.rv, r.value) for r in rows if r.type != "DELETED"]
            deletes = [(r.res, r.ns, r.name) for r in rows if r.type == "DELETED"]
            # Order matters when one batch writes the same key twice: apply row by row
            # only then; the common case goes through executemany.
            keys = {(r.res, r.ns, r.name) for r in rows}
            if len(keys) == len(rows):
                if upserts:
                    db.executemany("INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?)", upserts)
                if deletes:
                    db.executemany("DELETE FROM objects WHERE res=? AND ns=? AND name=?", deletes)
            else:
                for r in rows:
                    if r.type == "DELETED":
                        db.execute("DELETE FROM objects WHERE res=? AND ns=? AND name=?",
                                   (r.res, r.ns, r.name))
                    else:
                        db.execute("INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?)",
                                   (r.res, r.ns, r.name, r.rv, r.value))
            db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?)",
                           [(r.rv, r.res, r.ns, r.name, r.type, r.value) for r in rows])
            db.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (str(rows[-1].rv),))
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
