"""WAL checkpoints on a thread and connection of their own, off the commit path.

In WAL mode every commit appends pages to the write-ahead log, and a *checkpoint* copies
them back into the database file.  By default SQLite checkpoints inside the commit that
takes the log past 1,000 pages: with 4 KB objects that is every dozen group commits under
load, and that commit — and every write waiting behind it — pays for copying and syncing
4 MB.  Here the committing connection never checkpoints (``wal_autocheckpoint=0``); this
thread does, a few milliseconds after commits happen, in ``PASSIVE`` mode, which copies
what it can without taking the write lock, so commits go on meanwhile.

A passive checkpoint cannot rewind the log while commits keep appending to it, so under a
long burst the log grows; past ``restart_pages`` the thread runs a ``RESTART``
checkpoint, which holds off writers only while it copies the few pages the passive ones
had not reached yet, after which the next commit starts the log from its beginning again.
Durability does not depend on any of this: a commit is durable once its log pages are
synced (``synchronous``), whether or not they were checkpointed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

__all__ = ["Checkpointer"]

log = logging.getLogger(__name__)

RESTART_PAGES = 16_384  # 64 MiB of 4 KB pages: the log never grows much past this
DELAY = 0.02  # seconds between a commit and the checkpoint that follows it


class Checkpointer:
    """Checkpoints one database's log after commits, from its own thread."""

    def __init__(self, path: Path, *, delay: float = DELAY,
                 restart_pages: int = RESTART_PAGES) -> None:
        self._path = path
        self._delay = delay
        self._restart_pages = restart_pages
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.checkpoints = 0  # completed, for tests and curiosity

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint",
                                        daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """A commit appended to the log (cheap: call after every commit)."""
        self._wake.set()

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        self._wake.set()
        thread.join()
        self._thread = None

    def _run(self) -> None:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            while True:
                self._wake.wait()
                if self._stopping:
                    return
                time.sleep(self._delay)  # let a few commits gather
                self._wake.clear()
                if self._stopping:  # stop() sets the flag before it wakes us
                    return
                try:
                    self._checkpoint(db)
                except sqlite3.Error:  # busy or I/O: the next commit pokes again
                    log.warning("WAL checkpoint failed", exc_info=True)
        finally:
            db.close()

    def _checkpoint(self, db: sqlite3.Connection) -> None:
        _, pages, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if pages >= self._restart_pages:
            db.execute("PRAGMA wal_checkpoint(RESTART)")
        self.checkpoints += 1
