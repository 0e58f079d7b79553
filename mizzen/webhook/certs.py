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

Private keys never appear in ``repr``, logs or messages; on disk they are
0600 files written through a temp file and ``os.replace``.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import ipaddress
import logging
import os
import ssl
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "DEFAULT_HOSTS",
    "KeyMaterial",
    "WebhookCerts",
    "ensure_material",
    "load_or_create",
    "service_hosts",
]

log = logging.getLogger(__name__)

IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address

# Always in the serving certificate: the embedded control plane dials loopback.
DEFAULT_HOSTS = ("127.0.0.1", "::1", "localhost")
CA_VALIDITY = timedelta(days=3650)
SERVING_VALIDITY = timedelta(days=365)
RENEW_BEFORE = timedelta(days=30)  # re-issue when less validity than this remains
CLOCK_SKEW = timedelta(hours=1)  # back-dated notBefore for callers with a slow clock
FILES = ("ca.crt", "ca.key", "tls.crt", "tls.key")


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
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_alpn_protocols(["http/1.1"])
        load_chain(ctx, self)
        return ctx


def load_chain(ctx: ssl.SSLContext, certs: WebhookCerts) -> None:
    """Load the serving pair into ``ctx`` (also to rotate it: new handshakes use it).

    ``ssl`` reads keys only from files, so they go through a private temporary
    directory that is removed at once.
    """
    with tempfile.TemporaryDirectory(prefix="mizzen-webhook-") as tmp:
        cert, key = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
        _write_atomic(cert, certs.cert_pem, 0o600)
        _write_atomic(key, certs.key_pem, 0o600)
        ctx.load_cert_chain(certfile=cert, keyfile=key)


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
    wanted = _Hosts.parse(hosts)
    ca = _load_ca(current, at) if current is not None else None
    if ca is None:
        ca_cert, ca_key = _new_ca(at)
        log.info("generated a new webhook CA")
        return _issue(ca_cert, ca_key, wanted, at)
    ca_cert, ca_key = ca
    assert current is not None
    ok, has = _serving_ok(current, ca_cert, wanted, at)
    if ok:
        return current
    return _issue(ca_cert, ca_key, has.union(wanted), at)


def _load_ca(m: KeyMaterial, at: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]\
        | None:
    try:
        cert = x509.load_pem_x509_certificate(m.ca_pem)
        key = serialization.load_pem_private_key(m.ca_key_pem, password=None)
    except (ValueError, TypeError):
        log.warning("the stored webhook CA is unreadable; minting a new one")
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or \
            _spki(key.public_key()) != _spki(cert.public_key()):
        log.warning("the stored webhook CA key does not match its certificate; minting anew")
        return None
    if cert.not_valid_after_utc - at <= RENEW_BEFORE:
        log.info("the webhook CA expires %s; minting a new one", f"{cert.not_valid_after_utc:%F}")
        return None
    return cert, key


def _serving_ok(m: KeyMaterial, ca: x509.Certificate, wanted: _Hosts,
                at: datetime) -> tuple[bool, _Hosts]:
    try:
        cert = x509.load_pem_x509_certificate(m.cert_pem)
        key = serialization.load_pem_private_key(m.key_pem, password=None)
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False, _Hosts(frozenset(), frozenset())
    has = _Hosts.of(cert)
    fresh = cert.not_valid_before_utc <= at and cert.not_valid_after_utc - at > RENEW_BEFORE
    matches = _spki(key.public_key()) == _spki(cert.public_key())
    return fresh and matches and has.covers(wanted), has


# --- hosts ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Hosts:
    dns: frozenset[str]
    ips: frozenset[IPAddr]

    @classmethod
    def parse(cls, hosts: Sequence[str]) -> _Hosts:
        if isinstance(hosts, str):  # a bare str is a sequence of one-letter hosts
            raise TypeError("hosts must be a sequence of host names, not a str")
        dns: set[str] = set()
        ips: set[IPAddr] = set()
        for raw in (*DEFAULT_HOSTS, *hosts):
            host = raw.strip().removeprefix("[").removesuffix("]")
            if not host:
                continue
            try:
                ips.add(ipaddress.ip_address(host))
            except ValueError:
                dns.add(host.lower().rstrip("."))
        return cls(frozenset(dns), frozenset(ips))

    @classmethod
    def of(cls, cert: x509.Certificate) -> _Hosts:
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return cls(frozenset(), frozenset())
        ips = [ip for ip in san.get_values_for_type(x509.IPAddress)
               if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address)]
        return cls(frozenset(n.lower() for n in san.get_values_for_type(x509.DNSName)),
                   frozenset(ips))

    def covers(self, other: _Hosts) -> bool:
        return other.dns <= self.dns and other.ips <= self.ips

    def union(self, other: _Hosts) -> _Hosts:
        return _Hosts(self.dns | other.dns, self.ips | other.ips)

    def san(self) -> x509.SubjectAlternativeName:
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in sorted(self.dns)]
        names += [x509.IPAddress(ip) for ip in sorted(self.ips, key=lambda a: (a.version, a))]
        return x509.SubjectAlternativeName(names)


# --- issuing --------------------------------------------------------------------


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False,
                         decipher_only=False)


def _new_ca(at: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mizzen-webhook-ca")])
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _issue(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, hosts: _Hosts,
           at: datetime) -> KeyMaterial:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mizzen-webhook")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - CLOCK_SKEW)
        .not_valid_after(min(at + SERVING_VALIDITY, ca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(hosts.san(), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    shown = ", ".join([*sorted(hosts.dns), *sorted(str(ip) for ip in hosts.ips)])
    log.info("issued a webhook serving certificate for %s", shown)
    pem = serialization.Encoding.PEM
    return KeyMaterial(ca.public_bytes(pem), _key_pem(ca_key), cert.public_bytes(pem),
                       _key_pem(key))


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _spki(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return b""
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


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
    with _locked(directory / ".lock"):
        current = _read(directory)
        material = ensure_material(current, hosts, now=now)
        if material is not current:
            # Keys first: a crash in between leaves a key without its cert, which the
            # next start treats as unusable and replaces.
            for name, data, mode in (("ca.key", material.ca_key_pem, 0o600),
                                     ("ca.crt", material.ca_pem, 0o644),
                                     ("tls.key", material.key_pem, 0o600),
                                     ("tls.crt", material.cert_pem, 0o644)):
                _write_atomic(directory / name, data, mode)
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


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
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


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
