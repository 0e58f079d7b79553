"""REST verbs over HTTPS against the in-process server: the contract clients rely on."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, eventually

PODS = "/api/v1/namespaces/default/pods"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"


def pod(name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}], **spec}}


def deployment(name: str, replicas: int = 2) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "nginx"}]}}}}


async def test_create_fills_system_metadata_and_get_returns_it(api: Api) -> None:
    code, created = await api.post(PODS, pod("web"))
    assert code == 201, created
    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) > 0
    assert created["status"]["phase"] == "Pending"
    assert created["spec"]["restartPolicy"] == "Always"  # defaulted
    code, got = await api.get(f"{PODS}/web")
    assert code == 200 and got == created


async def test_generate_name_and_duplicate_name(api: Api) -> None:
    body = pod("")
    body["metadata"] = {"generateName": "web-"}
    code, created = await api.post(PODS, body)
    assert code == 201
    name = created["metadata"]["name"]
    assert name.startswith("web-") and len(name) == len("web-") + 5
    code, err = await api.post(PODS, pod(name))
    assert code == 409 and err["reason"] == "AlreadyExists"
    assert err["message"] == f'pods "{name}" already exists'


async def test_resource_versions_strictly_increase_across_kinds(api: Api) -> None:
    seen = []
    for i in range(3):
        _, p = await api.post(PODS, pod(f"p{i}"))
        _, d = await api.post(DEPLOYS, deployment(f"d{i}"))
        seen += [int(p["metadata"]["resourceVersion"]), int(d["metadata"]["resourceVersion"])]
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    _, listing = await api.get(PODS)
    assert int(listing["metadata"]["resourceVersion"]) >= seen[-1]


async def test_update_with_stale_resource_version_conflicts(api: Api) -> None:
    _, created = await api.post(DEPLOYS, deployment("web"))
    fresh = dict(created, spec=dict(created["spec"], replicas=5))
    code, updated = await api.put(f"{DEPLOYS}/web", fresh)
    assert code == 200 and updated["metadata"]["generation"] == 2
    code, err = await api.put(f"{DEPLOYS}/web", created)  # stale resourceVersion
    assert code == 409 and err["reason"] == "Conflict"
    assert "the object has been modified" in err["message"]
    code, got = await api.get(f"{DEPLOYS}/web")
    assert got["spec"]["replicas"] == 5


async def test_status_subresource_separates_spec_and_status(api: Api) -> None:
    _, created = await api.post(DEPLOYS, deployment("web"))
    with_status = dict(created, status={"replicas": 2, "readyReplicas": 1},
                       spec=dict(created["spec"], replicas=9))
    code, updated = await api.put(f"{DEPLOYS}/web/status", with_status)
    assert code == 200
    assert updated["status"]["readyReplicas"] == 1 and updated["spec"]["replicas"] == 2
    assert updated["metadata"]["generation"] == 1
    main_write = dict(updated, status={"replicas": 99})
    code, after = await api.put(f"{DEPLOYS}/web", main_write)
    assert code == 200 and after["status"]["replicas"] == 2


async def test_scale_subresource(api: Api) -> None:
    await api.post(DEPLOYS, deployment("web", 2))
    code, scale = await api.get(f"{DEPLOYS}/web/scale")
    assert code == 200 and scale["kind"] == "Scale" and scale["spec"]["replicas"] == 2
    assert scale["status"]["selector"] == "app=web"
    code, scale = await api.patch(f"{DEPLOYS}/web/scale", {"spec": {"replicas": 4}})
    assert code == 200 and scale["spec"]["replicas"] == 4
    _, got = await api.get(f"{DEPLOYS}/web")
    assert got["spec"]["replicas"] == 4


async def test_json_patch_test_failure_is_422_and_changes_nothing(api: Api) -> None:
    _, created = await api.post(PODS, pod("web", {"a": "1"}))
    ops = [{"op": "test", "path": "/metadata/labels/a", "value": "2"},
           {"op": "replace", "path": "/metadata/labels/a", "value": "3"}]
    code, err = await api.patch(f"{PODS}/web", ops, "application/json-patch+json")
    assert code == 422, err
    _, got = await api.get(f"{PODS}/web")
    assert got["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_merge_patch_and_strategic_merge_patch(api: Api) -> None:
    await api.post(DEPLOYS, deployment("web"))
    code, got = await api.patch(f"{DEPLOYS}/web", {"metadata": {"labels": {"tier": "fe"}}})
    assert code == 200 and got["metadata"]["labels"] == {"tier": "fe"}
    smp = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}}
    code, got = await api.patch(f"{DEPLOYS}/web", smp, "application/strategic-merge-patch+json")
    assert code == 200
    container = got["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:2" and container["name"] == "app"
    assert got["metadata"]["generation"] == 2


async def test_noop_update_does_not_bump_resource_version(api: Api) -> None:
    _, created = await api.post(PODS, pod("web", {"a": "1"}))
    code, same = await api.patch(f"{PODS}/web", {"metadata": {"labels": {"a": "1"}}})
    assert code == 200
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_errors_are_status_objects_with_the_right_codes(api: Api) -> None:
    code, err = await api.get(f"{PODS}/missing")
    assert (code, err["kind"], err["reason"]) == (404, "Status", "NotFound")
    code, err = await api.request("POST", PODS, raw=b"{not json", )
    assert code == 400 and err["reason"] == "BadRequest"
    code, err = await api.post(PODS, deployment("x"))
    assert code == 400
    code, err = await api.get("/api/v1/namespaces/default/widgets")
    assert code == 404
    code, err = await api.post("/api/v1/namespaces/nope/pods", pod("x"))
    assert code == 404 and err["message"] == 'namespaces "nope" not found'
    code, err = await api.patch(f"{PODS}/x", {}, "application/xml")
    assert code == 415
    code, err = await api.request("POST", PODS, raw=b"x" * (3 * 1024 * 1024 + 10))
    assert code == 413
    bad = pod("Bad_Name")
    code, err = await api.post(PODS, bad)
    assert code == 422 and err["reason"] == "Invalid"
    assert any(c["field"] == "metadata.name" for c in err["details"]["causes"])
    code, _ = await api.get(PODS, headers={"Authorization": "Bearer wrong"})
    assert code == 401


async def test_field_validation_strict_warn_ignore(api: Api) -> None:
    body = pod("strict")
    body["spec"]["containers"][0]["imagee"] = "typo"
    code, err = await api.post(PODS + "?fieldValidation=Strict", body)
    assert code == 400 and 'unknown field "spec.containers[0].imagee"' in err["message"]
    code, created = await api.post(PODS + "?fieldValidation=Ignore", body)
    assert code == 201 and "imagee" not in created["spec"]["containers"][0]


async def test_label_and_field_selectors(api: Api) -> None:
    await api.post(PODS, pod("a", {"tier": "fe", "env": "prod"}))
    await api.post(PODS, pod("b", {"tier": "be", "env": "prod"}))
    await api.post(PODS, pod("c", {"tier": "fe"}))
    cases = {
        "tier=fe": {"a", "c"}, "tier==fe": {"a", "c"}, "tier!=fe": {"b"},
        "tier in (fe,be),env": {"a", "b"}, "tier notin (fe)": {"b"}, "!env": {"c"},
    }
    for selector, expected in cases.items():
        code, listing = await api.get(f"{PODS}?labelSelector={selector}")
        assert code == 200
        assert {i["metadata"]["name"] for i in listing["items"]} == expected, selector
    code, listing = await api.get(f"{PODS}?fieldSelector=metadata.name=b")
    assert [i["metadata"]["name"] for i in listing["items"]] == ["b"]
    code, listing = await api.get(f"{PODS}?fieldSelector=status.phase=Pending,metadata.name!=a")
    assert {i["metadata"]["name"] for i in listing["items"]} == {"b", "c"}
    code, err = await api.get(f"{PODS}?fieldSelector=spec.bogus=1")
    assert code == 400


async def test_pagination_is_a_consistent_snapshot(api: Api) -> None:
    for i in range(7):
        await api.post(PODS, pod(f"p{i}"))
    code, page = await api.get(f"{PODS}?limit=3")
    assert len(page["items"]) == 3 and page["metadata"]["remainingItemCount"] == 4
    rv = page["metadata"]["resourceVersion"]
    await api.delete(f"{PODS}/p5")
    await api.post(PODS, pod("p9"))
    names = [i["metadata"]["name"] for i in page["items"]]
    token = page["metadata"]["continue"]
    while token:
        code, page = await api.get(f"{PODS}?limit=3&continue={token}")
        assert code == 200 and page["metadata"]["resourceVersion"] == rv
        names += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
    assert names == [f"p{i}" for i in range(7)]


async def test_finalizers_hold_deletion_until_removed(api: Api) -> None:
    body = pod("held")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    await api.post(PODS, body)
    code, deleting = await api.delete(f"{PODS}/held")
    assert code == 200 and deleting["metadata"]["deletionTimestamp"]
    code, still = await api.get(f"{PODS}/held")
    assert code == 200
    code, _ = await api.patch(f"{PODS}/held", {"metadata": {"finalizers": None}})
    assert code == 200
    code, _ = await api.get(f"{PODS}/held")
    assert code == 404


async def test_graceful_pod_deletion_waits_for_the_kubelet(api: Api) -> None:
    await api.post(PODS, pod("bound", nodeName="node-1"))
    code, deleting = await api.delete(f"{PODS}/bound")
    assert deleting["metadata"]["deletionGracePeriodSeconds"] == 30
    assert (await api.get(f"{PODS}/bound"))[0] == 200
    code, _ = await api.delete(f"{PODS}/bound", {"gracePeriodSeconds": 0})
    assert (await api.get(f"{PODS}/bound"))[0] == 404


async def test_namespace_lifecycle(api: Api) -> None:
    code, _ = await api.post("/api/v1/namespaces", {"metadata": {"name": "team"}})
    assert code == 201
    await api.post("/api/v1/namespaces/team/pods", pod("p"))
    await api.post("/api/v1/namespaces/team/configmaps",
                   {"metadata": {"name": "c"}, "data": {"k": "v"}})
    code, ns = await api.delete("/api/v1/namespaces/team")
    assert code == 200 and ns["status"]["phase"] == "Terminating"
    code, err = await api.post("/api/v1/namespaces/team/pods", pod("late"))
    assert code in (403, 404)

    async def gone() -> bool:
        return (await api.get("/api/v1/namespaces/team"))[0] == 404

    await eventually(gone)
    code, err = await api.delete("/api/v1/namespaces/default")
    assert code == 403


async def test_seeded_namespaces_and_labels(api: Api) -> None:
    _, listing = await api.get("/api/v1/namespaces")
    names = {i["metadata"]["name"] for i in listing["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    _, ns = await api.get("/api/v1/namespaces/default")
    assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == "default"


async def test_delete_collection_by_label(api: Api) -> None:
    await api.post(PODS, pod("a", {"x": "1"}))
    await api.post(PODS, pod("b", {"x": "2"}))
    code, out = await api.delete(f"{PODS}?labelSelector=x=1")
    assert code == 200 and [i["metadata"]["name"] for i in out["items"]] == ["a"]
    _, listing = await api.get(PODS)
    assert [i["metadata"]["name"] for i in listing["items"]] == ["b"]


async def test_binding_assigns_a_node_once(api: Api) -> None:
    await api.post(PODS, pod("web"))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "web"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}}
    code, _ = await api.post(f"{PODS}/web/binding", binding)
    assert code == 201
    _, got = await api.get(f"{PODS}/web")
    assert got["spec"]["nodeName"] == "node-1"
    assert {"type": "PodScheduled", "status": "True"}.items() <= \
        got["status"]["conditions"][0].items()
    code, err = await api.post(f"{PODS}/web/binding", dict(binding, target={"name": "node-2"}))
    assert code == 409 and "already assigned" in err["message"]


async def test_generated_name_collisions_are_generated_again(api: Api,
                                                            monkeypatch: Any) -> None:
    from mizzen.apiserver import objectmeta

    names = iter(["web-aaaaa", "web-aaaaa", "web-bbbbb"])
    monkeypatch.setattr(objectmeta, "generate_name", lambda prefix: next(names))
    body = pod("")
    body["metadata"] = {"generateName": "web-"}
    first = await api.post(PODS, body)
    second = await api.post(PODS, body)
    assert (first[0], second[0]) == (201, 201)
    assert {first[1]["metadata"]["name"], second[1]["metadata"]["name"]} == \
        {"web-aaaaa", "web-bbbbb"}
