"""Verbs against the in-process API server: CRUD, patch types, subresources, errors."""

from __future__ import annotations

import pytest

from mizzen.client import CONFIGMAPS, DEPLOYMENTS, NAMESPACES, NODES, PODS, ApiError, Client
from tests.client.conftest import configmap, deployment, pod


async def test_pod_create_get_update_delete(client: Client) -> None:
    created = await client.create(PODS, pod("web", {"app": "web"}), "default")
    assert created["metadata"]["uid"] and created["metadata"]["namespace"] == "default"
    got = await client.get(PODS, "web", "default")
    assert got == created
    got["metadata"]["labels"]["tier"] = "front"
    updated = await client.update(PODS, got)
    assert updated["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert int(updated["metadata"]["resourceVersion"]) > int(got["metadata"]["resourceVersion"])
    gone = await client.delete(PODS, "web", "default", grace_period_seconds=0)
    assert gone["metadata"]["name"] == "web"
    with pytest.raises(ApiError) as err:
        await client.get(PODS, "web", "default")
    assert err.value.not_found and err.value.status == 404


async def test_namespace_comes_from_the_object_when_not_given(client: Client) -> None:
    body = configmap("cfg", {"a": "1"})
    body["metadata"]["namespace"] = "kube-system"
    created = await client.create(CONFIGMAPS, body)
    assert created["metadata"]["namespace"] == "kube-system"
    with pytest.raises(ValueError, match="namespace"):
        await client.create(CONFIGMAPS, configmap("no-ns"))


async def test_configmap_crud_and_dry_run(client: Client) -> None:
    dry = await client.create(CONFIGMAPS, configmap("cfg", {"a": "1"}), "default", dry_run=True)
    assert dry["data"] == {"a": "1"}
    with pytest.raises(ApiError) as err:
        await client.get(CONFIGMAPS, "cfg", "default")
    assert err.value.not_found
    await client.create(CONFIGMAPS, configmap("cfg", {"a": "1"}), "default")
    cm = await client.get(CONFIGMAPS, "cfg", "default")
    cm["data"]["b"] = "2"
    assert (await client.update(CONFIGMAPS, cm))["data"] == {"a": "1", "b": "2"}
    status = await client.delete(CONFIGMAPS, "cfg", "default")
    assert status["kind"] == "Status" and status["status"] == "Success"


async def test_stale_update_is_a_conflict_and_duplicate_create_already_exists(
        client: Client) -> None:
    first = await client.create(CONFIGMAPS, configmap("cfg"), "default")
    await client.patch(CONFIGMAPS, "cfg", {"data": {"x": "1"}}, "default")
    with pytest.raises(ApiError) as err:
        await client.update(CONFIGMAPS, first)
    assert err.value.conflict and not err.value.already_exists and err.value.status == 409
    with pytest.raises(ApiError) as err:
        await client.create(CONFIGMAPS, configmap("cfg"), "default")
    assert err.value.already_exists and not err.value.conflict
    assert err.value.body is not None and err.value.body["kind"] == "Status"
    # Neither was retried: one attempt each.
    assert client.metrics.counts()[("update", "configmaps")] == 1
    assert client.metrics.counts()[("create", "configmaps")] == 2


async def test_invalid_object_maps_to_invalid(client: Client) -> None:
    bad = deployment("web")
    bad["spec"]["replicas"] = -1
    with pytest.raises(ApiError) as err:
        await client.create(DEPLOYMENTS, bad, "default")
    assert err.value.invalid and err.value.status == 422
    assert any(c.get("field") == "spec.replicas" for c in err.value.causes)


async def test_delete_preconditions(client: Client) -> None:
    await client.create(CONFIGMAPS, configmap("cfg"), "default")
    with pytest.raises(ApiError) as err:
        await client.delete(CONFIGMAPS, "cfg", "default", preconditions={"uid": "not-it"})
    assert err.value.conflict


async def test_patch_types(client: Client) -> None:
    await client.create(DEPLOYMENTS, deployment("web"), "default")
    merged = await client.patch(DEPLOYMENTS, "web", {"metadata": {"labels": {"a": "1"}}},
                                "default")
    assert merged["metadata"]["labels"] == {"a": "1"}
    patched = await client.patch(DEPLOYMENTS, "web",
                                 [{"op": "add", "path": "/metadata/labels/b", "value": "2"}],
                                 "default", patch_type="json")
    assert patched["metadata"]["labels"] == {"a": "1", "b": "2"}
    smp = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}}
    strategic = await client.patch(DEPLOYMENTS, "web", smp, "default", patch_type="strategic")
    containers = strategic["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1 and containers[0]["image"] == "nginx:2"
    # Pre-encoded bodies go out as they are.
    raw = await client.patch(DEPLOYMENTS, "web", b'{"metadata":{"labels":{"c":"3"}}}', "default")
    assert raw["metadata"]["labels"]["c"] == "3"


async def test_patch_type_checks_and_apply_content_type(client: Client) -> None:
    await client.create(CONFIGMAPS, configmap("cfg"), "default")
    with pytest.raises(ValueError, match="unknown patch type"):
        await client.patch(CONFIGMAPS, "cfg", {}, "default", patch_type="xml")
    with pytest.raises(ValueError, match="force"):
        await client.patch(CONFIGMAPS, "cfg", {}, "default", force=True)
    # Server-side apply takes ownership of what it sets, and reports it in managedFields.
    applied = await client.patch(CONFIGMAPS, "cfg", configmap("cfg", {"k": "v"}), "default",
                                 patch_type="apply", force=True, field_manager="me")
    assert applied["data"] == {"k": "v"}
    managers = {(e["manager"], e["operation"]) for e in applied["metadata"]["managedFields"]}
    assert ("me", "Apply") in managers


async def test_status_subresource(client: Client) -> None:
    created = await client.create(DEPLOYMENTS, deployment("web"), "default")
    created["status"] = {"replicas": 2, "readyReplicas": 1}
    updated = await client.update(DEPLOYMENTS, created, subresource="status")
    assert updated["status"]["readyReplicas"] == 1
    patched = await client.patch(DEPLOYMENTS, "web", {"status": {"readyReplicas": 2}},
                                 "default", subresource="status")
    assert patched["status"]["readyReplicas"] == 2
    assert (await client.get(DEPLOYMENTS, "web", "default", subresource="status"))[
        "status"]["readyReplicas"] == 2
    assert client.metrics.counts()[("update", "deployments/status")] == 1


async def test_scale_subresource(client: Client) -> None:
    await client.create(DEPLOYMENTS, deployment("web", replicas=2), "default")
    scale = await client.get(DEPLOYMENTS, "web", "default", subresource="scale")
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 2
    scale = await client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 5}}, "default",
                               subresource="scale")
    assert scale["spec"]["replicas"] == 5
    scale["spec"]["replicas"] = 3
    assert (await client.update(DEPLOYMENTS, scale, subresource="scale"))["spec"]["replicas"] == 3
    assert (await client.get(DEPLOYMENTS, "web", "default"))["spec"]["replicas"] == 3


async def test_cluster_scoped_and_delete_collection(client: Client) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
    assert (await client.create(NODES, node))["metadata"]["name"] == "n1"
    names = {n["metadata"]["name"] for n in (await client.list(NODES))["items"]}
    assert "n1" in names
    assert (await client.get(NAMESPACES, "default"))["status"]["phase"] == "Active"
    for i in range(3):
        await client.create(CONFIGMAPS, configmap(f"c{i}", labels={"batch": "x"}), "default")
    await client.create(CONFIGMAPS, configmap("keep"), "default")
    deleted = await client.delete_collection(CONFIGMAPS, "default", label_selector="batch=x")
    assert sorted(i["metadata"]["name"] for i in deleted["items"]) == ["c0", "c1", "c2"]
    left = await client.list(CONFIGMAPS, "default")
    assert [i["metadata"]["name"] for i in left["items"]] == ["keep"]


async def test_raw_request_escape_hatch(client: Client) -> None:
    assert (await client.request("GET", "/version"))["major"]
    await client.request("POST", "/api/v1/namespaces/default/configmaps",
                         body=configmap("raw"))
    got = await client.request("GET", "/api/v1/namespaces/default/configmaps/raw")
    assert got["metadata"]["name"] == "raw"
    listing = await client.request("GET", "/api/v1/namespaces/default/configmaps",
                                   params={"limit": "1"})
    assert listing["kind"] == "ConfigMapList"
    assert await client.request("GET", "/healthz") == "ok"
    counts = client.metrics.counts()
    assert counts[("create", "configmaps")] == 1
    assert counts[("get", "configmaps")] == 1 and counts[("list", "configmaps")] == 1
    assert counts[("get", "")] == 2  # non-resource paths


async def test_closed_client_refuses_requests(client: Client) -> None:
    await client.close()
    with pytest.raises(RuntimeError, match="closed"):
        await client.get(PODS, "web", "default")
