"""The server's background key loop: marks processed once each, errors retried or logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from mizzen.apiserver import errors
from mizzen.apiserver.keyloop import KeyLoop


async def test_marked_keys_are_processed_and_conflicts_retried(
        caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []
    done = asyncio.Event()
    conflicts = {"b": 2}

    async def process(key: str) -> None:
        seen.append(key)
        if conflicts.get(key):
            conflicts[key] -= 1
            raise errors.conflict("things", "", key)
        if key == "bad":
            raise errors.invalid("Thing", "", key, [])
        if key == "boom":
            raise RuntimeError("boom")
        if key == "last":
            done.set()

    loop: KeyLoop[str] = KeyLoop("test-loop", process, logging.getLogger("test.keyloop"),
                                 retry_codes=(409,))
    loop.start()
    loop.mark_all(["a", "b", "bad", "boom"])
    loop.mark("a")  # marked twice before processing: processed once
    while loop.pending:
        await asyncio.sleep(0)
    loop.mark("last")
    await asyncio.wait_for(done.wait(), 5)
    await loop.stop()
    assert sorted(seen) == sorted(["a", "b", "b", "b", "bad", "boom", "last"])
    messages = [r.getMessage() for r in caplog.records]
    assert any("bad" in m and "Invalid" in m for m in messages)
    assert any("boom failed" in m for m in messages)


async def test_workers_take_distinct_keys_at_once_and_a_busy_key_waits() -> None:
    release = asyncio.Event()
    running: list[str] = []
    finished: list[str] = []

    async def process(key: str) -> None:
        assert key not in running  # never the same key twice at once
        running.append(key)
        await release.wait()
        running.remove(key)
        finished.append(key)

    loop: KeyLoop[str] = KeyLoop("test-loop", process, logging.getLogger("test.keyloop"),
                                 workers=3)
    loop.start()
    loop.mark_all(["a", "b", "c", "d"])
    async def until(cond: Callable[[], bool]) -> None:
        for _ in range(1000):
            if cond():
                return
            await asyncio.sleep(0)
        raise AssertionError("condition not reached")
    await until(lambda: len(running) == 3)  # three at once, the fourth waits
    busy = running[0]
    loop.mark(busy)  # marked again while in process: done again afterwards, not alongside
    release.set()
    await until(lambda: len(finished) == 5)
    await loop.stop()
    assert sorted(finished) == sorted(["a", "b", "c", "d", busy])
