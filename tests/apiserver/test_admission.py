"""Admission webhooks against a real HTTPS webhook on loopback (mizzen.apiserver.admission).

Configurations are created through the API (so they are stored and defaulted as
any client's would be); :class:`Admission` is driven directly with Attributes, as
the registry will drive it.  The webhook answers by path: ``/label/<key>``
patches a label in, ``/deny``, ``/slow/<seconds>``, ``/garbage`` and friends
misbehave in one way each.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from mizzen.apiserver import errors
from mizzen.apiserver.admission import (
    Admission,
    Attributes,
    create_options,
    delete_options,
    update_options,
)
from mizzen.apiserver.admission_match import MUTATING_RES, HookIndex
from mizzen.apiserver.security import Credentials, ensure_credentials
from mizzen.apiserver.server import ApiServer
from tests.conftest import Api

Obj = dict[str, Any]
REG = "/apis/admissionregistration.k8s.io/v1"


class Hook:
    """An AdmissionReview server on 127.0.0.1 whose behaviour is chosen by the URL path."""

    def __init__(self, creds: Credentials) -> None:
        self.creds = creds
        self.calls: list[tuple[str, dict[str, str], Obj]] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, ssl_context=self.creds.ssl_context()).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def paths(self) -> list[str]:
        return [p for p, _, _ in self.calls]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        review = await request.json()
        self.calls.append((request.path, dict(request.query), review))
        what, _, arg = request.path.strip("/").partition("/")
        uid = review["request"]["uid"]
        if what == "slow":
            await asyncio.sleep(float(arg))
        if what == "garbage":
            return web.Response(text="<html>this is not json</html>")
        response: Obj = {"uid": "not-" + uid if what == "wrong-uid" else uid, "allowed": True}
        if what == "label":
            labels = (review["request"]["object"] or {}).get("metadata", {}).get("labels")
            ops: list[Obj] = [
                {"op": "add", "path": f"/metadata/labels/{arg}", "value": "yes"}
                if labels is not None else
                {"op": "add", "path": "/metadata/labels", "value": {arg: "yes"}}]
            response.update(patchType="JSONPatch", patch=b64(orjson.dumps(ops)))
        elif what == "bad-patch":
            response.update(patchType="JSONPatch", patch=b64(b"{not a patch"))
        elif what == "stale-patch":
            ops = [{"op": "replace", "path": "/spec/nothing/here", "value": 1}]
            response.update(patchType="JSONPatch", patch=b64(orjson.dumps(ops)))
        elif what == "deny":
            response.update(allowed=False, status={"code": 403, "reason": "Forbidden",
                                                   "message": "no pods today"})
        elif what == "deny-bare":
            response["allowed"] = False
        elif what == "warn":
            response.update(warnings=["careful"], auditAnnotations={"seen": "yes"})
        kind = "Nope" if what == "wrong-kind" else "AdmissionReview"
        return web.json_response({"apiVersion": "admission.k8s.io/v1", "kind": kind,
                                  "response": response})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def hook(tmp_path: Path) -> AsyncIterator[Hook]:
    h = Hook(ensure_credentials(tmp_path / "hook-pki", ["hook.default.svc"]))
    await h.start()
    yield h
    await h.stop()


@pytest.fixture
async def admission(server: ApiServer, hook: Hook) -> AsyncIterator[Admission]:
    adm = Admission(server.store, server.registry.clock,
                    resolver=lambda ns, name, port: ("127.0.0.1", hook.port))
    yield adm
    await adm.close()


def webhook(hook: Hook, path: str, name: str = "", **fields: Any) -> Obj:
    """A webhook entry calling ``path`` on the test server, for pod CREATEs by default."""
    client = {"url": f"https://127.0.0.1:{hook.port}{path}",
              "caBundle": b64(hook.creds.ca_cert_pem)}
    return {"name": name or f"{path.strip('/').split('/')[0]}.example.com",
            "clientConfig": client, "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "rules": rule(["CREATE"], ["pods"]), **fields}


def rule(operations: list[str], resources: list[str], group: str = "",
         scope: str = "*") -> list[Obj]:
    return [{"operations": operations, "apiGroups": [group], "resources": resources,
             "apiVersions": ["v1" if group == "" else "*"], "scope": scope}]


async def configure(api: Api, kind: str, name: str, *hooks: Obj) -> Obj:
    plural = f"{kind}webhookconfigurations"
    body = {"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": f"{kind.capitalize()}WebhookConfiguration",
            "metadata": {"name": name}, "webhooks": list(hooks)}
    code, out = await api.post(f"{REG}/{plural}", body)
    assert code == 201, out
    return dict(out)


def pod(name: str = "p", labels: dict[str, str] | None = None, ns: str = "default") -> Obj:
    meta: Obj = {"name": name, "namespace": ns}
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def attrs(server: ApiServer, op: str = "CREATE", ns: str = "default", name: str = "p",
          plural: str = "pods", sub: str = "", dry_run: bool = False) -> Attributes:
    info = server.catalogue.get("", "v1", plural)
    assert info is not None
    options = create_options(dry_run=dry_run) if op == "CREATE" else \
        update_options(dry_run=dry_run) if op == "UPDATE" else delete_options(dry_run=dry_run)
    return Attributes.of(info, op, namespace=ns if info.namespaced else None, name=name,
                         subresource=sub, dry_run=dry_run, options=options)


async def rejected(call: Any) -> errors.ApiError:
    with pytest.raises(errors.ApiError) as info:
        await call
    return info.value


# -- the happy paths ---------------------------------------------------------------------


async def test_no_configuration_costs_nothing(server: ApiServer, admission: Admission,
                                              hook: Hook) -> None:
    obj = pod()
    assert await admission.mutate(attrs(server), obj) is obj
    await admission.validate(attrs(server), obj, None)
    assert hook.calls == []


async def test_mutating_webhook_adds_a_label_on_pod_create(
        server: ApiServer, api: Api, admission: Admission, hook: Hook) -> None:
    await configure(api, "mutating", "inject", webhook(hook, "/label/injected"))
    obj = pod()
    out = await admission.mutate(attrs(server), obj)
    assert out["metadata"]["labels"] == {"injected": "yes"}
    assert "labels" not in obj["metadata"], "the caller's object is never changed"
    (path, query, review), = hook.calls
    assert (path, query) == ("/label/injected", {"timeout": "10s"})
    req = review["request"]
    assert uuid.UUID(req.pop("uid"))
    assert req == {
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
        "requestResource": {"group": "", "version": "v1", "resource": "pods"},
        "name": "p", "namespace": "default", "operation": "CREATE",
        "userInfo": {"username": "mizzen-admin",
                     "groups": ["system:masters", "system:authenticated"]},
        "object": obj, "oldObject": None, "dryRun": False,
        "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}}


async def test_validating_webhook_denies_with_its_message_and_code(
        server: ApiServer, api: Api, admission: Admission, hook: Hook) -> None:
    await configure(api, "validating", "a", webhook(hook, "/deny"))
    await configure(api, "validating", "b", webhook(hook, "/deny-bare"))
    err = await rejected(admission.validate(attrs(server), pod(), None))
    assert (err.code, err.reason) == (403, "Forbidden")
    assert err.message == 'admission webhook "deny.example.com" denied the request: no pods today'
    await api.delete(f"{REG}/validatingwebhookconfigurations/a")  # the next request sees it
    err = await rejected(admission.validate(attrs(server), pod(), None))
    assert err.code == 400  # upstream: a code below 400 becomes 400
    assert err.message == ('admission webhook "deny-bare.example.com" denied the request '
                           "without explanation")


async def test_webhooks_called_via_service_reference_verify_the_service_name(
        server: ApiServer, api: Api, admission: Admission, hook: Hook) -> None:
    ca = b64(hook.creds.ca_cert_pem)
    good = {"service": {"namespace": "default", "name": "hook", "path": "/label/svc"},
            "caBundle": ca}
    await configure(api, "mutating", "svc", webhook(hook, "", "svc.example.com",
                                                    clientConfig=good))
    assert (await admission.mutate(attrs(server), pod()))["metadata"]["labels"] == {"svc": "yes"}
    bad = {"service": {"namespace": "default", "name": "other", "path": "/"}, "caBundle": ca}
    await configure(api, "validating", "wrong-name", webhook(hook, "", "other.example.com",
                                                             clientConfig=bad))
    err = await rejected(admission.validate(attrs(server), pod(), None))
    assert err.code == 500 and "other.default.svc" in err.message
    assert err.message.startswith('Internal error occurred: failed calling webhook '
                                  '"other.example.com": failed to call webhook: Post ')


async def test_warnings_and_audit_annotations_are_collected(
        server: ApiServer, api: Api, admission: Admission, hook: Hook) -> None:
    await configure(api, "validating", "w", webhook(hook, "/warn"))
    a = attrs(server)
    await admission.validate(a, pod(), None)
    assert a.warnings == ["careful"] and a.annotations == {"warn.example.com/seen": "yes"}


async def test_validating_webhooks_run_concurrently(
        server: ApiServer, api: Api, admission: Admission, hook: Hook) -> None:
    await configure(api, "validating", "slow", webhook(hook, "/slow/0.5", "one.example.com"),
                    webhook(hook, "/slow/0.5", "two.example.com"))
    started = time.monotonic()
    await admission.validate(attrs(server), pod(), None)
    assert len(hook.calls) == 2 and time.monotonic() - started < 0.9


async def test_delete_sends_the_old_object_and_a_patch_on_delete_fails(
        server: ApiServer, api: Api, admission: Admission, hook: Hook) -> None:
    rules = rule(["DELETE"], ["*"], "*")
    await configure(api, "validating", "v", webhook(hook, "/allow", rules=rules))
    old = pod()
    await admission.validate(attrs(server, "DELETE"), None, old)
    req = hook.calls[-1][2]["request"]
    assert (req["object"], req["oldObject"], req["options"]["kind"]) == (None, old,
                                                                           "DeleteOptions")
    await configure(api, "mutating", "m", webhook(hook, "/label/x", rules=rules))
    err = await rejected(admission.mutate(attrs(server, "DELETE"), None, old))
    assert err.code == 500 and "attempted to modify the object" in err.message


# -- matching ----------------------------------------------------------------------------


@pytest.mark.parametrize(("resources", "sub", "scope", "called"), [
    (["pods"], "", "*", True),
    (["pods"], "status", "*", False),
    (["pods/status"], "status", "*", True),
    (["pods/status"], "", "*", False),
    (["pods/*"], "status", "*", True),
    (["*"], "status", "*", False),
    (["*/status"], "status", "*", True),
    (["*/*"], "ephemeralcontainers", "*", True),
    (["pods"], "", "Cluster", False),
    (["pods"], "", "Namespaced", True),
])
async def test_rules_match_resources_subresources_and_scope(
        server: ApiServer, api: Api, admission: Admission, hook: Hook,
        resources: list[str], sub: str, scope: str, called: bool) -> None:
    rules = rule(["UPDATE"], resources, scope=scope)
    await configure(api, "validating", "r", webhook(hook, "/allow", rules=rules))
    await admission.validate(attrs(server, "UPDATE", sub=sub), pod(), pod())
    await admission.validate(attrs(server, "CREATE", sub=sub), pod(), None)  # wrong operation
    assert len(hook.calls) == int(called)
    if called and sub:
        assert hook.calls[0][2]["request"]["subResource"] == sub


async def test_namespace_selector(server: ApiServer, api: Api, admission: Admission,
                                  hook: Hook) -> None:
    for name, env in (("prod", "prod"), ("dev", "dev")):
        await api.post("/api/v1/namespaces", {"metadata": {"name": name,
                                                           "labels": {"env": env}}})
    rules = rule(["CREATE"], ["pods", "namespaces", "nodes"], "*")
    await configure(api, "validating", "ns", webhook(
        hook, "/allow", rules=rules, namespaceSelector={"matchLabels": {"env": "prod"}}))
    await admission.validate(attrs(server, ns="prod"), pod(ns="prod"), None)
    await admission.validate(attrs(server, ns="dev"), pod(ns="dev"), None)
    assert len(hook.calls) == 1
    err = await rejected(admission.validate(attrs(server, ns="ghost"), pod(ns="ghost"), None))
    assert err.code == 404
    await admission.validate(attrs(server, ns="", name="n1", plural="nodes"),
                             {"metadata": {"name": "n1"}}, None)  # cluster-scoped: applies
    assert len(hook.calls) == 2
    for env in ("prod", "dev"):  # a Namespace is matched by its own labels
        await admission.validate(attrs(server, ns="", name=f"new-{env}", plural="namespaces"),
                                 {"metadata": {"name": f"new-{env}", "labels": {"env": env}}},
                                 None)
    assert len(hook.calls) == 3 and hook.calls[-1][2]["request"]["namespace"] == "new-prod"


async def test_object_selector_matches_new_or_old_labels(
        server: ApiServer, api: Api, admission: Admission, hook: Hook) -> None:
    rules = rule(["*"], ["pods"])
    await configure(api, "validating", "obj", webhook(
        hook, "/allow", rules=rules, objectSelector={"matchExpressions": [
            {"key": "app", "operator": "In", "values": ["web"]}]}))
    web_pod, other = pod(labels={"app": "web"}), pod(labels={"app": "db"})
    await admission.validate(attrs(server), other, None)
    assert hook.calls == []
    await admission.validate(attrs(server), web_pod, None)
    await admission.validate(attrs(server, "UPDATE"), other, web_pod)
    await admission.validate(attrs(server, "DELETE"), None, web_pod)
    assert [c[2]["request"]["operation"] for c in hook.calls] == ["CREATE", "UPDATE", "DELETE"]


async def test_configuration_changes_apply_to_the_next_request(
        server: ApiServer, api: Api, admission: Admission, hook: Hook) -> None:
    config = await configure(api, "mutating", "m", webhook(hook, "/label/one"))
    assert (await admission.mutate(attrs(server), pod()))["metadata"]["labels"] == {"one": "yes"}
    index = HookIndex(server.store, MUTATING_RES, mutating=True)
    assert index.hooks() is index.hooks()  # compiled once per resourceVersion
    config["webhooks"][0]["clientConfig"]["url"] = f"https://127.0.0.1:{hook.port}/label/two"
    assert (await api.put(f"{REG}/mutatingwebhookconfigurations/m", config))[0] == 200
    assert (await admission.mutate(attrs(server), pod()))["metadata"]["labels"] == {"two": "yes"}


async def test_webhook_configurations_themselves_are_exempt(
        server: ApiServer, api: Api, admission: Admission, hook: Hook) -> None:
    rules = rule(["*"], ["*/*"], "*")
    await configure(api, "validating", "all", webhook(hook, "/deny", rules=rules))
    info = server.catalogue.get("admissionregistration.k8s.io", "v1",
                                "validatingwebhookconfigurations")
    assert info is not None
    await admission.validate(Attributes.of(info, "DELETE", namespace=None, name="all"),
                             None, {"metadata": {"name": "all"}})
    assert hook.calls == []


# -- failures ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/garbage", "/wrong-uid", "/wrong-kind", "/bad-patch",
                                  "/slow/3", "/down", "/http", "/foreign-ca"])
@pytest.mark.parametrize("policy", ["Fail", "Ignore"])
async def test_failed_calls_follow_failure_policy(
        server: ApiServer, api: Api, admission: Admission, hook: Hook, tmp_path: Path,
        path: str, policy: str) -> None:
    entry = webhook(hook, path, "broken.example.com", failurePolicy=policy, timeoutSeconds=1)
    if path == "/down":
        entry["clientConfig"]["url"] = f"https://127.0.0.1:{closed_port()}/"
    elif path == "/http":
        entry["clientConfig"]["url"] = f"http://127.0.0.1:{hook.port}/"
    elif path == "/foreign-ca":
        other = ensure_credentials(tmp_path / "other-pki", [])
        entry["clientConfig"]["caBundle"] = b64(other.ca_cert_pem)
    await configure(api, "mutating", "broken", entry)
    obj, a = pod(), attrs(server)
    if policy == "Ignore":
        assert await admission.mutate(a, obj) is obj
        key = "failed-open.mutation.webhook.admission.k8s.io/round_0_index_0"
        assert a.annotations == {key: "broken.example.com"}
        return
    err = await rejected(admission.mutate(a, obj))
    assert (err.code, err.reason) == (500, "InternalError")
    assert err.message.startswith(
        'Internal error occurred: failed calling webhook "broken.example.com": ')
    expected = {"/slow/3": "context deadline exceeded", "/wrong-uid": "expected response.uid",
                "/down": "connect: connection refused", "/http": "'https' is the only allowed",
                "/foreign-ca": "tls: failed to verify certificate: x509:",
                "/bad-patch": "received undecodable patch", "/wrong-kind": "Kind=Nope"}
    assert expected.get(path, "failed to call webhook") in err.message


@pytest.mark.parametrize("policy", ["Fail", "Ignore"])
async def test_a_patch_that_does_not_apply_fails_whatever_the_policy(
        server: ApiServer, api: Api, admission: Admission, hook: Hook, policy: str) -> None:
    await configure(api, "mutating", "stale", webhook(hook, "/stale-patch",
                                                      failurePolicy=policy))
    err = await rejected(admission.mutate(attrs(server), pod()))
    assert err.code == 500 and "does not apply" in err.message


# -- reinvocation and dry run ------------------------------------------------------------


@pytest.mark.parametrize(("policy", "calls"), [
    ("IfNeeded", ["/label/a", "/label/b", "/label/a"]), ("Never", ["/label/a", "/label/b"])])
async def test_reinvocation_after_a_later_webhook_changed_the_object(
        server: ApiServer, api: Api, admission: Admission, hook: Hook, policy: str,
        calls: list[str]) -> None:
    await configure(api, "mutating", "b-second", webhook(hook, "/label/b"))
    await configure(api, "mutating", "a-first", webhook(hook, "/label/a",
                                                        reinvocationPolicy=policy))
    out = await admission.mutate(attrs(server), pod())
    assert out["metadata"]["labels"] == {"a": "yes", "b": "yes"}
    assert hook.paths() == calls
    if policy == "IfNeeded":  # the second round saw the later webhook's change
        assert hook.calls[-1][2]["request"]["object"]["metadata"]["labels"] == out[
            "metadata"]["labels"]


@pytest.mark.parametrize(("side_effects", "outcome"), [
    ("None", "called"), ("NoneOnDryRun", "called"), ("Some", 400), ("Unknown", 400)])
async def test_dry_run_and_side_effects(server: ApiServer, api: Api, admission: Admission,
                                        hook: Hook, side_effects: str,
                                        outcome: str | int) -> None:
    await configure(api, "validating", "se", webhook(
        hook, "/allow", sideEffects=side_effects, failurePolicy="Ignore"))
    await admission.validate(attrs(server), pod(), None)  # not a dry run: always called
    if outcome == "called":
        await admission.validate(attrs(server, dry_run=True), pod(), None)
        assert [c[2]["request"]["dryRun"] for c in hook.calls] == [False, True]
        assert hook.calls[-1][2]["request"]["options"]["dryRun"] == ["All"]
        return
    err = await rejected(admission.validate(attrs(server, dry_run=True), pod(), None))
    assert err.code == outcome and len(hook.calls) == 1
    assert err.message == 'admission webhook "allow.example.com" does not support dry run'
