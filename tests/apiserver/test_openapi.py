"""``/openapi/v3``: index, self-contained documents, and what kubectl looks for in them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from mizzen.apiserver.openapi import OpenAPI, to_openapi3
from mizzen.apiserver.resources import Catalogue, ResourceInfo, builtin_resources
from mizzen.apiserver.schema import SchemaSet

WIDGET = ResourceInfo("example.com", "v1", "widgets", "Widget", "widget", True,
                      has_status=True, custom=True)


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return SchemaSet()


@pytest.fixture
def cat() -> Catalogue:
    return Catalogue(builtin_resources())


@pytest.fixture
def api(cat: Catalogue, schemas: SchemaSet) -> OpenAPI:
    return OpenAPI(cat, schemas)


def doc(api: OpenAPI, path: str) -> dict[str, Any]:
    body = api.document(path)
    assert body is not None
    parsed: dict[str, Any] = orjson.loads(body)
    return parsed


def walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(where, key, value) of every schema keyword; property names are not keywords."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "properties" and isinstance(v, dict):
                for name, sub in v.items():
                    yield from walk(sub, f"{path}/properties/{name}")
                continue
            yield path, k, v
            yield from walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}/{i}")


def patch_ops(d: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {path: item["patch"] for path, item in d["paths"].items() if "patch" in item}


def test_index_lists_every_group_version(api: OpenAPI) -> None:
    paths = api.index()["paths"]
    assert list(paths)[:2] == ["api/v1", "apis/apps/v1"]
    assert set(paths) == {"api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1",
                          "apis/apiextensions.k8s.io/v1", "apis/admissionregistration.k8s.io/v1"}
    for path, entry in paths.items():
        url = entry["serverRelativeURL"]
        prefix = f"/openapi/v3/{path}?hash="
        assert url.startswith(prefix)
        assert url[len(prefix):] == api.digest(path)
        assert len(url[len(prefix):]) == 128


@pytest.mark.parametrize("path", ["api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1",
                                  "apis/apiextensions.k8s.io/v1",
                                  "apis/admissionregistration.k8s.io/v1"])
def test_documents_are_self_contained_openapi3(api: OpenAPI, path: str) -> None:
    d = doc(api, path)
    assert d["openapi"].startswith("3.0")
    schemas = d["components"]["schemas"]
    for where, key, value in walk(d):
        if key == "$ref":
            assert value.startswith("#/components/schemas/"), where
            assert value.removeprefix("#/components/schemas/") in schemas, (where, value)
        if key == "type" and "/x-kubernetes-" not in where:
            assert isinstance(value, str), where
        assert not (key == "additionalProperties" and value is False), where
    assert "$defs" not in orjson.dumps(d).decode()


def test_documents_hold_only_reachable_definitions(api: OpenAPI) -> None:
    core = doc(api, "api/v1")["components"]["schemas"]
    leases = doc(api, "apis/coordination.k8s.io/v1")["components"]["schemas"]
    assert "io.k8s.api.core.v1.Pod" in core and "io.k8s.api.core.v1.PodSpec" in core
    assert "io.k8s.api.apps.v1.Deployment" not in core
    assert "io.k8s.api.core.v1.Pod" not in leases
    assert "io.k8s.api.coordination.v1.LeaseSpec" in leases
    assert len(leases) < 30


def test_patch_operations_carry_field_validation_and_gvk(api: OpenAPI) -> None:
    for path in ("api/v1", "apis/apps/v1"):
        ops = patch_ops(doc(api, path))
        assert ops
        for op in ops.values():
            names = {p["name"]: p["in"] for p in op["parameters"]}
            assert names["fieldValidation"] == "query"
            assert {"dryRun", "fieldManager", "force"} <= set(names)
            assert set(op["x-kubernetes-group-version-kind"]) == {"group", "version", "kind"}
            assert op["x-kubernetes-action"] == "patch"
    core = patch_ops(doc(api, "api/v1"))
    ns = core["/api/v1/namespaces/{name}"]
    assert ns["x-kubernetes-group-version-kind"] == {"group": "", "version": "v1",
                                                     "kind": "Namespace"}
    assert "application/strategic-merge-patch+json" in ns["requestBody"]["content"]
    scale = patch_ops(doc(api, "apis/apps/v1"))[
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "version": "v1",
                                                        "kind": "Scale"}


def test_resource_paths_and_actions(api: OpenAPI) -> None:
    paths = doc(api, "api/v1")["paths"]
    actions = {(p, m): op["x-kubernetes-action"] for p, item in paths.items()
               for m, op in item.items() if m != "parameters"}
    base = "/api/v1/namespaces/{namespace}/pods"
    assert actions[(base, "get")] == "list"
    assert actions[(base, "post")] == "post"
    assert actions[(base, "delete")] == "deletecollection"
    assert actions[(base + "/{name}", "get")] == "get"
    assert actions[(base + "/{name}", "put")] == "put"
    assert actions[(base + "/{name}", "delete")] == "delete"
    assert actions[(base + "/{name}/status", "patch")] == "patch"
    assert actions[("/api/v1/pods", "get")] == "list"
    assert ("/api/v1/nodes/{name}", "get") in actions
    assert ("/api/v1/namespaces/{namespace}/nodes", "get") not in actions
    # Namespaces have no deletecollection verb.
    assert ("/api/v1/namespaces", "delete") not in actions
    op_ids = [op["operationId"] for item in paths.values() for m, op in item.items()
              if m != "parameters"]
    assert len(op_ids) == len(set(op_ids))
    assert "listCoreV1PodForAllNamespaces" in op_ids
    assert "patchCoreV1NamespacedPodStatus" in op_ids
    pod_item = paths[base + "/{name}"]
    assert [p["name"] for p in pod_item["parameters"]] == ["name", "namespace", "pretty"]
    listing = paths[base]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listing == {"$ref": "#/components/schemas/io.k8s.api.core.v1.PodList"}


def test_schemas_keep_kubernetes_extensions(api: OpenAPI) -> None:
    schemas = doc(api, "api/v1")["components"]["schemas"]
    pod = schemas["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod",
                                                       "version": "v1"}]
    assert pod["type"] == "object"
    assert "enum" not in pod["properties"]["apiVersion"]
    assert pod["properties"]["spec"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}


def test_to_openapi3_conversion() -> None:
    refs: set[str] = set()
    node = {"type": ["object", "null"], "additionalProperties": False,
            "properties": {"type": {"type": ["string", "null"]},
                           "meta": {"$ref": "#/$defs/X", "description": "d"},
                           "plain": {"$ref": "#/$defs/Y"}},
            "x-kubernetes-list-map-keys": ["type"]}
    assert to_openapi3(node, refs) == {
        "type": "object",
        "properties": {"type": {"type": "string"},
                       "meta": {"allOf": [{"$ref": "#/components/schemas/X"}],
                                "description": "d"},
                       "plain": {"$ref": "#/components/schemas/Y"}},
        "x-kubernetes-list-map-keys": ["type"]}
    assert refs == {"X", "Y"}


def test_documents_are_cached_until_the_catalogue_changes(cat: Catalogue,
                                                          api: OpenAPI) -> None:
    first = api.document("api/v1")
    assert api.document("api/v1") is first
    apps_hash = api.digest("apis/apps/v1")
    cat.add(WIDGET)
    assert api.document("api/v1") is first
    assert "apis/example.com/v1" in api.index()["paths"]
    cat.remove("apps", "v1", "daemonsets")
    assert api.digest("apis/apps/v1") != apps_hash
    assert "/apis/apps/v1/namespaces/{namespace}/daemonsets" not in doc(api, "apis/apps/v1")[
        "paths"]


def test_unknown_paths(api: OpenAPI) -> None:
    assert api.document("apis/nope.example.com/v1") is None
    assert api.document("api/v2") is None
    assert api.document("bogus") is None
    assert api.digest("apis/apps") is None


def test_custom_resources_get_a_stub_schema_and_no_strategic_merge(cat: Catalogue,
                                                                   api: OpenAPI) -> None:
    cat.add(WIDGET)
    d = doc(api, "apis/example.com/v1")
    schemas = d["components"]["schemas"]
    widget = schemas["com.example.v1.Widget"]
    assert widget["x-kubernetes-group-version-kind"] == [{"group": "example.com",
                                                          "kind": "Widget", "version": "v1"}]
    assert widget["x-kubernetes-preserve-unknown-fields"] is True
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in schemas
    assert "com.example.v1.WidgetList" in schemas
    ops = patch_ops(d)
    assert set(ops) == {"/apis/example.com/v1/namespaces/{namespace}/widgets/{name}",
                        "/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/status"}
    for op in ops.values():
        assert "application/strategic-merge-patch+json" not in op["requestBody"]["content"]
        assert "application/merge-patch+json" in op["requestBody"]["content"]
        assert "fieldValidation" in {p["name"] for p in op["parameters"]}
    assert ops["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"][
        "operationId"] == "patchExampleComV1NamespacedWidget"


def test_custom_schema_hook_is_used_and_refreshed(cat: Catalogue, schemas: SchemaSet) -> None:
    size: dict[str, Any] = {"type": "integer"}

    def custom(info: ResourceInfo) -> dict[str, Any] | None:
        return {"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "size": size}}}} if info.kind == "Widget" else None

    api = OpenAPI(cat, schemas, custom_schema=custom)
    cat.add(WIDGET)
    widget = doc(api, "apis/example.com/v1")["components"]["schemas"]["com.example.v1.Widget"]
    assert widget["properties"]["spec"]["properties"]["size"] == {"type": "integer"}
    assert widget["properties"]["metadata"] == {
        "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]}
    assert "x-kubernetes-preserve-unknown-fields" not in widget
    before = api.digest("apis/example.com/v1")
    size["minimum"] = 1
    cat.add(WIDGET)  # a CRD update re-registers its versions
    assert api.digest("apis/example.com/v1") != before


def pb_fields(data: bytes) -> list[tuple[int, Any]]:
    """A protobuf message as (field number, varint or bytes) pairs."""
    def varint(i: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = data[i]
            value |= (byte & 0x7F) << shift
            shift, i = shift + 7, i + 1
            if byte < 0x80:
                return value, i
    out: list[tuple[int, Any]] = []
    i = 0
    while i < len(data):
        key, i = varint(i)
        if key & 7 == 0:
            number, i = varint(i)
            out.append((key >> 3, number))
            continue
        assert key & 7 == 2
        size, i = varint(i)
        out.append((key >> 3, data[i:i + size]))
        i += size
    return out


def pb_get(data: bytes, *path: int) -> Any:
    for number in path:
        data = dict(pb_fields(data))[number]
    return data


def test_v2_document_lists_patch_operations_for_old_kubectl(cat: Catalogue,
                                                            api: OpenAPI) -> None:
    cat.add(WIDGET)
    body = api.v2_document()
    assert pb_get(body, 1) == b"2.0"
    assert pb_get(body, 2, 2) == b"v1.32.0"
    ops: dict[str, dict[str, Any]] = {}
    for number, named in pb_fields(pb_get(body, 8)):
        assert number == 2
        path = pb_get(named, 1).decode()
        operation = pb_get(named, 2, 8)  # PathItem.patch
        extension = pb_get(operation, 13)
        assert pb_get(extension, 1) == b"x-kubernetes-group-version-kind"
        query = pb_get(operation, 8, 1, 2, 3)  # ParametersItem > Parameter > NonBody > Query
        ops[path] = {"gvk": orjson.loads(pb_get(extension, 2, 2)),
                     "param": (pb_get(query, 2), pb_get(query, 4)),
                     "id": pb_get(operation, 5).decode()}
    ns = ops["/api/v1/namespaces/{name}"]
    assert ns["gvk"] == {"group": "", "kind": "Namespace", "version": "v1"}
    assert ns["param"] == (b"query", b"fieldValidation")
    assert ns["id"] == "patchCoreV1Namespace"
    deployments = ops["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert deployments["gvk"] == {"group": "apps", "kind": "Deployment", "version": "v1"}
    assert ops["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["gvk"][
        "kind"] == "Widget"
    assert len(ops) == len(list(cat))
