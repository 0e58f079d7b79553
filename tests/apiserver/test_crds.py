"""Custom resources: a CRD is served at once, validated, converted between versions, cleaned up."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, eventually

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS_V1 = "/apis/example.com/v1/namespaces/default/widgets"
WIDGETS_V2 = "/apis/example.com/v2/namespaces/default/widgets"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def schema() -> dict[str, Any]:
    return {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "integer", "minimum": 1},
            "replicas": {"type": "integer", "default": 1},
            "color": {"type": "string", "enum": ["red", "blue"]},
            "selector": {"type": "string"}}},
        "status": {"type": "object", "properties": {
            "replicas": {"type": "integer"}, "phase": {"type": "string"}}}}}}


def crd() -> dict[str, Any]:
    version = {"served": True, "schema": schema(),
               "subresources": {"status": {}, "scale": {
                   "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
                   "labelSelectorPath": ".spec.selector"}},
               "additionalPrinterColumns": [
                   {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                   {"name": "Phase", "type": "string", "jsonPath": ".status.phase"}]}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                               "shortNames": ["wd"], "categories": ["all"]},
                     "versions": [dict(version, name="v1", storage=True),
                                  dict(version, name="v2", storage=False)]}}


def widget(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name},
            "spec": {"size": 3, **spec}}


async def established(api: Api) -> None:
    code, created = await api.post(CRDS, crd())
    assert code == 201, created

    async def ready() -> bool:
        _, got = await api.get(f"{CRDS}/widgets.example.com")
        conditions = {c["type"]: c["status"] for c in got.get("status", {}).get("conditions", [])}
        return conditions.get("Established") == "True"

    await eventually(ready)


async def test_crd_is_served_and_discoverable_at_once(api: Api) -> None:
    await established(api)
    _, listing = await api.get("/apis/example.com/v1")
    names = {r["name"] for r in listing["resources"]}
    assert {"widgets", "widgets/status", "widgets/scale"} <= names
    _, groups = await api.get("/apis")
    assert any(g["name"] == "example.com" for g in groups["groups"])
    code, created = await api.post(WIDGETS_V1, widget("w1"))
    assert code == 201, created
    assert created["spec"]["replicas"] == 1  # defaulted from the schema
    assert created["metadata"]["generation"] == 1


async def test_objects_read_back_in_every_served_version(api: Api) -> None:
    await established(api)
    await api.post(WIDGETS_V1, widget("w1"))
    code, v2 = await api.get(f"{WIDGETS_V2}/w1")
    assert code == 200 and v2["apiVersion"] == "example.com/v2"
    _, listing = await api.get(WIDGETS_V2)
    assert [i["apiVersion"] for i in listing["items"]] == ["example.com/v2"]
    body = dict(v2, spec=dict(v2["spec"], size=7))
    code, updated = await api.put(f"{WIDGETS_V2}/w1", body)
    assert code == 200 and updated["apiVersion"] == "example.com/v2"
    _, v1 = await api.get(f"{WIDGETS_V1}/w1")
    assert v1["spec"]["size"] == 7 and v1["apiVersion"] == "example.com/v1"


async def test_invalid_custom_objects_are_rejected_with_causes(api: Api) -> None:
    await established(api)
    code, err = await api.post(WIDGETS_V1, widget("bad", size=0, color="green"))
    assert code == 422 and err["reason"] == "Invalid"
    fields = {c["field"] for c in err["details"]["causes"]}
    assert {"spec.size", "spec.color"} <= fields
    missing = widget("missing")
    del missing["spec"]["size"]
    code, err = await api.post(WIDGETS_V1, missing)
    assert code == 422 and any(c["field"] == "spec.size" for c in err["details"]["causes"])
    code, err = await api.post(WIDGETS_V1 + "?fieldValidation=Strict", widget("x", extra=1))
    assert code == 400 and 'unknown field "spec.extra"' in err["message"]
    code, created = await api.post(WIDGETS_V1, widget("pruned", extra=1))
    assert code == 201 and "extra" not in created["spec"]
    _, listing = await api.get(WIDGETS_V1)
    assert [i["metadata"]["name"] for i in listing["items"]] == ["pruned"]


async def test_custom_write_rules(api: Api) -> None:
    await established(api)
    _, created = await api.post(WIDGETS_V1, widget("w1", selector="app=w"))
    no_rv = dict(created, metadata={"name": "w1"})
    code, err = await api.put(f"{WIDGETS_V1}/w1", no_rv)
    assert code == 422 and "resourceVersion" in err["message"]
    code, _ = await api.patch(f"{WIDGETS_V1}/w1", {"spec": {"size": 4}},
                              "application/strategic-merge-patch+json")
    assert code == 415
    code, patched = await api.patch(f"{WIDGETS_V1}/w1", {"metadata": {"labels": {"a": "b"}}})
    assert code == 200 and patched["metadata"]["generation"] == 1
    code, patched = await api.patch(f"{WIDGETS_V1}/w1", {"spec": {"size": 4}})
    assert patched["metadata"]["generation"] == 2
    code, st = await api.patch(f"{WIDGETS_V1}/w1/status",
                               {"status": {"replicas": 1, "phase": "Ready"}})
    assert code == 200 and st["status"]["phase"] == "Ready" and st["spec"]["size"] == 4
    code, scale = await api.get(f"{WIDGETS_V1}/w1/scale")
    assert scale["spec"]["replicas"] == 1 and scale["status"]["selector"] == "app=w"
    code, scale = await api.patch(f"{WIDGETS_V1}/w1/scale", {"spec": {"replicas": 5}})
    assert code == 200
    _, got = await api.get(f"{WIDGETS_V1}/w1")
    assert got["spec"]["replicas"] == 5


async def test_printer_columns_in_tables(api: Api) -> None:
    await established(api)
    await api.post(WIDGETS_V1, widget("w1"))
    await api.patch(f"{WIDGETS_V1}/w1/status", {"status": {"phase": "Ready"}})
    code, table = await api.get(WIDGETS_V1, headers={"Accept": TABLE})
    assert code == 200 and table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size", "Phase", "Age"]
    assert table["rows"][0]["cells"][:3] == ["w1", 3, "Ready"]


async def test_deleting_the_crd_deletes_its_objects(api: Api) -> None:
    await established(api)
    await api.post(WIDGETS_V1, widget("w1"))
    await api.post(WIDGETS_V1, widget("w2"))
    code, _ = await api.delete(f"{CRDS}/widgets.example.com")
    assert code == 200

    async def crd_gone() -> bool:
        return (await api.get(f"{CRDS}/widgets.example.com"))[0] == 404

    await eventually(crd_gone)
    code, _ = await api.get(WIDGETS_V1)
    assert code == 404
    # Re-creating the CRD finds no leftovers.
    await established(api)
    _, listing = await api.get(WIDGETS_V1)
    assert listing["items"] == []


async def test_invalid_crd_is_rejected(api: Api) -> None:
    bad = crd()
    bad["metadata"]["name"] = "wrong.example.com"
    bad["spec"]["versions"][1]["storage"] = True
    code, err = await api.post(CRDS, bad)
    assert code == 422
    fields = {c["field"] for c in err["details"]["causes"]}
    assert {"metadata.name", "spec.versions"} <= fields
