"""Transport security for the embedded API server: PKI, bearer token, kubeconfig.

kubectl and the Python clients only talk to a server they can verify, so the
server owns a tiny PKI under ``<data_dir>/pki/``: a self-signed CA and a
serving certificate it signed.  Clients trust the *CA*, never the leaf, which
is what lets :func:`ensure_credentials` re-issue the serving certificate (a new
host was asked for, it is close to expiry, it was lost) without invalidating a
single kubeconfig.  For the same reason the CA and the bearer token are reused
on every later start and never replaced silently: a CA certificate that is
present but unusable is an error for an operator, not something to paper over
by minting a new trust root.

The certificate work itself (host names, minting, the renewal rule) is the
shared :mod:`mizzen.pki`, which the webhook server uses too; this module keeps
what is the API server's own: the file layout, the refusal to replace a CA,
the token and the kubeconfig.  Files holding secrets (private keys, the token,
kubeconfigs) are created 0600 through a temp file and ``os.replace``
(:func:`mizzen.pki.write_atomic`), so a crash never leaves a torn file and the
secret is never readable by others, not even for an instant.  Secrets are
kept out of ``repr``, log lines and exception messages; paths are enough to
act on.  The clock is a parameter so renewal is testable without waiting.
"""

from __future__ import annotations

import base64
import hmac
import logging
import os
import secrets
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from mizzen.pki import (
    PRIVATE,
    PUBLIC,
    Authority,
    Hosts,
    MismatchedAuthority,
    UnreadableAuthority,
    locked,
    server_context,
    tighten,
    write_atomic,
)

__all__ = [
    "Credentials",
    "CredentialsError",
    "check_bearer",
    "ensure_credentials",
    "write_kubeconfig",
]

log = logging.getLogger(__name__)


class CredentialsError(RuntimeError):
    """The on-disk credentials exist but cannot be used as they are."""


@dataclass(frozen=True)
class Credentials:
    """Everything the server needs to serve TLS and authenticate clients."""

    ca_cert_pem: bytes
    cert_path: Path
    key_path: Path
    ca_path: Path
    token: str = field(repr=False)

    def ssl_context(self) -> ssl.SSLContext:
        """A server-side context: TLS 1.2 or later, serving cert and key loaded."""
        ctx = server_context()
        ctx.load_cert_chain(certfile=self.cert_path, keyfile=self.key_path)
        return ctx


def ensure_credentials(
    data_dir: Path, hosts: Sequence[str], *, now: datetime | None = None
) -> Credentials:
    """Create or reuse the CA, serving certificate and token under ``data_dir``.

    The serving certificate is re-issued from the same CA when it is missing,
    not signed by that CA, within :data:`~mizzen.pki.RENEW_BEFORE` of expiry, or lacks one
    of ``hosts`` (plus 127.0.0.1, ::1 and localhost).  The new certificate keeps
    the names of the old one, so alternating host lists do not flip-flop.
    """
    at = now or datetime.now(UTC)
    pki = data_dir / "pki"
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    pki.mkdir(mode=0o700, exist_ok=True)
    os.chmod(pki, 0o700)
    paths = _Paths.under(pki)
    with locked(pki / ".lock"):  # processes sharing a data dir must not mint two CAs
        ca = _ensure_ca(paths, at)
        _ensure_serving(paths, ca, Hosts.parse(hosts), at)
        token = _ensure_token(data_dir / "token")
    return Credentials(
        ca_cert_pem=ca.cert_pem,
        cert_path=paths.cert,
        key_path=paths.key,
        ca_path=paths.ca_cert,
        token=token,
    )


def write_kubeconfig(
    path: Path, server_url: str, ca_pem: bytes, token: str, name: str = "mizzen"
) -> None:
    """Write a one-cluster kubeconfig for ``server_url`` (0600, atomically)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {
                "name": name,
                "cluster": {
                    "server": server_url,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode("ascii"),
                },
            }
        ],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(config, default_flow_style=False, sort_keys=False)
    write_atomic(path, text.encode("utf-8"), PRIVATE)


def check_bearer(header: str | None, token: str) -> bool:
    """True when an ``Authorization`` header carries exactly ``Bearer <token>``."""
    if not header or not token:
        return False
    scheme, _, presented = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode("utf-8"), token.encode("utf-8"))


# --- on-disk layout -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Paths:
    pki: Path
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path

    @classmethod
    def under(cls, pki: Path) -> _Paths:
        names = ("ca.crt", "ca.key", "apiserver.crt", "apiserver.key")
        return cls(pki, *(pki / n for n in names))


def _read(path: Path) -> bytes:
    """The file's bytes, or none when it cannot be read (the pair is then re-issued)."""
    try:
        return path.read_bytes()
    except OSError:
        return b""


# --- CA, serving certificate, token -------------------------------------------


def _ensure_ca(paths: _Paths, at: datetime) -> Authority:
    if not paths.ca_cert.exists():
        return _new_ca(paths, at)
    try:
        ca = Authority.load(paths.ca_cert.read_bytes(), paths.ca_key.read_bytes())
    except (OSError, UnreadableAuthority) as exc:
        raise CredentialsError(
            f"CA at {paths.ca_cert} or its key {paths.ca_key} is missing or unreadable; "
            f"remove {paths.pki} to start over (clients must then fetch a new kubeconfig)"
        ) from exc
    except MismatchedAuthority:
        raise CredentialsError(f"CA key {paths.ca_key} does not match {paths.ca_cert}") from None
    if ca.expiring(at):
        raise CredentialsError(f"CA {paths.ca_cert} expires {ca.cert.not_valid_after_utc:%F}")
    tighten(paths.ca_key)
    return ca


def _new_ca(paths: _Paths, at: datetime) -> Authority:
    ca = Authority.new("mizzen-ca", at)
    # Key first: a crash between the writes leaves no CA cert, so the next
    # start simply generates again instead of finding a cert without a key.
    write_atomic(paths.ca_key, ca.key_pem, PRIVATE)
    write_atomic(paths.ca_cert, ca.cert_pem, PUBLIC)
    log.info("generated a new cluster CA at %s", paths.ca_cert)
    return ca


def _ensure_serving(paths: _Paths, ca: Authority, wanted: Hosts, at: datetime) -> None:
    pair = ca.refresh(_read(paths.cert), _read(paths.key), wanted, at,
                      common_name="mizzen-apiserver")
    if pair is None:
        tighten(paths.key)
        return
    write_atomic(paths.key, pair.key_pem, PRIVATE)
    write_atomic(paths.cert, pair.cert_pem, PUBLIC)
    log.info("issued serving certificate %s for %s", paths.cert, pair.hosts.describe())


def _ensure_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = ""
    if token:
        tighten(path)
        return token
    token = secrets.token_urlsafe(32)
    write_atomic(path, (token + "\n").encode("ascii"), PRIVATE)
    log.info("generated a new bearer token at %s", path)
    return token
