"""The CLI's webhook wiring: CRDs installed, CloneSet validated and converted through the API."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mizzen.apiserver.server import ApiServer
from mizzen.cli.crds import install_crds
from mizzen.cli.webhooks import (
    UnreachableWebhook,
    WebhookOptions,
    check_reachable,
    parse_service,
    start_webhooks,
)
from mizzen.client import ApiError, Client, ClientConfig, Resource
from mizzen.client.resources import CRDS
from mizzen.webhook import ServiceRef

V1ALPHA1 = Resource("apps.kruise.io", "v1alpha1", "clonesets", "CloneSet", True)
V1BETA1 = Resource("apps.kruise.io", "v1beta1", "clonesets", "CloneSet", True)


def cloneset(api_version: str, name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "replicas": 2, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}
    body.update(spec)
    return {"apiVersion": f"apps.kruise.io/{api_version}", "kind": "CloneSet",
            "metadata": {"name": name}, "spec": body}


@pytest.fixture
async def client(server: ApiServer, tmp_path: Path) -> AsyncIterator[Client]:
    async with Client(ClientConfig(server=server.url, ca_data=server.ca_pem,
                                   token=server.token)) as c:
        await install_crds(c)
        hooks = await start_webhooks(c, WebhookOptions(cert_dir=tmp_path / "webhook"))
        try:
            yield c
        finally:
            await hooks.stop()


async def test_v1alpha1_object_is_stored_as_v1beta1_and_read_back_in_either(
        client: Client) -> None:
    await client.create(V1ALPHA1, cloneset("v1alpha1", "web", updateStrategy={
        "type": "InPlaceIfPossible", "partition": 1}), "default")
    beta = await client.get(V1BETA1, "web", "default")
    assert beta["spec"]["updateStrategy"]["type"] == "RollingUpdate"
    assert beta["spec"]["updateStrategy"]["rollingUpdate"]["podUpdatePolicy"] == \
        "InPlaceIfPossible"
    assert beta["spec"]["updateStrategy"]["rollingUpdate"]["partition"] == 1
    alpha = await client.get(V1ALPHA1, "web", "default")
    assert alpha["spec"]["updateStrategy"]["type"] == "InPlaceIfPossible"
    assert alpha["spec"]["updateStrategy"]["partition"] == 1


async def test_invalid_cloneset_is_refused_with_field_causes_and_not_stored(
        client: Client) -> None:
    bad = cloneset("v1alpha1", "bad", updateStrategy={"type": "InPlaceOnly", "maxSurge": 1})
    with pytest.raises(ApiError) as info:
        await client.create(V1ALPHA1, bad, "default")
    assert info.value.status == 422
    assert "spec.updateStrategy.maxSurge" in {c.get("field") for c in info.value.causes}
    with pytest.raises(ApiError) as gone:
        await client.get(V1BETA1, "bad", "default")
    assert gone.value.not_found


async def test_selector_is_immutable(client: Client) -> None:
    created = await client.create(V1BETA1, cloneset("v1beta1", "fixed"), "default")
    created["spec"]["selector"] = {"matchLabels": {"app": "fixed", "tier": "x"}}
    created["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    with pytest.raises(ApiError) as info:
        await client.update(V1BETA1, created)
    assert info.value.status == 422
    assert any(c.get("field") == "spec.selector" for c in info.value.causes)


async def test_install_is_repeatable_and_keeps_the_webhook_conversion(client: Client) -> None:
    await install_crds(client)
    crd = await client.get(CRDS, "clonesets.apps.kruise.io")
    assert crd["spec"]["conversion"]["strategy"] == "Webhook"


def test_service_reference_parsing() -> None:
    assert parse_service("mizzen-system/mizzen-webhook") == \
        ServiceRef("mizzen-system", "mizzen-webhook", 443)
    assert parse_service("ns/svc:9443") == ServiceRef("ns", "svc", 9443)
    for bad in ("svc", "/svc", "ns/", "ns/svc:http"):
        with pytest.raises(ValueError):
            parse_service(bad)


async def test_discovery_prefers_v1beta1(client: Client) -> None:
    group = await client.request("GET", "/apis/apps.kruise.io")
    assert group["preferredVersion"]["version"] == "v1beta1"


REACH_CASES = [
    ("mizzen up: the API server and the webhook on loopback", "https://127.0.0.1:6443",
     WebhookOptions(), True),
    ("localhost API server, loopback webhook", "https://localhost:6443", WebhookOptions(),
     True),
    ("IPv6 loopback API server", "https://[::1]:6443", WebhookOptions(), True),
    ("a real cluster, loopback webhook: refused", "https://10.1.2.3:6443", WebhookOptions(),
     False),
    ("a real cluster by name, loopback webhook: refused", "https://prod.example:443",
     WebhookOptions(), False),
    ("a real cluster, webhook on every address (unspecified): refused",
     "https://10.1.2.3:6443", WebhookOptions(host="0.0.0.0"), False),
    ("a real cluster, webhook on an address it can reach", "https://10.1.2.3:6443",
     WebhookOptions(host="10.1.2.50"), True),
    ("a real cluster, webhook behind a Service", "https://10.1.2.3:6443",
     WebhookOptions(host="0.0.0.0", service=ServiceRef("mizzen-system", "mizzen", 443)), True),
]


@pytest.mark.parametrize(("name", "server", "opts", "ok"), REACH_CASES,
                         ids=[c[0] for c in REACH_CASES])
def test_a_webhook_url_the_api_server_cannot_call_is_refused(
        name: str, server: str, opts: WebhookOptions, ok: bool) -> None:
    if ok:
        check_reachable(server, opts)
        return
    with pytest.raises(UnreachableWebhook, match="--webhook-service"):
        check_reachable(server, opts)


def test_mizzen_controller_against_a_remote_cluster_needs_a_webhook_service(
        tmp_path: Path) -> None:
    """Nothing is registered (the address is never contacted): a clear error, exit 1."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod",
        "clusters": [{"name": "prod", "cluster": {"server": "https://192.0.2.1:6443",
                                                  "insecure-skip-tls-verify": True}}],
        "users": [{"name": "me", "user": {"token": "t"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "me"}}]}))
    out = subprocess.run([sys.executable, "-m", "mizzen", "controller", "--kubeconfig",
                          str(kubeconfig)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "--webhook-service" in out.stderr and "192.0.2.1" in out.stderr
