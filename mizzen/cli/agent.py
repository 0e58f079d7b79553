"""The controller-manager half of ``mizzen up``: simulated cluster, CRDs, webhooks, controllers.

Why shaped so: ``mizzen up`` runs this half either on the API server's own event loop
(``--processes 1``) or in a process of its own (the default, ``mizzen up-agent``, supervised
by :mod:`mizzen.cli.supervisor`) so that it and the API server each get a core.  Both ways
run this one :class:`Agent`, and both talk to the server only through a
:class:`~mizzen.client.config.ClientConfig` — over HTTPS with the token and CA, as to a
real cluster — so the two modes differ in where the code runs, never in what it does.

:meth:`Agent.start` returns only once the agent is *ready*: every informer has synced (the
manager's own ``/readyz``) and every simulated Node exists.  Only then does ``mizzen up``
say the control plane is up, so a ``kubectl get nodes`` right after that line sees the
nodes.  What it started is summed up in a :class:`Readiness`, which the child process sends
its parent as one JSON line.

:func:`run_agent` is the child process's life: it watches its end of a socket shared with
the parent and stops when that reads EOF — the parent has gone, even by SIGKILL, since the
kernel closes a dead process's sockets — as it does on SIGINT/SIGTERM (an orphan that cannot
finish stopping within ``ORPHAN_GRACE`` seconds exits regardless).  Everything here is
level-based and resumes from the API server, so a killed agent's successor neither
duplicates pods nor loses state.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import orjson

from mizzen.cli.controllers import add_mizzen_controllers
from mizzen.cli.crds import install_crds
from mizzen.cli.eventloop import stop_event, until_stopped
from mizzen.cli.webhooks import WebhookOptions, start_webhooks
from mizzen.client.config import ClientConfig, load_kubeconfig
from mizzen.cluster.config import ClusterConfig
from mizzen.cluster.setup import SimulatedCluster, add_simulated_cluster
from mizzen.runtime.clock import Clock, RealClock
from mizzen.runtime.manager import Manager, ManagerOptions
from mizzen.webhook import WebhookServer

__all__ = ["Agent", "AgentOptions", "Readiness", "run_agent"]

log = logging.getLogger(__name__)

READY_POLL = 0.05  # seconds between readiness looks while starting
ORPHAN_GRACE = 10.0  # seconds an orphaned agent may take to stop before it just exits


@dataclass(frozen=True)
class AgentOptions:
    """What the controller-manager half runs."""

    nodes: int
    zones: int
    # Mizzen's own controllers and webhook server (False: `mizzen up --no-controllers`).
    controllers: bool
    # Serve the manager's /healthz, /readyz and /metrics on this port.
    health_port: int | None = None
    # Where the webhook CA and serving pair are kept (None: in memory, a new CA each start).
    webhook_cert_dir: Path | None = None


@dataclass(frozen=True)
class Readiness:
    """What a ready agent runs, as ``mizzen up`` reports it."""

    pid: int
    controllers: tuple[str, ...]
    crds: tuple[str, ...]
    webhooks: str | None

    def to_line(self) -> bytes:
        return orjson.dumps({"pid": self.pid, "controllers": self.controllers,
                             "crds": self.crds, "webhooks": self.webhooks}) + b"\n"

    @classmethod
    def from_line(cls, line: bytes) -> Readiness:
        """Parse :meth:`to_line`'s output (ValueError on anything else)."""
        try:
            data = orjson.loads(line)
            return cls(int(data["pid"]), tuple(map(str, data["controllers"])),
                       tuple(map(str, data["crds"])),
                       None if data["webhooks"] is None else str(data["webhooks"]))
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"not a readiness report: {line[:200]!r}") from exc


class Agent:
    """One controller manager with the simulated cluster and (optionally) Mizzen's controllers."""

    def __init__(self, config: ClientConfig, clock: Clock, opts: AgentOptions) -> None:
        self.opts = opts
        self.manager = Manager.from_config(config, clock,
                                           ManagerOptions(health_port=opts.health_port))
        self._clock = clock
        self._webhooks: WebhookServer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Readiness:
        """Install the CRDs, start the webhooks and the manager; return once ready."""
        opts = self.opts
        crds = await install_crds(self.manager.client)
        if opts.controllers:
            self._webhooks = await start_webhooks(self.manager.client, WebhookOptions(
                cert_dir=opts.webhook_cert_dir))
        cluster = add_simulated_cluster(self.manager,
                                        ClusterConfig.with_nodes(opts.nodes, opts.zones))
        names = add_mizzen_controllers(self.manager) if opts.controllers else []
        self._task = asyncio.create_task(self.manager.run(), name="manager")
        while not self._ready(cluster):
            if self._task.done():
                self._task.result()  # the manager failed: report it
                raise RuntimeError("the controller manager stopped before it was ready")
            await self._clock.sleep(READY_POLL)
        gc.freeze()  # the synced caches are long-lived: keep them out of later collections
        return Readiness(os.getpid(), tuple(names), tuple(crds),
                         self._webhooks.url if self._webhooks is not None else None)

    def _ready(self, cluster: SimulatedCluster) -> bool:
        status, _, _ = self.manager.health.respond("GET", "/readyz")
        nodes = cluster.nodes.nodes.cache
        return status == 200 and all(nodes.get(name) is not None
                                     for name in cluster.nodes.node_names)

    async def wait(self) -> None:
        """Until the manager ends, which it does only by failing (then raise that)."""
        if self._task is None:
            raise RuntimeError("the agent has not started")
        await self._task

    async def stop(self) -> None:
        """Stop the manager (controllers, simulated cluster) and then the webhook server."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        else:  # the manager never ran, so it did not close its client
            await self.manager.client.close()
        if self._webhooks is not None:
            await self._webhooks.stop()


def _exit_after(seconds: float) -> None:
    """Exit the process in ``seconds`` whatever is still running (even a stuck shutdown):
    an orphan must never outlive its parent for long."""
    timer = threading.Timer(seconds, os._exit, (1,))
    timer.daemon = True
    timer.start()


async def _until_eof(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(ConnectionError):
        while await reader.read(4096):
            pass  # the parent writes nothing; read on until its end closes


async def run_agent(kubeconfig: Path, opts: AgentOptions, parent_fd: int, *,
                    orphan_grace: float | None = ORPHAN_GRACE) -> None:
    """The ``mizzen up-agent`` process: run an :class:`Agent` against the server in
    ``kubeconfig``, report readiness on the socket ``parent_fd``, and stop on SIGINT/SIGTERM
    or when that socket reads EOF (the parent is gone; the process then exits after
    ``orphan_grace`` seconds at the latest — None, for tests in-process: never)."""
    stop = stop_event()
    reader, writer = await asyncio.open_connection(sock=socket.socket(fileno=parent_fd))
    orphaned = asyncio.create_task(_until_eof(reader), name="parent-watch")
    orphaned.add_done_callback(lambda _: stop.set())
    agent = Agent(load_kubeconfig(kubeconfig), RealClock(), opts)

    async def serve() -> None:
        readiness = await agent.start()
        with contextlib.suppress(ConnectionError):  # a parent gone: the watch stops us
            writer.write(readiness.to_line())
            await writer.drain()
        await agent.wait()

    try:
        await until_stopped(serve(), stop)
    finally:
        if orphaned.done():
            log.warning("the mizzen up process is gone; stopping")
            if orphan_grace is not None:
                _exit_after(orphan_grace)
        await agent.stop()
        orphaned.cancel()
        writer.close()
