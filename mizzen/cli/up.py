"""``mizzen up`` and ``mizzen controller``: the control plane, embedded or on a real cluster.

``mizzen up`` runs, in one process and on one event loop, the embedded API
server, a controller manager whose client talks to that server over HTTPS
exactly as it would to a real cluster, the simulated cluster (nodes,
kubelets, scheduler, Deployment and ReplicaSet controllers) and Mizzen's own
controllers.  ``--no-controllers`` leaves Mizzen's controllers out so that
``mizzen controller`` can run them as a separate process, as it would against
a real cluster — which is how restart safety and leader election are tested.

Both commands stop cleanly on SIGINT/SIGTERM: controllers first, then the
simulated cluster, then the server, so no write is cut in half.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import typer

from mizzen.apiserver.server import ApiServer, ServerConfig
from mizzen.cli.controllers import add_mizzen_controllers
from mizzen.cli.crds import install_crds
from mizzen.cli.webhooks import WebhookOptions, start_webhooks
from mizzen.client.config import ClientConfig, load_default, load_kubeconfig
from mizzen.cluster.config import ClusterConfig
from mizzen.cluster.setup import add_simulated_cluster
from mizzen.runtime.clock import RealClock
from mizzen.runtime.leaderelection import LeaderElectionConfig
from mizzen.runtime.manager import Manager, ManagerOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpOptions:
    data_dir: Path
    host: str
    port: int
    nodes: int
    zones: int
    kubeconfig: Path | None
    controllers: bool
    health_port: int | None
    sync: str = "FULL"


def _signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_up(opts: UpOptions, ready: asyncio.Event | None = None) -> None:
    """Run the embedded control plane until SIGINT/SIGTERM (or ``ready`` users cancel)."""
    stop = _signals()
    server = ApiServer(ServerConfig(data_dir=opts.data_dir, host=opts.host, port=opts.port,
                                    kubeconfig=opts.kubeconfig, synchronous=opts.sync))
    await server.start()
    gc.freeze()  # the loaded state is long-lived: keep it out of every later collection
    clock = RealClock()
    config = ClientConfig(server=server.url, ca_data=server.ca_pem, token=server.token)
    manager = Manager.from_config(config, clock, ManagerOptions(health_port=opts.health_port))
    crds = await install_crds(manager.client)
    webhooks = None
    if opts.controllers:
        webhooks = await start_webhooks(manager.client, WebhookOptions(
            cert_dir=opts.data_dir / "webhook"))
    cluster = ClusterConfig.with_nodes(opts.nodes, opts.zones)
    add_simulated_cluster(manager, cluster)
    names = add_mizzen_controllers(manager) if opts.controllers else []
    task = asyncio.create_task(manager.run(), name="manager")
    typer.echo(f"Mizzen control plane is up: API server {server.url}, "
               f"{opts.nodes} simulated nodes in {opts.zones} zones")
    typer.echo(f"Mizzen controllers: {', '.join(names) if names else 'none'}"
               + ("" if opts.controllers else " (--no-controllers)"))
    typer.echo(f"CRDs: {', '.join(crds)}"
               + (f"; webhooks at {webhooks.url}" if webhooks is not None else ""))
    typer.echo(f"Kubeconfig: {server.kubeconfig_path}")
    typer.echo(f"Try: export KUBECONFIG={server.kubeconfig_path}; kubectl get nodes")
    sys.stdout.flush()
    if ready is not None:
        ready.set()
    try:
        done, _ = await asyncio.wait({task, asyncio.create_task(stop.wait())},
                                     return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # the manager failed: report it
    finally:
        typer.echo("Stopping…")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if webhooks is not None:
            await webhooks.stop()
        await server.stop()


async def run_controller(kubeconfig: Path | None, leader_elect: bool, namespace: str,
                         health_port: int | None, webhook: WebhookOptions | None = None,
                         crds: bool = False, health_host: str = "127.0.0.1") -> None:
    """Run Mizzen's controllers (and webhook server) against any API server until
    SIGINT/SIGTERM; ``crds`` installs the CRDs first."""
    stop = _signals()
    config = load_kubeconfig(kubeconfig) if kubeconfig else load_default()
    election = None
    if leader_elect:
        identity = f"{socket.gethostname()}_{os.getpid()}"
        election = LeaderElectionConfig("mizzen-controller-manager", namespace, identity)
    manager = Manager.from_config(config, RealClock(),
                                  ManagerOptions(leader_election=election,
                                                 health_port=health_port,
                                                 health_host=health_host))
    if crds:
        await install_crds(manager.client)
    server = await start_webhooks(manager.client, webhook or WebhookOptions())
    names = add_mizzen_controllers(manager)
    task = asyncio.create_task(manager.run(), name="manager")
    typer.echo(f"Mizzen controller manager against {config.server}: "
               f"{', '.join(names) if names else 'no controllers yet'}"
               + (f"; leader election on {namespace}/mizzen-controller-manager"
                  if leader_elect else ""))
    sys.stdout.flush()
    try:
        done, _ = await asyncio.wait({task, asyncio.create_task(stop.wait())},
                                     return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.stop()
