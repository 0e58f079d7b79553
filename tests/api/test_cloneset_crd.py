"""The CloneSet CRD: accepted by the API server, defaults applied, checked-in YAML up to date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mizzen.api.cloneset.crd import CRD_NAME, clonesets_crd, printer_columns, webhook_conversion
from mizzen.api.cloneset.parse import parse_spec
from mizzen.api.crds import all_crds, file_name, main, render
from tests.conftest import Api, eventually

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
CORPUS = Path("/work/shared/corpus/openkruise-docs")
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "crds"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def clonesets(version: str, namespace: str = "default") -> str:
    return f"/apis/apps.kruise.io/{version}/namespaces/{namespace}/clonesets"


async def install(api: Api) -> None:
    code, created = await api.post(CRDS, clonesets_crd())
    assert code == 201, created

    async def established() -> bool:
        _, got = await api.get(f"{CRDS}/{CRD_NAME}")
        conditions = {c["type"]: c["status"] for c in got.get("status", {}).get("conditions", [])}
        return conditions.get("Established") == "True"

    await eventually(established)


def corpus(version: str) -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return [p for p in sorted(CORPUS.glob("cloneset-0*.yaml"))
            if yaml.safe_load(p.read_text())["apiVersion"].endswith(version)]


def minimal(name: str, version: str = "v1beta1", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": f"apps.kruise.io/{version}", "kind": "CloneSet",
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
                     **spec}}


def test_crd_shape() -> None:
    crd = clonesets_crd()
    spec = crd["spec"]
    assert crd["metadata"]["name"] == "clonesets.apps.kruise.io"
    assert spec["names"]["shortNames"] == ["clone"] and spec["scope"] == "Namespaced"
    assert spec["conversion"] == {"strategy": "None"}
    assert [(v["name"], v["served"], v["storage"]) for v in spec["versions"]] == [
        ("v1alpha1", True, False), ("v1beta1", True, True)]
    for version in spec["versions"]:
        assert version["subresources"]["scale"] == {
            "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.labelSelector"}
        props = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        assert props["template"]["x-kubernetes-preserve-unknown-fields"] is True
        assert props["volumeClaimTemplates"]["items"]["x-kubernetes-preserve-unknown-fields"]
        assert props["scaleStrategy"]["properties"]["maxUnavailable"][
            "x-kubernetes-int-or-string"] is True
    names = [(c["name"], c.get("priority", 0)) for c in printer_columns()]
    assert names == [("DESIRED", 0), ("UPDATED", 0), ("UPDATED_READY", 0),
                     ("UPDATED_AVAILABLE", 0), ("READY", 0), ("TOTAL", 0), ("AGE", 0),
                     ("CONTAINERS", 1), ("IMAGES", 1), ("SELECTOR", 1)]


def test_webhook_conversion_block() -> None:
    config = {"service": {"namespace": "mizzen-system", "name": "webhook", "path": "/convert",
                          "port": 443}, "caBundle": "Q0E="}
    crd = clonesets_crd(webhook_conversion(config))
    assert crd["spec"]["conversion"] == {"strategy": "Webhook", "webhook": {
        "clientConfig": config, "conversionReviewVersions": ["v1"]}}
    config["caBundle"] = "changed"
    assert crd["spec"]["conversion"]["webhook"]["clientConfig"]["caBundle"] == "Q0E="


def test_checked_in_crds_equal_the_generated(tmp_path: Path) -> None:
    for crd in all_crds():
        path = DEPLOY / file_name(crd)
        assert path.read_text() == render(crd), (
            f"{path} is stale: run python -m mizzen.api.crds deploy/crds")
        assert yaml.safe_load(path.read_text()) == crd
    assert main([str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        file_name(c) for c in all_crds())
    assert main([]) == 2


async def test_api_server_accepts_the_crd_and_applies_defaults(api: Api) -> None:
    await install(api)
    _, listing = await api.get("/apis/apps.kruise.io/v1beta1")
    names = {r["name"]: r for r in listing["resources"]}
    assert {"clonesets", "clonesets/status", "clonesets/scale"} <= set(names)
    assert names["clonesets"]["shortNames"] == ["clone"]
    code, created = await api.post(clonesets("v1beta1"), minimal("web"))
    assert code == 201, created
    spec = created["spec"]
    assert spec["replicas"] == 1 and spec["revisionHistoryLimit"] == 10
    assert spec["scaleStrategy"] == {"enablePVCReuse": False}
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {
        "podUpdatePolicy": "ReCreate", "partition": 0, "maxUnavailable": "20%", "maxSurge": 0}}
    parsed = parse_spec(created)
    assert parsed == parse_spec(minimal("web")), "server defaults must equal parse_spec defaults"


async def test_v1alpha1_defaults_from_the_schema(api: Api) -> None:
    await install(api)
    code, created = await api.post(clonesets("v1alpha1"), minimal("old", "v1alpha1"))
    assert code == 201, created
    _, got = await api.get(f"{clonesets('v1alpha1')}/old")
    assert got["spec"]["updateStrategy"] == {"type": "ReCreate", "partition": 0,
                                             "maxUnavailable": "20%", "maxSurge": 0}


async def test_schema_rejects_wrong_types(api: Api) -> None:
    await install(api)
    bad = minimal("bad", replicas="three", updateStrategy={"rollingUpdate": {"partition": []}})
    code, err = await api.post(clonesets("v1beta1"), bad)
    assert code == 422, err
    fields = {c.get("field") for c in err["details"]["causes"]}
    assert {"spec.replicas", "spec.updateStrategy.rollingUpdate.partition"} <= fields
    missing = minimal("missing")
    del missing["spec"]["selector"]
    code, err = await api.post(clonesets("v1beta1"), missing)
    assert code == 422 and any(c["field"] == "spec.selector" for c in err["details"]["causes"])


async def test_scale_subresource_and_printer_columns(api: Api) -> None:
    await install(api)
    await api.post(clonesets("v1beta1"), minimal("web", replicas=2))
    code, st = await api.patch(f"{clonesets('v1beta1')}/web/status", {"status": {
        "replicas": 2, "readyReplicas": 1, "updatedReplicas": 2, "updatedReadyReplicas": 1,
        "availableReplicas": 1, "labelSelector": "app=web"}})
    assert code == 200, st
    code, scale = await api.get(f"{clonesets('v1beta1')}/web/scale")
    assert code == 200 and scale["spec"]["replicas"] == 2
    assert scale["status"] == {"replicas": 2, "selector": "app=web"}
    code, table = await api.get(clonesets("v1beta1"), headers={"Accept": TABLE})
    assert code == 200
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns[:8] == ["Name", "DESIRED", "UPDATED", "UPDATED_READY", "UPDATED_AVAILABLE",
                           "READY", "TOTAL", "AGE"]
    row = dict(zip(columns, table["rows"][0]["cells"], strict=True))
    assert (row["DESIRED"], row["UPDATED"], row["READY"], row["TOTAL"]) == (2, 2, 1, 2)
    assert row["IMAGES"] == "nginx" and row["SELECTOR"] == "app=web"


@pytest.mark.skipif(not corpus("v1beta1"), reason="OpenKruise docs corpus not present")
async def test_every_v1beta1_corpus_manifest_is_created_and_defaulted(api: Api) -> None:
    await install(api)
    for path in corpus("v1beta1"):
        manifest = yaml.safe_load(path.read_text())
        code, created = await api.post(clonesets("v1beta1"), manifest)
        assert code == 201, (path.name, created)
        _, got = await api.get(f"{clonesets('v1beta1')}/{manifest['metadata']['name']}")
        assert got["spec"]["template"] == manifest["spec"]["template"], path.name
        assert got["spec"].get("volumeClaimTemplates") == manifest["spec"].get(
            "volumeClaimTemplates"), path.name
        assert got["spec"]["revisionHistoryLimit"] == 10
        assert got["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] == "20%"
        assert parse_spec(got) == parse_spec(manifest), path.name
