"""SQLite persistence (mizzen.apiserver.storage): a batch is applied in order, atomically,
and what a restart loads is what was committed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mizzen.apiserver.storage import CHUNK, Row, Storage

RES = "/configmaps"


def row(rv: int, name: str, typ: str = "ADDED", value: bytes = b"{}") -> Row:
    return Row(rv, RES, "default", name, typ, value)


def objects(storage: Storage) -> dict[str, tuple[int, bytes]]:
    return {name: (rv, value) for _, _, name, rv, value in storage.load_objects()}


def test_a_batch_is_applied_row_by_row_in_order(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "db", "NORMAL")
    storage.open()
    storage.commit([row(1, "a", value=b"a1"), row(2, "b")])
    stats = storage.commit([row(3, "a", "MODIFIED", b"a2"), row(4, "b", "DELETED"),
                            row(5, "c", value=b"c1"), row(6, "c", "DELETED"),
                            row(7, "c", value=b"c2"), row(8, "a", "MODIFIED", b"a3")])
    assert stats.writes == 6
    assert objects(storage) == {"a": (8, b"a3"), "c": (7, b"c2")}
    assert [(r.rv, r.name, r.type) for r in storage.load_events()][-3:] == [
        (6, "c", "DELETED"), (7, "c", "ADDED"), (8, "a", "MODIFIED")]
    storage.close()
    again = Storage(tmp_path / "db", "NORMAL")
    again.open()
    assert again.current_rv() == 8 and objects(again) == {"a": (8, b"a3"), "c": (7, b"c2")}
    again.close()


def test_a_batch_larger_than_one_statement_commits_whole(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "db", "NORMAL")
    storage.open()
    n = 2 * CHUNK + 3
    storage.commit([row(rv, f"o{rv}") for rv in range(1, n + 1)])
    assert len(objects(storage)) == n and storage.current_rv() == n
    storage.close()


@pytest.mark.parametrize("size", [2, CHUNK + 2], ids=["one statement", "several statements"])
def test_a_failed_batch_leaves_nothing(tmp_path: Path, size: int) -> None:
    storage = Storage(tmp_path / "db", "NORMAL")
    storage.open()
    storage.commit([row(1, "kept", value=b"v1")])
    batch = [row(rv, f"n{rv}") for rv in range(2, size + 1)] + [row(1, "kept", "MODIFIED")]
    with pytest.raises(sqlite3.IntegrityError):  # rv 1 is taken: the whole batch fails
        storage.commit(batch)
    assert objects(storage) == {"kept": (1, b"v1")} and storage.current_rv() == 1
    assert [r.rv for r in storage.load_events()] == [1]
    storage.commit([row(2, "n2")])  # and the connection is usable afterwards
    assert storage.current_rv() == 2
    storage.close()


def test_compaction_drops_old_log_rows_and_keeps_the_revision(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "db", "NORMAL")
    storage.open()
    storage.commit([row(rv, "a", "ADDED" if rv == 1 else "MODIFIED") for rv in range(1, 6)])
    assert storage.compact(5) == 5
    assert list(storage.load_events()) == [] and storage.current_rv() == 5
    assert objects(storage) == {"a": (5, b"{}")}
    storage.close()


def test_a_batch_compacts_the_log_in_its_own_transaction(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "db", "NORMAL")
    storage.open()
    storage.commit([row(rv, f"o{rv}") for rv in range(1, 11)])
    with pytest.raises(sqlite3.IntegrityError):  # fails: the compaction is undone with it
        storage.commit([row(11, "p"), row(11, "dup")], compact_to=8)
    assert [r.rv for r in storage.load_events()] == list(range(1, 11))
    storage.commit([row(11, "p"), row(12, "q")], compact_to=5)
    assert [r.rv for r in storage.load_events()] == list(range(6, 13))
    assert len(objects(storage)) == 12  # the objects themselves stay
    storage.close()
