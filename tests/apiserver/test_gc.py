"""Garbage collection: background, foreground and orphan propagation, dangling owners."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, eventually

NS = "/api/v1/namespaces/default"
RS = "/apis/apps/v1/namespaces/default/replicasets"


def owner_ref(owner: dict[str, Any], block: bool = False) -> dict[str, Any]:
    ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
           "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
           "controller": True}
    if block:
        ref["blockOwnerDeletion"] = True
    return ref


def replicaset(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def pod(name: str, owner: dict[str, Any] | None = None, block: bool = False,
        finalizers: list[str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if owner is not None:
        meta["ownerReferences"] = [owner_ref(owner, block)]
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


async def gone(api: Api, path: str) -> bool:
    return (await api.get(path))[0] == 404


async def test_background_deletion_collects_dependents(api: Api) -> None:
    _, rs = await api.post(RS, replicaset("web"))
    for i in range(3):
        assert (await api.post(f"{NS}/pods", pod(f"web-{i}", rs)))[0] == 201
    # A dependent of a missing owner goes; once it has, the collector has seen the pods
    # above too, and left them alone because their owner lives.
    ghost = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
             "metadata": {"name": "ghost", "uid": "00000000-0000-0000-0000-000000000001"}}
    await api.post(f"{NS}/pods", pod("stray", ghost))
    await eventually(lambda: gone(api, f"{NS}/pods/stray"))
    _, listing = await api.get(f"{NS}/pods")
    assert len(listing["items"]) == 3
    code, _ = await api.delete(f"{RS}/web", {"propagationPolicy": "Background"})
    assert code == 200

    async def pods_gone() -> bool:
        _, listing = await api.get(f"{NS}/pods")
        return not listing["items"]

    await eventually(pods_gone)


async def test_orphan_deletion_keeps_dependents_and_strips_owner(api: Api) -> None:
    _, rs = await api.post(RS, replicaset("web"))
    await api.post(f"{NS}/pods", pod("web-0", rs))
    await api.delete(f"{RS}/web", {"propagationPolicy": "Orphan"})
    await eventually(lambda: gone(api, f"{RS}/web"))
    code, p = await api.get(f"{NS}/pods/web-0")
    assert code == 200 and "ownerReferences" not in p["metadata"]


async def test_foreground_deletion_waits_for_blocking_dependents(api: Api) -> None:
    _, rs = await api.post(RS, replicaset("web"))
    await api.post(f"{NS}/pods", pod("held", rs, block=True, finalizers=["test/hold"]))
    code, owner = await api.delete(f"{RS}/web", {"propagationPolicy": "Foreground"})
    assert "foregroundDeletion" in owner["metadata"]["finalizers"]

    async def dependent_deleting() -> bool:
        _, p = await api.get(f"{NS}/pods/held")
        return bool(p["metadata"].get("deletionTimestamp"))

    await eventually(dependent_deleting)
    code, still = await api.get(f"{RS}/web")
    assert code == 200  # blocked by the dependent that cannot go yet
    await api.patch(f"{NS}/pods/held", {"metadata": {"finalizers": None}})
    await eventually(lambda: gone(api, f"{RS}/web"))
    assert await gone(api, f"{NS}/pods/held")


async def test_dependent_of_missing_owner_is_collected(api: Api) -> None:
    ghost = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
             "metadata": {"name": "ghost", "uid": "00000000-0000-0000-0000-000000000000"}}
    code, _ = await api.post(f"{NS}/pods", pod("stray", ghost))
    assert code == 201
    await eventually(lambda: gone(api, f"{NS}/pods/stray"))
