"""How the CLI's long-running commands run their event loop: on uvloop where it exists.

``mizzen apiserver``, ``mizzen up`` and ``mizzen controller`` serve every request on one event
loop, so the loop's own cost per request caps what the control plane can do: with the
standard loop, reading and writing a TLS connection goes through :mod:`asyncio.sslproto`
(Python code per chunk) and every callback through Python-level scheduling.  uvloop
(libuv, written in Cython) does both in C; on the API server benchmark it takes a sizeable
share of each request's CPU off the loop.  It is a pinned dependency on the platforms it
supports; elsewhere (Windows) the standard loop runs.

Only the CLI chooses the loop.  Library code never depends on which loop runs it, and the
tests run on pytest-asyncio's standard loop, so behaviour must be (and is tested to be)
the same on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["run"]


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a fresh event loop (uvloop when available), as
    :func:`asyncio.run` does: remaining tasks are cancelled and the loop closed at the end."""
    try:
        import uvloop
    except ImportError:  # a platform uvloop does not support
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
