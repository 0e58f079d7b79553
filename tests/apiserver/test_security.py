"""Tests for the server's PKI, bearer token and kubeconfig (mizzen.apiserver.security)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from mizzen.apiserver import security
from mizzen.apiserver.security import (
    Credentials,
    CredentialsError,
    check_bearer,
    ensure_credentials,
    write_kubeconfig,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def serving_cert(creds: Credentials) -> x509.Certificate:
    return x509.load_pem_x509_certificate(creds.cert_path.read_bytes())


def sans(creds: Credentials) -> tuple[set[str], set[str]]:
    ext = serving_cert(creds).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    dns = set(ext.value.get_values_for_type(x509.DNSName))
    ips = {str(ip) for ip in ext.value.get_values_for_type(x509.IPAddress)}
    return dns, ips


def test_first_start_generates_ca_serving_cert_and_token(tmp_path: Path) -> None:
    creds = ensure_credentials(tmp_path, ["10.1.2.3", "api.example.test", "[fd00::7]"])

    assert creds.ca_path.read_bytes() == creds.ca_cert_pem
    assert (tmp_path / "token").read_text().strip() == creds.token
    assert len(creds.token) >= 43
    for secret in (creds.key_path, tmp_path / "pki" / "ca.key", tmp_path / "token"):
        assert mode(secret) == 0o600, secret
    assert mode(tmp_path / "pki") == 0o700

    ca = x509.load_pem_x509_certificate(creds.ca_cert_pem)
    assert ca.subject.rfc4514_string() == "CN=mizzen-ca"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert ca.not_valid_after_utc - ca.not_valid_before_utc > timedelta(days=3600)

    leaf = serving_cert(creds)
    leaf.verify_directly_issued_by(ca)
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert timedelta(days=360) < leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc < timedelta(days=370)
    dns, ips = sans(creds)
    assert dns == {"localhost", "api.example.test"}
    assert ips == {"127.0.0.1", "::1", "10.1.2.3", "fd00::7"}


def test_restart_reuses_everything(tmp_path: Path) -> None:
    first = ensure_credentials(tmp_path, ["10.1.2.3"])
    leaf = first.cert_path.read_bytes()
    second = ensure_credentials(tmp_path, ["10.1.2.3"])
    assert second == first
    assert second.cert_path.read_bytes() == leaf
    # Asking for a subset of the names is not a reason to re-issue either.
    ensure_credentials(tmp_path, [])
    assert first.cert_path.read_bytes() == leaf


def test_new_host_reissues_only_the_serving_cert(tmp_path: Path) -> None:
    first = ensure_credentials(tmp_path, ["10.1.2.3"])
    ca_key = (tmp_path / "pki" / "ca.key").read_bytes()
    old_serial = serving_cert(first).serial_number

    second = ensure_credentials(tmp_path, ["node-1.example.test", "192.168.0.9"])

    assert second.ca_cert_pem == first.ca_cert_pem
    assert (tmp_path / "pki" / "ca.key").read_bytes() == ca_key
    assert second.token == first.token
    assert serving_cert(second).serial_number != old_serial
    serving_cert(second).verify_directly_issued_by(
        x509.load_pem_x509_certificate(first.ca_cert_pem)
    )
    dns, ips = sans(second)
    assert {"node-1.example.test", "localhost"} <= dns
    assert {"10.1.2.3", "192.168.0.9", "127.0.0.1", "::1"} <= ips  # old names kept
    assert mode(second.key_path) == 0o600


def test_serving_cert_is_renewed_near_expiry(tmp_path: Path) -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    first = ensure_credentials(tmp_path, [], now=t0)
    leaf = first.cert_path.read_bytes()
    ensure_credentials(tmp_path, [], now=t0 + timedelta(days=300))
    assert first.cert_path.read_bytes() == leaf
    renewed = ensure_credentials(tmp_path, [], now=t0 + timedelta(days=340))
    assert renewed.ca_cert_pem == first.ca_cert_pem
    assert serving_cert(renewed).not_valid_after_utc > t0 + timedelta(days=700)


def test_foreign_serving_cert_is_replaced(tmp_path: Path) -> None:
    ours = ensure_credentials(tmp_path / "a", [])
    other = ensure_credentials(tmp_path / "b", [])
    ours.cert_path.write_bytes(other.cert_path.read_bytes())
    ours.key_path.write_bytes(other.key_path.read_bytes())
    again = ensure_credentials(tmp_path / "a", [])
    serving_cert(again).verify_directly_issued_by(
        x509.load_pem_x509_certificate(ours.ca_cert_pem)
    )


def test_unusable_ca_is_an_error_not_a_silent_new_trust_root(tmp_path: Path) -> None:
    creds = ensure_credentials(tmp_path, [])
    (tmp_path / "pki" / "ca.key").unlink()
    with pytest.raises(CredentialsError) as err:
        ensure_credentials(tmp_path, [])
    assert creds.token not in str(err.value)
    assert creds.ca_path.read_bytes() == creds.ca_cert_pem


def test_expiring_ca_is_reported(tmp_path: Path) -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    ensure_credentials(tmp_path, [], now=t0)
    with pytest.raises(CredentialsError, match="expires"):
        ensure_credentials(tmp_path, [], now=t0 + timedelta(days=3640))


def test_a_bare_string_is_not_a_host_list(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        ensure_credentials(tmp_path, "example.test")


def test_public_api() -> None:
    assert sorted(security.__all__) == [
        "Credentials",
        "CredentialsError",
        "check_bearer",
        "ensure_credentials",
        "write_kubeconfig",
    ]


def test_loose_permissions_are_tightened(tmp_path: Path) -> None:
    creds = ensure_credentials(tmp_path, [])
    (tmp_path / "token").chmod(0o644)
    creds.key_path.chmod(0o640)
    ensure_credentials(tmp_path, [])
    assert mode(tmp_path / "token") == 0o600
    assert mode(creds.key_path) == 0o600


def test_token_stays_out_of_repr_and_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger=security.__name__):
        creds = ensure_credentials(tmp_path, [])
    assert creds.token not in repr(creds)
    assert caplog.records
    assert creds.token not in caplog.text


def test_kubeconfig_loads_with_the_kubernetes_client(tmp_path: Path) -> None:
    creds = ensure_credentials(tmp_path, [])
    path = tmp_path / "kube" / "config"
    write_kubeconfig(path, "https://127.0.0.1:6443", creds.ca_cert_pem, creds.token)

    assert mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["config"]  # no temp files left
    cfg = k8s_client.Configuration()
    k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(path), client_configuration=cfg
    )
    assert cfg.host == "https://127.0.0.1:6443"
    # The key name varies across client versions; the header value does not.
    assert list(cfg.api_key.values()) == [f"Bearer {creds.token}"]
    assert cfg.ssl_ca_cert is not None
    assert Path(cfg.ssl_ca_cert).read_bytes() == creds.ca_cert_pem
    contexts, active = k8s_config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
        config_file=str(path)
    )
    assert active["name"] == "mizzen"
    assert [c["name"] for c in contexts] == ["mizzen"]


def test_kubeconfig_overwrite_is_atomic_and_private(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("old")
    path.chmod(0o644)
    write_kubeconfig(path, "https://localhost:1", b"ca", "tok", name="dev")
    assert mode(path) == 0o600
    assert "current-context: dev" in path.read_text()


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("Bearer s3cret", True),
        ("bearer s3cret", True),
        ("  Bearer   s3cret ", True),
        ("Bearer s3cret2", False),
        ("Bearer", False),
        ("Basic s3cret", False),
        ("s3cret", False),
        ("Bearer ſ3cret", False),  # non-ASCII must not raise
        ("", False),
        (None, False),
    ],
)
def test_check_bearer(header: str | None, ok: bool) -> None:
    assert check_bearer(header, "s3cret") is ok


def test_check_bearer_refuses_an_empty_token() -> None:
    assert not check_bearer("Bearer ", "")


# --- real TLS on loopback -----------------------------------------------------


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(await reader.readline())
    await writer.drain()
    writer.close()


async def _roundtrip(port: int, ctx: ssl.SSLContext, server_hostname: str) -> bytes:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=ctx, server_hostname=server_hostname
    )
    try:
        writer.write(b"ping\n")
        await writer.drain()
        return await reader.readline()
    finally:
        writer.close()
        # The server may already have gone; the handshake result is what counts.
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()


async def test_tls_handshake_trusts_only_our_ca(tmp_path: Path) -> None:
    creds = ensure_credentials(tmp_path / "ours", [])
    stranger = ensure_credentials(tmp_path / "theirs", [])
    server_ctx = creds.ssl_context()
    assert server_ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    server = await asyncio.start_server(_echo, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        trusting = ssl.create_default_context(cadata=creds.ca_cert_pem.decode("ascii"))
        assert await _roundtrip(port, trusting, "localhost") == b"ping\n"
        assert await _roundtrip(port, trusting, "127.0.0.1") == b"ping\n"

        with pytest.raises(ssl.SSLCertVerificationError):
            await _roundtrip(port, trusting, "not-in-the-cert.example.test")
        other = ssl.create_default_context(cadata=stranger.ca_cert_pem.decode("ascii"))
        with pytest.raises(ssl.SSLCertVerificationError):
            await _roundtrip(port, other, "localhost")
    finally:
        server.close()
        await server.wait_closed()


# The generated client rejects a VersionInfo missing any of these fields.
VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0",
    "gitCommit": "0",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}


async def test_kubernetes_client_talks_tls_and_token_end_to_end(tmp_path: Path) -> None:
    creds = ensure_credentials(tmp_path, ["127.0.0.1"])

    async def version(request: web.Request) -> web.Response:
        if not check_bearer(request.headers.get("Authorization"), creds.token):
            return web.json_response({"kind": "Status", "code": 401}, status=401)
        return web.json_response(VERSION)

    app = web.Application()
    app.router.add_get("/version", version)
    app.router.add_get("/version/", version)  # the Python client asks for this one
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=creds.ssl_context())
    await site.start()
    port = runner.addresses[0][1]
    try:
        path = tmp_path / "kubeconfig"
        write_kubeconfig(path, f"https://127.0.0.1:{port}", creds.ca_cert_pem, creds.token)

        def call() -> tuple[int, str]:
            api = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=str(path)
            )
            with api:
                try:
                    return 200, str(k8s_client.VersionApi(api).get_code().git_version)
                except k8s_client.ApiException as exc:
                    # Not re-raised: its traceback would keep the client's
                    # connection open past the server's shutdown.
                    return int(exc.status), ""

        assert await asyncio.to_thread(call) == (200, "v1.31.0")

        write_kubeconfig(path, f"https://127.0.0.1:{port}", creds.ca_cert_pem, "wrong")
        assert await asyncio.to_thread(call) == (401, "")
    finally:
        await runner.cleanup()
