"""End to end with the in-process API server calling the webhook server.

A ``widgets.example.com`` CRD serves v1 (storage: ``spec.size``) and v2
(``spec.dimensions.size``); a converter registered on the webhook server
converts between them, and a validator refuses negative sizes with a field
cause.  Registration tells the API server about both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mizzen.apiserver.server import ApiServer, ServerConfig
from mizzen.client import Client
from mizzen.webhook import ServiceRef, WebhookRegistration, WebhookServer
from tests.conftest import Api, eventually
from tests.webhook.conftest import client_for
from tests.webhook.widgets import CONVERT, VALIDATE, Seen, convert, crd, widget

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
V1 = "/apis/example.com/v1/namespaces/default/widgets"
V2 = "/apis/example.com/v2/namespaces/default/widgets"


async def install(api: Api) -> None:
    code, body = await api.post(CRDS, crd())
    assert code == 201, body

    async def served() -> bool:
        return (await api.get(V2))[0] == 200

    await eventually(served)


@pytest.fixture
def seen(hooks: WebhookServer) -> Seen:
    validator = Seen()
    hooks.add_validator(VALIDATE, validator)
    hooks.add_converter(CONVERT, convert)
    return validator


async def test_conversion_and_validation_through_the_api(api: Api, hooks: WebhookServer,
                                                         seen: Seen, client: Client) -> None:
    await install(api)
    outcomes = await WebhookRegistration.for_server(client, hooks).ensure()
    assert [o.action for o in outcomes] == ["created", "absent", "updated"]
    code, created = await api.post(V2, widget("a", 3))
    assert code == 201, created
    assert created["apiVersion"] == "example.com/v2" and created["spec"] == {
        "dimensions": {"size": 3}}
    stored = api.server.store.get("example.com/widgets", "default", "a")
    assert stored is not None and stored.obj["spec"] == {"size": 3}  # converted to v1
    code, got = await api.get(f"{V1}/a")
    assert code == 200 and got["spec"] == {"size": 3}
    assert hooks.metrics.counts[("/convert", "converted")] >= 1
    # Refused with a field cause, in whichever version it is written.
    code, err = await api.post(V2, widget("b", -1))
    assert code == 422, err
    assert err["reason"] == "Invalid"
    assert 'admission webhook "vwidget.example.com" denied the request' in err["message"]
    assert err["details"]["causes"] == [{"reason": "FieldValueInvalid",
                                         "message": "Invalid value: -1: must be >= 0",
                                         "field": "spec.dimensions.size"}]
    assert (err["details"]["kind"], err["details"]["name"]) == ("Widget", "b")
    code, err = await api.post(V2, widget("forbidden", 1))
    assert code == 403 and err["reason"] == "Forbidden", err
    assert err["message"] == ('admission webhook "vwidget.example.com" denied the request: '
                              "widgets may not be called forbidden")
    code, err = await api.post(V1, widget("c", -5, "v1"))
    assert code == 422 and err["details"]["causes"][0]["field"] == "spec.size", err
    assert (await api.get(f"{V2}/b"))[0] == 404
    # An update is validated too, with the old object at hand.
    code, err = await api.patch(f"{V2}/a", {"spec": {"dimensions": {"size": -2}}})
    assert code == 422, err
    assert seen.requests[-1].operation == "UPDATE"
    assert seen.requests[-1].old_object is not None


async def test_dry_run_reaches_the_webhook_and_stores_nothing(
        api: Api, hooks: WebhookServer, seen: Seen, client: Client) -> None:
    await install(api)
    await WebhookRegistration.for_server(client, hooks).ensure()
    code, body = await api.post(f"{V2}?dryRun=All", widget("dry", 0))
    assert code == 201, body
    assert seen.requests[-1].dry_run and seen.requests[-1].name == "dry"
    assert (await api.get(f"{V2}/dry"))[0] == 404
    code, err = await api.post(f"{V2}?dryRun=All", widget("dry", -1))
    assert code == 422 and err["details"]["causes"], err


async def test_warnings_reach_the_client(api: Api, hooks: WebhookServer, seen: Seen,
                                         client: Client) -> None:
    await install(api)
    await WebhookRegistration.for_server(client, hooks).ensure()
    async with api.session.post(api.server.url + V2, json=widget("zero", 0),
                                headers={"Authorization": f"Bearer {api.server.token}"}) as r:
        assert r.status == 201
        assert "size 0 is deprecated" in r.headers.get("Warning", "")


async def test_service_reference_with_a_resolver(tmp_path: Path, hooks: WebhookServer,
                                                 seen: Seen) -> None:
    """The real-cluster shape: clientConfig.service, verified as hooks.system.svc."""
    config = ServerConfig(data_dir=tmp_path / "svc", port=0, synchronous="NORMAL",
                          webhook_resolver=lambda ns, name, port: ("127.0.0.1", hooks.port))
    async with ApiServer(config) as server, client_for(server) as client:
        registration = WebhookRegistration.for_server(
            client, hooks, service=ServiceRef("system", "hooks", 443))
        assert [o.action for o in await registration.ensure()] == ["created", "absent",
                                                                    "missing"]
        stored = await client.request(
            "GET", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/"
                   "mizzen-validating-webhook-configuration")
        assert stored["webhooks"][0]["clientConfig"]["service"] == {
            "namespace": "system", "name": "hooks", "path": "/validate-widget", "port": 443}
        await client.request("POST", CRDS, body=crd())

        async def served() -> bool:
            try:
                await client.request("GET", V2)
            except Exception:
                return False
            return True

        await eventually(served)
        assert [o.action for o in await registration.ensure()][-1] == "updated"
        created = await client.request("POST", V2, body=widget("s", 4))
        assert created["spec"] == {"dimensions": {"size": 4}}
        assert seen.requests[-1].name == "s"
