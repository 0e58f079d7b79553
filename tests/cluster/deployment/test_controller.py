"""The Deployment and ReplicaSet controllers together on the in-process API server.

Readiness is driven by the test (:class:`PodWatch` marks pods ready as they
appear), so rollouts advance deterministically; invariants are checked after
every pod event the watch delivers.
"""

from __future__ import annotations

from typing import Any

from mizzen.apiserver.server import ApiServer
from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import DEPLOYMENTS, PODS, REPLICASETS
from mizzen.cluster.deployment.revision import POD_TEMPLATE_HASH, REVISION, compute_hash
from mizzen.cluster.podutil import is_ready, is_terminating
from tests.cluster.replicaset.harness import (
    NS,
    JumpClock,
    PodWatch,
    deployment,
    progressing,
    rolled_out,
    running,
    stuck,
)
from tests.runtime.util import wait_for_async

Obj = dict[str, Any]


async def replica_sets(client: Client) -> dict[str, Obj]:
    items, _ = await client.list_all(REPLICASETS, NS)
    return {rs["metadata"]["name"]: rs for rs in items}


async def live_pods(client: Client) -> list[Obj]:
    items, _ = await client.list_all(PODS, NS)
    return [p for p in items if not is_terminating(p)]


def set_image(image: str) -> Obj:
    return {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}


async def test_a_deployment_creates_its_replicaset_and_pods(server: ApiServer,
                                                            client: Client) -> None:
    body = deployment("web", 3, annotations={"kubernetes.io/change-cause": "first"})
    created = await client.create(DEPLOYMENTS, body, NS)
    async with running(server), PodWatch(client, make_ready=lambda p: True):
        await wait_for_async(rolled_out(client), what="rolled out")
        pod_hash = compute_hash(created["spec"]["template"])
        (rs,) = (await replica_sets(client)).values()
        assert rs["metadata"]["name"] == f"web-{pod_hash}"
        assert rs["metadata"]["labels"] == {"app": "web", POD_TEMPLATE_HASH: pod_hash}
        assert rs["spec"]["selector"]["matchLabels"][POD_TEMPLATE_HASH] == pod_hash
        assert rs["metadata"]["annotations"] == {
            REVISION: "1", "deployment.kubernetes.io/desired-replicas": "3",
            "deployment.kubernetes.io/max-replicas": "4",
            "kubernetes.io/change-cause": "first"}
        ref = rs["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["controller"], ref["blockOwnerDeletion"]) == \
            ("Deployment", "web", True, True)
        pods = await live_pods(client)
        assert len(pods) == 3 and all(p["metadata"]["labels"][POD_TEMPLATE_HASH] == pod_hash
                                      for p in pods)
        d = await client.get(DEPLOYMENTS, "web", NS)
        assert d["metadata"]["annotations"][REVISION] == "1"
        conditions = {c["type"]: c for c in d["status"]["conditions"]}
        assert conditions["Available"]["reason"] == "MinimumReplicasAvailable"
        assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
        assert conditions["Progressing"]["message"] == \
            f'ReplicaSet "web-{pod_hash}" has successfully progressed.'
        assert d["status"]["readyReplicas"] == d["status"]["availableReplicas"] == 3


async def test_scale_up_and_down(server: ApiServer, client: Client) -> None:
    await client.create(DEPLOYMENTS, deployment("web", 2), NS)
    async with running(server), PodWatch(client, make_ready=lambda p: True):
        await wait_for_async(rolled_out(client))
        await client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 6}}, NS,
                           subresource="scale")
        await wait_for_async(rolled_out(client), what="scaled to 6")
        assert len(await live_pods(client)) == 6
        await client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 1}}, NS)
        await wait_for_async(rolled_out(client), what="scaled to 1")

        async def one_pod() -> bool:
            return len(await live_pods(client)) == 1

        await wait_for_async(one_pod)
        (rs,) = (await replica_sets(client)).values()
        assert rs["spec"]["replicas"] == 1
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "1"


class Bounds:
    """Checks, after every pod event, maxSurge and maxUnavailable against live pods."""

    def __init__(self, replicas: int, surge: int, unavailable: int) -> None:
        self.most, self.least = replicas + surge, replicas - unavailable
        self.violations: list[str] = []
        self.checked = 0
        self.peak = 0
        self.trough = replicas

    def __call__(self, pods: dict[str, Obj]) -> None:
        live = [p for p in pods.values() if not is_terminating(p)]
        available = sum(1 for p in live if is_ready(p))
        self.checked += 1
        self.peak, self.trough = max(self.peak, len(live)), min(self.trough, available)
        if len(live) > self.most:
            self.violations.append(f"{len(live)} pods > {self.most}")
        if available < self.least:
            self.violations.append(f"{available} available < {self.least}")


async def test_rolling_update_stays_within_surge_and_unavailability_at_every_instant(
        server: ApiServer, client: Client) -> None:
    # 10 replicas, maxSurge 25% -> 3 (rounded up), maxUnavailable 25% -> 2 (rounded down).
    await client.create(DEPLOYMENTS, deployment("web", 10), NS)
    async with running(server), PodWatch(client, make_ready=lambda p: True) as watch:
        await wait_for_async(rolled_out(client), what="first rollout")
        bounds = Bounds(10, 3, 2)
        watch.check = bounds
        await client.patch(DEPLOYMENTS, "web", set_image("nginx:1.26"), NS,
                           patch_type="strategic")
        await wait_for_async(rolled_out(client), timeout=30, what="second rollout")

        async def only_new() -> bool:
            pods = await live_pods(client)
            return len(pods) == 10 and all(
                p["spec"]["containers"][0]["image"] == "nginx:1.26" for p in pods)

        await wait_for_async(only_new)
        assert bounds.violations == []
        assert bounds.peak == 13  # the surge was used, not avoided
        rss = await replica_sets(client)
        assert sorted((rs["metadata"]["annotations"][REVISION], rs["spec"]["replicas"])
                      for rs in rss.values()) == [("1", 0), ("2", 10)]


async def test_recreate_never_runs_old_and_new_pods_together(server: ApiServer,
                                                             client: Client) -> None:
    body = deployment("web", 3, strategy={"type": "Recreate"})
    await client.create(DEPLOYMENTS, body, NS)
    overlaps: list[set[str]] = []

    def one_version(pods: dict[str, Obj]) -> None:
        hashes = {p["metadata"]["labels"][POD_TEMPLATE_HASH] for p in pods.values()}
        if len(hashes) > 1:
            overlaps.append(hashes)

    # Pods are bound to a node: their deletion is graceful, and only this watch (the
    # stand-in kubelet) finishes it — so old pods linger terminating for a while.
    async with running(server), PodWatch(client, make_ready=lambda p: True,
                                         node="node-a") as watch:
        await wait_for_async(rolled_out(client))
        watch.check = one_version
        await client.patch(DEPLOYMENTS, "web", set_image("nginx:1.26"), NS,
                           patch_type="strategic")
        await wait_for_async(rolled_out(client), what="recreated")
        assert overlaps == []
        pods = await live_pods(client)
        assert len(pods) == 3 and {p["spec"]["containers"][0]["image"] for p in pods} == \
            {"nginx:1.26"}


async def test_paused_blocks_the_rollout_until_resumed(server: ApiServer,
                                                       client: Client) -> None:
    await client.create(DEPLOYMENTS, deployment("web", 3), NS)
    async with running(server), PodWatch(client, make_ready=lambda p: True):
        await wait_for_async(rolled_out(client))
        await client.patch(DEPLOYMENTS, "web", {"spec": {"paused": True}}, NS)
        await wait_for_async(progressing(client, "DeploymentPaused"))
        changed = await client.patch(DEPLOYMENTS, "web", set_image("nginx:1.26"), NS,
                                     patch_type="strategic")

        async def observed() -> bool:
            d = await client.get(DEPLOYMENTS, "web", NS)
            return bool(d["status"].get("observedGeneration", 0)
                        >= changed["metadata"]["generation"])

        await wait_for_async(observed, what="the paused change observed")
        assert len(await replica_sets(client)) == 1  # no new ReplicaSet while paused
        d = await client.get(DEPLOYMENTS, "web", NS)
        assert d["status"].get("updatedReplicas", 0) == 0
        await client.patch(DEPLOYMENTS, "web", {"spec": {"paused": False}}, NS)
        await wait_for_async(rolled_out(client), what="rolled out after resume")
        assert len(await replica_sets(client)) == 2
        await wait_for_async(progressing(client, "NewReplicaSetAvailable"))


async def test_progress_deadline_exceeded_when_new_pods_never_become_ready(
        server: ApiServer, client: Client) -> None:
    clock = JumpClock()
    await client.create(DEPLOYMENTS, deployment("web", 2, progressDeadlineSeconds=60), NS)

    def first_version(p: Obj) -> bool:
        return bool(p["spec"]["containers"][0]["image"] == "nginx:1.25")

    async with running(server, clock), PodWatch(client, make_ready=first_version):
        await wait_for_async(rolled_out(client))
        await client.patch(DEPLOYMENTS, "web", set_image("nginx:broken"), NS,
                           patch_type="strategic")
        # 2 replicas: maxSurge 1, maxUnavailable 0 -> one new pod, never ready; no more
        # progress is possible once the status counts it.
        await wait_for_async(stuck(client, updated=1, total=3), what="a stuck rollout")
        # The new ReplicaSet was created (NewReplicaSetCreated) and scaled up at once
        # (ReplicaSetUpdated): which of the two a poll catches is a matter of timing.
        started = (await progressing(client, "ReplicaSetUpdated")()
                   or await progressing(client, "NewReplicaSetCreated")())
        assert started is not None and started["status"] == "True"
        assert await progressing(client, "ProgressDeadlineExceeded")() is None
        clock.jump(62)  # the controller asked to look again once the deadline passes
        cond = await wait_for_async(progressing(client, "ProgressDeadlineExceeded"), timeout=30)
        new_rs = next(name for name, rs in (await replica_sets(client)).items()
                      if rs["metadata"]["annotations"][REVISION] == "2")
        assert f'"{new_rs}"' in started["message"]
        assert cond["status"] == "False"
        assert cond["message"] == f'ReplicaSet "{new_rs}" has timed out progressing.'
        # Availability held: maxUnavailable 0 kept both old pods.
        d = await client.get(DEPLOYMENTS, "web", NS)
        assert d["status"]["availableReplicas"] == 2


def sizes_are(client: Client, want: list[tuple[str, int]]) -> Any:
    """Check: (image, spec.replicas) of every ReplicaSet, sorted, equals ``want``."""

    async def check() -> bool:
        found = sorted((rs["spec"]["template"]["spec"]["containers"][0]["image"],
                        rs["spec"]["replicas"]) for rs in (await replica_sets(client)).values())
        return found == want

    return check


async def test_scaling_mid_rollout_scales_every_replicaset_proportionally(
        server: ApiServer, client: Client) -> None:
    await client.create(DEPLOYMENTS, deployment("web", 10), NS)

    def first_version(p: Obj) -> bool:
        return bool(p["spec"]["containers"][0]["image"] == "nginx:1.25")

    async with running(server), PodWatch(client, make_ready=first_version):
        await wait_for_async(rolled_out(client))
        await client.patch(DEPLOYMENTS, "web", set_image("nginx:broken"), NS,
                           patch_type="strategic")
        # New pods never become ready: the rollout stops at 13 pods, 8 of them old.
        await wait_for_async(sizes_are(client, [("nginx:1.25", 8), ("nginx:broken", 5)]),
                             what="a stuck rollout")
        await client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 20}}, NS)
        # 25 allowed (20 + 25% surge), 12 more, shared by size: old 8 -> 15, new 5 -> 10.
        await wait_for_async(sizes_are(client, [("nginx:1.25", 15), ("nginx:broken", 10)]),
                             what="proportional scaling")

        async def pods_follow() -> bool:
            return len(await live_pods(client)) == 25

        await wait_for_async(pods_follow)


async def test_deleting_a_deployment_collects_its_replicasets_and_pods(
        server: ApiServer, client: Client) -> None:
    await client.create(DEPLOYMENTS, deployment("web", 3), NS)
    async with running(server), PodWatch(client, make_ready=lambda p: True):
        await wait_for_async(rolled_out(client))
        await client.patch(DEPLOYMENTS, "web", set_image("nginx:1.26"), NS,
                           patch_type="strategic")
        await wait_for_async(rolled_out(client))
        assert len(await replica_sets(client)) == 2
        await client.delete(DEPLOYMENTS, "web", NS, propagation_policy="Background")

        async def collected() -> bool:
            try:
                await client.get(DEPLOYMENTS, "web", NS)
                return False
            except ApiError as exc:
                if not exc.not_found:
                    raise
            items, _ = await client.list_all(PODS, NS)
            return not await replica_sets(client) and not items

        await wait_for_async(collected, what="ReplicaSets and pods garbage-collected")


async def test_revision_history_limit_prunes_old_replicasets(server: ApiServer,
                                                            client: Client) -> None:
    await client.create(DEPLOYMENTS, deployment("web", 1, revisionHistoryLimit=1), NS)
    async with running(server), PodWatch(client, make_ready=lambda p: True):
        for image in ("nginx:1.25", "nginx:1.26", "nginx:1.27"):
            await client.patch(DEPLOYMENTS, "web", set_image(image), NS,
                               patch_type="strategic")
            await wait_for_async(rolled_out(client), what=f"rolled out {image}")

        async def pruned() -> list[str] | None:
            rss = await replica_sets(client)
            revisions = sorted(rs["metadata"]["annotations"][REVISION] for rs in rss.values())
            return revisions if revisions == ["2", "3"] else None

        await wait_for_async(pruned, what="only the current and one old ReplicaSet left")


async def test_api_writes_of_a_scale_up_to_100_replicas(server: ApiServer,
                                                        client: Client) -> None:
    await client.create(DEPLOYMENTS, deployment("web", 1), NS)
    async with running(server) as controllers:
        await wait_for_async(_replicas(client, 1))
        metrics = controllers.manager.client.metrics
        before = metrics.counts()
        await client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 100}}, NS)
        await wait_for_async(_replicas(client, 100), timeout=30)
        recorder = controllers.manager.event_recorder("replicaset-controller")
        await recorder.flush()
        await controllers.manager.event_recorder("deployment-controller").flush()
        cost = metrics.delta(before)
        writes = {k: n for k, n in cost.items()
                  if k[0] in ("create", "update", "patch", "delete")}
        pod_creates = writes.pop(("create", "pods"))
        events = writes.pop(("create", "events"), 0) + writes.pop(("patch", "events"), 0)
        assert pod_creates == 99
        assert events <= 99 + 2  # SuccessfulCreate per pod, ScalingReplicaSet
        # Everything else (ReplicaSet scale and status, Deployment status): a handful.
        assert sum(writes.values()) <= 12, writes


def _replicas(client: Client, n: int) -> Any:
    async def check() -> bool:
        rs = next(iter((await replica_sets(client)).values()), None)
        d = await client.get(DEPLOYMENTS, "web", NS)
        return bool(rs is not None and (rs.get("status") or {}).get("replicas") == n
                    and (d.get("status") or {}).get("replicas") == n)
    return check
