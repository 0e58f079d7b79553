"""The shared CA (mizzen.pki.issue): minting, loading, issuing and the renewal rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from mizzen.pki import (
    CA_VALIDITY,
    CLOCK_SKEW,
    RENEW_BEFORE,
    SERVING_VALIDITY,
    Authority,
    Hosts,
    MismatchedAuthority,
    UnreadableAuthority,
    key_matches,
    key_pem,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)
CA = Authority.new("test-ca", NOW)
OTHER = Authority.new("other-ca", NOW)
WANTED = Hosts.parse(["svc.test"])
PAIR = CA.issue("leaf", WANTED, NOW)
OTHER_PAIR = OTHER.issue("leaf", WANTED, NOW)


def test_new_ca_is_a_p256_self_signed_signing_only_ca() -> None:
    cert = CA.cert
    assert cert.subject.rfc4514_string() == "CN=test-ca" and cert.issuer == cert.subject
    assert isinstance(CA.key, ec.EllipticCurvePrivateKey) and CA.key.curve.name == "secp256r1"
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and usage.digital_signature
    assert cert.not_valid_before_utc == NOW - CLOCK_SKEW
    assert cert.not_valid_after_utc == NOW + CA_VALIDITY
    cert.verify_directly_issued_by(cert)
    assert "PRIVATE" not in repr(CA) and "key=" not in repr(CA)


def test_serving_pair_is_a_server_auth_leaf_with_key_ids() -> None:
    cert = PAIR.cert
    cert.verify_directly_issued_by(CA.cert)
    assert cert.subject.rfc4514_string() == "CN=leaf"
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = CA.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == SERVING_VALIDITY + CLOCK_SKEW
    assert PAIR.hosts == WANTED and key_matches(PAIR.key, cert)
    assert b"BEGIN PRIVATE KEY" in PAIR.key_pem and b"BEGIN CERTIFICATE" in PAIR.cert_pem


def test_a_serving_cert_never_outlives_its_ca() -> None:
    late = NOW + CA_VALIDITY - timedelta(days=100)
    assert CA.issue("leaf", WANTED, late).cert.not_valid_after_utc == CA.cert.not_valid_after_utc


@pytest.mark.parametrize(("case", "cert_pem", "key_pem", "error"), [
    ("stored CA as written -> loaded", CA.cert_pem, CA.key_pem, None),
    ("key file empty -> unreadable", CA.cert_pem, b"", UnreadableAuthority),
    ("certificate garbage -> unreadable", b"garbage", CA.key_pem, UnreadableAuthority),
    ("key of another CA -> mismatched", CA.cert_pem, OTHER.key_pem, MismatchedAuthority),
    ("an Ed25519 key -> mismatched", CA.cert_pem,
     ed25519.Ed25519PrivateKey.generate().private_bytes(
         serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
         serialization.NoEncryption()), MismatchedAuthority),
])
def test_load(case: str, cert_pem: bytes, key_pem: bytes, error: type[Exception] | None) -> None:
    if error is None:
        loaded = Authority.load(cert_pem, key_pem)
        assert loaded.cert == CA.cert and loaded.key_pem == CA.key_pem
        return
    with pytest.raises(error):
        Authority.load(cert_pem, key_pem)


def test_an_rsa_ca_brought_by_an_operator_signs_p256_leaves() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ours = Authority.new("rsa-ca", NOW)
    cert = (x509.CertificateBuilder().subject_name(ours.cert.subject)
            .issuer_name(ours.cert.subject).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW).not_valid_after(NOW + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    ca = Authority.load(cert.public_bytes(serialization.Encoding.PEM), key_pem(key))
    leaf = ca.issue("leaf", WANTED, NOW)  # no SKI on this CA: AKI from its public key
    leaf.cert.verify_directly_issued_by(ca.cert)
    assert isinstance(leaf.key, ec.EllipticCurvePrivateKey)


@pytest.mark.parametrize(("case", "left", "expiring"), [
    ("CA just minted -> not expiring", CA_VALIDITY, False),
    ("CA with 31 days left -> not expiring", timedelta(days=31), False),
    ("CA with exactly RENEW_BEFORE left -> expiring", RENEW_BEFORE, True),
    ("CA past its end -> expiring", -timedelta(days=1), True),
])
def test_expiring(case: str, left: timedelta, expiring: bool) -> None:
    assert CA.expiring(CA.cert.not_valid_after_utc - left) is expiring


@dataclass(frozen=True)
class Refresh:
    """One row: what is stored, what is asked for, what must come out."""

    case: str  # the scenario, as steps
    cert_pem: bytes  # the stored serving certificate
    key_pem: bytes  # the stored serving key
    wanted: Hosts  # the names asked for now
    at: datetime  # the clock
    kept: bool  # whether the stored pair is kept (refresh returns None)
    names: frozenset[str] = frozenset()  # names the new certificate must carry


LATER = Hosts.parse(["other.test"])
ROWS = [
    Refresh("usable pair, same names -> kept", PAIR.cert_pem, PAIR.key_pem, WANTED, NOW, True),
    Refresh("usable pair, a subset asked -> kept", PAIR.cert_pem, PAIR.key_pem,
            Hosts.parse([]), NOW, True),
    Refresh("usable pair, 300 days on -> kept", PAIR.cert_pem, PAIR.key_pem, WANTED,
            NOW + timedelta(days=300), True),
    Refresh("pair 340 days on (under 30 left) -> re-issued", PAIR.cert_pem, PAIR.key_pem,
            WANTED, NOW + timedelta(days=340), False, frozenset({"svc.test"})),
    Refresh("pair not yet valid (clock went back) -> re-issued", PAIR.cert_pem, PAIR.key_pem,
            WANTED, NOW - timedelta(days=1), False, frozenset({"svc.test"})),
    Refresh("new name asked -> re-issued with old and new names", PAIR.cert_pem,
            PAIR.key_pem, LATER, NOW, False, frozenset({"svc.test", "other.test"})),
    Refresh("nothing stored -> issued for the wanted names", b"", b"", LATER, NOW, False,
            frozenset({"other.test"})),
    Refresh("key of another pair -> re-issued", PAIR.cert_pem, OTHER_PAIR.key_pem, WANTED,
            NOW, False, frozenset({"svc.test"})),
    Refresh("pair of another CA -> re-issued without its names", OTHER_PAIR.cert_pem,
            OTHER_PAIR.key_pem, LATER, NOW, False, frozenset({"other.test"})),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.case for r in ROWS])
def test_refresh(row: Refresh) -> None:
    got = CA.refresh(row.cert_pem, row.key_pem, row.wanted, row.at, common_name="leaf")
    if row.kept:
        assert got is None
        return
    assert got is not None
    got.cert.verify_directly_issued_by(CA.cert)
    assert got.hosts.dns - {"localhost"} == row.names
    assert got.hosts.covers(row.wanted) and Hosts.of(got.cert) == got.hosts
    # Settles: the new pair is kept on the next start.
    assert CA.refresh(got.cert_pem, got.key_pem, row.wanted, row.at, common_name="leaf") is None
