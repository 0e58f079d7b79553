"""Loading client configuration: kubeconfig (data, files, merging), exec plugins, in-cluster."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mizzen.apiserver.server import ApiServer
from mizzen.client import (
    CONFIGMAPS,
    ApiError,
    Client,
    ClientConfig,
    ConfigError,
    TransportError,
    load_default,
    load_in_cluster,
    load_kubeconfig,
)
from mizzen.client.auth import ExecCredentials, FileToken, ssl_context
from tests.client.conftest import configmap


def write_kubeconfig(path: Path, server: str, user: dict[str, Any],
                     cluster: dict[str, Any] | None = None, name: str = "c",
                     current: str | None = "c", namespace: str | None = None) -> Path:
    context: dict[str, Any] = {"cluster": name, "user": name}
    if namespace:
        context["namespace"] = namespace
    doc: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": context}]}
    if current:
        doc["current-context"] = current
    path.write_text(yaml.safe_dump(doc))
    return path


async def works(config: ClientConfig) -> None:
    async with Client(config) as client:
        await client.create(CONFIGMAPS, configmap(f"probe-{os.urandom(3).hex()}"), "default")


def self_signed() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tester")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


async def test_the_servers_own_kubeconfig(server: ApiServer) -> None:
    config = load_kubeconfig(server.kubeconfig_path)
    assert config.server == server.url and config.token == server.token
    assert config.ca_data == server.ca_pem and config.namespace == "default"
    assert server.token not in repr(config)
    await works(config)


async def test_file_references_resolve_next_to_the_kubeconfig(server: ApiServer,
                                                              tmp_path: Path) -> None:
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    (conf_dir / "ca.crt").write_bytes(server.ca_pem)
    (conf_dir / "token").write_text(server.token + "\n")
    path = write_kubeconfig(conf_dir / "config", server.url, {"tokenFile": "token"},
                            {"certificate-authority": "ca.crt"}, namespace="team-a")
    config = load_kubeconfig(path)
    assert config.ca_data == server.ca_pem and config.token == server.token
    assert config.namespace == "team-a" and isinstance(config.token_provider, FileToken)
    await works(config)


async def test_token_file_is_reread_when_it_changes(server: ApiServer, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("wrong")
    path = write_kubeconfig(tmp_path / "config", server.url, {"tokenFile": str(token_file)},
                            {"certificate-authority-data":
                             base64.b64encode(server.ca_pem).decode()})
    config = load_kubeconfig(path)
    async with Client(config) as client:
        with pytest.raises(ApiError) as err:
            await client.list(CONFIGMAPS, "default")
        assert err.value.status == 401
        tmp = tmp_path / "token.new"
        tmp.write_text(server.token)
        tmp.replace(token_file)  # as a projected volume rotates: a new file in place
        await client.list(CONFIGMAPS, "default")


def test_client_certificate_as_data_and_as_files(tmp_path: Path) -> None:
    cert, key = self_signed()
    (tmp_path / "client.crt").write_bytes(cert)
    (tmp_path / "client.key").write_bytes(key)
    as_files = load_kubeconfig(write_kubeconfig(
        tmp_path / "files", "https://example.invalid:6443",
        {"client-certificate": "client.crt", "client-key": "client.key"}))
    as_data = load_kubeconfig(write_kubeconfig(
        tmp_path / "data", "https://example.invalid:6443",
        {"client-certificate-data": base64.b64encode(cert).decode(),
         "client-key-data": base64.b64encode(key).decode()},
        {"insecure-skip-tls-verify": True}))
    for config in (as_files, as_data):
        assert config.client_cert == cert and config.client_key == key and config.token is None
        ssl_context(config)  # loads the pair
    assert as_data.insecure and not as_files.insecure
    with pytest.raises(ConfigError, match="both"):
        ssl_context(ClientConfig(server="https://x", client_cert=cert))


def test_kubeconfig_env_merges_like_kubectl(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    first = write_kubeconfig(tmp_path / "first", "https://first:1", {"token": "one"},
                             name="shared", current="shared")
    second = tmp_path / "second"
    second.write_text(yaml.safe_dump({
        "current-context": "extra",
        "clusters": [{"name": "shared", "cluster": {"server": "https://second:2"}},
                     {"name": "extra", "cluster": {"server": "https://extra:3"}}],
        "users": [{"name": "extra", "user": {"token": "three"}}],
        "contexts": [{"name": "extra", "context": {"cluster": "extra", "user": "extra",
                                                   "namespace": "ns3"}}]}))
    missing = tmp_path / "missing"
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(missing), str(first), str(second)]))
    config = load_kubeconfig()
    assert (config.server, config.token) == ("https://first:1", "one")  # first file wins
    extra = load_kubeconfig(context="extra")
    assert (extra.server, extra.token, extra.namespace) == ("https://extra:3", "three", "ns3")
    assert load_default().server == "https://first:1"
    monkeypatch.setenv("KUBECONFIG", str(missing))
    with pytest.raises(ConfigError, match="no kubeconfig"):
        load_kubeconfig()


def test_unusable_kubeconfigs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_kubeconfig(tmp_path / "nope")
    no_current = write_kubeconfig(tmp_path / "a", "https://x", {"token": "t"}, current=None)
    with pytest.raises(ConfigError, match="current-context"):
        load_kubeconfig(no_current)
    with pytest.raises(ConfigError, match="no context named 'other'"):
        load_kubeconfig(no_current, context="other")
    provider = write_kubeconfig(tmp_path / "b", "https://x", {"auth-provider": {"name": "gcp"}})
    with pytest.raises(ConfigError, match="exec credential plugin"):
        load_kubeconfig(provider)
    bad_ca = write_kubeconfig(tmp_path / "c", "https://x", {"token": "t"},
                              {"certificate-authority": "missing.crt"})
    with pytest.raises(ConfigError, match="certificate-authority"):
        load_kubeconfig(bad_ca)


def exec_plugin(tmp_path: Path, token_source: Path, expires_in: float | None = None,
                exit_code: int = 0) -> Path:
    """An executable that prints an ExecCredential whose token is ``token_source``'s text and
    appends a line to ``runs`` each time it runs."""
    script = tmp_path / "plugin.py"
    expiry = "None" if expires_in is None else repr(expires_in)
    script.write_text(f"""#!{sys.executable}
import datetime, json, os, pathlib, sys
here = pathlib.Path({str(tmp_path)!r})
with open(here / "runs", "a") as f:
    f.write(os.environ.get("GREETING", "") + " " + os.environ["KUBERNETES_EXEC_INFO"] + "\\n")
if {exit_code}:
    print("plugin says no", file=sys.stderr)
    sys.exit({exit_code})
status = {{"token": pathlib.Path({str(token_source)!r}).read_text()}}
if {expiry} is not None:
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds={expiry})
    status["expirationTimestamp"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1",
                  "kind": "ExecCredential", "status": status}}))
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def runs(tmp_path: Path) -> list[str]:
    path = tmp_path / "runs"
    return path.read_text().splitlines() if path.exists() else []


def exec_user(script: Path) -> dict[str, Any]:
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(script),
                     "env": [{"name": "GREETING", "value": "hello"}],
                     "interactiveMode": "Never"}}


async def test_exec_plugin_token_is_cached_until_it_expires(server: ApiServer,
                                                            tmp_path: Path) -> None:
    token_source = tmp_path / "token"
    token_source.write_text(server.token)
    ca = {"certificate-authority-data": base64.b64encode(server.ca_pem).decode()}
    script = exec_plugin(tmp_path, token_source, expires_in=3600)
    config = load_kubeconfig(write_kubeconfig(tmp_path / "config", server.url,
                                              exec_user(script), ca))
    assert config.token == server.token and isinstance(config.token_provider, ExecCredentials)
    await works(config)
    await works(config)
    assert len(runs(tmp_path)) == 1  # at load; the hour-long token is reused
    assert runs(tmp_path)[0].startswith("hello ")
    assert '"kind": "ExecCredential"' in runs(tmp_path)[0]

    # A token about to expire is fetched again before each use.
    (tmp_path / "runs").unlink()
    script = exec_plugin(tmp_path, token_source, expires_in=1)
    config = load_kubeconfig(write_kubeconfig(tmp_path / "config", server.url,
                                              exec_user(script), ca))
    await works(config)
    assert len(runs(tmp_path)) == 2


async def test_exec_plugin_rerun_after_401(server: ApiServer, tmp_path: Path) -> None:
    token_source = tmp_path / "token"
    token_source.write_text("revoked")
    script = exec_plugin(tmp_path, token_source)  # no expiry: cached for the process
    ca = {"certificate-authority-data": base64.b64encode(server.ca_pem).decode()}
    config = load_kubeconfig(write_kubeconfig(tmp_path / "config", server.url,
                                              exec_user(script), ca))
    token_source.write_text(server.token)
    await works(config)
    assert len(runs(tmp_path)) == 2


def test_exec_plugin_failure_is_a_config_error(tmp_path: Path) -> None:
    token_source = tmp_path / "token"
    token_source.write_text("x")
    script = exec_plugin(tmp_path, token_source, exit_code=3)
    path = write_kubeconfig(tmp_path / "config", "https://x", exec_user(script))
    with pytest.raises(ConfigError, match="plugin says no"):
        load_kubeconfig(path)


def test_exec_plugin_with_client_certificate(tmp_path: Path) -> None:
    cert, key = self_signed()
    script = tmp_path / "cert-plugin.py"
    status = {"clientCertificateData": cert.decode(), "clientKeyData": key.decode()}
    script.write_text(f"#!{sys.executable}\nimport json\nprint(json.dumps("
                      f"{{'apiVersion': 'client.authentication.k8s.io/v1beta1', "
                      f"'kind': 'ExecCredential', 'status': {status!r}}}))\n")
    script.chmod(0o755)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                     "command": "./cert-plugin.py"}}  # relative to the kubeconfig
    config = load_kubeconfig(write_kubeconfig(tmp_path / "config", "https://x", user))
    assert config.client_cert == cert and config.client_key == key
    assert config.token is None and config.token_provider is None


async def test_exec_credentials_cache_and_single_flight() -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    tokens = iter(["t1", "t2", "t3"])

    def run() -> dict[str, Any]:
        expiry = (now + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"token": next(tokens), "expirationTimestamp": expiry}

    creds = ExecCredentials(run, now=lambda: now)
    assert await creds() == "t1" and creds.runs == 1
    assert await creds() == "t1" and creds.runs == 1
    now += dt.timedelta(minutes=5)  # expired
    assert list(await asyncio.gather(creds(), creds(), creds())) == ["t2", "t2", "t2"]
    assert creds.runs == 2
    creds.invalidate()
    assert await creds() == "t3"


def service_account(tmp_path: Path, token: str, ca: bytes) -> Path:
    root = tmp_path / "serviceaccount"
    root.mkdir()
    (root / "token").write_text(token)
    (root / "ca.crt").write_bytes(ca)
    (root / "namespace").write_text("team-b\n")
    return root


async def test_in_cluster_config(server: ApiServer, tmp_path: Path) -> None:
    root = service_account(tmp_path, "stale", server.ca_pem)
    host, port = server.url.removeprefix("https://").rsplit(":", 1)
    env = {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}
    config = load_in_cluster(root=root, environ=env)
    assert config.server == server.url and config.namespace == "team-b"
    assert config.ca_data == server.ca_pem
    async with Client(config) as client:
        with pytest.raises(ApiError) as err:
            await client.list(CONFIGMAPS, "default")
        assert err.value.status == 401
        (root / "token.tmp").write_text(server.token)
        (root / "token.tmp").replace(root / "token")  # the kubelet rotates the token
        await client.list(CONFIGMAPS, "default")


def test_in_cluster_needs_its_environment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not running in a cluster"):
        load_in_cluster(root=tmp_path, environ={})
    env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    with pytest.raises(ConfigError, match="token"):
        load_in_cluster(root=tmp_path, environ=env)
    root = service_account(tmp_path, "t", b"not really a CA but present")
    assert load_in_cluster(root=root, environ=env).server == "https://[fd00::1]:443"


async def test_tls_verification(server: ApiServer) -> None:
    await works(ClientConfig(server=server.url, token=server.token, insecure=True))
    # Without the server's CA the system trust store rejects it, and that is not retried.
    async with Client(ClientConfig(server=server.url, token=server.token)) as client:
        with pytest.raises(TransportError, match="[Cc]ertificate"):
            await client.list(CONFIGMAPS, "default")
        assert client.metrics.counts() == {("list", "configmaps"): 1}
