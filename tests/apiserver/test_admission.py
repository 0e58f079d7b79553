"""Admission webhooks against a real HTTPS webhook on loopback (mizzen.apiserver.admission).

Configurations are created through the API, :class:`Admission` is driven directly as the
registry will drive it; the test webhook behaves as its URL path says (:data:`ANSWERS`).
"""

from __future__ import annotations

import asyncio
import base64
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
from mizzen.apiserver.admission_match import MUTATING_RES, HookIndex, compile_hook
from mizzen.apiserver.security import Credentials, ensure_credentials
from mizzen.apiserver.server import ApiServer
from tests.conftest import Api

Obj = dict[str, Any]
REG = "/apis/admissionregistration.k8s.io/v1"
STALE = [{"op": "replace", "path": "/spec/nothing/here", "value": 1}]
# What the test webhook adds to its answer, by the first segment of the path.
ANSWERS: dict[str, Obj] = {
    "deny": {"allowed": False, "status": {"code": 403, "reason": "Forbidden",
                                          "message": "no pods today"}},
    "deny-bare": {"allowed": False},
    "label": {"warnings": ["careful"], "auditAnnotations": {"seen": "yes"}},
    "bad-patch": {"patchType": "JSONPatch", "patch": "e25vdCBhIHBhdGNo"},  # "{not a patch"
    "stale-patch": {"patchType": "JSONPatch", "patch": base64.b64encode(
        orjson.dumps(STALE)).decode()},
}


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

    async def handle(self, request: web.Request) -> web.StreamResponse:
        review = await request.json()
        self.calls.append((request.path, dict(request.query), review))
        what, _, arg = request.path.strip("/").partition("/")
        uid = review["request"]["uid"]
        if what == "slow":
            await asyncio.sleep(float(arg))
        if what == "garbage":
            return web.Response(text="<html>this is not json</html>")
        response: Obj = {"uid": "not-" + uid if what == "wrong-uid" else uid, "allowed": True,
                         **ANSWERS.get(what, {})}
        if what == "label":
            labels = (review["request"]["object"] or {}).get("metadata", {}).get("labels")
            op = {"op": "add", "path": f"/metadata/labels/{arg}", "value": "yes"} \
                if labels is not None else \
                {"op": "add", "path": "/metadata/labels", "value": {arg: "yes"}}
            response.update(patchType="JSONPatch", patch=b64(orjson.dumps([op])))
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


def rule(operations: list[str], resources: list[str], group: str = "",
         scope: str = "*") -> list[Obj]:
    return [{"operations": operations, "apiGroups": [group], "resources": resources,
             "apiVersions": ["v1" if group == "" else "*"], "scope": scope}]


def pod(name: str = "p", labels: dict[str, str] | None = None, ns: str = "default") -> Obj:
    meta: Obj = {"name": name, "namespace": ns}
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


@dataclass
class Env:
    """The API server, a client, the webhook server and the Admission under test."""

    server: ApiServer
    api: Api
    hook: Hook
    admission: Admission

    def webhook(self, path: str, name: str = "", **fields: Any) -> Obj:
        """A webhook entry calling ``path`` on the test server, for pod CREATEs by default."""
        client = {"url": f"https://127.0.0.1:{self.hook.port}{path}",
                  "caBundle": b64(self.hook.creds.ca_cert_pem)}
        return {"name": name or f"{path.strip('/').split('/')[0]}.example.com",
                "clientConfig": client, "sideEffects": "None",
                "admissionReviewVersions": ["v1"], "rules": rule(["CREATE"], ["pods"]),
                **fields}

    async def configure(self, kind: str, name: str, *hooks: Obj) -> Obj:
        body = {"apiVersion": "admissionregistration.k8s.io/v1",
                "kind": f"{kind.capitalize()}WebhookConfiguration",
                "metadata": {"name": name}, "webhooks": list(hooks)}
        code, out = await self.api.post(f"{REG}/{kind}webhookconfigurations", body)
        assert code == 201, out
        return dict(out)

    def attrs(self, op: str = "CREATE", ns: str = "default", name: str = "p",
              plural: str = "pods", sub: str = "", dry_run: bool = False) -> Attributes:
        info = self.server.catalogue.get("", "v1", plural)
        assert info is not None
        options = create_options(dry_run=dry_run) if op == "CREATE" else update_options(
            dry_run=dry_run) if op == "UPDATE" else delete_options(dry_run=dry_run)
        return Attributes.of(info, op, namespace=ns if info.namespaced else None, name=name,
                             subresource=sub, dry_run=dry_run, options=options)

    def requests(self) -> list[Obj]:
        return [review["request"] for _, _, review in self.hook.calls]


@pytest.fixture
async def env(server: ApiServer, api: Api, tmp_path: Path) -> AsyncIterator[Env]:
    hook = Hook(ensure_credentials(tmp_path / "hook-pki", ["hook.default.svc"]))
    await hook.start()
    admission = Admission(server.store, server.registry.clock,
                          resolver=lambda ns, name, port: ("127.0.0.1", hook.port))
    yield Env(server, api, hook, admission)
    await admission.close()
    await hook.stop()


async def rejected(call: Any) -> errors.ApiError:
    with pytest.raises(errors.ApiError) as info:
        await call
    return info.value


# -- the happy paths ---------------------------------------------------------------------


async def test_no_configuration_costs_nothing(env: Env) -> None:
    obj = pod()
    assert await env.admission.mutate(env.attrs(), obj) is obj
    await env.admission.validate(env.attrs(), obj, None)
    assert env.hook.calls == []


async def test_mutating_webhook_adds_a_label_on_pod_create(env: Env) -> None:
    await env.configure("mutating", "inject", env.webhook("/label/injected"))
    obj, attrs = pod(), env.attrs()
    out = await env.admission.mutate(attrs, obj)
    assert out["metadata"]["labels"] == {"injected": "yes"}
    assert "labels" not in obj["metadata"], "the caller's object is never changed"
    assert attrs.warnings == ["careful"]
    assert attrs.annotations == {"label.example.com/seen": "yes"}
    (path, query, review), = env.hook.calls
    assert (path, query, review["kind"]) == ("/label/injected", {"timeout": "10s"},
                                             "AdmissionReview")
    req = review["request"]
    assert uuid.UUID(req.pop("uid"))
    pods = {"group": "", "version": "v1", "resource": "pods"}
    assert req == {
        "kind": {"group": "", "version": "v1", "kind": "Pod"}, "resource": pods,
        "requestKind": {"group": "", "version": "v1", "kind": "Pod"}, "requestResource": pods,
        "name": "p", "namespace": "default", "operation": "CREATE",
        "userInfo": {"username": "mizzen-admin",
                     "groups": ["system:masters", "system:authenticated"]},
        "object": obj, "oldObject": None, "dryRun": False,
        "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}}


async def test_webhooks_deny_with_their_message_and_code(env: Env) -> None:
    await env.configure("validating", "a", env.webhook("/deny"))
    await env.configure("validating", "b", env.webhook("/deny-bare"))
    err = await rejected(env.admission.validate(env.attrs(), pod(), None))
    assert (err.code, err.reason) == (403, "Forbidden")
    assert err.message == 'admission webhook "deny.example.com" denied the request: no pods today'
    await env.api.delete(f"{REG}/validatingwebhookconfigurations/a")  # the next request sees it
    err = await rejected(env.admission.validate(env.attrs(), pod(), None))
    assert err.code == 400  # upstream: a code below 400 becomes 400
    assert err.message == ('admission webhook "deny-bare.example.com" denied the request '
                           "without explanation")
    await env.configure("mutating", "m", env.webhook("/deny", "mutating.example.com"))
    err = await rejected(env.admission.mutate(env.attrs(), pod()))
    assert err.code == 403 and err.message.startswith('admission webhook "mutating.example.com"')


async def test_service_references_are_verified_against_the_service_name(env: Env) -> None:
    ca = b64(env.hook.creds.ca_cert_pem)
    good = {"service": {"namespace": "default", "name": "hook", "path": "/label/svc"},
            "caBundle": ca}
    await env.configure("mutating", "svc", env.webhook("", "svc.example.com", clientConfig=good))
    out = await env.admission.mutate(env.attrs(), pod())
    assert out["metadata"]["labels"] == {"svc": "yes"}
    bad = {"service": {"namespace": "default", "name": "other", "path": "/"}, "caBundle": ca}
    await env.configure("validating", "other", env.webhook("", "other.example.com",
                                                           clientConfig=bad))
    err = await rejected(env.admission.validate(env.attrs(), pod(), None))
    assert err.code == 500 and "other.default.svc" in err.message
    assert err.message.startswith('Internal error occurred: failed calling webhook '
                                  '"other.example.com": failed to call webhook: Post ')


async def test_validating_webhooks_run_concurrently(env: Env) -> None:
    await env.configure("validating", "slow", env.webhook("/slow/0.6", "one.example.com"),
                        env.webhook("/slow/0.6", "two.example.com"))
    started = time.monotonic()
    await env.admission.validate(env.attrs(), pod(), None)
    assert len(env.hook.calls) == 2 and time.monotonic() - started < 1.1  # not 1.2


async def test_delete_sends_the_old_object_and_a_patch_on_delete_fails(env: Env) -> None:
    rules = rule(["DELETE"], ["*"], "*")
    await env.configure("validating", "v", env.webhook("/allow", rules=rules))
    old = pod()
    await env.admission.validate(env.attrs("DELETE"), None, old)
    (req,) = env.requests()
    assert (req["object"], req["oldObject"], req["options"]["kind"]) == (None, old,
                                                                           "DeleteOptions")
    await env.configure("mutating", "m", env.webhook("/label/x", rules=rules))
    err = await rejected(env.admission.mutate(env.attrs("DELETE"), None, old))
    assert err.code == 500 and "attempted to modify the object" in err.message


# -- matching ----------------------------------------------------------------------------


@pytest.mark.parametrize(("resources", "sub", "scope", "called"), [
    (["pods"], "", "*", True), (["pods"], "status", "*", False),
    (["pods/status"], "status", "*", True), (["pods/status"], "", "*", False),
    (["pods/*"], "status", "*", True), (["*"], "status", "*", False),
    (["*/status"], "status", "*", True), (["*/*"], "ephemeralcontainers", "*", True),
    (["pods"], "", "Cluster", False), (["pods"], "", "Namespaced", True),
])
async def test_rules_match_resources_subresources_and_scope(
        env: Env, resources: list[str], sub: str, scope: str, called: bool) -> None:
    rules = rule(["UPDATE"], resources, scope=scope)
    await env.configure("validating", "r", env.webhook("/allow", rules=rules))
    await env.admission.validate(env.attrs("UPDATE", sub=sub), pod(), pod())
    await env.admission.validate(env.attrs("CREATE", sub=sub), pod(), None)  # not UPDATE
    assert len(env.hook.calls) == int(called)
    if called and sub:
        assert env.requests()[0]["subResource"] == sub


async def test_namespace_selector(env: Env) -> None:
    for name in ("prod", "dev"):
        await env.api.post("/api/v1/namespaces", {"metadata": {"name": name,
                                                               "labels": {"env": name}}})
    rules = rule(["CREATE", "UPDATE"], ["pods", "namespaces", "namespaces/status", "nodes"], "*")
    await env.configure("validating", "ns", env.webhook(
        "/allow", rules=rules, namespaceSelector={"matchLabels": {"env": "prod"}}))
    await env.admission.validate(env.attrs(ns="prod"), pod(ns="prod"), None)
    await env.admission.validate(env.attrs(ns="dev"), pod(ns="dev"), None)
    assert len(env.hook.calls) == 1
    err = await rejected(env.admission.validate(env.attrs(ns="ghost"), pod(ns="ghost"), None))
    assert err.code == 404
    await env.admission.validate(env.attrs(ns="", name="n1", plural="nodes"),
                                 {"metadata": {"name": "n1"}}, None)  # cluster-scoped: applies
    assert len(env.hook.calls) == 2
    for name in ("prod", "dev"):  # a Namespace is matched by its own labels...
        await env.admission.validate(env.attrs(ns="", name=f"new-{name}", plural="namespaces"),
                                     {"metadata": {"name": f"new-{name}",
                                                   "labels": {"env": name}}}, None)
    assert len(env.hook.calls) == 3 and env.requests()[-1]["namespace"] == "new-prod"
    # ...and its status by the stored namespace's labels.
    await env.admission.validate(env.attrs("UPDATE", "", "prod", "namespaces", "status"),
                                 {"metadata": {"name": "prod"}}, {"metadata": {"name": "prod"}})
    assert len(env.hook.calls) == 4


async def test_object_selector_matches_new_or_old_labels(env: Env) -> None:
    await env.configure("validating", "obj", env.webhook(
        "/allow", rules=rule(["*"], ["pods"]), objectSelector={"matchExpressions": [
            {"key": "app", "operator": "In", "values": ["web"]}]}))
    web_pod, other = pod(labels={"app": "web"}), pod(labels={"app": "db"})
    await env.admission.validate(env.attrs(), other, None)
    assert env.hook.calls == []
    await env.admission.validate(env.attrs(), web_pod, None)
    await env.admission.validate(env.attrs("UPDATE"), other, web_pod)
    await env.admission.validate(env.attrs("DELETE"), None, web_pod)
    assert [r["operation"] for r in env.requests()] == ["CREATE", "UPDATE", "DELETE"]


async def test_configuration_changes_apply_to_the_next_request(env: Env) -> None:
    config = await env.configure("mutating", "m", env.webhook("/label/one"))
    out = await env.admission.mutate(env.attrs(), pod())
    assert out["metadata"]["labels"] == {"one": "yes"}
    index = HookIndex(env.server.store, MUTATING_RES, mutating=True)
    assert index.hooks() is index.hooks()  # compiled once per resourceVersion
    config["webhooks"][0]["clientConfig"]["url"] = f"https://127.0.0.1:{env.hook.port}/label/two"
    assert (await env.api.put(f"{REG}/mutatingwebhookconfigurations/m", config))[0] == 200
    out = await env.admission.mutate(env.attrs(), pod())
    assert out["metadata"]["labels"] == {"two": "yes"}


async def test_webhook_configurations_themselves_are_exempt(env: Env) -> None:
    rules = rule(["*"], ["*/*"], "*")
    await env.configure("validating", "all", env.webhook("/deny", rules=rules))
    info = env.server.catalogue.get("admissionregistration.k8s.io", "v1",
                                    "validatingwebhookconfigurations")
    assert info is not None
    await env.admission.validate(Attributes.of(info, "DELETE", namespace=None, name="all"),
                                 None, {"metadata": {"name": "all"}})
    assert env.hook.calls == []


# -- failures ----------------------------------------------------------------------------

FAILURES = {"/garbage": "failed to call webhook: invalid JSON",
            "/wrong-uid": "received invalid webhook response: expected response.uid",
            "/wrong-kind": "Kind=Nope", "/bad-patch": "received undecodable patch",
            "/slow/3": "context deadline exceeded", "/down": "connect: connection refused",
            "/http": "'https' is the only allowed URL scheme",
            "/foreign-ca": "tls: failed to verify certificate: x509:"}


@pytest.mark.parametrize("path", list(FAILURES))
@pytest.mark.parametrize("policy", ["Fail", "Ignore"])
async def test_failed_calls_follow_failure_policy(env: Env, tmp_path: Path, path: str,
                                                  policy: str) -> None:
    entry = env.webhook(path, "broken.example.com", failurePolicy=policy, timeoutSeconds=1)
    if path == "/down":
        entry["clientConfig"]["url"] = f"https://127.0.0.1:{closed_port()}/"
    elif path == "/http":
        entry["clientConfig"]["url"] = f"http://127.0.0.1:{env.hook.port}/"
    elif path == "/foreign-ca":
        other = ensure_credentials(tmp_path / "other-pki", [])
        entry["clientConfig"]["caBundle"] = b64(other.ca_cert_pem)
    await env.configure("mutating", "broken", entry)
    obj, attrs = pod(), env.attrs()
    if policy == "Ignore":
        assert await env.admission.mutate(attrs, obj) is obj
        key = "failed-open.mutation.webhook.admission.k8s.io/round_0_index_0"
        assert attrs.annotations == {key: "broken.example.com"}
        return
    err = await rejected(env.admission.mutate(attrs, obj))
    assert (err.code, err.reason) == (500, "InternalError")
    assert err.message.startswith(
        'Internal error occurred: failed calling webhook "broken.example.com": ')
    assert FAILURES[path] in err.message


@pytest.mark.parametrize("policy", ["Fail", "Ignore"])
async def test_a_patch_that_does_not_apply_fails_whatever_the_policy(env: Env,
                                                                     policy: str) -> None:
    await env.configure("mutating", "stale", env.webhook("/stale-patch", failurePolicy=policy))
    err = await rejected(env.admission.mutate(env.attrs(), pod(labels={"secret": "s3cr3t"})))
    assert err.code == 500 and "s3cr3t" not in err.message  # never quotes the object
    assert err.message == ('Internal error occurred: admission webhook "stale-patch.example.com" '
                           "returned a patch that does not apply: operation 0 "
                           "(replace /spec/nothing/here): path not found")


def test_malformed_configurations_fail_their_calls_not_the_server() -> None:
    hook = compile_hook("c", 0, {"name": "x", "timeoutSeconds": 99, "clientConfig": {
        "url": "https://h.example/", "caBundle": "not base64!"},
        "objectSelector": {"matchLabels": ["a"]}}, mutating=False)
    assert hook.broken == "unable to load root certificates: caBundle is not base64 PEM"
    assert hook.selector_error == 'webhook "x" has an invalid selector'
    assert hook.timeout == 30
    hook = compile_hook("c", 1, {"clientConfig": {"service": {"name": "s"}}}, mutating=True)
    assert hook.broken.startswith("clientConfig.service needs a namespace")


# -- reinvocation and dry run ------------------------------------------------------------


@pytest.mark.parametrize(("policy", "calls"), [
    ("IfNeeded", ["/label/a", "/label/b", "/label/a"]), ("Never", ["/label/a", "/label/b"])])
async def test_reinvocation_after_a_later_webhook_changed_the_object(
        env: Env, policy: str, calls: list[str]) -> None:
    await env.configure("mutating", "b-second", env.webhook("/label/b"))
    await env.configure("mutating", "a-first", env.webhook("/label/a",
                                                           reinvocationPolicy=policy))
    out = await env.admission.mutate(env.attrs(), pod())
    assert out["metadata"]["labels"] == {"a": "yes", "b": "yes"}
    assert [path for path, _, _ in env.hook.calls] == calls
    if policy == "IfNeeded":  # the second round saw the later webhook's change
        assert env.requests()[-1]["object"]["metadata"]["labels"] == out["metadata"]["labels"]


@pytest.mark.parametrize(("side_effects", "outcome"), [
    ("None", "called"), ("NoneOnDryRun", "called"), ("Some", 400), ("Unknown", 400)])
async def test_dry_run_and_side_effects(env: Env, side_effects: str,
                                        outcome: str | int) -> None:
    await env.configure("validating", "se", env.webhook(
        "/allow", sideEffects=side_effects, failurePolicy="Ignore"))
    await env.admission.validate(env.attrs(), pod(), None)  # not a dry run: always called
    if outcome == "called":
        await env.admission.validate(env.attrs(dry_run=True), pod(), None)
        assert [r["dryRun"] for r in env.requests()] == [False, True]
        assert env.requests()[-1]["options"]["dryRun"] == ["All"]
        return
    err = await rejected(env.admission.validate(env.attrs(dry_run=True), pod(), None))
    assert err.code == outcome and len(env.hook.calls) == 1
    assert err.message == 'admission webhook "allow.example.com" does not support dry run'
