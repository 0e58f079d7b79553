"""The real kubectl against the embedded API server with the webhook server registered.

The webhook server and its registration run on the API server's own loop (the
``threaded_server`` fixture), since kubectl subprocesses block the test thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from mizzen.client import Client, ClientConfig
from mizzen.webhook import WebhookRegistration, WebhookServer, load_or_create
from tests.e2e.test_kubectl import KUBECTL, Kubectl, kubectl  # noqa: F401  (fixture)
from tests.webhook.widgets import CONVERT, VALIDATE, Seen, convert

if TYPE_CHECKING:
    from tests.conftest import ServerThread

pytestmark = [pytest.mark.kubectl,
              pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")]

CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
  - name: v2
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              dimensions: {type: object, properties: {size: {type: integer}}}
"""

WIDGET = """apiVersion: example.com/v2
kind: Widget
metadata:
  name: {name}
spec:
  dimensions: {{size: {size}}}
"""


@pytest.fixture
def registered(threaded_server: ServerThread, kubectl: Kubectl) -> Iterator[Seen]:  # noqa: F811
    kubectl.apply(CRD)
    kubectl.run("wait", "--for=condition=Established", "crd/widgets.example.com",
                "--timeout=30s")
    api = threaded_server.server
    seen = Seen()
    hooks = WebhookServer(certs=load_or_create(None, []))
    hooks.add_validator(VALIDATE, seen)
    hooks.add_converter(CONVERT, convert)
    client = Client(ClientConfig(server=api.url, ca_data=api.ca_pem, token=api.token))

    async def up() -> None:
        await hooks.start()
        await WebhookRegistration.for_server(client, hooks).ensure()

    threaded_server.call(up())
    try:
        yield seen
    finally:
        threaded_server.call(client.close())
        threaded_server.call(hooks.stop())


def test_kubectl_shows_the_webhook_denial(kubectl: Kubectl,  # noqa: F811
                                          registered: Seen) -> None:
    refused = kubectl.run("create", "-f", "-", stdin=WIDGET.format(name="bad", size=-3),
                          rc=1)
    # An Invalid denial is printed as kubectl prints built-in validation: by its causes.
    assert 'The Widget "bad" is invalid: spec.dimensions.size: Invalid value: -3: ' \
           "must be >= 0" in refused.err, refused.describe()
    forbidden = kubectl.run("create", "-f", "-", stdin=WIDGET.format(name="forbidden", size=1),
                            rc=1)
    assert 'admission webhook "vwidget.example.com" denied the request: widgets may not be ' \
           "called forbidden" in forbidden.err, forbidden.describe()
    kubectl.run("get", "widgets.v2.example.com", "bad", rc=1)
    kubectl.create(WIDGET.format(name="good", size=4))
    stored_v1 = kubectl.get_json("widgets.v1.example.com", "good")
    assert stored_v1["spec"] == {"size": 4}
    assert kubectl.get_json("widgets.v2.example.com", "good")["spec"] == {
        "dimensions": {"size": 4}}
    warned = kubectl.create(WIDGET.format(name="zero", size=0))
    assert "size 0 is deprecated" in warned.err
    assert [r.name for r in registered.requests] == ["bad", "forbidden", "good", "zero"]
