"""Webhook fixtures: one CA per session, a started WebhookServer, an HTTPS session trusting it,
and a Client for the in-process API server (``server``/``api`` come from tests/conftest.py)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from mizzen.apiserver.server import ApiServer
from mizzen.client import Client, ClientConfig
from mizzen.webhook import WebhookCerts, WebhookServer, load_or_create


@pytest.fixture(scope="session")
def certs() -> WebhookCerts:
    """In-memory certificates for loopback and a Service ``hooks.system``."""
    return load_or_create(None, ["hooks.system.svc"])


@pytest.fixture
async def hooks(certs: WebhookCerts) -> AsyncIterator[WebhookServer]:
    """A started webhook server with no handlers (tests add theirs; dispatch is dynamic)."""
    async with WebhookServer(certs=certs) as srv:
        yield srv


def trusting(ca_pem: bytes) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=ca_pem.decode())


class Hooks:
    """Posts to a webhook server over verified HTTPS: (status, decoded JSON or text)."""

    def __init__(self, server: WebhookServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session

    async def post(self, path: str, body: Any = None, *, raw: bytes | None = None,
                   content_type: str = "application/json") -> tuple[int, Any]:
        data = raw if raw is not None else orjson.dumps(body)
        async with self.session.post(self.server.url + path, data=data,
                                     headers={"Content-Type": content_type}) as resp:
            return resp.status, await _decode(resp)

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.session.get(self.server.url + path) as resp:
            return resp.status, await _decode(resp)


async def _decode(resp: aiohttp.ClientResponse) -> Any:
    text = await resp.read()
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text.decode()


@pytest.fixture
async def http(hooks: WebhookServer) -> AsyncIterator[Hooks]:
    connector = aiohttp.TCPConnector(ssl=trusting(hooks.ca_pem))
    async with aiohttp.ClientSession(connector=connector) as session:
        yield Hooks(hooks, session)


def client_for(server: ApiServer) -> Client:
    return Client(ClientConfig(server=server.url, ca_data=server.ca_pem, token=server.token))


@pytest.fixture
async def client(server: ApiServer) -> AsyncIterator[Client]:
    async with client_for(server) as c:
        yield c


def admission_review(uid: str = "u-1", operation: str = "CREATE",
                     obj: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """An AdmissionReview as kube-apiserver sends it for a CloneSet."""
    request: dict[str, Any] = {
        "uid": uid,
        "kind": {"group": "apps.kruise.io", "version": "v1alpha1", "kind": "CloneSet"},
        "resource": {"group": "apps.kruise.io", "version": "v1alpha1", "resource": "clonesets"},
        "requestKind": {"group": "apps.kruise.io", "version": "v1alpha1", "kind": "CloneSet"},
        "requestResource": {"group": "apps.kruise.io", "version": "v1alpha1",
                            "resource": "clonesets"},
        "name": "web", "namespace": "default", "operation": operation,
        "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
        "object": obj, "oldObject": None, "dryRun": False,
        "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
    }
    request.update(extra)
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
