"""The CLI's webhook wiring: CRDs installed, CloneSet validated and converted through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mizzen.apiserver.server import ApiServer
from mizzen.cli.crds import install_crds
from mizzen.cli.webhooks import WebhookOptions, parse_service, start_webhooks
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
