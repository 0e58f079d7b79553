"""WAL checkpoints off the commit path (mizzen.apiserver.storage_checkpoint)."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from mizzen.apiserver.storage import Row, Storage
from mizzen.apiserver.storage_checkpoint import Checkpointer

VALUE = os.urandom(4000)


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_commits_leave_checkpoints_to_the_checkpointer(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "db", "NORMAL")
    storage.open()
    assert storage.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    for batch in range(20):
        storage.commit([Row(batch * 10 + i + 1, "/configmaps", "default", f"o{batch}-{i}",
                            "ADDED", VALUE) for i in range(10)])
    checkpointer = storage._checkpointer
    assert checkpointer is not None
    wait_for(lambda: checkpointer.checkpoints > 0)
    storage.close()  # the thread stops with the storage
    assert checkpointer._thread is None


def test_a_checkpointed_log_is_reused_instead_of_growing(tmp_path: Path) -> None:
    path = tmp_path / "db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE t (v BLOB)")
    checkpointer = Checkpointer(path, delay=0.0, restart_pages=50)
    checkpointer.start()
    wal = Path(f"{path}-wal")
    for _ in range(100):
        db.execute("INSERT INTO t VALUES (?)", (VALUE,))
    one_round = wal.stat().st_size
    checkpointer.poke()
    wait_for(lambda: checkpointer.checkpoints > 0)
    for _ in range(100):  # written from the log's beginning again, not appended
        db.execute("INSERT INTO t VALUES (?)", (VALUE,))
    assert wal.stat().st_size <= one_round * 1.2
    checkpointer.poke()
    started = time.monotonic()
    checkpointer.stop()
    assert time.monotonic() - started < 5
    assert db.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 200
    db.close()
