"""Admission webhooks through the HTTP API: a mutating webhook served over TLS in the test."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from mizzen.apiserver.security import ensure_credentials
from tests.conftest import Api

PODS = "/api/v1/namespaces/default/pods"
HOOKS = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"


@pytest.fixture
async def webhook(tmp_path: Path) -> AsyncIterator[tuple[str, bytes]]:
    """A webhook that labels every pod it sees and rejects pods named 'forbidden'."""
    creds = ensure_credentials(tmp_path / "hook", ["127.0.0.1"])

    async def review(request: web.Request) -> web.Response:
        body = await request.json()
        req = body["request"]
        response: dict[str, Any] = {"uid": req["uid"], "allowed": True}
        if req["name"] == "forbidden" or req["object"]["metadata"].get("name") == "forbidden":
            response = {"uid": req["uid"], "allowed": False,
                        "status": {"code": 403, "message": "pods may not be called that"}}
        else:
            patch = [{"op": "add", "path": "/metadata/labels",
                      "value": {**(req["object"]["metadata"].get("labels") or {}),
                                "injected": "yes"}}]
            response |= {"patchType": "JSONPatch",
                         "patch": base64.b64encode(orjson.dumps(patch)).decode()}
        return web.json_response({"apiVersion": "admission.k8s.io/v1",
                                  "kind": "AdmissionReview", "response": response})

    app = web.Application()
    app.router.add_post("/mutate", review)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=creds.ssl_context())
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"https://127.0.0.1:{port}/mutate", creds.ca_cert_pem
    await runner.cleanup()


async def test_mutating_webhook_labels_pods_and_denies(api: Api,
                                                       webhook: tuple[str, bytes]) -> None:
    url, ca = webhook
    config = {"apiVersion": "admissionregistration.k8s.io/v1",
              "kind": "MutatingWebhookConfiguration", "metadata": {"name": "labeler"},
              "webhooks": [{"name": "labeler.example.com", "admissionReviewVersions": ["v1"],
                            "sideEffects": "None", "timeoutSeconds": 5,
                            "clientConfig": {"url": url,
                                             "caBundle": base64.b64encode(ca).decode()},
                            "rules": [{"operations": ["CREATE"], "apiGroups": [""],
                                       "apiVersions": ["v1"], "resources": ["pods"]}]}]}
    code, created = await api.post(HOOKS, config)
    assert code == 201, created
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"a": "b"}},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    code, got = await api.post(PODS, pod)
    assert code == 201, got
    assert got["metadata"]["labels"] == {"a": "b", "injected": "yes"}
    code, err = await api.post(PODS, dict(pod, metadata={"name": "forbidden"}))
    assert code == 403 and "pods may not be called that" in err["message"]
    assert (await api.get(f"{PODS}/forbidden"))[0] == 404
    # A configmap is not matched by the rules and is created untouched.
    code, cm = await api.post("/api/v1/namespaces/default/configmaps",
                              {"metadata": {"name": "c"}})
    assert code == 201 and "labels" not in cm["metadata"]

