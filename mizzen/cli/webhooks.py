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

from dataclasses import dataclass
from pathlib import Path

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

__all__ = ["WEBHOOK_SETS", "WebhookOptions", "parse_service", "start_webhooks"]

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


async def start_webhooks(client: Client, opts: WebhookOptions) -> WebhookServer:
    """Start the server with every workload's webhooks and register them; caller stops it."""
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
