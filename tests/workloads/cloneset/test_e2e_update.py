"""CloneSet end to end: in-place updates, recreation, InPlaceOnly refusal, rollback, OnDelete."""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.apiserver.server import ApiServer
from mizzen.client.errors import ApiError
from mizzen.client.resources import CONTROLLERREVISIONS, PODS, Resource
from mizzen.runtime.reconcile import Request
from mizzen.workloads.cloneset.decision import PodPatch
from tests.workloads.cloneset.harness import (
    NS,
    Env,
    PodTrace,
    app_and_sidecar,
    cloneset,
    condition,
    revision_of,
    running,
)

Obj = dict[str, Any]
V1ALPHA1 = Resource("apps.kruise.io", "v1alpha1", "clonesets", "CloneSet", True)


def identity(pod: Obj) -> tuple[str, str, str]:
    return (pod["metadata"]["uid"], pod["status"].get("podIP", ""),
            pod["spec"].get("nodeName", ""))


def container_status(pod: Obj) -> Obj:
    return dict(pod["status"]["containerStatuses"][0])


async def by_instance(env: Env) -> dict[str, Obj]:
    return {p["metadata"]["labels"]["apps.kruise.io/cloneset-instance-id"]: p
            for p in await env.pods()}


async def test_in_place_image_update_keeps_uid_ip_and_node(server: ApiServer) -> None:
    async with running(server) as env:
        await env.create(cloneset(replicas=3, policy="InPlaceIfPossible",
                                  max_unavailable=1))
        first = await env.settled()
        before = await by_instance(env)
        await env.set_image("nginx:1.26")
        cs = await env.settled(timeout=30)
        assert cs["status"]["updateRevision"] != first["status"]["updateRevision"]
        assert cs["status"]["currentRevision"] == cs["status"]["updateRevision"]
        after = await by_instance(env)
        assert after.keys() == before.keys()
        for id_, pod in after.items():
            old = before[id_]
            assert identity(pod) == identity(old), id_
            status, old_status = container_status(pod), container_status(old)
            assert status["image"] == "nginx:1.26"
            assert status["restartCount"] == old_status["restartCount"] + 1
            assert status["imageID"] != old_status["imageID"]
            assert revision_of(pod) == cs["status"]["updateRevision"]
            assert pod["metadata"]["labels"]["lifecycle.apps.kruise.io/state"] == "Normal"
            assert "apps.kruise.io/inplace-update-state" in pod["metadata"]["annotations"]
            gate = [c for c in pod["status"]["conditions"] if c["type"] == "InPlaceUpdateReady"]
            assert gate and gate[0]["status"] == "True"


async def test_a_non_image_change_recreates_pods(server: ApiServer) -> None:
    async with running(server) as env:
        await env.create(cloneset(replicas=2, policy="InPlaceIfPossible", max_unavailable=1))
        await env.settled()
        before = {p["metadata"]["uid"] for p in await env.pods()}
        cs = await env.get()
        tpl = cs["spec"]["template"]
        tpl["spec"]["containers"][0]["env"] = [{"name": "MODE", "value": "fast"}]
        await env.patch_spec({"template": tpl})
        await env.settled(timeout=30)
        after = await env.pods()
        assert not before & {p["metadata"]["uid"] for p in after}
        assert all(p["spec"]["containers"][0]["env"] == [{"name": "MODE", "value": "fast"}]
                   for p in after)


async def test_in_place_only_refuses_a_recreate_and_says_why(server: ApiServer) -> None:
    async with running(server) as env:
        await env.create(cloneset(replicas=2, policy="InPlaceOnly"))
        await env.settled()
        uids = {p["metadata"]["uid"] for p in await env.pods()}
        cs = await env.get()
        tpl = cs["spec"]["template"]
        tpl["spec"]["containers"][0]["env"] = [{"name": "MODE", "value": "fast"}]
        await env.patch_spec({"template": tpl})

        async def blocked() -> Obj | None:
            return condition(await env.get(), "RolloutBlocked")

        cond = await env.wait(blocked, "RolloutBlocked condition")
        assert cond["status"] == "True" and cond["reason"] == "InPlaceOnlyRefused"
        assert "spec.containers[app].env changed" in cond["message"]
        assert {p["metadata"]["uid"] for p in await env.pods()} == uids
        # An image-only template is accepted again: the block clears.
        tpl["spec"]["containers"][0].pop("env")
        tpl["spec"]["containers"][0]["image"] = "nginx:1.26"
        await env.patch_spec({"template": tpl})
        cs = await env.settled(timeout=30)
        assert condition(cs, "RolloutBlocked") is None
        assert {p["metadata"]["uid"] for p in await env.pods()} == uids


async def test_rollback_reuses_the_old_revision(server: ApiServer) -> None:
    async with running(server) as env:
        await env.create(cloneset(replicas=2, policy="InPlaceIfPossible", max_unavailable=1))
        v1 = (await env.settled())["status"]["updateRevision"]
        await env.set_image("nginx:1.26")
        v2 = (await env.settled(timeout=30))["status"]["updateRevision"]
        await env.set_image("nginx:1.25")
        cs = await env.settled(timeout=30)
        assert cs["status"]["updateRevision"] == v1 != v2
        revisions = {r["metadata"]["name"]: r["revision"]
                     for r in (await env.client.list(CONTROLLERREVISIONS, NS))["items"]}
        assert revisions == {v1: 3, v2: 2}
        assert {revision_of(p) for p in await env.pods()} == {v1}


async def test_on_delete_updates_only_pods_someone_deletes(server: ApiServer) -> None:
    async with running(server) as env:
        await env.create(cloneset(replicas=2, update_type="OnDelete"))
        v1 = (await env.settled())["status"]["updateRevision"]
        await env.set_image("nginx:1.26")

        async def new_revision() -> bool:
            status = (await env.get()).get("status") or {}
            return status.get("updateRevision") not in (None, v1) \
                and status.get("observedGeneration") == 2
        await env.wait(new_revision, "new update revision")
        pods = await env.pods()
        assert {revision_of(p) for p in pods} == {v1}
        victim = pods[0]["metadata"]["name"]
        await env.client.delete(PODS, victim, NS)
        cs = await env.settled(updated=1, timeout=30)
        revisions = sorted(revision_of(p) for p in await env.pods())
        assert revisions == sorted([v1, cs["status"]["updateRevision"]])


async def test_two_containers_update_in_two_batches_by_priority(server: ApiServer) -> None:
    async with running(server) as env:
        body = cloneset(replicas=1, policy="InPlaceIfPossible")
        body["spec"]["template"]["spec"]["containers"] = app_and_sidecar("nginx:1.25", "envoy:1")
        await env.create(body)
        await env.settled()
        (before,) = await env.pods()
        images: list[tuple[str, str]] = []

        def record(pods: list[Obj]) -> None:
            for pod in pods:
                spec = {c["name"]: c["image"] for c in pod["spec"]["containers"]}
                seen = (spec["app"], spec["sidecar"])
                if not images or images[-1] != seen:
                    images.append(seen)

        async with PodTrace(env.client, record, clock=env.clock):
            cs = await env.get()
            cs["spec"]["template"]["spec"]["containers"] = app_and_sidecar("nginx:1.26", "envoy:2")
            await env.patch_spec({"template": cs["spec"]["template"]})
            await env.settled(timeout=30)
        # The sidecar (priority 10) first; the app once the sidecar runs its new image.
        assert images == [("nginx:1.25", "envoy:1"), ("nginx:1.25", "envoy:2"),
                          ("nginx:1.26", "envoy:2")]
        (after,) = await env.pods()
        assert identity(after) == identity(before)
        assert sorted(c["restartCount"] for c in after["status"]["containerStatuses"]) == [1, 1]


async def test_a_v1alpha1_cloneset_is_served_and_updated_in_place(server: ApiServer) -> None:
    """With the conversion webhook, a v1alpha1 CloneSet (stored as v1beta1) behaves the same
    and reports its status in either version."""
    async with running(server, webhooks=True) as env:
        await env.create(cloneset(replicas=2, version="v1alpha1", policy="InPlaceIfPossible",
                                  max_unavailable=1))
        await env.settled()
        uids = {p["metadata"]["uid"] for p in await env.pods()}
        alpha = await env.client.get(V1ALPHA1, "web", NS)
        tpl = alpha["spec"]["template"]
        tpl["spec"]["containers"][0]["image"] = "nginx:1.26"
        await env.client.patch(V1ALPHA1, "web", {"spec": {"template": tpl}}, NS)
        cs = await env.settled(timeout=30)
        assert {p["metadata"]["uid"] for p in await env.pods()} == uids
        alpha = await env.client.get(V1ALPHA1, "web", NS)
        assert alpha["spec"]["updateStrategy"]["type"] == "InPlaceIfPossible"
        assert alpha["status"]["updatedReadyReplicas"] == 2
        assert alpha["status"]["updateRevision"] == cs["status"]["updateRevision"]


async def test_in_place_update_to_an_image_with_the_same_image_id(server: ApiServer) -> None:
    digest = "sha256:" + "ab" * 32
    async with running(server) as env:
        await env.create(cloneset(replicas=1, image=f"nginx:a@{digest}",
                                  policy="InPlaceIfPossible"))
        await env.settled()
        (before,) = await env.pods()
        await env.set_image(f"nginx:b@{digest}")
        await env.settled(timeout=30)
        (after,) = await env.pods()
        assert identity(after) == identity(before)
        status, old = container_status(after), container_status(before)
        assert status["imageID"] == old["imageID"]  # done although the imageID did not move
        assert status["image"] == f"nginx:b@{digest}"
        assert status["restartCount"] == old["restartCount"] + 1


async def test_an_in_place_update_costs_five_pod_writes_per_pod_and_no_conflict(
        server: ApiServer) -> None:
    """Upstream's sequence (attempts are counted, so a 409 retry would show): the
    controller's InPlaceUpdateReady=False, the in-place patch (image, revision, state
    annotation, lifecycle Updating), and InPlaceUpdateReady=True with the lifecycle label
    Normal in the same pods/status write; the kubelet's restart and its Ready=True."""
    async with running(server) as env:
        await env.create(cloneset(replicas=6, policy="InPlaceIfPossible", max_unavailable=2))
        await env.settled()
        metrics = env.manager.client.metrics
        before = metrics.counts()
        await env.set_image("nginx:1.26")
        await env.settled(timeout=30)
        used = metrics.delta(before)
        assert used.get(("patch", "pods/status")) == 4 * 6
        assert used.get(("patch", "pods")) == 1 * 6
        assert {r for (verb, r) in used if verb in ("create", "delete")} <= {
            "controllerrevisions", "events"}


async def test_an_in_place_patch_is_not_sent_when_its_start_fails(server: ApiServer) -> None:
    """The start (InPlaceUpdateReady=False) and the in-place patch are planned from one
    version of the pod; if the pod changed since, the start gets a 409 and the patch must
    not go out (it would record stale "before" image IDs)."""
    async with running(server) as env:
        await env.create(cloneset(replicas=1, policy="InPlaceIfPossible"))
        await env.settled()
        (pod,) = await env.pods()
        stale = {"metadata": {"resourceVersion": "1"},
                 "status": {"conditions": [{"type": "InPlaceUpdateReady", "status": "False",
                                            "reason": "StartInPlaceUpdate"}]}}
        image = {"metadata": {"resourceVersion": "1"},
                 "spec": {"containers": [{"name": "app", "image": "nginx:9"}]}}
        with pytest.raises(ApiError) as failed:
            await env.controller._patch(Request(NS, "web"), (
                PodPatch(pod["metadata"]["name"], stale, "status"),
                PodPatch(pod["metadata"]["name"], image, chained=True)))
        assert failed.value.conflict
        (after,) = await env.pods()
        assert after["spec"]["containers"][0]["image"] == "nginx:1.25"
        assert after["metadata"]["resourceVersion"] == pod["metadata"]["resourceVersion"]
