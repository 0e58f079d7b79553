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

Files holding secrets (private keys, the token, kubeconfigs) are created 0600
through a temp file and ``os.replace``, so a crash never leaves a torn file and
the secret is never readable by others, not even for an instant.  Secrets are
kept out of ``repr``, log lines and exception messages; paths are enough to
act on.  The clock is a parameter so renewal is testable without waiting.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hmac
import ipaddress
import logging
import os
import secrets
import ssl
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "Credentials",
    "CredentialsError",
    "check_bearer",
    "ensure_credentials",
    "write_kubeconfig",
]

log = logging.getLogger(__name__)

IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address
SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

DEFAULT_HOSTS = ("127.0.0.1", "::1", "localhost")
CA_VALIDITY = timedelta(days=3650)
SERVING_VALIDITY = timedelta(days=365)
# Re-issue the serving certificate when less than this much validity remains.
RENEW_BEFORE = timedelta(days=30)
# Back-date notBefore so clients with a slightly slow clock accept a fresh cert.
CLOCK_SKEW = timedelta(hours=1)
PRIVATE = 0o600
PUBLIC = 0o644


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
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(certfile=self.cert_path, keyfile=self.key_path)
        # aiohttp speaks HTTP/1.1 only; clients offering h2 settle on it at once.
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx


def ensure_credentials(
    data_dir: Path, hosts: Sequence[str], *, now: datetime | None = None
) -> Credentials:
    """Create or reuse the CA, serving certificate and token under ``data_dir``.

    The serving certificate is re-issued from the same CA when it is missing,
    not signed by that CA, within :data:`RENEW_BEFORE` of expiry, or lacks one
    of ``hosts`` (plus 127.0.0.1, ::1 and localhost).  The new certificate keeps
    the names of the old one, so alternating host lists do not flip-flop.
    """
    at = now or datetime.now(UTC)
    pki = data_dir / "pki"
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    pki.mkdir(mode=0o700, exist_ok=True)
    os.chmod(pki, 0o700)
    paths = _Paths.under(pki)
    with _locked(pki / ".lock"):
        ca_cert, ca_key = _ensure_ca(paths, at)
        _ensure_serving(paths, ca_cert, ca_key, _HostSet.parse(hosts), at)
        token = _ensure_token(data_dir / "token")
    return Credentials(
        ca_cert_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
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
    _write_atomic(path, text.encode("utf-8"), PRIVATE)


def check_bearer(header: str | None, token: str) -> bool:
    """True when an ``Authorization`` header carries exactly ``Bearer <token>``."""
    if not header or not token:
        return False
    scheme, _, presented = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode("utf-8"), token.encode("utf-8"))


# --- on-disk layout and writes ------------------------------------------------


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


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    # mkstemp creates the file 0600, so the content is never wider than that.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _tighten(path: Path) -> None:  # drop group/other bits a user may have added
    if path.stat().st_mode & 0o077:
        os.chmod(path, PRIVATE)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise processes sharing a data dir, so they cannot mint two CAs."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _key_pem(key: SigningKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _spki(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return b""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- hosts --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _HostSet:
    dns: frozenset[str]
    ips: frozenset[IPAddr]

    @classmethod
    def parse(cls, hosts: Sequence[str]) -> _HostSet:
        if isinstance(hosts, str):  # a bare str is a Sequence of one-letter hosts
            raise TypeError("hosts must be a sequence of host names, not a str")
        dns: set[str] = set()
        ips: set[IPAddr] = set()
        for raw in (*DEFAULT_HOSTS, *hosts):
            host = raw.strip().removeprefix("[").removesuffix("]").split("%", 1)[0]
            if not host:
                continue
            try:
                ips.add(ipaddress.ip_address(host))
            except ValueError:
                dns.add(host.lower().rstrip("."))
        return cls(frozenset(dns), frozenset(ips))

    @classmethod
    def of(cls, cert: x509.Certificate) -> _HostSet:
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return cls(frozenset(), frozenset())
        return cls(
            frozenset(n.lower() for n in san.get_values_for_type(x509.DNSName)),
            frozenset(
                ip
                for ip in san.get_values_for_type(x509.IPAddress)
                if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address)
            ),
        )

    def covers(self, other: _HostSet) -> bool:
        return other.dns <= self.dns and other.ips <= self.ips

    def union(self, other: _HostSet) -> _HostSet:
        return _HostSet(self.dns | other.dns, self.ips | other.ips)

    def san(self) -> x509.SubjectAlternativeName:
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in sorted(self.dns)]
        names += [x509.IPAddress(ip) for ip in sorted(self.ips, key=lambda a: (a.version, a))]
        return x509.SubjectAlternativeName(names)


# --- CA, serving certificate, token -------------------------------------------


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _ensure_ca(paths: _Paths, at: datetime) -> tuple[x509.Certificate, SigningKey]:
    if not paths.ca_cert.exists():
        return _new_ca(paths, at)
    try:
        cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
        key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CredentialsError(
            f"CA at {paths.ca_cert} or its key {paths.ca_key} is missing or unreadable; "
            f"remove {paths.pki} to start over (clients must then fetch a new kubeconfig)"
        ) from exc
    if not isinstance(key, SigningKey) or _spki(key.public_key()) != _spki(cert.public_key()):
        raise CredentialsError(f"CA key {paths.ca_key} does not match {paths.ca_cert}")
    if cert.not_valid_after_utc - at <= RENEW_BEFORE:
        raise CredentialsError(f"CA {paths.ca_cert} expires {cert.not_valid_after_utc:%F}")
    _tighten(paths.ca_key)
    return cert, key


def _new_ca(paths: _Paths, at: datetime) -> tuple[x509.Certificate, SigningKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mizzen-ca")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - CLOCK_SKEW)
        .not_valid_after(at + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    # Key first: a crash between the writes leaves no CA cert, so the next
    # start simply generates again instead of finding a cert without a key.
    _write_atomic(paths.ca_key, _key_pem(key), PRIVATE)
    _write_atomic(paths.ca_cert, cert.public_bytes(serialization.Encoding.PEM), PUBLIC)
    log.info("generated a new cluster CA at %s", paths.ca_cert)
    return cert, key


def _serving_ok(
    paths: _Paths, ca: x509.Certificate, wanted: _HostSet, at: datetime
) -> tuple[bool, _HostSet]:
    """Whether the current serving pair is usable, and the names it carries."""
    try:
        cert = x509.load_pem_x509_certificate(paths.cert.read_bytes())
        key = serialization.load_pem_private_key(paths.key.read_bytes(), password=None)
        cert.verify_directly_issued_by(ca)
    except (OSError, ValueError, TypeError, InvalidSignature):  # re-issue
        return False, _HostSet(frozenset(), frozenset())
    has = _HostSet.of(cert)
    fresh = cert.not_valid_before_utc <= at and cert.not_valid_after_utc - at > RENEW_BEFORE
    matches = _spki(key.public_key()) == _spki(cert.public_key())
    return fresh and matches and has.covers(wanted), has


def _ensure_serving(
    paths: _Paths, ca: x509.Certificate, ca_key: SigningKey, wanted: _HostSet, at: datetime
) -> None:
    ok, has = _serving_ok(paths, ca, wanted, at)
    if ok:
        _tighten(paths.key)
        return
    hosts = has.union(wanted)
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mizzen-apiserver")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - CLOCK_SKEW)
        .not_valid_after(min(at + SERVING_VALIDITY, ca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(hosts.san(), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(aki, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_atomic(paths.key, _key_pem(key), PRIVATE)
    _write_atomic(paths.cert, cert.public_bytes(serialization.Encoding.PEM), PUBLIC)
    log.info(
        "issued serving certificate %s for %s",
        paths.cert,
        ", ".join([*sorted(hosts.dns), *sorted(str(ip) for ip in hosts.ips)]),
    )


def _ensure_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = ""
    if token:
        _tighten(path)
        return token
    token = secrets.token_urlsafe(32)
    _write_atomic(path, (token + "\n").encode("ascii"), PRIVATE)
    log.info("generated a new bearer token at %s", path)
    return token
