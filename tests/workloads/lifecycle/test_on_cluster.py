"""Lifecycle holds on the in-process API server with the simulated kubelet: a preDelete hook
with markPodNotReady takes a pod out of Ready, holds it in PreparingDelete, then lets go."""

from __future__ import annotations

from typing import Any

from mizzen.api.cloneset.types import Lifecycle, LifecycleHook
from mizzen.api.kruise import KRUISE_POD_READY, LIFECYCLE_STATE
from mizzen.apiserver.server import ApiServer
from mizzen.client.resources import PODS
from mizzen.workloads.lifecycle import (
    Action,
    created_annotations,
    created_labels,
    delete_transition,
    initial_patch,
    needs_gate,
    normal_transition,
    with_kruise_ready_gate,
)
from tests.workloads.inplace.cluster import NS, condition, ready, simulated_cluster

Obj = dict[str, Any]
HOOK = LifecycleHook(labels_handler={"example.com/drain": "true"}, mark_pod_not_ready=True)
LIFECYCLE = Lifecycle(pre_delete=HOOK)


async def test_pre_delete_hook_holds_the_pod_not_ready_until_released(
        server: ApiServer) -> None:
    async with simulated_cluster(server) as c:
        assert needs_gate(LIFECYCLE)
        spec = with_kruise_ready_gate({"containers": [{"name": "app", "image": "nginx:1.25"}]})
        labels = {"app": "web", **created_labels(), "example.com/drain": "true"}
        await c.client.create(PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "held", "namespace": NS, "labels": labels,
            "annotations": created_annotations(c.clock.now())}, "spec": spec}, NS)
        pod = await c.wait("held", lambda p: condition(p, "ContainersReady") == "True",
                           "running")
        await c.status_patch("held", initial_patch(pod, c.clock.now()))
        t = normal_transition(pod, LIFECYCLE, c.clock.now())
        assert t.action == Action.PATCH and t.body is not None
        await c.client.patch(PODS, "held", t.body, NS, patch_type="strategic")
        pod = await c.wait("held", lambda p: ready(p) and p["metadata"]["labels"][
            LIFECYCLE_STATE] == "Normal", "Normal and Ready")

        # Scale-down picks it: the hold goes first (a status write), then the state label.
        async def step() -> Action:
            current = await c.client.get(PODS, "held", NS)
            t = delete_transition(current, LIFECYCLE, c.clock.now())
            if t.action == Action.PATCH_STATUS:
                await c.status_patch("held", t.body)
            elif t.action == Action.PATCH:
                assert t.body is not None
                await c.client.patch(PODS, "held", t.body, NS, patch_type="strategic")
            return t.action

        assert await step() == Action.PATCH_STATUS
        pod = await c.wait("held", lambda p: condition(p, "Ready") == "False",
                           "out of endpoints")
        assert condition(pod, KRUISE_POD_READY) == "False"
        assert await step() == Action.PATCH
        assert await step() == Action.WAIT
        pod = await c.client.get(PODS, "held", NS)
        assert pod["metadata"]["labels"][LIFECYCLE_STATE] == "PreparingDelete"
        assert condition(pod, "Ready") == "False"  # the kubelet keeps honouring the gate

        # The user's system lets go: the pod may be deleted now.
        await c.client.patch(PODS, "held", {"metadata": {"labels": {"example.com/drain": None}}},
                             NS, patch_type="strategic")
        assert await step() == Action.DELETE
