"""A private CA that mints and judges serving certificates, with no I/O.

Both servers that speak TLS here (the API server and the webhook server) own
the same tiny PKI: a self-signed CA and one serving certificate it signed.
They differ only in where the material lives (files, a Secret) and in what
they do with a CA that cannot be used (refuse, or mint a new one), so this
module holds everything else, working on PEM bytes:

* the policy: validity periods, when to renew, the back-dated ``notBefore``;
* :class:`Authority` — minting a CA (:meth:`Authority.new`), loading a stored
  one (:meth:`Authority.load`, raising :class:`UnreadableAuthority` or
  :class:`MismatchedAuthority` so each caller phrases its own message), and
  issuing a serving pair (:meth:`Authority.issue`);
* the renewal rule (:meth:`Authority.refresh`): the current pair is kept when
  it is signed by this CA, its key matches, it is valid now for longer than
  :data:`RENEW_BEFORE`, and it carries every wanted name; otherwise a new pair
  is issued for the old names *and* the wanted ones.

Keys are ECDSA P-256, stored as unencrypted PKCS#8 PEM; certificates are
SHA-256 signed PEM.  Existing data dirs depend on exactly that format.  A CA
may also hold an RSA key (an operator may bring one); other key types are
treated as not matching.  Private keys stay out of ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mizzen.pki.hosts import Hosts

__all__ = [
    "CA_VALIDITY",
    "CLOCK_SKEW",
    "RENEW_BEFORE",
    "SERVING_VALIDITY",
    "Authority",
    "AuthorityError",
    "CertAndKey",
    "MismatchedAuthority",
    "ServingPair",
    "SigningKey",
    "UnreadableAuthority",
    "key_matches",
    "key_pem",
    "key_usage",
]

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

CA_VALIDITY = timedelta(days=3650)
SERVING_VALIDITY = timedelta(days=365)
# Re-issue (or refuse) a certificate when less than this much validity remains.
RENEW_BEFORE = timedelta(days=30)
# Back-date notBefore so clients with a slightly slow clock accept a fresh cert.
CLOCK_SKEW = timedelta(hours=1)

PEM = serialization.Encoding.PEM


class AuthorityError(ValueError):
    """Stored CA material that cannot sign anything."""


class UnreadableAuthority(AuthorityError):
    """The CA certificate or its key is not PEM this module can load."""


class MismatchedAuthority(AuthorityError):
    """The CA key is not the key of the CA certificate (or of a supported type)."""


@dataclass(frozen=True)
class CertAndKey:
    """A certificate with its private key, as PEM for whoever stores them."""

    cert: x509.Certificate  # the certificate
    key: SigningKey = field(repr=False)  # its private key

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(PEM)

    @property
    def key_pem(self) -> bytes:
        return key_pem(self.key)


@dataclass(frozen=True)
class ServingPair(CertAndKey):
    """A serving certificate (signed by the authority that issued it) and its key."""

    hosts: Hosts  # the names in its SubjectAlternativeName


@dataclass(frozen=True)
class Authority(CertAndKey):
    """A self-signed CA (``cert``: what clients trust) with the key to sign serving certs."""

    @classmethod
    def new(cls, common_name: str, at: datetime) -> Authority:
        """A fresh P-256 CA named ``common_name``, valid :data:`CA_VALIDITY` from ``at``."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(at - CLOCK_SKEW)
            .not_valid_after(at + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @classmethod
    def load(cls, cert_pem: bytes, key_pem: bytes) -> Authority:
        """The CA stored as these PEM bytes; its expiry is for the caller to judge."""
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError) as exc:
            raise UnreadableAuthority("the CA certificate or key cannot be loaded") from exc
        if not isinstance(key, SigningKey) or not key_matches(key, cert):
            raise MismatchedAuthority("the CA key does not match the CA certificate")
        return cls(cert, key)

    def expiring(self, at: datetime) -> bool:
        """Whether the CA has :data:`RENEW_BEFORE` or less left at ``at``."""
        return self.cert.not_valid_after_utc - at <= RENEW_BEFORE

    def issue(self, common_name: str, hosts: Hosts, at: datetime) -> ServingPair:
        """A new P-256 serving pair for ``hosts``, never outliving this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        try:
            ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
        except x509.ExtensionNotFound:
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(at - CLOCK_SKEW)
            .not_valid_after(min(at + SERVING_VALIDITY, self.cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(hosts.san(), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(aki, critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return ServingPair(cert, key, hosts)

    def refresh(self, cert_pem: bytes, key_pem: bytes, wanted: Hosts, at: datetime, *,
                common_name: str) -> ServingPair | None:
        """``None`` when the stored pair still serves ``wanted``; else a new pair.

        The new pair carries the old certificate's names as well as ``wanted``,
        so callers alternating between host lists settle instead of re-issuing
        on every start.  Empty or unreadable bytes count as no pair at all.
        """
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
            key = serialization.load_pem_private_key(key_pem, password=None)
            cert.verify_directly_issued_by(self.cert)
        except (ValueError, TypeError, InvalidSignature):
            return self.issue(common_name, wanted, at)
        has = Hosts.of(cert)
        fresh = cert.not_valid_before_utc <= at and cert.not_valid_after_utc - at > RENEW_BEFORE
        if fresh and key_matches(key, cert) and has.covers(wanted):
            return None
        return self.issue(common_name, has.union(wanted), at)


def key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    """Signing only: certificates and CRLs for a CA, handshakes for a leaf."""
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


def key_pem(key: SigningKey) -> bytes:
    """``key`` as unencrypted PKCS#8 PEM, the format every stored key has."""
    return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def key_matches(key: PrivateKeyTypes, cert: x509.Certificate) -> bool:
    """Whether ``key`` is the private half of ``cert`` (EC and RSA keys only)."""
    mine = _spki(key.public_key())
    return mine is not None and mine == _spki(cert.public_key())


def _spki(public: object) -> bytes | None:
    if not isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return None
    return public.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
