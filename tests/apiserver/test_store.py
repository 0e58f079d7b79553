"""The store: group commit, visibility of uncommitted writes, rollback, snapshots, restart."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mizzen.apiserver import errors
from mizzen.apiserver.storage import CommitStats, Row, Storage
from mizzen.apiserver.store import Entry, EntryRange, Event, Store
from mizzen.apiserver.store_commit import IDLE_SLICE, MIN_SLICE
from tests.conftest import eventually

RES = "/configmaps"


def cm(name: str, value: str = "v") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"}, "data": {"k": value}}


class GatedStorage(Storage):
    """Storage whose commits wait for a gate, and can be told to fail."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "NORMAL")
        self.gate = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.fail = False
        self.batches: list[int] = []

    def commit(self, rows: Sequence[Row], compact_to: int = 0) -> CommitStats:
        assert self.loop is not None
        asyncio.run_coroutine_threadsafe(self.gate.wait(), self.loop).result(10)
        if self.fail:
            raise sqlite3.OperationalError("disk I/O error")
        self.batches.append(len(rows))
        return super().commit(rows, compact_to)


async def open_store(storage: Storage, window: int = 1000) -> Store:
    store = Store(storage, window)
    await store.open()
    return store


async def test_staged_writes_are_invisible_until_committed(tmp_path: Path) -> None:
    storage = GatedStorage(tmp_path / "db")
    storage.loop = asyncio.get_running_loop()
    store = await open_store(storage)
    published: list[Event] = []
    store.add_listener(published.extend)
    task = asyncio.create_task(store.write("ADDED", RES, "default", "a", cm("a")))
    await asyncio.sleep(0)
    # A writer sees the staged value (so a second create conflicts) ...
    assert store.latest(RES, "default", "a") is not None
    # ... but readers and watchers do not, until the commit.
    assert store.get(RES, "default", "a") is None
    assert store.list_entries(RES, "default") == []
    assert published == []
    storage.gate.set()
    ev = await task
    assert store.get(RES, "default", "a") is not None and published == [ev]
    await store.close()


async def test_concurrent_writes_share_one_commit(tmp_path: Path) -> None:
    storage = GatedStorage(tmp_path / "db")
    storage.loop = asyncio.get_running_loop()
    store = await open_store(storage)
    first = asyncio.create_task(store.write("ADDED", RES, "default", "first", cm("first")))
    await asyncio.sleep(0.05)  # the first batch is now waiting at the gate
    rest = [asyncio.create_task(store.write("ADDED", RES, "default", f"n{i}", cm(f"n{i}")))
            for i in range(20)]
    await asyncio.sleep(0)
    storage.gate.set()
    await asyncio.gather(first, *rest)
    assert storage.batches == [1, 20]
    rvs = [int(e.obj["metadata"]["resourceVersion"]) for e in store.list_entries(RES, None)]
    assert len(set(rvs)) == 21
    await store.close()


async def test_failed_commit_rolls_back_every_staged_write(tmp_path: Path) -> None:
    storage = GatedStorage(tmp_path / "db")
    storage.loop = asyncio.get_running_loop()
    storage.gate.set()
    store = await open_store(storage)
    await store.write("ADDED", RES, "default", "kept", cm("kept", "1"))
    storage.fail = True
    kept = store.latest(RES, "default", "kept")
    assert kept is not None
    updated = dict(kept.obj, data={"k": "2"}, metadata=dict(kept.obj["metadata"]))
    writes = [store.write("MODIFIED", RES, "default", "kept", updated),
              store.write("ADDED", RES, "default", "new", cm("new"))]
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert all(isinstance(r, errors.ApiError) and r.code == 500 for r in results)
    after = store.latest(RES, "default", "kept")
    assert after is not None and after.obj["data"] == {"k": "1"}
    assert store.latest(RES, "default", "new") is None
    storage.fail = False
    ev = await store.write("ADDED", RES, "default", "new", cm("new"))
    assert ev.rv > kept.rv
    await store.close()


async def test_both_values_of_a_write_stay_parsed_until_it_is_published(tmp_path: Path) -> None:
    storage = GatedStorage(tmp_path / "db")
    storage.loop = asyncio.get_running_loop()
    storage.gate.set()
    store = Store(storage, 1000, warm=4)
    await store.open()
    await store.write("ADDED", RES, "default", "a", cm("a", "1"))
    for i in range(8):
        await store.write("ADDED", RES, "default", f"n{i}", cm(f"n{i}"))
    current = store.latest(RES, "default", "a")
    assert current is not None
    updated = dict(current.obj, data={"k": "2"}, metadata=dict(current.obj["metadata"]))
    seen: list[tuple[bool, bool]] = []
    store.add_listener(lambda batch: seen.extend(
        (ev.prev is not None and ev.prev.warm, ev.entry.warm) for ev in batch if ev.name == "a"))
    storage.gate.clear()
    task = asyncio.create_task(store.write("MODIFIED", RES, "default", "a", updated))
    await asyncio.sleep(0)
    for e in store.list_entries(RES, "default"):  # reads parse and warm 8 other entries
        assert e.obj["metadata"]["name"]
    storage.gate.set()
    await task
    assert seen == [(True, True)]  # listeners found both dicts without parsing again
    assert not current.warm  # the replaced value is retired once published ...
    latest = store.latest(RES, "default", "a")
    assert latest is not None and latest.warm  # ... the new one is the newest warm entry
    for e in store.list_entries(RES, "default")[1:5]:  # n0..n3
        assert e.obj["metadata"]["name"]
    assert not latest.warm  # and cools like any other once newer ones come
    await store.close()


async def test_writes_queued_behind_a_failed_commit_fail_too(tmp_path: Path) -> None:
    storage = GatedStorage(tmp_path / "db")
    storage.loop = asyncio.get_running_loop()
    store = await open_store(storage)
    storage.fail = True
    first = asyncio.create_task(store.write("ADDED", RES, "default", "a", cm("a")))
    await asyncio.sleep(0.05)  # the commit thread holds [a], waiting at the gate
    behind = [asyncio.create_task(store.write("ADDED", RES, "default", f"b{i}", cm(f"b{i}")))
              for i in range(3)]
    await asyncio.sleep(0)
    storage.gate.set()  # [a] fails: the b's were staged on top of it and must not commit
    results = await asyncio.gather(first, *behind, return_exceptions=True)
    assert all(isinstance(r, errors.ApiError) and r.code == 500 for r in results)
    assert storage.batches == [] and store.pending_count == 0
    assert store.latest(RES, "default", "b0") is None
    storage.fail = False
    ev = await store.write("ADDED", RES, "default", "c", cm("c"))  # the thread goes on
    assert storage.batches == [1] and store.get(RES, "default", "c") == ev.entry
    await store.close()


async def test_close_commits_what_is_queued(tmp_path: Path) -> None:
    store = await open_store(Storage(tmp_path / "db", "NORMAL"))
    futures = [store.stage("ADDED", RES, "default", f"n{i}", cm(f"n{i}"))[1] for i in range(50)]
    await store.close()
    assert all(f.done() and f.exception() is None for f in futures)
    again = await open_store(Storage(tmp_path / "db", "NORMAL"))
    assert len(again.list_entries(RES, "default")) == 50
    await again.close()


async def test_lists_stay_sorted_and_current_as_keys_come_and_go(tmp_path: Path) -> None:
    store = await open_store(Storage(tmp_path / "db", "NORMAL"))

    def names(ns: str | None = "default") -> list[str]:
        return [f"{e.obj['metadata']['namespace']}/{e.obj['metadata']['name']}"
                for e in store.list_entries(RES, ns)]

    for name in ("b", "a", "c"):
        await store.write("ADDED", RES, "default", name, cm(name))
    other = cm("a")
    other["metadata"]["namespace"] = "other"
    await store.write("ADDED", RES, "other", "a", other)
    assert names() == names() == ["default/a", "default/b", "default/c"]  # sorted once, kept
    assert names(None) == ["default/a", "default/b", "default/c", "other/a"]
    b = store.latest(RES, "default", "b")
    assert b is not None
    await store.write("MODIFIED", RES, "default", "b",
                      dict(b.obj, data={"k": "2"}, metadata=dict(b.obj["metadata"])))
    assert [e.obj["data"]["k"] for e in store.list_entries(RES, "default")] == ["v", "2", "v"]
    a = store.latest(RES, "default", "a")
    assert a is not None
    await store.write("DELETED", RES, "default", "a", dict(a.obj, metadata=dict(a.obj["metadata"])))
    await store.write("ADDED", RES, "default", "aa", cm("aa"))
    assert names() == ["default/aa", "default/b", "default/c"]
    assert names(None) == ["default/aa", "default/b", "default/c", "other/a"]
    await store.close()


def test_an_entry_range_resolves_entries_as_it_is_read() -> None:
    by_ns = {"a": {"x": Entry({"metadata": {"name": "x"}}, b"", 1)},
             "b": {"y": Entry({"metadata": {"name": "y"}}, b"", 2),
                   "z": Entry({"metadata": {"name": "z"}}, b"", 3)}}
    keys = [("a", "x"), ("b", "y"), ("b", "z")]
    full = EntryRange(by_ns, keys)
    assert len(full) == 3 and [e.rv for e in full] == [1, 2, 3]
    tail = full[1:]
    assert isinstance(tail, EntryRange) and [e.rv for e in tail] == [2, 3]
    assert tail[-1].rv == 3 and tail[0].rv == 2 and len(tail[5:]) == 0
    assert [e.rv for e in full[:2]] == [1, 2] and len(full[2:1]) == 0
    with pytest.raises(IndexError):
        tail[2]
    with pytest.raises(ValueError):
        full[::2]


async def test_list_at_rebuilds_a_past_revision(tmp_path: Path) -> None:
    store = await open_store(Storage(tmp_path / "db", "NORMAL"))
    a = await store.write("ADDED", RES, "default", "a", cm("a", "1"))
    b = await store.write("ADDED", RES, "default", "b", cm("b"))
    snapshot_rv = b.rv
    await store.write("MODIFIED", RES, "default", "a",
                      dict(a.obj, data={"k": "2"}, metadata=dict(a.obj["metadata"])))
    await store.write("DELETED", RES, "default", "b", dict(b.obj, metadata=dict(b.obj["metadata"])))
    await store.write("ADDED", RES, "default", "c", cm("c"))
    past = store.list_at(RES, "default", snapshot_rv)
    assert [(e.obj["metadata"]["name"], e.obj["data"]["k"]) for e in past] == \
        [("a", "1"), ("b", "v")]
    now = store.list_entries(RES, "default")
    assert [e.obj["metadata"]["name"] for e in now] == ["a", "c"]
    await store.close()


async def test_compaction_expires_old_revisions(tmp_path: Path) -> None:
    store = await open_store(Storage(tmp_path / "db", "NORMAL"), window=10)
    first = await store.write("ADDED", RES, "default", "first", cm("first"))
    for i in range(300):
        await store.write("ADDED", RES, "default", f"n{i}", cm(f"n{i}"))
    store._compact()
    with pytest.raises(errors.ApiError) as exc:
        store.events_since(first.rv)
    assert exc.value.code == 410
    assert len(store.events_since(store.committed_rv - 5)) == 5
    await store.close()


class CompactionLog(Storage):
    """Storage that records how many log rows each statement dropped."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "NORMAL")
        self.dropped: list[tuple[int, int]] = []  # (rows written, rows dropped)

    def _log_rows(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def commit(self, rows: Sequence[Row], compact_to: int = 0) -> CommitStats:
        before = self._log_rows()
        stats = super().commit(rows, compact_to)
        self.dropped.append((len(rows), before + len(rows) - self._log_rows()))
        return stats

    def compact(self, keep_after_rv: int) -> int:
        n = super().compact(keep_after_rv)
        self.dropped.append((0, n))
        return n


async def test_the_log_is_compacted_in_slices_that_ride_on_commits(tmp_path: Path) -> None:
    storage = CompactionLog(tmp_path / "db")
    store = await open_store(storage, window=10)
    for i in range(300):
        await store.write("ADDED", RES, "default", f"n{i}", cm(f"n{i}"))
    store._compact()
    reader = sqlite3.connect(tmp_path / "db")  # the store's connection is its thread's

    async def compacted() -> bool:
        return int(reader.execute("SELECT COUNT(*) FROM events").fetchone()[0]) <= 10

    assert await eventually(compacted)
    reader.close()
    assert sum(d for _, d in storage.dropped) == 290
    for written, dropped in storage.dropped:  # never hundreds of rows in one statement
        assert dropped <= (max(2 * written, MIN_SLICE) if written else IDLE_SLICE)
    await store.close()


async def test_restart_restores_objects_log_and_revision(tmp_path: Path) -> None:
    store = await open_store(Storage(tmp_path / "db", "FULL"))
    a = await store.write("ADDED", RES, "default", "a", cm("a"))
    b = await store.write("ADDED", RES, "default", "b", cm("b"))
    await store.write("DELETED", RES, "default", "a", dict(a.obj, metadata=dict(a.obj["metadata"])))
    await store.close()
    again = await open_store(Storage(tmp_path / "db", "FULL"))
    assert [e.obj["metadata"]["name"] for e in again.list_entries(RES, None)] == ["b"]
    assert again.committed_rv == b.rv + 1
    # Watches can resume from before the restart.
    assert [e.type for e in again.events_since(a.rv)] == ["ADDED", "DELETED"]
    c = await again.write("ADDED", RES, "default", "c", cm("c"))
    assert c.rv == b.rv + 2
    await again.close()
