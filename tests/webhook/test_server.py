"""The webhook server over real HTTPS, with an aiohttp client trusting its CA."""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from typing import Any

import aiohttp
import orjson
import pytest

from mizzen.webhook import (
    AdmissionRequest,
    AdmissionResponse,
    Cause,
    ConversionSpec,
    Rule,
    WebhookCerts,
    WebhookServer,
    WebhookSpec,
    load_or_create,
)
from tests.webhook.conftest import Hooks, admission_review, trusting

SECRET: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret",
                          "metadata": {"name": "db", "namespace": "ns"},
                          "data": {"password": "aHVudGVyMg=="}}
CLONE: dict[str, Any] = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
         "metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": -1}}
VALIDATE = WebhookSpec("/validate-cloneset", "vcloneset.apps.kruise.io",
                       (Rule(("apps.kruise.io",), ("v1alpha1",), ("clonesets",)),))


def no_negative_replicas(req: AdmissionRequest) -> AdmissionResponse:
    replicas = ((req.object or {}).get("spec") or {}).get("replicas", 0)
    if replicas < 0:
        return AdmissionResponse.deny(f"spec.replicas: Invalid value: {replicas}",
                                      Cause("spec.replicas", "FieldValueInvalid",
                                            "must be greater than or equal to 0"))
    return AdmissionResponse.allow()


async def test_validator_denies_with_causes_and_allows(http: Hooks) -> None:
    http.server.add_validator(VALIDATE, no_negative_replicas)
    assert http.server.validating == (VALIDATE,)
    code, body = await http.post("/validate-cloneset", admission_review("u-9", obj=CLONE))
    assert code == 200 and body["apiVersion"] == "admission.k8s.io/v1"
    resp = body["response"]
    assert resp["uid"] == "u-9" and resp["allowed"] is False
    assert resp["status"]["code"] == 422
    assert resp["status"]["details"]["causes"][0]["field"] == "spec.replicas"
    fine = {**CLONE, "spec": {"replicas": 3}}
    code, body = await http.post("/validate-cloneset", admission_review("u-10", obj=fine))
    assert code == 200 and body["response"] == {"uid": "u-10", "allowed": True}
    assert http.server.metrics.counts[("/validate-cloneset", "denied")] == 1
    assert http.server.metrics.counts[("/validate-cloneset", "allowed")] == 1


async def test_async_mutator_patch_is_base64_jsonpatch(http: Hooks) -> None:
    async def label(req: AdmissionRequest) -> AdmissionResponse:
        await asyncio.sleep(0)
        obj = req.object or {}
        after = {**obj, "metadata": {**obj["metadata"], "labels": {"injected": "yes"}}}
        return AdmissionResponse.patched(obj, after)

    http.server.add_mutator("/mutate", label)
    code, body = await http.post("/mutate", admission_review(obj=CLONE))
    assert code == 200
    resp = body["response"]
    assert resp["patchType"] == "JSONPatch"
    assert orjson.loads(base64.b64decode(resp["patch"]))[0]["path"] == "/metadata/labels"


async def test_handler_errors_are_answered_without_bodies_or_traces(
        http: Hooks, caplog: pytest.LogCaptureFixture) -> None:
    def broken(req: AdmissionRequest) -> AdmissionResponse:
        raise RuntimeError(f"bad data {req.object}")

    def patching_validator(req: AdmissionRequest) -> AdmissionResponse:
        return AdmissionResponse(True, patch=[{"op": "remove", "path": "/data"}])

    http.server.add_validator("/broken", broken)
    http.server.add_validator("/patching", patching_validator)
    with caplog.at_level(logging.INFO, logger="mizzen.webhook"):
        code, body = await http.post("/broken", admission_review(obj=SECRET))
    assert code == 200
    status = body["response"]["status"]
    assert body["response"]["allowed"] is False
    assert (status["code"], status["reason"]) == (500, "InternalError")
    assert status["message"] == "internal error in the webhook: RuntimeError"
    assert "aHVudGVyMg" not in caplog.text and "Traceback" not in caplog.text
    assert "RuntimeError" in caplog.text
    code, body = await http.post("/patching", admission_review(obj=SECRET))
    assert body["response"]["allowed"] is False
    assert "may not patch" in body["response"]["status"]["message"]
    assert "patch" not in body["response"]


async def test_conversion_over_https(http: Hooks) -> None:
    def to_v2(obj: dict[str, Any], desired: str) -> dict[str, Any]:
        if obj["spec"].get("replicas") == 13:
            raise ValueError("13 is unlucky")
        return {**obj, "apiVersion": desired}

    http.server.add_converter(ConversionSpec("/convert", ("clonesets.apps.kruise.io",)), to_v2)
    request: dict[str, Any] = {"uid": "c-7", "desiredAPIVersion": "apps.kruise.io/v1beta1",
                               "objects": [CLONE]}
    review = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
              "request": request}
    code, body = await http.post("/convert", review)
    assert code == 200
    assert body["response"]["result"]["status"] == "Success"
    assert body["response"]["convertedObjects"][0]["apiVersion"] == "apps.kruise.io/v1beta1"
    unlucky = {**CLONE, "spec": {"replicas": 13}}
    code, body = await http.post("/convert", {**review, "request": {**request,
                                                                     "objects": [unlucky]}})
    assert code == 200, body
    assert body["response"]["result"] == {
        "status": "Failure",
        "message": "converting CloneSet default/web to apps.kruise.io/v1beta1: 13 is unlucky"}


@pytest.mark.parametrize(("case", "path", "raw", "ctype", "code"), [
    ("bad JSON -> 400", "/v", b"{not json", "application/json", 400),
    ("wrong review kind -> 400", "/v", orjson.dumps({"kind": "Pod"}), "application/json", 400),
    ("conversion review without uid -> 400", "/c",
     orjson.dumps({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
                   "request": {}}), "application/json", 400),
    ("form body -> 415", "/v", b"a=b", "application/x-www-form-urlencoded", 415),
    ("unknown path -> 404", "/nothing-here", b"{}", "application/json", 404),
    ("body over the limit -> 413", "/v", b"[" + b"1," * 40_000 + b"1]", "application/json",
     413),
])
async def test_bad_input(certs: WebhookCerts, case: str, path: str, raw: bytes, ctype: str,
                         code: int) -> None:
    async with WebhookServer(certs=certs, max_body=64 * 1024) as server:
        server.add_validator("/v", no_negative_replicas)
        server.add_converter("/c", lambda o, d: o)
        connector = aiohttp.TCPConnector(ssl=trusting(certs.ca_pem))
        async with aiohttp.ClientSession(connector=connector) as session:
            http = Hooks(server, session)
            got, body = await http.post(path, raw=raw, content_type=ctype)
    assert got == code, body
    assert body["kind"] == "Status" and body["code"] == code
    assert "not json" not in body["message"]


async def test_healthz_methods_and_duplicate_paths(http: Hooks) -> None:
    assert await http.get("/healthz") == (200, "ok")
    http.server.add_validator("/v", no_negative_replicas)
    code, body = await http.get("/v")
    assert code == 405 and body["reason"] == "MethodNotAllowed"
    with pytest.raises(ValueError, match="already served"):
        http.server.add_mutator("/v", no_negative_replicas)
    with pytest.raises(ValueError, match="absolute URL path"):
        http.server.add_validator("/healthz", no_negative_replicas)


async def test_https_only_and_loopback_by_default(hooks: WebhookServer) -> None:
    assert hooks.url.startswith("https://127.0.0.1:") and hooks.port > 0
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            async with session.get(f"http://127.0.0.1:{hooks.port}/healthz") as resp:
                await resp.read()
        # The system trust store does not know the webhook CA.
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            async with session.get(f"{hooks.url}/healthz") as resp:
                await resp.read()


async def test_update_certs_serves_the_new_pair_to_new_connections(
        hooks: WebhookServer) -> None:
    fresh = load_or_create(None, [])
    hooks.update_certs(fresh)
    assert hooks.ca_pem == fresh.ca_pem
    connector = aiohttp.TCPConnector(ssl=trusting(fresh.ca_pem), force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session, \
            session.get(f"{hooks.url}/healthz") as resp:
        assert resp.status == 200


async def test_ipv6_loopback(certs: WebhookCerts) -> None:
    try:
        server = WebhookServer("::1", certs=certs)
        await server.start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert server.url.startswith("https://[::1]:")
        ctx = ssl.create_default_context(cadata=certs.ca_pem.decode())
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as session, \
                session.get(f"{server.url}/healthz") as resp:
            assert resp.status == 200
    finally:
        await server.stop()
