"""In-place update on the in-process API server with the simulated nodes, scheduler and kubelet.

The test plays the controller: it applies each library patch through the
client (status patches to ``pods/status``, the update as a strategic merge
of the pod) and waits on the pod as the API serves it.  What must hold is
what users see of an in-place update: same uid, IP and node; the updated
container restarted once on its new imageID; the others untouched; the pod
out of Ready while it happens and Ready again after.
"""

from __future__ import annotations

from typing import Any

from mizzen.api.kruise import CONTROLLER_REVISION_HASH, INPLACE_UPDATE_READY
from mizzen.apiserver.server import ApiServer
from mizzen.client.errors import ApiError
from mizzen.client.resources import PODS
from mizzen.cluster.kubelet.identity import image_id
from mizzen.workloads.inplace import (
    RefreshKind,
    completion,
    diff_templates,
    finish_patch,
    read_state,
    refresh,
    start_patch,
    update_patch,
    with_readiness_gate,
)
from tests.runtime.util import wait_for_async
from tests.workloads.inplace.cluster import NS, Cluster, condition, ready, simulated_cluster

Obj = dict[str, Any]


def template(*containers: tuple[str, str]) -> Obj:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": n, "image": i} for n, i in containers]}}


def pod_from(name: str, tpl: Obj, revision: str) -> Obj:
    """A pod as a workload creates it: template, revision label, the readiness gate."""
    labels = {**tpl["metadata"]["labels"], CONTROLLER_REVISION_HASH: revision}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "labels": labels},
            "spec": with_readiness_gate(tpl["spec"])}


def statuses(pod: Obj) -> dict[str, Obj]:
    return {s["name"]: s for s in pod["status"].get("containerStatuses") or ()}


async def create_ready(c: Cluster, name: str, tpl: Obj) -> Obj:
    """Create, let the scheduler and kubelet run it, then give it its gate condition."""
    await c.client.create(PODS, pod_from(name, tpl, "r1"), NS)
    running = await c.wait(name, lambda p: condition(p, "ContainersReady") == "True",
                           "scheduled and running")
    assert condition(running, "Ready") == "False"  # held by the InPlaceUpdateReady gate
    step = refresh(running, c.clock.now(), "r1")
    assert step.kind == RefreshKind.PATCH_STATUS
    await c.status_patch(name, step.body)
    return await c.wait(name, ready, "Ready with its gate True")


async def update_in_place(c: Cluster, name: str, old: Obj, new: Obj) -> Obj:
    """Steps 1, 2 and 5 through the API, waiting for completion in between."""
    diff = diff_templates(old, new)
    assert diff.change is not None, diff.reason
    pod = await c.client.get(PODS, name, NS)
    await c.status_patch(name, start_patch(pod, c.clock.now()))
    pod = await c.wait(name, lambda p: condition(p, INPLACE_UPDATE_READY) == "False"
                       and condition(p, "Ready") == "False", "out of endpoints")
    assert start_patch(pod, c.clock.now()) is None  # step 1 is done
    change = diff.change
    await c.patch_fresh(name, lambda p: update_patch(p, change, "r2", c.clock.now()))
    done = await c.wait(name, lambda p: completion(p).done, "in-place update complete")
    assert condition(done, "Ready") == "False"  # not before the gate is True again
    await c.status_patch(name, finish_patch(done, c.clock.now()))
    after = await c.wait(name, ready, "Ready again")
    assert finish_patch(after, c.clock.now()) is None
    assert refresh(after, c.clock.now(), "r2").kind == RefreshKind.NONE
    return after


async def test_an_image_update_keeps_the_pod_and_restarts_its_container(
        server: ApiServer) -> None:
    old = template(("nginx", "nginx:1.25"))
    new = template(("nginx", "nginx:1.26"))
    async with simulated_cluster(server) as c:
        before = await create_ready(c, "web-1", old)
        after = await update_in_place(c, "web-1", old, new)

        assert after["metadata"]["uid"] == before["metadata"]["uid"]
        assert after["spec"]["nodeName"] == before["spec"]["nodeName"]
        assert after["status"]["podIP"] == before["status"]["podIP"]
        assert after["metadata"]["labels"][CONTROLLER_REVISION_HASH] == "r2"
        was, now = statuses(before)["nginx"], statuses(after)["nginx"]
        assert now["restartCount"] == was["restartCount"] + 1
        assert now["imageID"] == image_id("nginx:1.26") != was["imageID"]
        assert now["image"] == "nginx:1.26" and now["state"].get("running")


async def test_two_containers_only_the_changed_one_restarts(server: ApiServer) -> None:
    old = template(("app", "nginx:1.25"), ("proxy", "envoy:1.0"), ("log", "fluentbit:2"))
    new = template(("app", "nginx:1.26"), ("proxy", "envoy:1.1"), ("log", "fluentbit:2"))
    async with simulated_cluster(server) as c:
        before = await create_ready(c, "multi", old)
        after = await update_in_place(c, "multi", old, new)

        assert (after["metadata"]["uid"], after["spec"]["nodeName"],
                after["status"]["podIP"]) == (before["metadata"]["uid"],
                                              before["spec"]["nodeName"],
                                              before["status"]["podIP"])
        was, now = statuses(before), statuses(after)
        for name, image in (("app", "nginx:1.26"), ("proxy", "envoy:1.1")):
            assert now[name]["restartCount"] == was[name]["restartCount"] + 1
            assert now[name]["imageID"] == image_id(image) != was[name]["imageID"]
        assert now["log"] == was["log"]  # untouched: same instance, no restart


async def drive(c: Cluster, name: str, revision: str) -> list[str]:
    """Play the controller's refresh loop until nothing is left to write; the messages of
    the writes made (a grace period is waited out on the fake clock)."""
    made: list[str] = []

    async def step() -> bool:
        pod = await c.client.get(PODS, name, NS)
        now = c.clock.now()
        todo = refresh(pod, now, revision)
        if todo.kind == RefreshKind.NONE:
            return True
        if todo.kind == RefreshKind.PATCH_STATUS:
            await c.status_patch(name, todo.body)
        elif todo.kind == RefreshKind.PATCH_POD:
            try:
                assert todo.body is not None
                await c.client.patch(PODS, name, todo.body, NS, patch_type="strategic")
            except ApiError as exc:
                if not exc.conflict:
                    raise
                return False
        elif todo.requeue_after:
            c.clock.advance(todo.requeue_after)
            return False
        else:
            return False
        made.append(todo.message)
        return False

    await wait_for_async(step, timeout=15.0, what=f"{name}: refresh settles")
    return made


async def test_two_batches_by_priority_with_a_grace_period_and_metadata(
        server: ApiServer) -> None:
    """§8 "two containers in two batches": the sidecar (higher priority) first; the app
    only once the sidecar runs its new image and is Ready; labels merge on the way."""
    def tpl(app: str, proxy: str, labels: dict[str, str]) -> Obj:
        out = template(("app", app), ("proxy", proxy))
        out["metadata"]["labels"] = labels
        out["spec"]["containers"][0]["env"] = [{"name": "KRUISE_CONTAINER_PRIORITY",
                                                "value": "1"}]
        out["spec"]["containers"][1]["env"] = [{"name": "KRUISE_CONTAINER_PRIORITY",
                                                "value": "2"}]
        return out

    old = tpl("nginx:1.25", "envoy:1.0", {"app": "web", "stale": "yes"})
    new = tpl("nginx:1.26", "envoy:1.1", {"app": "web", "tier": "front"})
    async with simulated_cluster(server) as c:
        before = await create_ready(c, "batched", old)
        diff = diff_templates(old, new)
        assert diff.change is not None
        change = diff.change
        await c.status_patch("batched", start_patch(before, c.clock.now()))
        await c.wait("batched", lambda p: condition(p, "Ready") == "False", "out of endpoints")
        await c.patch_fresh("batched", lambda p: update_patch(p, change, "r2", c.clock.now(),
                                                              grace_seconds=30))
        parked = await c.client.get(PODS, "batched", NS)
        assert statuses(parked) == statuses(before)  # nothing restarts during the grace

        made = await drive(c, "batched", "r2")
        assert made == ["grace period over", "next batch", "in-place update ready"]

        after = await c.wait("batched", ready, "Ready again")
        labels = after["metadata"]["labels"]
        assert labels["tier"] == "front" and "stale" not in labels
        was, now = statuses(before), statuses(after)
        for name, image in (("app", "nginx:1.26"), ("proxy", "envoy:1.1")):
            assert now[name]["restartCount"] == was[name]["restartCount"] + 1
            assert now[name]["imageID"] == image_id(image)
        state = read_state(after)  # two batches, the proxy first
        assert state is not None
        assert [b.containers for b in state.container_batches_record] == [("proxy",), ("app",)]
        assert after["metadata"]["uid"] == before["metadata"]["uid"]
