"""Webhook certificates: the chain verifies, the names are right, reuse and renewal on disk."""

from __future__ import annotations

import asyncio
import ssl
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from mizzen.webhook import WebhookCerts, load_or_create, service_hosts
from mizzen.webhook.certs import KeyMaterial, ensure_material

NOW = datetime(2030, 1, 1, tzinfo=UTC)
OTHER = ensure_material(None, [], now=NOW)  # a second, unrelated CA and pair


def names(certs: WebhookCerts) -> set[str]:
    cert = x509.load_pem_x509_certificate(certs.cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {*san.get_values_for_type(x509.DNSName),
            *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))}


def test_serving_cert_is_issued_by_the_ca_for_the_hosts_and_loopback() -> None:
    certs = load_or_create(None, [*service_hosts("kruise-system", "mizzen-webhook"), "10.0.0.7"])
    ca = x509.load_pem_x509_certificate(certs.ca_pem)
    cert = x509.load_pem_x509_certificate(certs.cert_pem)
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert names(certs) == {"mizzen-webhook.kruise-system.svc",
                            "mizzen-webhook.kruise-system.svc.cluster.local", "localhost",
                            "127.0.0.1", "::1", "10.0.0.7"}
    assert "key_pem" not in repr(certs) and "PRIVATE" not in repr(certs)
    assert certs.ca_bundle.isascii() and b"BEGIN CERTIFICATE" in certs.ca_pem


async def test_tls_handshake_verifies_with_the_ca_and_checks_the_hostname() -> None:
    certs = load_or_create(None, ["hooks.system.svc"])

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=certs.server_context())
    port = server.sockets[0].getsockname()[1]
    client = ssl.create_default_context(cadata=certs.ca_pem.decode())
    try:
        for hostname in ("127.0.0.1", "hooks.system.svc", "localhost"):
            _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client,
                                                      server_hostname=hostname)
            writer.close()
        with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
            await asyncio.open_connection("127.0.0.1", port, ssl=client,
                                          server_hostname="other.example.com")
        other_ca = ssl.create_default_context(
            cadata=load_or_create(None, []).ca_pem.decode())
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection("127.0.0.1", port, ssl=other_ca,
                                          server_hostname="127.0.0.1")
    finally:
        server.close()
        await server.wait_closed()


def test_on_disk_reused_then_reissued_for_a_new_host_under_the_same_ca(tmp_path: Path) -> None:
    where = tmp_path / "webhook-pki"
    first = load_or_create(where, ["a.example.svc"], now=NOW)
    assert stat.S_IMODE(where.stat().st_mode) == 0o700
    for key in ("ca.key", "tls.key"):
        assert stat.S_IMODE((where / key).stat().st_mode) == 0o600
    assert load_or_create(where, ["a.example.svc"], now=NOW) == first
    second = load_or_create(where, ["b.example.svc"], now=NOW)
    assert second.ca_pem == first.ca_pem and second.cert_pem != first.cert_pem
    assert {"a.example.svc", "b.example.svc"} <= names(second)  # old names kept


def test_serving_cert_renewed_near_expiry_and_ca_replaced_when_unusable(tmp_path: Path) -> None:
    where = tmp_path / "pki"
    first = load_or_create(where, [], now=NOW)
    later = load_or_create(where, [], now=NOW + timedelta(days=340))  # < 30 days left
    assert later.ca_pem == first.ca_pem and later.cert_pem != first.cert_pem
    (where / "ca.key").write_bytes(b"garbage")
    fresh = load_or_create(where, [], now=NOW)
    assert fresh.ca_pem != first.ca_pem
    x509.load_pem_x509_certificate(fresh.cert_pem).verify_directly_issued_by(
        x509.load_pem_x509_certificate(fresh.ca_pem))


@pytest.mark.parametrize(("case", "damage", "same_ca"), [
    ("usable material is returned as is", lambda m: m, None),
    ("serving cert missing -> re-issued from the same CA",
     lambda m: KeyMaterial(m.ca_pem, m.ca_key_pem), True),
    ("serving key of another pair -> re-issued from the same CA",
     lambda m: KeyMaterial(m.ca_pem, m.ca_key_pem, m.cert_pem, OTHER.key_pem), True),
    ("serving cert from another CA -> re-issued from the same CA",
     lambda m: KeyMaterial(m.ca_pem, m.ca_key_pem, OTHER.cert_pem, OTHER.key_pem), True),
    ("CA key of another CA -> new CA", lambda m: KeyMaterial(
        m.ca_pem, OTHER.ca_key_pem, m.cert_pem, m.key_pem), False),
])
def test_ensure_material(case: str, damage: object, same_ca: bool | None) -> None:
    base = ensure_material(None, ["x.y.svc"], now=NOW)
    assert callable(damage)
    given = damage(base)
    got = ensure_material(given, ["x.y.svc"], now=NOW)
    if same_ca is None:
        assert got is given
        return
    assert got is not given
    assert (got.ca_pem == base.ca_pem) is same_ca
    ca = x509.load_pem_x509_certificate(got.ca_pem)
    x509.load_pem_x509_certificate(got.cert_pem).verify_directly_issued_by(ca)
    assert "x.y.svc" in names(got.certs)



def test_hosts_must_be_a_sequence_not_a_string() -> None:
    with pytest.raises(TypeError):
        load_or_create(None, "localhost")
    assert "::1" in names(load_or_create(None, ["[::1]"]))
