"""The ``mizzen`` command (also installed as the kubectl plugin ``kubectl-mizzen``).

Each sub-command is a thin shell over a library object: it parses options,
builds a config, runs it on an event loop and turns failures into a message
and a non-zero exit.  ``mizzen apiserver`` runs the embedded API server until
interrupted (SIGINT or SIGTERM stop it cleanly).  The long-running servers
(``apiserver``, ``up``, ``controller``) run on the loop :mod:`mizzen.cli.eventloop` picks
(uvloop).
"""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from mizzen.apiserver.server import ApiServer, ServerConfig
from mizzen.cli import eventloop

app = typer.Typer(help="Mizzen: deploy cloud-native applications on Kubernetes stably and fast.",
                  no_args_is_help=True, add_completion=False)


async def _serve(server: ApiServer) -> None:
    stop = eventloop.stop_event()
    await server.start()
    gc.freeze()  # the loaded state is long-lived: keep it out of every later collection
    typer.echo(f"Mizzen API server listening on {server.url}")
    typer.echo(f"Kubeconfig: {server.kubeconfig_path}")
    typer.echo(f"Try: kubectl --kubeconfig {server.kubeconfig_path} get namespaces")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        typer.echo("Stopping…")
        await server.stop()


@app.command()
def apiserver(
    data_dir: Annotated[Path, typer.Option(help="Where state, certificates and token live.")]
    = Path(".mizzen"),
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTPS port (0 picks a free one).")] = 6443,
    kubeconfig: Annotated[Path | None, typer.Option(
        help="Where to write the kubeconfig (default: DATA_DIR/kubeconfig).")] = None,
    sync: Annotated[str, typer.Option(
        help="SQLite durability: FULL survives power loss, NORMAL survives crashes.")] = "FULL",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the embedded Kubernetes-compatible API server until interrupted."""
    _logging(verbose)
    tune_gc()
    if sync.upper() not in ("FULL", "NORMAL"):
        typer.echo(f"error: --sync must be FULL or NORMAL, not {sync!r}", err=True)
        raise typer.Exit(2)
    if not 0 <= port <= 65535:
        typer.echo(f"error: --port must be between 0 and 65535, not {port}", err=True)
        raise typer.Exit(2)
    config = ServerConfig(data_dir=data_dir.resolve(), host=host, port=port,
                          kubeconfig=kubeconfig.resolve() if kubeconfig else None,
                          synchronous=sync.upper())
    try:
        eventloop.run(_serve(ApiServer(config)))
    except OSError as exc:
        typer.echo(f"error: cannot start the API server: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def up(
    data_dir: Annotated[Path, typer.Option(help="Where state, certificates and token live.")]
    = Path(".mizzen"),
    host: Annotated[str, typer.Option(help="API server address (loopback by default).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API server HTTPS port (0 picks a free one).")]
    = 6443,
    nodes: Annotated[int, typer.Option(help="How many simulated nodes.")] = 3,
    zones: Annotated[int, typer.Option(help="How many zones the nodes spread over.")] = 3,
    kubeconfig: Annotated[Path | None, typer.Option(
        help="Where to write the kubeconfig (default: DATA_DIR/kubeconfig).")] = None,
    no_controllers: Annotated[bool, typer.Option(
        "--no-controllers", help="Run the API server and simulated cluster only, so that "
        "`mizzen controller` can run Mizzen's controllers as a separate process.")] = False,
    health_port: Annotated[int | None, typer.Option(
        help="Serve the manager's /healthz, /readyz and /metrics on this port.")] = None,
    sync: Annotated[str, typer.Option(help="SQLite durability: FULL or NORMAL.")] = "FULL",
    processes: Annotated[int, typer.Option(
        help="2: the API server in this process and the controller manager (simulated "
        "cluster, Mizzen's controllers) in a supervised child process, restarted if it "
        "exits, so they use two cores. 1: everything on one event loop in this process, "
        "for small machines and debugging.")] = 2,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Start a whole control plane on this machine: API server, simulated cluster, controllers."""
    from mizzen.cli.supervisor import AgentFailed
    from mizzen.cli.up import UpOptions, run_up

    _logging(verbose)
    tune_gc()
    if nodes < 1 or zones < 1:
        typer.echo("error: --nodes and --zones must be at least 1", err=True)
        raise typer.Exit(2)
    if sync.upper() not in ("FULL", "NORMAL"):
        typer.echo(f"error: --sync must be FULL or NORMAL, not {sync!r}", err=True)
        raise typer.Exit(2)
    if processes not in (1, 2):
        typer.echo(f"error: --processes must be 1 or 2, not {processes}", err=True)
        raise typer.Exit(2)
    opts = UpOptions(data_dir.resolve(), host, port, nodes, zones,
                     kubeconfig.resolve() if kubeconfig else None, not no_controllers,
                     health_port, sync.upper(), processes, verbose)
    try:
        eventloop.run(run_up(opts))
    except (OSError, AgentFailed) as exc:
        typer.echo(f"error: cannot start the control plane: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command("up-agent", hidden=True)
def up_agent(
    kubeconfig: Annotated[Path, typer.Option(help="The parent's kubeconfig.")],
    parent_fd: Annotated[int, typer.Option(
        help="This process's end of the socket shared with `mizzen up`: EOF means stop.")],
    nodes: Annotated[int, typer.Option()] = 3,
    zones: Annotated[int, typer.Option()] = 3,
    no_controllers: Annotated[bool, typer.Option("--no-controllers")] = False,
    health_port: Annotated[int | None, typer.Option()] = None,
    webhook_cert_dir: Annotated[Path | None, typer.Option()] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Internal: the controller-manager process `mizzen up` starts and supervises."""
    from mizzen.cli.agent import AgentOptions, run_agent
    from mizzen.client.errors import ConfigError

    _logging(verbose, "controller-manager")
    tune_gc()
    opts = AgentOptions(nodes, zones, not no_controllers, health_port, webhook_cert_dir)
    try:
        eventloop.run(run_agent(kubeconfig, opts, parent_fd))
    except (ConfigError, OSError) as exc:
        typer.echo(f"error: the controller manager cannot run: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def controller(
    kubeconfig: Annotated[Path | None, typer.Option(
        help="Kubeconfig of the cluster (default: $KUBECONFIG, in-cluster, ~/.kube/config).")]
    = None,
    leader_elect: Annotated[bool, typer.Option(
        "--leader-elect", help="Run controllers only while holding the leader Lease.")] = False,
    leader_elect_namespace: Annotated[str, typer.Option(
        help="Namespace of the leader-election Lease.")] = "kube-system",
    health_port: Annotated[int | None, typer.Option(
        help="Serve /healthz, /readyz and /metrics on this port.")] = None,
    health_host: Annotated[str, typer.Option(
        help="Address for --health-port (loopback by default; 0.0.0.0 in a pod, for the "
        "kubelet's probes).")] = "127.0.0.1",
    webhook_host: Annotated[str, typer.Option(
        help="Address the webhook server listens on (loopback by default).")] = "127.0.0.1",
    webhook_port: Annotated[int, typer.Option(
        help="Webhook server HTTPS port (0 picks a free one).")] = 0,
    webhook_service: Annotated[str | None, typer.Option(
        help="On a real cluster: NAMESPACE/NAME[:PORT] of the Service in front of the "
        "webhook server (certificates then live in a Secret of that namespace). Without it "
        "the API server is told https://HOST:PORT, which suits a local `mizzen up`.")] = None,
    webhook_cert_dir: Annotated[Path | None, typer.Option(
        help="Keep the webhook CA and certificate here (local mode).")] = None,
    install_crds: Annotated[bool, typer.Option(
        "--install-crds", help="Create or update Mizzen's CRDs before starting.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run Mizzen's controller manager alone, against a real cluster or `mizzen up`."""
    from mizzen.cli.up import run_controller
    from mizzen.cli.webhooks import UnreachableWebhook, WebhookOptions, parse_service
    from mizzen.client.errors import ConfigError

    _logging(verbose)
    try:
        service = parse_service(webhook_service) if webhook_service else None
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if not 0 <= webhook_port <= 65535:
        typer.echo(f"error: --webhook-port must be between 0 and 65535, not {webhook_port}",
                   err=True)
        raise typer.Exit(2)
    webhook = WebhookOptions(webhook_host, webhook_port, service,
                             webhook_cert_dir.resolve() if webhook_cert_dir else None)
    try:
        eventloop.run(run_controller(kubeconfig, leader_elect, leader_elect_namespace,
                                   health_port, webhook, install_crds, health_host))
    except (ConfigError, OSError, UnreachableWebhook) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def crds(
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", "-o", help="Write one YAML file per CRD here instead of stdout.")]
    = None,
) -> None:
    """Print Mizzen's CRDs (apps.kruise.io CloneSet, ...) as YAML, for `kubectl apply -f -`."""
    from mizzen.api.crds import all_crds, render, write_all

    if output_dir is not None:
        for path in write_all(output_dir):
            typer.echo(str(path))
        return
    for crd in all_crds():
        typer.echo(render(crd), nl=False)


def tune_gc() -> None:
    """A control plane keeps every object in memory: hundreds of thousands of long-lived
    dicts that Python's cyclic collector would rescan on every full collection, stopping
    the event loop for hundreds of milliseconds.  Collect far less often; servers freeze
    their start-up heap (:func:`gc.freeze`) once loaded."""
    gc.set_threshold(50_000, 50, 100)


def _logging(verbose: bool, process: str = "") -> None:
    """Log to stderr; ``process`` tags the lines of a child sharing its parent's output."""
    tag = f"[{process}] " if process else ""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format=f"%(asctime)s %(levelname)s {tag}%(name)s: %(message)s")


@app.command()
def version() -> None:
    """Print Mizzen's version."""
    from importlib.metadata import version as pkg_version

    typer.echo(f"mizzen {pkg_version('mizzen')}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
