"""The ``mizzen`` command (also installed as the kubectl plugin ``kubectl-mizzen``).

Each sub-command is a thin shell over a library object: it parses options,
builds a config, runs it on an event loop and turns failures into a message
and a non-zero exit.  ``mizzen apiserver`` runs the embedded API server until
interrupted (SIGINT or SIGTERM stop it cleanly).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from mizzen.apiserver.server import ApiServer, ServerConfig

app = typer.Typer(help="Mizzen: deploy cloud-native applications on Kubernetes stably and fast.",
                  no_args_is_help=True, add_completion=False)


async def _serve(server: ApiServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
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
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
        asyncio.run(_serve(ApiServer(config)))
    except OSError as exc:
        typer.echo(f"error: cannot start the API server: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def version() -> None:
    """Print Mizzen's version."""
    from importlib.metadata import version as pkg_version

    typer.echo(f"mizzen {pkg_version('mizzen')}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
