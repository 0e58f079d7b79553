"""Supervising ``mizzen up``'s controller-manager process from the API server's process.

Why shaped so: the API server and the controller manager each want a core, so ``mizzen up``
runs the manager as a child (``python -m mizzen up-agent …``) and keeps it alive.  The
parent owns everything durable (data directory, SQLite, certificates, token, kubeconfig);
the child owns nothing but what it rebuilds from the API server, so restarting it is always
safe.  Three things tie the two processes together, and only these:

* **one socket pair per child**: the child's end is passed by file descriptor
  (``--parent-fd N``).  The child writes one line when it is ready
  (:class:`~mizzen.cli.agent.Readiness`) and otherwise only reads: EOF means the parent is
  gone — the kernel closes a dead process's sockets, so this holds even after SIGKILL and
  leaves no orphan.  For the parent, EOF before that line means the child died starting;
* **its own session** (``start_new_session``): a terminal's Ctrl-C reaches the parent alone,
  which stops the child first (SIGTERM, SIGKILL after ``stop_timeout``) and only then the
  API server, so no write of the child's is cut in half by the server going away;
* **inherited stdout/stderr**: the child's log lines appear in the parent's output; nothing
  is buffered in between, so nothing can fill up and block either process.

A child that exits unexpectedly is restarted after a capped exponential backoff
(:class:`Backoff`: 0.5 s, 1 s, 2 s … 30 s; one that ran for ``stable`` seconds starts again
from the first delay).  A child that dies before it is first ready is not retried: that is a
configuration error (a taken ``--health-port``), and :meth:`Supervisor.start` raises
:class:`AgentFailed` so ``mizzen up`` exits with a message instead of looping.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from mizzen.cli.agent import Readiness
from mizzen.runtime.clock import Clock, with_timeout

__all__ = ["AgentFailed", "Backoff", "Supervisor", "describe_exit"]

log = logging.getLogger(__name__)


class AgentFailed(Exception):
    """The controller-manager process exited before it was first ready."""


@dataclass(frozen=True)
class Backoff:
    """Delays between restarts: ``first`` doubled per consecutive failure, up to ``cap``."""

    first: float = 0.5
    cap: float = 30.0
    # A child that ran this long before exiting counts as a first failure again.
    stable: float = 60.0

    def delay(self, failures: int) -> float:
        return float(min(self.cap, self.first * 2 ** max(0, failures - 1)))


def describe_exit(code: int) -> str:
    """``exited with code 1`` or ``was killed by SIGKILL``."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class _Child:
    """One controller-manager process and the parent's end of its socket."""

    def __init__(self, proc: asyncio.subprocess.Process, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, started: float) -> None:
        self.proc = proc
        self.reader = reader
        self.writer = writer
        self.started = started

    @classmethod
    async def spawn(cls, argv: Sequence[str], clock: Clock) -> _Child:
        ours, theirs = socket.socketpair()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, "--parent-fd", str(theirs.fileno()), pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL, start_new_session=True)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()  # the child has its copy; ours must not keep its end open
        try:
            reader, writer = await asyncio.open_connection(sock=ours)
        except BaseException:
            proc.kill()
            raise
        return cls(proc, reader, writer, clock.monotonic())

    async def ready(self) -> Readiness | None:
        """The child's readiness report, or None if it exited first."""
        try:
            line = await self.reader.readline()
        except ConnectionError:
            return None
        return Readiness.from_line(line) if line.endswith(b"\n") else None

    async def stop(self, clock: Clock, timeout: float) -> int:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout``; the exit code."""
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await with_timeout(clock, self.proc.wait(), timeout)
            except TimeoutError:
                log.warning("the controller manager (pid %d) did not stop within %.0f s; "
                            "killing it", self.proc.pid, timeout)
                self.proc.kill()
        return await self.exited()

    async def exited(self) -> int:
        """Once the process has exited (by itself or stopped): its exit code."""
        code = await self.proc.wait()
        self.writer.close()
        return code


class Supervisor:
    """Starts the controller-manager process, restarts it when it exits, stops it last."""

    def __init__(self, argv: Sequence[str], clock: Clock, *, backoff: Backoff | None = None,
                 stop_timeout: float = 10.0) -> None:
        self.argv = list(argv)
        self.backoff = backoff if backoff is not None else Backoff()
        self.stop_timeout = stop_timeout
        self.restarts = 0
        self._clock = clock
        self._child: _Child | None = None

    @property
    def pid(self) -> int | None:
        """The current child's pid (None before :meth:`start`)."""
        return self._child.proc.pid if self._child is not None else None

    async def start(self) -> Readiness:
        """Start the first child and wait until it is ready (:class:`AgentFailed` if it
        exits first)."""
        self._child = child = await _Child.spawn(self.argv, self._clock)
        readiness = await child.ready()
        if readiness is None:  # its end closed: it has exited, or is about to
            try:
                code = await with_timeout(self._clock, child.exited(), self.stop_timeout)
            except TimeoutError:
                code = await child.stop(self._clock, self.stop_timeout)
            raise AgentFailed(f"the controller manager {describe_exit(code)} before it was "
                              "ready")
        return readiness

    async def wait(self) -> None:
        """Keep a child running (restarting it with backoff) until cancelled."""
        failures = 0
        while True:
            child = self._child
            if child is None:
                raise RuntimeError("the supervisor has not started")
            code = await child.exited()
            ran = self._clock.monotonic() - child.started
            failures = 1 if ran >= self.backoff.stable else failures + 1
            delay = self.backoff.delay(failures)
            log.warning("the controller manager (pid %d) %s after %.1f s; restarting it in "
                        "%.1f s", child.proc.pid, describe_exit(code), ran, delay)
            await self._clock.sleep(delay)
            self._child = child = await _Child.spawn(self.argv, self._clock)
            readiness = await child.ready()
            if readiness is not None:
                self.restarts += 1
                log.warning("the controller manager is running again (pid %d, restart %d)",
                            readiness.pid, self.restarts)

    async def stop(self) -> int | None:
        """Stop the current child (SIGTERM, SIGKILL after ``stop_timeout``); its exit code."""
        if self._child is None:
            return None
        return await self._child.stop(self._clock, self.stop_timeout)
