"""How the CLI's long-running commands run their event loop (uvloop) and are told to stop.

``mizzen apiserver``, ``mizzen up`` and ``mizzen controller`` serve every request on one event
loop, so the loop's own cost per request caps what the control plane can do: with the
standard loop, reading and writing a TLS connection goes through :mod:`asyncio.sslproto`
(Python code per chunk) and every callback through Python-level scheduling.  uvloop
(libuv, written in Cython) does both in C; on the API server benchmark it takes a sizeable
share of each request's CPU off the loop.  It is a pinned dependency on the platforms it
supports; elsewhere (Windows) the standard loop runs.

Every one of those commands (and ``mizzen up``'s controller-manager process) stops the same
way: SIGINT or SIGTERM sets an :class:`asyncio.Event` (:func:`stop_event`), and each phase
of its life — starting, serving — is raced against it (:func:`until_stopped`), so a signal
during a slow start stops it as cleanly as one while serving.

Only the CLI chooses the loop.  Library code never depends on which loop runs it, and the
tests run on pytest-asyncio's standard loop, so behaviour must be (and is tested to be)
the same on both.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["run", "stop_event", "until_stopped"]


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a fresh event loop (uvloop when available), as
    :func:`asyncio.run` does: remaining tasks are cancelled and the loop closed at the end."""
    try:
        import uvloop
    except ImportError:  # a platform uvloop does not support
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def stop_event() -> asyncio.Event:
    """An event the running loop sets on SIGINT or SIGTERM (instead of raising
    KeyboardInterrupt or dying), so the command can stop its parts in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def until_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``work``'s result (or exception), or None — ``work`` cancelled — once ``stop`` is set
    first.  Cancelling the caller cancels ``work`` too."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((task, stopper), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    return None if task.cancelled() else task.result()
