"""The ReplicaSet controller on the in-process API server, driven through the API.

Pods become ready only when the test says so (:func:`mark_ready`), so each run
sees the same sequence; nothing sleeps for a fixed time.
"""

from __future__ import annotations

from typing import Any

from mizzen.apiserver.server import ApiServer
from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import PODS, REPLICASETS
from mizzen.cluster.podutil import controller_of, is_terminating
from tests.cluster.replicaset.harness import (
    NS,
    JumpClock,
    PodWatch,
    mark_ready,
    pod,
    replica_set,
    running,
)
from tests.runtime.util import wait_for_async, wait_until

Obj = dict[str, Any]


async def pods_of(client: Client, rs_name: str, *, live: bool = True) -> list[Obj]:
    items, _ = await client.list_all(PODS, NS)
    mine = [p for p in items if (controller_of(p) or {}).get("name") == rs_name]
    return [p for p in mine if not (live and is_terminating(p))]


async def rs_status(client: Client, name: str) -> Obj:
    status: Obj = (await client.get(REPLICASETS, name, NS)).get("status") or {}
    return status


def has_status(client: Client, name: str, **want: int) -> Any:
    async def check() -> bool:
        status = await rs_status(client, name)
        return all((status.get(k) or 0) == v for k, v in want.items())
    return check


async def test_creates_pods_from_the_template_and_counts_them(server: ApiServer,
                                                              client: Client) -> None:
    body = replica_set("front", 3)
    body["spec"]["template"]["metadata"]["annotations"] = {"team": "web"}
    created = await client.create(REPLICASETS, body, NS)
    async with running(server):
        await wait_for_async(has_status(client, "front", replicas=3, fullyLabeledReplicas=3,
                                        observedGeneration=1), what="3 pods counted")
        pods = await pods_of(client, "front")
        assert len(pods) == 3
        for p in pods:
            meta = p["metadata"]
            assert meta["generateName"] == "front-" and meta["name"].startswith("front-")
            assert meta["labels"] == {"app": "front"}
            assert meta["annotations"] == {"team": "web"}
            assert meta["ownerReferences"] == [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "front",
                "uid": created["metadata"]["uid"], "controller": True,
                "blockOwnerDeletion": True}]
        await mark_ready(client, pods[0])
        await mark_ready(client, pods[1])
        await wait_for_async(has_status(client, "front", readyReplicas=2, availableReplicas=2),
                             what="2 ready")


async def test_scale_up_and_down_deletes_the_least_valuable_pods_first(
        server: ApiServer, client: Client) -> None:
    serving: set[str] = set()

    def first_two(p: Obj) -> bool:
        if len(serving) < 2:
            serving.add(p["metadata"]["name"])
            return True
        return False

    await client.create(REPLICASETS, replica_set("front", 2), NS)
    async with running(server), PodWatch(client, make_ready=first_two, node="node-a"):
        await wait_for_async(has_status(client, "front", replicas=2, readyReplicas=2))
        await client.patch(REPLICASETS, "front", {"spec": {"replicas": 5}}, NS)
        await wait_for_async(has_status(client, "front", replicas=5, readyReplicas=2),
                             what="3 more pods, not ready")
        await client.patch(REPLICASETS, "front", {"spec": {"replicas": 2}}, NS)
        await wait_for_async(has_status(client, "front", replicas=2, readyReplicas=2),
                             what="scaled down to the 2 ready pods")
        assert {p["metadata"]["name"] for p in await pods_of(client, "front")} == serving


async def test_adopts_orphans_and_releases_pods_that_stop_matching(
        server: ApiServer, client: Client) -> None:
    orphan = await client.create(PODS, pod("stray", {"app": "front"}), NS)
    await client.create(REPLICASETS, replica_set("front", 2), NS)
    async with running(server):
        await wait_for_async(has_status(client, "front", replicas=2))
        owned = await pods_of(client, "front")
        assert orphan["metadata"]["name"] in {p["metadata"]["name"] for p in owned}
        assert len(owned) == 2  # the orphan counted: only one pod was created

        await client.patch(PODS, "stray", {"metadata": {"labels": {"app": "elsewhere"}}}, NS)

        async def released() -> bool:
            stray = await client.get(PODS, "stray", NS)
            return not stray["metadata"].get("ownerReferences")

        await wait_for_async(released, what="the relabelled pod released")

        async def replaced() -> bool:
            names = {p["metadata"]["name"] for p in await pods_of(client, "front")}
            return "stray" not in names and len(names) == 2

        await wait_for_async(replaced, what="a replacement for the released pod")
        await wait_for_async(has_status(client, "front", replicas=2))


async def test_terminating_pods_do_not_count(server: ApiServer, client: Client) -> None:
    await client.create(REPLICASETS, replica_set("front", 2), NS)
    async with running(server):
        await wait_for_async(has_status(client, "front", replicas=2))
        first, second = await pods_of(client, "front")
        await mark_ready(client, first, node="node-a")  # bound: graceful deletion waits
        await mark_ready(client, second, node="node-a")
        await wait_for_async(has_status(client, "front", readyReplicas=2))
        await client.delete(PODS, first["metadata"]["name"], NS)
        stuck = await client.get(PODS, first["metadata"]["name"], NS)
        assert is_terminating(stuck)

        async def replaced() -> bool:
            return len(await pods_of(client, "front")) == 2 and \
                await has_status(client, "front", replicas=2, readyReplicas=1)()

        await wait_for_async(replaced, what="a replacement while the old pod terminates")
        assert len(await pods_of(client, "front", live=False)) == 3


async def test_min_ready_seconds_counts_availability_on_the_injected_clock(
        server: ApiServer, client: Client) -> None:
    clock = JumpClock()
    await client.create(REPLICASETS, replica_set("front", 2, minReadySeconds=30), NS)
    async with running(server, clock):
        await wait_for_async(has_status(client, "front", replicas=2))
        for p in await pods_of(client, "front"):
            await mark_ready(client, p, at=clock.now())
        await wait_for_async(has_status(client, "front", readyReplicas=2, availableReplicas=0))
        clock.jump(31)  # the controller asked to look again after minReadySeconds + 1
        await wait_for_async(has_status(client, "front", availableReplicas=2),
                             what="available once minReadySeconds passed")


async def test_status_is_written_only_when_it_changes(server: ApiServer,
                                                      client: Client) -> None:
    await client.create(REPLICASETS, replica_set("front", 2), NS)
    async with running(server) as controllers:
        metrics = controllers.manager.client.metrics
        await wait_for_async(has_status(client, "front", replicas=2))
        await wait_until(lambda: metrics.counts().get(("patch", "replicasets/status")),
                         what="the controller saw its status write answered")
        before = metrics.counts()
        passes = controllers.replicasets.passes.get("idle", 0)
        # An update that changes nothing the status depends on: one more pass, no write.
        await client.patch(REPLICASETS, "front", {"metadata": {"labels": {"x": "y"}}}, NS)

        async def reconciled() -> bool:
            return controllers.replicasets.passes.get("idle", 0) > passes

        await wait_for_async(reconciled)
        assert metrics.delta(before) == {}


async def test_a_deleted_replicaset_leaves_its_pods_to_garbage_collection(
        server: ApiServer, client: Client) -> None:
    await client.create(REPLICASETS, replica_set("front", 3), NS)
    async with running(server):
        await wait_for_async(has_status(client, "front", replicas=3))
        await client.delete(REPLICASETS, "front", NS, propagation_policy="Background")

        async def gone() -> bool:
            try:
                await client.get(REPLICASETS, "front", NS)
                return False
            except ApiError as exc:
                return exc.not_found and not await pods_of(client, "front", live=False)

        await wait_for_async(gone, what="the pods collected")
