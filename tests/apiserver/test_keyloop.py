"""The server's background key loop: marks processed once each, errors retried or logged."""

from __future__ import annotations

import asyncio
import logging

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
