"""CRD conversion through a ConversionReview v1 webhook served over TLS in the test.

v1 (storage) has ``spec.size``; v2 renames it to ``spec.dimensions.size``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from mizzen.apiserver import errors
from mizzen.apiserver.conversion import Converter, strategy_of, validate_conversion
from mizzen.apiserver.security import ensure_credentials
from tests.conftest import Api, eventually

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
V1 = "/apis/example.com/v1/namespaces/default/widgets"
V2 = "/apis/example.com/v2/namespaces/default/widgets"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


@dataclass
class Hook:
    url: str
    ca: bytes
    runner: web.AppRunner
    mode: str = "ok"
    calls: list[int] = field(default_factory=list)  # how many objects each review carried


def to_version(obj: dict[str, Any], desired: str) -> dict[str, Any]:
    spec = dict(obj.get("spec") or {})
    if desired.endswith("/v2") and "size" in spec:
        spec["dimensions"] = {"size": spec.pop("size")}
    elif desired.endswith("/v1") and "dimensions" in spec:
        spec["size"] = spec.pop("dimensions").get("size")
    return {**obj, "apiVersion": desired, "spec": spec}


@pytest.fixture
async def hook(tmp_path: Path) -> AsyncIterator[Hook]:
    creds = ensure_credentials(tmp_path / "hook", ["127.0.0.1", "conv.default.svc"])
    state: list[Hook] = []

    async def convert(request: web.Request) -> web.Response:
        h = state[0]
        req = (await request.json())["request"]
        h.calls.append(len(req["objects"]))
        objs = [to_version(o, req["desiredAPIVersion"]) for o in req["objects"]]
        uid = req["uid"]
        if h.mode == "wrong-uid":
            uid = "not-" + uid
        elif h.mode == "wrong-count":
            objs = objs + objs
        elif h.mode == "rename":
            objs = [{**o, "metadata": {**o["metadata"], "name": "other"}} for o in objs]
        elif h.mode == "label":
            objs = [{**o, "metadata": {**o["metadata"], "labels": {"converted": "yes"},
                                        "generation": 99}} for o in objs]
        result = {"status": "Failure", "message": "nope"} if h.mode == "fail" \
            else {"status": "Success"}
        return web.json_response({"apiVersion": "apiextensions.k8s.io/v1",
                                  "kind": "ConversionReview",
                                  "response": {"uid": uid, "result": result,
                                               "convertedObjects": objs}})

    app = web.Application()
    app.router.add_post("/convert", convert)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=creds.ssl_context())
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.append(Hook(f"https://127.0.0.1:{port}/convert", creds.ca_cert_pem, runner))
    yield state[0]
    await runner.cleanup()


def crd(hook: Hook) -> dict[str, Any]:
    def version(name: str, spec: dict[str, Any]) -> dict[str, Any]:
        size = ".spec.size" if name == "v1" else ".spec.dimensions.size"
        return {"name": name, "served": True, "storage": name == "v1",
                "additionalPrinterColumns": [{"name": "Size", "type": "integer",
                                              "jsonPath": size}],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": spec}}}}}

    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                     "conversion": {"strategy": "Webhook", "webhook": {
                         "conversionReviewVersions": ["v1"],
                         "clientConfig": {"url": hook.url,
                                          "caBundle": base64.b64encode(hook.ca).decode()}}},
                     "versions": [
                         version("v1", {"size": {"type": "integer"}}),
                         version("v2", {"dimensions": {"type": "object", "properties": {
                             "size": {"type": "integer"}}}})]}}


def widget_v2(name: str, size: int) -> dict[str, Any]:
    return {"apiVersion": "example.com/v2", "kind": "Widget", "metadata": {"name": name},
            "spec": {"dimensions": {"size": size}}}


async def established(api: Api, hook: Hook) -> None:
    code, created = await api.post(CRDS, crd(hook))
    assert code == 201, created

    async def served() -> bool:
        return (await api.get(V2))[0] == 200

    await eventually(served)


async def test_written_in_v2_stored_in_v1_and_read_back(api: Api, hook: Hook) -> None:
    await established(api, hook)
    code, created = await api.post(V2, widget_v2("a", 3))
    assert code == 201, created
    assert created["apiVersion"] == "example.com/v2"
    assert created["spec"] == {"dimensions": {"size": 3}}
    stored = api.server.store.get("example.com/widgets", "default", "a")
    assert stored is not None and stored.obj["apiVersion"] == "example.com/v1"
    assert stored.obj["spec"] == {"size": 3}
    code, got = await api.get(f"{V1}/a")
    assert code == 200 and got["spec"] == {"size": 3} and got["apiVersion"] == "example.com/v1"
    code, got = await api.get(f"{V2}/a")
    assert code == 200 and got["spec"] == {"dimensions": {"size": 3}}
    assert got["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    # Updates in v2 (merge patch and PUT) are converted too.
    code, patched = await api.patch(f"{V2}/a", {"spec": {"dimensions": {"size": 5}}})
    assert code == 200 and patched["spec"] == {"dimensions": {"size": 5}}, patched
    code, got = await api.get(f"{V1}/a")
    assert got["spec"] == {"size": 5}
    code, put = await api.put(f"{V2}/a", {**patched, "spec": {"dimensions": {"size": 7}}})
    assert code == 200 and put["spec"] == {"dimensions": {"size": 7}}, put
    assert (await api.get(f"{V1}/a"))[1]["spec"] == {"size": 7}


async def test_list_converts_all_items_in_one_review(api: Api, hook: Hook) -> None:
    await established(api, hook)
    for i in range(3):
        assert (await api.post(V1, {"apiVersion": "example.com/v1", "kind": "Widget",
                                    "metadata": {"name": f"w{i}"}, "spec": {"size": i}}))[0] == 201
    assert hook.calls == []  # v1 writes are stored as they are
    code, listed = await api.get(V2)
    assert code == 200
    assert [o["spec"] for o in listed["items"]] == [{"dimensions": {"size": i}} for i in range(3)]
    assert {o["apiVersion"] for o in listed["items"]} == {"example.com/v2"}
    assert hook.calls == [3]
    code, listed = await api.get(V1)
    assert code == 200 and hook.calls == [3]


async def test_watch_in_v2_sees_converted_objects(api: Api, hook: Hook) -> None:
    await established(api, hook)
    await api.post(V1, {"apiVersion": "example.com/v1", "kind": "Widget",
                        "metadata": {"name": "before"}, "spec": {"size": 1}})
    headers = {"Authorization": f"Bearer {api.server.token}"}
    async with api.session.get(api.server.url + V2 + "?watch=true",
                               headers=headers) as resp:
        first = orjson.loads(await asyncio.wait_for(resp.content.readline(), 5))
        assert first["type"] == "ADDED"
        assert first["object"]["apiVersion"] == "example.com/v2"
        assert first["object"]["spec"] == {"dimensions": {"size": 1}}
        await api.post(V1, {"apiVersion": "example.com/v1", "kind": "Widget",
                            "metadata": {"name": "after"}, "spec": {"size": 2}})
        second = orjson.loads(await asyncio.wait_for(resp.content.readline(), 5))
        assert second["type"] == "ADDED" and second["object"]["metadata"]["name"] == "after"
        assert second["object"]["spec"] == {"dimensions": {"size": 2}}
        # A failing conversion ends the watch with an ERROR event.
        hook.mode = "wrong-uid"
        await api.post(V1, {"apiVersion": "example.com/v1", "kind": "Widget",
                            "metadata": {"name": "broken"}, "spec": {"size": 3}})
        third = orjson.loads(await asyncio.wait_for(resp.content.readline(), 5))
        assert third["type"] == "ERROR" and third["object"]["code"] == 500


async def test_webhook_down_fails_reads_and_writes_change_nothing(api: Api, hook: Hook) -> None:
    await established(api, hook)
    assert (await api.post(V2, widget_v2("a", 3)))[0] == 201
    before = api.server.store.get("example.com/widgets", "default", "a")
    await hook.runner.cleanup()
    for path in (f"{V2}/a", V2):
        code, err = await api.get(path)
        assert code == 500, err
        assert err["reason"] == "InternalError"
        assert err["message"].startswith(
            "Internal error occurred: conversion webhook for example.com/v1, Kind=Widget "
            "failed: Post \"https://127.0.0.1:"), err["message"]
    code, err = await api.patch(f"{V2}/a", {"spec": {"dimensions": {"size": 9}}})
    assert code == 500, err
    code, err = await api.post(V2, widget_v2("b", 1))
    assert code == 500, err
    assert "conversion webhook for example.com/v2, Kind=Widget failed" in err["message"]
    after = api.server.store.get("example.com/widgets", "default", "a")
    assert after is not None and before is not None and after.rv == before.rv
    assert api.server.store.get("example.com/widgets", "default", "b") is None
    # The storage version needs no webhook.
    code, got = await api.get(f"{V1}/a")
    assert code == 200 and got["spec"] == {"size": 3}


@pytest.mark.parametrize(("mode", "message"), [
    ("wrong-uid", 'expected response.uid="'),
    ("wrong-count", "expected 1 converted objects, got 2"),
    ("rename", "invalid metadata of converted object at index 0: must not change "
               "metadata.name"),
    ("fail", "webhook returned failure: nope"),
])
async def test_bad_responses_are_internal_errors(api: Api, hook: Hook, mode: str,
                                                 message: str) -> None:
    await established(api, hook)
    assert (await api.post(V2, widget_v2("a", 3)))[0] == 201
    before = api.server.store.get("example.com/widgets", "default", "a")
    hook.mode = mode
    code, err = await api.get(f"{V2}/a")
    assert code == 500 and message in err["message"], err
    code, err = await api.patch(f"{V2}/a", {"spec": {"dimensions": {"size": 9}}})
    assert code == 500 and message in err["message"], err
    after = api.server.store.get("example.com/widgets", "default", "a")
    assert after is not None and before is not None and after.rv == before.rv


async def test_only_labels_and_annotations_are_taken_from_the_webhook(api: Api,
                                                                      hook: Hook) -> None:
    await established(api, hook)
    assert (await api.post(V2, widget_v2("a", 3)))[0] == 201
    hook.mode = "label"
    code, got = await api.get(f"{V2}/a")
    assert code == 200 and got["metadata"]["labels"] == {"converted": "yes"}
    assert got["metadata"]["generation"] == 1


async def test_strategy_none_needs_no_webhook_and_bad_configs_are_refused(api: Api) -> None:
    assert strategy_of({"spec": {}}).hook is None
    assert validate_conversion({"conversion": {"strategy": "Webhook"}})[0].field == \
        "spec.conversion.webhook"
    causes = validate_conversion({"conversion": {"strategy": "Webhook", "webhook": {
        "conversionReviewVersions": ["v2"], "clientConfig": {"url": "https://x"}}}})
    assert [c.field for c in causes] == ["spec.conversion.webhook.conversionReviewVersions"]
    strategy = strategy_of({"metadata": {"name": "w"}, "spec": {"conversion": {
        "strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"],
                                           "clientConfig": {"url": "http://insecure"}}}}})
    converter = Converter()
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "a"}}
    with pytest.raises(errors.ApiError) as exc:
        await converter.convert(strategy, [obj], "example.com/v2")
    assert exc.value.code == 500 and "'https' is the only allowed URL scheme" in \
        exc.value.message
    assert await converter.convert(strategy, [obj], "example.com/v1") == [obj]
    await converter.close()


async def test_tables_in_v2_show_converted_columns(api: Api, hook: Hook) -> None:
    await established(api, hook)
    await api.post(V1, {"apiVersion": "example.com/v1", "kind": "Widget",
                        "metadata": {"name": "a"}, "spec": {"size": 4}})
    code, got = await api.get(V2, headers={"Accept": TABLE})
    assert code == 200, got
    assert [c["name"] for c in got["columnDefinitions"]][:2] == ["Name", "Size"]
    assert got["rows"][0]["cells"][:2] == ["a", 4]
    headers = {"Authorization": f"Bearer {api.server.token}", "Accept": TABLE}
    async with api.session.get(api.server.url + V2 + "?watch=true",
                               headers=headers) as resp:
        first = orjson.loads(await asyncio.wait_for(resp.content.readline(), 5))
        assert first["type"] == "ADDED" and first["object"]["kind"] == "Table"
        assert first["object"]["rows"][0]["cells"][:2] == ["a", 4]


async def test_service_reference_is_resolved_and_verified_by_service_name(api: Api,
                                                                          hook: Hook) -> None:
    port = int(hook.url.split(":")[2].split("/")[0])
    api.server.custom.converter = Converter(lambda ns, name, _: ("127.0.0.1", port))
    config = crd(hook)
    client = config["spec"]["conversion"]["webhook"]["clientConfig"]
    del client["url"]
    client["service"] = {"namespace": "default", "name": "conv", "path": "/convert"}
    assert (await api.post(CRDS, config))[0] == 201
    await eventually(lambda: _served(api))
    code, created = await api.post(V2, widget_v2("a", 2))
    assert code == 201 and created["spec"] == {"dimensions": {"size": 2}}, created
    assert (await api.get(f"{V1}/a"))[1]["spec"] == {"size": 2}
    # The certificate must name the service: another service name fails verification.
    client["service"]["name"] = "other"
    code, updated = await api.put(f"{CRDS}/widgets.example.com",
                                  {**(await api.get(f"{CRDS}/widgets.example.com"))[1],
                                   "spec": config["spec"]})
    assert code == 200, updated
    code, err = await api.get(f"{V2}/a")
    assert code == 500 and "tls: " in err["message"], err


async def _served(api: Api) -> bool:
    return (await api.get(V2))[0] == 200
