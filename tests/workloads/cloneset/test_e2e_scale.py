"""CloneSet end to end: scale up and down on the in-process API server and simulated cluster."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mizzen.apiserver.server import ApiServer
from mizzen.client.resources import PODS
from mizzen.workloads.lifecycle import is_pod_available
from tests.workloads.cloneset.harness import NS, PodTrace, cloneset, running

Obj = dict[str, Any]

ALPHABET = set("bcdfghjklmnpqrstvwxz2456789")


async def test_scale_up_then_down(server: ApiServer) -> None:
    async with running(server) as env:
        await env.create(cloneset(replicas=3))
        cs = await env.settled()
        status = cs["status"]
        pods = await env.pods()
        assert len(pods) == 3
        for pod in pods:
            labels = pod["metadata"]["labels"]
            name, id_ = pod["metadata"]["name"], labels["apps.kruise.io/cloneset-instance-id"]
            assert name == f"web-{id_}" and len(id_) == 5 and set(id_) <= ALPHABET
            assert labels["controller-revision-hash"] == status["updateRevision"]
            assert labels["pod-template-hash"] == status["updateRevision"].rsplit("-", 1)[1]
            assert labels["lifecycle.apps.kruise.io/state"] == "Normal"
            assert {"conditionType": "InPlaceUpdateReady"} in pod["spec"]["readinessGates"]
            ref = pod["metadata"]["ownerReferences"][0]
            assert (ref["kind"], ref["name"], ref["controller"]) == ("CloneSet", "web", True)
        assert status["currentRevision"] == status["updateRevision"]
        assert status["labelSelector"] == "app=web"
        assert status["expectedUpdatedReplicas"] == 3

        await env.patch_spec({"replicas": 5})
        await env.settled()
        await env.patch_spec({"replicas": 2})
        await env.settled()
        assert len(await env.pods()) == 2


async def test_min_ready_seconds_with_scale_strategy_max_unavailable(
        server: ApiServer) -> None:
    """scaleStrategy.maxUnavailable 1: a new pod is created only once the previous one is
    available, i.e. ready for minReadySeconds (the test moves the clock on)."""
    async with running(server) as env:
        await env.create(cloneset(replicas=1, minReadySeconds=5,
                                  scaleStrategy={"maxUnavailable": 1}))

        def available(count: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                status = (await env.get()).get("status") or {}
                if status.get("availableReplicas") == count:
                    return True
                pods = await env.pods()
                if pods and all(p["status"].get("phase") == "Running" for p in pods):
                    env.clock.jump(6)  # the ready pods' minReadySeconds pass
                return False
            return check

        await env.wait(available(1), "1 available pod")
        worst = [0]

        def check(pods: list[Obj]) -> None:
            unavailable = len(pods) - sum(1 for p in pods
                                          if is_pod_available(p, 5, env.clock.now()))
            worst[0] = max(worst[0], unavailable)
            assert unavailable <= 1, f"{unavailable} new pods unavailable at once"

        async with PodTrace(env.client, check, clock=env.clock) as trace:
            await env.patch_spec({"replicas": 4})
            await env.wait(available(4), "4 available pods", timeout=30)
        assert trace.errors == [] and worst[0] == 1


async def test_pods_to_delete_and_the_specified_delete_label(server: ApiServer) -> None:
    async with running(server) as env:
        await env.create(cloneset(replicas=3))
        await env.settled()
        first, second, third = sorted(p["metadata"]["name"] for p in await env.pods())
        await env.patch_spec({"scaleStrategy": {"podsToDelete": [first]}})

        async def replaced() -> bool:
            cs = await env.get()
            names = {p["metadata"]["name"] for p in await env.pods(live=False)}
            return (first not in names and len(names) == 3
                    and not cs["spec"].get("scaleStrategy", {}).get("podsToDelete"))

        await env.wait(replaced, f"{first} replaced and podsToDelete emptied")
        await env.client.patch(PODS, second, {"metadata": {"labels": {
            "apps.kruise.io/specified-delete": "true"}}}, NS)

        async def relabelled() -> bool:
            names = {p["metadata"]["name"] for p in await env.pods(live=False)}
            return second not in names and len(names) == 3

        await env.wait(relabelled, f"{second} replaced")
        cs = await env.settled()
        assert third in {p["metadata"]["name"] for p in await env.pods()}
        assert cs["status"]["replicas"] == 3


async def test_pvcs_follow_their_instance(server: ApiServer) -> None:
    claim = {"metadata": {"name": "data", "labels": {"tier": "db"}},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "1Gi"}}}}
    async with running(server) as env:
        await env.create(cloneset(replicas=2, volumeClaimTemplates=[claim],
                                  scaleStrategy={"enablePVCReuse": True}))
        await env.settled()
        pods = {p["metadata"]["labels"]["apps.kruise.io/cloneset-instance-id"]: p
                for p in await env.pods()}
        pvcs = {c["metadata"]["name"]: c for c in await env.pvcs()}
        assert set(pvcs) == {f"data-web-{id_}" for id_ in pods}
        for id_, pod in pods.items():
            pvc = pvcs[f"data-web-{id_}"]
            assert pvc["metadata"]["labels"] == {
                "tier": "db", "app": "web", "apps.kruise.io/cloneset-instance-id": id_}
            assert pvc["metadata"]["ownerReferences"][0]["kind"] == "CloneSet"
            assert {"name": "data", "persistentVolumeClaim": {"claimName": f"data-web-{id_}"}} \
                in pod["spec"]["volumes"]
        # Someone deletes a pod: its replacement takes the same id and PVC.
        gone_id = sorted(pods)[0]
        await env.client.delete(PODS, f"web-{gone_id}", NS)

        async def back() -> bool:
            pod = next((p for p in await env.pods()
                        if p["metadata"]["name"] == f"web-{gone_id}"), None)
            return pod is not None and pod["metadata"]["uid"] != pods[gone_id]["metadata"]["uid"]

        await env.wait(back, "replacement with the same instance id")
        assert {c["metadata"]["name"] for c in await env.pvcs()} == set(pvcs)
        # Scaling down deletes the pod's PVCs with it.
        await env.patch_spec({"replicas": 1})
        await env.settled()
        (left,) = await env.pods()
        left_id = left["metadata"]["labels"]["apps.kruise.io/cloneset-instance-id"]

        async def pvcs_gone() -> bool:
            names = {c["metadata"]["name"] for c in await env.pvcs()
                     if not c["metadata"].get("deletionTimestamp")}
            return names == {f"data-web-{left_id}"}

        await env.wait(pvcs_gone, "scaled-down instance's PVC deleted")


async def test_without_pvc_reuse_a_deleted_pods_pvcs_go_too(server: ApiServer) -> None:
    claim = {"metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "1Gi"}}}}
    async with running(server) as env:
        await env.create(cloneset(replicas=1, volumeClaimTemplates=[claim]))  # v1beta1
        await env.settled()
        (pod,) = await env.pods()
        old_id = pod["metadata"]["labels"]["apps.kruise.io/cloneset-instance-id"]
        await env.client.delete(PODS, pod["metadata"]["name"], NS)

        async def renewed() -> bool:
            pods = await env.pods()
            names = {c["metadata"]["name"] for c in await env.pvcs()
                     if not c["metadata"].get("deletionTimestamp")}
            if len(pods) != 1:
                return False
            new_id = pods[0]["metadata"]["labels"]["apps.kruise.io/cloneset-instance-id"]
            return new_id != old_id and names == {f"data-web-{new_id}"}

        await env.wait(renewed, "new instance with a new PVC, the old PVC deleted")
