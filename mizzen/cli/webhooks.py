"""Running Mizzen's one webhook server next to its controllers, and telling the API server.

Why shaped so: every webhook a workload declares (CloneSet validation and
conversion today, SidecarSet injection later) is served by one HTTPS server
per process, and registered from the same declarations, so the path, name
and rules are spelled once (in the workload's ``webhooks`` module) and the
CLI merely lists the workloads.  Two ways to be reached:

* **embedded / local** (``mizzen up``, or ``mizzen controller`` against a
  ``mizzen up --no-controllers``): serve on loopback on a free port and
  register by URL, with certificates kept under a directory so a restart
  keeps its CA;
* **real cluster** (``--webhook-service ns/name[:port]``): serve on the pod's
  port and register the Service; certificates live in a Secret so all
  replicas share one CA.

The server runs on every replica, leader or not: the API server may call any
of them.  Registration happens after the server listens, so no request is
sent to an address that does not answer yet.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mizzen.client.client import Client
from mizzen.webhook import (
    SecretCertStore,
    ServiceRef,
    WebhookRegistration,
    WebhookServer,
    load_or_create,
    service_hosts,
)
from mizzen.workloads.cloneset.webhooks import WEBHOOKS as CLONESET_WEBHOOKS

__all__ = ["WEBHOOK_SETS", "UnreachableWebhook", "WebhookOptions", "check_reachable",
           "parse_service", "start_webhooks"]

# Every workload's webhooks (validators, mutators, converters).
WEBHOOK_SETS = (CLONESET_WEBHOOKS,)


@dataclass(frozen=True)
class WebhookOptions:
    """Where the webhook server listens and how the API server reaches it."""

    # Listen address and port (0: a free port, for the local/URL mode).
    host: str = "127.0.0.1"
    port: int = 0
    # Real cluster: register this Service; None: register https://<host>:<port>.
    service: ServiceRef | None = None
    # Local mode: keep the CA and serving pair here (None: in memory, a new CA each run).
    cert_dir: Path | None = None


def parse_service(text: str) -> ServiceRef:
    """``namespace/name`` or ``namespace/name:port`` -> :class:`ServiceRef` (ValueError)."""
    ns, sep, rest = text.partition("/")
    name, _, port = rest.partition(":")
    if not sep or not ns or not name:
        raise ValueError(f"--webhook-service must be NAMESPACE/NAME[:PORT], not {text!r}")
    if port and not port.isdigit():
        raise ValueError(f"--webhook-service port must be a number, not {port!r}")
    return ServiceRef(ns, name, int(port) if port else 443)


class UnreachableWebhook(Exception):
    """The webhook would be registered at an address its API server cannot call."""


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_reachable(api_server: str, opts: WebhookOptions) -> None:
    """Refuse the URL mode when the API server could not call the registered URL.

    A ``failurePolicy: Fail`` webhook (and the CRD's conversion webhook) at an address the
    API server cannot reach makes every CloneSet write — and reads of converted
    versions — fail cluster-wide, so this is refused before anything is registered: a
    loopback or unspecified listen address is fine only when the API server itself is on
    loopback (``mizzen up``).  Raises :class:`UnreachableWebhook`.
    """
    if opts.service is not None:
        return
    server_host = urlsplit(api_server).hostname or ""
    if _is_loopback(server_host):
        return
    host = opts.host.strip("[]")
    unspecified = host in ("", "0.0.0.0", "::")
    if _is_loopback(host) or unspecified:
        raise UnreachableWebhook(
            f"the API server at {api_server} cannot call a webhook at https://"
            f"{opts.host}:PORT; on a real cluster pass --webhook-service NAMESPACE/NAME[:PORT] "
            f"(a Service in front of this process), or --webhook-host with an address the "
            f"API server can reach")


async def start_webhooks(client: Client, opts: WebhookOptions) -> WebhookServer:
    """Start the server with every workload's webhooks and register them; caller stops it.

    Raises :class:`UnreachableWebhook` (nothing started or registered) when the API server
    could not reach the URL it would be given (:func:`check_reachable`)."""
    check_reachable(client.config.server, opts)
    if opts.service is not None:
        hosts = service_hosts(opts.service.namespace, opts.service.name)
        certs = await SecretCertStore(client, opts.service.namespace).load_or_create(hosts)
    else:
        certs = load_or_create(opts.cert_dir, [opts.host])
    server = WebhookServer(opts.host, opts.port, certs=certs)
    for webhooks in WEBHOOK_SETS:
        for spec, validator in webhooks.validators:
            server.add_validator(spec, validator)
        for conversion, converter in webhooks.converters:
            server.add_converter(conversion, converter)
    await server.start()
    try:
        await WebhookRegistration.for_server(client, server, service=opts.service).ensure()
    except BaseException:
        await server.stop()
        raise
    return server
