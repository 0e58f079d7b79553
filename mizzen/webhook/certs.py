"""TLS for the webhook server: a private CA and a serving certificate it signed.

The API server calls webhooks over HTTPS only and trusts exactly the
``caBundle`` written into each webhook's ``clientConfig``.  So the webhook
owns a tiny PKI: a self-signed CA (published as that caBundle by
:mod:`mizzen.webhook.registration`) and a serving certificate for the names
the API server dials — ``127.0.0.1`` for the embedded control plane,
``<service>.<namespace>.svc`` on a real cluster (:func:`service_hosts`).

Unlike the API server's own CA, this one is cheap to replace: registration
re-publishes the caBundle on every start, so a CA that is unreadable or close
to expiry is simply minted again.  The serving certificate is re-issued from
the same CA when it is missing, not signed by it, near expiry, or lacks one of
the requested names (the old names are kept, so alternating host lists do not
flip-flop).  :func:`ensure_material` holds that decision; it is shared by the
on-disk store here and the Secret store in :mod:`mizzen.webhook.certstore`,
and returns its input unchanged when nothing needs doing, so callers write
only when something changed.

The certificate work itself (host names, minting, the renewal rule) is the
shared :mod:`mizzen.pki`, which the API server uses too; this module keeps
the webhook's own choices: subject names, replacing an unusable CA, the file
and Secret layout.  Private keys never appear in ``repr``, logs or messages;
on disk they are 0600 files written through a temp file and ``os.replace``.
"""

from __future__ import annotations

import base64
import logging
import os
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mizzen.pki import (
    LOOPBACK,
    PRIVATE,
    PUBLIC,
    Authority,
    Hosts,
    MismatchedAuthority,
    ServingPair,
    UnreadableAuthority,
    load_pair,
    locked,
    server_context,
    write_atomic,
)

__all__ = [
    "DEFAULT_HOSTS",
    "KeyMaterial",
    "WebhookCerts",
    "ensure_material",
    "load_or_create",
    "service_hosts",
]

log = logging.getLogger(__name__)

# Always in the serving certificate: the embedded control plane dials loopback.
DEFAULT_HOSTS = LOOPBACK
FILES = ("ca.crt", "ca.key", "tls.crt", "tls.key")
CA_NAME = "mizzen-webhook-ca"  # the CA's common name
SERVING_NAME = "mizzen-webhook"  # the serving certificate's common name


@dataclass(frozen=True)
class WebhookCerts:
    """What the server needs to serve TLS, and the CA its callers must trust."""

    ca_pem: bytes  # the CA certificate: the caBundle of every registration
    cert_pem: bytes  # the serving certificate, signed by the CA
    key_pem: bytes = field(repr=False)  # the serving certificate's private key

    @property
    def ca_bundle(self) -> str:
        """``ca_pem`` base64-encoded, as ``clientConfig.caBundle`` carries it."""
        return base64.b64encode(self.ca_pem).decode("ascii")

    def server_context(self) -> ssl.SSLContext:
        """A server-side context (TLS 1.2+, HTTP/1.1) holding the serving pair."""
        ctx = server_context()
        load_chain(ctx, self)
        return ctx


def load_chain(ctx: ssl.SSLContext, certs: WebhookCerts) -> None:
    """Load the serving pair into ``ctx`` (also to rotate it: new handshakes use it).

    ``ssl`` reads keys only from files, so they go through a private temporary
    directory that is removed at once.
    """
    load_pair(ctx, certs.cert_pem, certs.key_pem)


@dataclass(frozen=True)
class KeyMaterial:
    """Everything persisted: the CA with its key (to re-issue) and the serving pair."""

    ca_pem: bytes  # the CA certificate
    ca_key_pem: bytes = field(repr=False)  # the CA's private key (PKCS#8 PEM)
    cert_pem: bytes = b""  # the serving certificate ("" when none was issued yet)
    key_pem: bytes = field(default=b"", repr=False)  # the serving key

    @property
    def certs(self) -> WebhookCerts:
        return WebhookCerts(self.ca_pem, self.cert_pem, self.key_pem)


def service_hosts(namespace: str, name: str) -> tuple[str, ...]:
    """The names the API server uses for a Service reference, as in the certificate."""
    return (f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local")


# --- the decision ---------------------------------------------------------------


def ensure_material(current: KeyMaterial | None, hosts: Sequence[str], *,
                    now: datetime | None = None) -> KeyMaterial:
    """``current`` itself when usable for ``hosts`` at ``now``; else repaired material.

    A missing, unreadable or expiring CA is replaced (with a new serving pair);
    a serving pair that is missing, foreign, mismatched, expiring or short of a
    name is re-issued from the existing CA.
    """
    at = now or datetime.now(UTC)
    wanted = Hosts.parse(hosts)
    ca = _load_ca(current, at) if current is not None else None
    if current is None or ca is None:
        ca = Authority.new(CA_NAME, at)
        log.info("generated a new webhook CA")
        return _material(ca, ca.issue(SERVING_NAME, wanted, at))
    pair = ca.refresh(current.cert_pem, current.key_pem, wanted, at, common_name=SERVING_NAME)
    return current if pair is None else _material(ca, pair)


def _load_ca(m: KeyMaterial, at: datetime) -> Authority | None:
    try:
        ca = Authority.load(m.ca_pem, m.ca_key_pem)
    except UnreadableAuthority:
        log.warning("the stored webhook CA is unreadable; minting a new one")
        return None
    except MismatchedAuthority:
        log.warning("the stored webhook CA key does not match its certificate; minting anew")
        return None
    if ca.expiring(at):
        log.info("the webhook CA expires %s; minting a new one",
                 f"{ca.cert.not_valid_after_utc:%F}")
        return None
    return ca


def _material(ca: Authority, pair: ServingPair) -> KeyMaterial:
    log.info("issued a webhook serving certificate for %s", pair.hosts.describe())
    return KeyMaterial(ca.cert_pem, ca.key_pem, pair.cert_pem, pair.key_pem)


# --- on disk --------------------------------------------------------------------


def load_or_create(directory: Path | None, hosts: Sequence[str], *,
                   now: datetime | None = None) -> WebhookCerts:
    """Certificates for ``hosts`` (plus loopback): kept under ``directory``, or in memory.

    With a directory (created 0700) the CA and serving pair are reused across
    restarts and rewritten only when :func:`ensure_material` changes them;
    processes sharing the directory are serialised by a lock file.
    """
    if directory is None:
        return ensure_material(None, hosts, now=now).certs
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    with locked(directory / ".lock"):
        current = _read(directory)
        material = ensure_material(current, hosts, now=now)
        if material is not current:
            # Keys first: a crash in between leaves a key without its cert, which the
            # next start treats as unusable and replaces.
            for name, data, mode in (("ca.key", material.ca_key_pem, PRIVATE),
                                     ("ca.crt", material.ca_pem, PUBLIC),
                                     ("tls.key", material.key_pem, PRIVATE),
                                     ("tls.crt", material.cert_pem, PUBLIC)):
                write_atomic(directory / name, data, mode)
    return material.certs


def _read(directory: Path) -> KeyMaterial | None:
    try:
        ca, ca_key, cert, key = (directory / name for name in FILES)
        if not ca.exists():
            return None
        return KeyMaterial(ca.read_bytes(), ca_key.read_bytes(),
                           cert.read_bytes() if cert.exists() else b"",
                           key.read_bytes() if key.exists() else b"")
    except OSError:
        return None
