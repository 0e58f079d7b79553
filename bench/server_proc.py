"""The API server a control-plane benchmark measures: in its own process, or in this one.

Why both: ``mizzen up`` runs the API server in one process and the controllers and the
simulated cluster in another (``--processes 2``, the default), so on a two-core machine
they run side by side; ``mizzen up --processes 1`` runs everything on one event loop.  A
benchmark of "the control plane as ``mizzen up`` runs it" must do the same, so
``bench/cluster.py`` and ``bench/cloneset.py`` run their controllers in the benchmark's
process and the server as chosen by ``--processes``:

* :class:`ServerProcess` starts ``mizzen apiserver`` (the same command, event loop and GC
  settings ``mizzen up`` gives its server) on a temporary data directory and reads its URL,
  CA and token from what it prints and writes.  Its counters come from its ``/metrics``
  endpoint (Prometheus text, parsed with ``prometheus_client``), its CPU from
  ``/proc/PID/stat`` and its peak memory from ``/proc/PID/status`` (``VmHWM``).
* :class:`InProcessServer` is the :class:`~mizzen.apiserver.server.ApiServer` on this event
  loop; its counters come from its registry, and its CPU and memory are this process's.

Both answer the same questions (:class:`ServerView`), so the benchmarks' bookkeeping —
requests by verb, commits, CPU and memory of the whole control plane — is written once.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, Protocol

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.apiserver import Server, start_server, stop_server
from mizzen.apiserver.server import ApiServer, ServerConfig

__all__ = ["InProcessServer", "ServerProcess", "ServerView", "start_view"]

Family = Any  # a prometheus_client Metric: .samples of (name, labels, value, ...)


class ServerView(Protocol):
    """What a benchmark reads of the API server it measures."""

    url: str
    ca_pem: bytes
    token: str
    # "in this process" or "own process"
    where: str

    async def families(self) -> Iterable[Family]:
        """The server's metric families now (apiserver_request_total, storage counters)."""
        ...

    def cpu_seconds(self) -> float:
        """CPU the server used so far beyond this process's own (0 when in this process)."""
        ...

    def peak_rss_mib(self) -> float:
        """The server's peak resident memory beyond this process's (0 when in this one)."""
        ...

    def rss_mib(self) -> float:
        """The server's resident memory now beyond this process's (0 when in this one)."""
        ...

    async def stop(self) -> None: ...


class InProcessServer:
    """The server on this event loop (``mizzen up --processes 1``)."""

    where = "in this process"

    def __init__(self, data: Path, sync: str) -> None:
        self.server = ApiServer(ServerConfig(data_dir=data, port=0, synchronous=sync))
        self.url, self.ca_pem, self.token = "", b"", ""

    async def start(self) -> None:
        await self.server.start()
        self.url, self.ca_pem, self.token = self.server.url, self.server.ca_pem, \
            self.server.token

    async def families(self) -> Iterable[Family]:
        return list(self.server.metrics.registry.collect())

    def cpu_seconds(self) -> float:
        return 0.0

    def peak_rss_mib(self) -> float:
        return 0.0

    def rss_mib(self) -> float:
        return 0.0

    async def stop(self) -> None:
        await self.server.stop()


def _status_kib(pid: int, field: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class ServerProcess:
    """``mizzen apiserver`` in a process of its own (``mizzen up``'s default)."""

    where = "own process"

    def __init__(self, data: Path, sync: str, log: IO[bytes]) -> None:
        self._data, self._sync, self._log = data, sync, log
        self._server: Server | None = None
        self._session: aiohttp.ClientSession | None = None
        self._cpu = self._peak = 0.0
        self.url, self.ca_pem, self.token = "", b"", ""

    async def start(self) -> None:
        self._server = srv = await start_server(self._data, self._sync, self._log)
        self.url, self.ca_pem, self.token = srv.url, srv.ca_pem, srv.token
        ctx = ssl.create_default_context(cadata=srv.ca_pem.decode())
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx))

    @property
    def pid(self) -> int:
        assert self._server is not None
        return self._server.proc.pid

    async def families(self) -> Iterable[Family]:
        assert self._session is not None
        async with self._session.get(f"{self.url}/metrics", headers={
                "Authorization": f"Bearer {self.token}"}) as resp:
            resp.raise_for_status()
            text = await resp.text()
        return list(text_string_to_metric_families(text))

    def cpu_seconds(self) -> float:
        if self._server is not None:
            self._cpu = self._server.cpu_seconds() or self._cpu  # the last reading once gone
        return self._cpu

    def peak_rss_mib(self) -> float:
        if self._server is not None:
            self._peak = max(self._peak, _status_kib(self.pid, "VmHWM") / 1024)
        return self._peak

    def rss_mib(self) -> float:
        return _status_kib(self.pid, "VmRSS") / 1024 if self._server is not None else 0.0

    async def stop(self) -> None:
        self.cpu_seconds()
        self.peak_rss_mib()
        if self._session is not None:
            await self._session.close()
        if self._server is not None:
            await stop_server(self._server)
            self._server = None


async def start_view(processes: int, data: Path, sync: str,
                     log: IO[bytes]) -> InProcessServer | ServerProcess:
    """The server as ``mizzen up --processes N`` runs it, started."""
    view: InProcessServer | ServerProcess = (
        ServerProcess(data, sync, log) if processes == 2 else InProcessServer(data, sync))
    await view.start()
    return view
