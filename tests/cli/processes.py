"""``python -m mizzen …`` as a child process whose output goes to a log file.

Why a log file and not a pipe: the control plane and the controller manager
of the end-to-end and restart tests run for a whole module or a long test;
a pipe that nobody reads after start-up fills up (64 KiB) and then blocks the
child on its next log line.  A file never blocks, and a failing test can
print all of it.

Waiting is on a condition with a deadline (:meth:`MizzenProcess.wait_for`
polls the file for a pattern and gives up early when the child has exited),
never a fixed sleep.  :meth:`MizzenProcess.kill` is SIGKILL — no clean-up
runs in the child — which is what the restart-safety test wants.

:func:`alive` tells whether any pid (a grandchild such as ``mizzen up``'s controller
manager) still runs; a zombie counts as gone, since an orphan that exited waits for
whichever process adopted it to reap it, which may take a while.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

__all__ = ["MizzenProcess", "alive", "wait_gone"]

POLL = 0.05  # seconds between looks at the log file


def alive(pid: int) -> bool:
    """``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel (a zombie then counts as alive)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def wait_gone(pid: int, timeout: float = 10.0) -> None:
    """Wait until ``pid`` is gone; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} still runs after {timeout}s")
        time.sleep(POLL)


class MizzenProcess:
    """One ``python -m mizzen ARGS`` child, its output in ``log``."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.args = args
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "mizzen", *args],
                                     stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _check(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        found = pattern.search(self.output())
        if found is None and not self.running():
            raise AssertionError(f"mizzen {' '.join(self.args)} exited "
                                 f"{self.proc.returncode} before {pattern.pattern!r}:\n"
                                 + self.output())
        return found

    def _late(self, pattern: re.Pattern[str], timeout: float) -> AssertionError:
        return AssertionError(f"{pattern.pattern!r} not in the output of mizzen "
                              f"{' '.join(self.args)} within {timeout}s:\n" + self.output())

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        """The first match of ``pattern`` in the output, waiting up to ``timeout`` s."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while (found := self._check(compiled)) is None:
            if time.monotonic() > deadline:
                raise self._late(compiled, timeout)
            time.sleep(POLL)
        return found

    async def await_for(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        """:meth:`wait_for` without blocking the running event loop."""
        compiled = re.compile(pattern)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (found := self._check(compiled)) is None:
            if loop.time() > deadline:
                raise self._late(compiled, timeout)
            await asyncio.sleep(POLL)
        return found

    def kill(self) -> int:
        """SIGKILL: the child gets no chance to finish anything."""
        return self.stop(signal.SIGKILL)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> int:
        """Send ``sig`` (if still running) and wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self._out.close()

    def close(self) -> None:
        """Make sure the child is gone (SIGKILL if it does not stop on SIGINT)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        self._out.close()

    def __enter__(self) -> MizzenProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
