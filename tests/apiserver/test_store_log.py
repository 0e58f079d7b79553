"""What the store keeps: bytes for good, dicts while warm, a change log bounded by bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from mizzen.apiserver import errors
from mizzen.apiserver.storage import Storage
from mizzen.apiserver.store import Store
from mizzen.apiserver.store_log import ChangeLog, Entry, Event, WarmSet

RES = "/configmaps"


def cm(name: str, value: str = "v") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"}, "data": {"k": value}}


def entry(rv: int, size: int = 10, warm: WarmSet | None = None) -> Entry:
    obj = {"metadata": {"name": f"o{rv}", "namespace": "default"}, "data": "x" * size}
    return Entry(obj, orjson.dumps(obj), rv, warm, ("default", f"o{rv}"))


def test_a_cold_entry_parses_its_bytes_and_is_warm_again() -> None:
    warm = WarmSet(2)
    first, second, third = entry(1, warm=warm), entry(2, warm=warm), entry(3, warm=warm)
    for e in (first, second, third):
        warm.add(e)
    assert not first.warm and second.warm and third.warm  # only the last two kept
    assert first.obj["metadata"]["name"] == "o1"  # parsed again on demand ...
    assert first.warm and not second.warm  # ... which warms it and cools the oldest
    assert first.key == ("default", "o1")


def test_an_entry_without_bytes_keeps_its_dict() -> None:
    dry_run = Entry({"metadata": {"name": "x"}}, b"", 0)
    dry_run.cool()
    assert dry_run.warm and dry_run.obj == {"metadata": {"name": "x"}}
    with pytest.raises(ValueError):
        Entry(None, b"", 0)


def test_an_event_caches_its_line_only_until_published() -> None:
    ev = Event("ADDED", RES, "default", "o1", entry(1), None)
    line = ev.line()
    assert line.startswith(b'{"type":"ADDED","object":{') and ev.line() is line
    ev.published()
    again = ev.line()
    assert again == line and ev.line() is not again  # rebuilt each time, never kept


def test_change_log_keeps_the_newest_events_within_its_byte_budget() -> None:
    log = ChangeLog(window=100, max_bytes=1000)
    events = [Event("ADDED", RES, "default", f"o{rv}", entry(rv, size=200), None)
              for rv in range(1, 11)]
    for ev in events:
        log.append(ev)
    size = len(events[0].raw)
    assert log.over()
    last_dropped = log.trim()
    kept = 1000 // size
    assert len(log) == kept and log.bytes <= 1000
    assert last_dropped == 10 - kept
    assert [e.rv for e in log.between(0, 100)] == list(range(11 - kept, 11))


def test_change_log_keeps_the_newest_event_however_large() -> None:
    log = ChangeLog(window=100, max_bytes=10)
    log.append(Event("ADDED", RES, "default", "big", entry(1, size=500), None))
    assert log.trim() == 0 and len(log) == 1


async def test_store_expires_revisions_beyond_its_byte_budget(tmp_path: Path) -> None:
    store = Store(Storage(tmp_path / "db", "NORMAL"), window=10_000, window_bytes=20_000)
    await store.open()
    first = await store.write("ADDED", RES, "default", "first", cm("first"))
    for i in range(400):  # about 150 bytes each: well over 20,000
        await store.write("ADDED", RES, "default", f"n{i}", cm(f"n{i}", "x" * 50))
    store._compact()
    with pytest.raises(errors.ApiError) as exc:
        store.events_since(first.rv)
    assert exc.value.code == 410
    recent = store.events_since(store.compacted_rv)
    assert recent and sum(len(e.raw) for e in recent) <= 20_000
    await store.close()


async def test_a_stored_value_and_its_logged_write_share_one_copy(tmp_path: Path) -> None:
    store = Store(Storage(tmp_path / "db", "NORMAL"))
    await store.open()
    ev = await store.write("ADDED", RES, "default", "a", cm("a"))
    current = store.get(RES, "default", "a")
    assert current is ev.entry
    await store.close()
    again = Store(Storage(tmp_path / "db", "NORMAL"))
    await again.open()  # after a restart too: the object row and its log row, one Entry
    (logged,) = again.events_since(0)
    assert again.get(RES, "default", "a") is logged.entry
    assert not logged.entry.warm and logged.obj["data"] == {"k": "v"}
    await again.close()


async def test_superseded_values_are_cold_and_stay_cold(tmp_path: Path) -> None:
    store = Store(Storage(tmp_path / "db", "NORMAL"))
    await store.open()
    first = await store.write("ADDED", RES, "default", "a", cm("a", "1"))
    second = await store.write("MODIFIED", RES, "default", "a",
                               dict(first.obj, data={"k": "2"},
                                    metadata=dict(first.obj["metadata"])))
    old = second.prev
    assert old is first.entry and not old.warm
    assert old.obj["data"] == {"k": "1"} and not old.warm  # read, but not kept
    assert store.get(RES, "default", "a") is second.entry and second.entry.warm
    await store.close()
