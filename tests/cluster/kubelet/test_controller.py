"""KubeletSimulator on the in-process API server: start, gates, in-place updates, deletion,
jobs, crash loops, node readiness and the write budget."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from mizzen.api.kruise import INPLACE_UPDATE_READY
from mizzen.apiserver.server import ApiServer
from mizzen.client.resources import NODES, PODS
from mizzen.cluster.config import CRASH_LOOP, RUN_FOR, ImageLatency, LatencyProfile
from mizzen.cluster.kubelet.identity import image_id
from mizzen.workloads.inplace import finish_patch, start_patch
from tests.cluster.kubelet.harness import (
    NS,
    condition,
    container,
    is_ready,
    pod_body,
    running,
)
from tests.runtime.util import parked_until, wait_until

Obj = dict[str, Any]
BACK_OFF = "CrashLoopBackOff"


async def test_a_bound_pod_runs_and_gets_an_ip_from_its_node_which_is_reused(
        server: ApiServer) -> None:
    async with running(server) as h:
        await h.create(pod_body("web-0", node=None))
        await h.bind("web-0", "node-1")
        pod = await h.wait("web-0", is_ready, "Running and Ready")
        status = pod["status"]
        assert ipaddress.ip_address(status["podIP"]) in ipaddress.ip_network("10.244.1.0/24")
        assert status["podIPs"] == [{"ip": status["podIP"]}]
        assert status["hostIP"] == "10.0.0.3"  # node-1's InternalIP
        (app,) = status["containerStatuses"]
        assert app["state"]["running"] and app["ready"] and app["restartCount"] == 0
        assert app["imageID"] == image_id("nginx:1.25")
        assert {c["type"] for c in status["conditions"]} == {
            "PodScheduled", "PodReadyToStartContainers", "Initialized", "Ready",
            "ContainersReady"}

        await h.create(pod_body("web-1", node="node-1"))
        other = await h.wait("web-1", is_ready)
        assert other["status"]["podIP"] != status["podIP"]

        await h.client.delete(PODS, "web-0", NS)
        await h.gone("web-0")
        await h.create(pod_body("web-2", node="node-1"))
        again = await h.wait("web-2", is_ready)
        assert again["status"]["podIP"] == status["podIP"]  # the freed address is reused


async def test_zero_latency_costs_one_status_write_per_pod(server: ApiServer) -> None:
    async with running(server) as h:
        names = [f"p-{i}" for i in range(20)]
        for i, name in enumerate(names):
            await h.create(pod_body(name, node=f"node-{i % 2}"))
        for name in names:
            await h.wait(name, is_ready)
        await wait_until(lambda: all(is_ready(p) for p in h.kubelet.pods.cache
                                     if p["metadata"]["name"] in names), what="cache ready")
        await h.idle()
        assert h.kubelet_writes() == {("patch", "pods/status"): len(names)}

        # End to end through the binding, as with a scheduler: create + bind + 1 status.
        before_test, before_kubelet = h.client.metrics.counts(), h.kubelet_writes()
        for i in range(5):
            await h.create(pod_body(f"b-{i}", node=None))
            await h.bind(f"b-{i}", f"node-{i % 2}")
        for i in range(5):
            await h.wait(f"b-{i}", is_ready)
        await h.idle()
        test_writes = h.client.metrics.delta(before_test)
        kubelet = {k: n - before_kubelet.get(k, 0) for k, n in h.kubelet_writes().items()}
        assert test_writes[("create", "pods")] == 5
        assert test_writes[("create", "pods/binding")] == 5
        assert {k: n for k, n in kubelet.items() if n} == {("patch", "pods/status"): 5}
        per_pod = (sum(n for (verb, _), n in test_writes.items() if verb == "create")
                   + sum(kubelet.values())) / 5
        assert per_pod == 3 <= 6


async def test_readiness_gates_hold_ready_until_the_condition_is_true(
        server: ApiServer) -> None:
    gate = "example.com/load-balancer"
    async with running(server) as h:
        await h.create(pod_body("gated", gates=(gate,)))
        pod = await h.wait("gated", lambda p: condition(p, "ContainersReady") == "True")
        assert condition(pod, "Ready") == "False"
        ready = [c for c in pod["status"]["conditions"] if c["type"] == "Ready"][0]
        assert ready["reason"] == "ReadinessGatesNotReady"

        body = {"status": {"conditions": [{"type": gate, "status": "True"}]}}
        await h.client.patch(PODS, "gated", body, NS, patch_type="strategic",
                             subresource="status")
        pod = await h.wait("gated", lambda p: condition(p, "Ready") == "True")
        assert condition(pod, gate) == "True"  # the gate's own condition is kept


async def test_an_in_place_update_costs_the_kubelet_two_writes_and_no_conflict(
        server: ApiServer) -> None:
    """The writes of an in-place update, from the kubelet's side: the controller's
    InPlaceUpdateReady=False already carries the Ready=False the kubelet would write (no
    write), the restart is one write, Ready=True after the gate is one more; none may
    fail with 409 (attempts are counted) or drop another writer's condition."""
    async with running(server) as h:
        await h.create(pod_body("web", gates=(INPLACE_UPDATE_READY,)))
        pod = await h.wait("web", lambda p: condition(p, "ContainersReady") == "True")
        await h.client.patch(PODS, "web", finish_patch(pod, h.clock.now()), NS,
                             patch_type="strategic", subresource="status")
        pod = await h.wait("web", is_ready)
        await h.idle()
        before = h.kubelet_writes()

        def kubelet_sees(check: Callable[[Obj], bool]) -> Callable[[], bool]:
            def seen() -> bool:
                cached = h.kubelet.pods.cache.get("web", NS)
                return cached is not None and check(cached)
            return seen

        start = start_patch(pod, h.clock.now())
        assert start is not None
        await h.client.patch(PODS, "web", start, NS, patch_type="strategic",
                             subresource="status")
        await wait_until(kubelet_sees(lambda p: condition(p, INPLACE_UPDATE_READY) == "False"),
                         what="gate False cached")
        await h.idle()
        assert h.kubelet_writes() == before  # nothing the controller did not write already

        other = {"status": {"conditions": [{"type": "example.com/probe", "status": "True"}]}}
        await h.client.patch(PODS, "web", other, NS, patch_type="strategic",
                             subresource="status")
        await h.client.patch(PODS, "web", {"spec": {"containers": [
            {"name": "app", "image": "nginx:1.26"}]}}, NS, patch_type="strategic")
        pod = await h.wait("web", lambda p: container(p)["restartCount"] == 1
                           and container(p)["image"] == "nginx:1.26")
        await h.idle()
        restart = {k: n - before.get(k, 0) for k, n in h.kubelet_writes().items()}
        assert {k: n for k, n in restart.items() if n} == {("patch", "pods/status"): 1}
        assert condition(pod, "Ready") == "False"  # the gate still holds it

        await h.client.patch(PODS, "web", finish_patch(pod, h.clock.now()), NS,
                             patch_type="strategic", subresource="status")
        pod = await h.wait("web", is_ready)
        await h.idle()
        done = {k: n - before.get(k, 0) for k, n in h.kubelet_writes().items()}
        assert {k: n for k, n in done.items() if n} == {("patch", "pods/status"): 2}
        assert condition(pod, "example.com/probe") == "True"
        ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
        assert not ready.get("reason") and not ready.get("message")


async def test_an_image_change_restarts_only_that_container_in_place(
        server: ApiServer) -> None:
    async with running(server) as h:
        await h.create(pod_body("two", ("app", "nginx:1.25"), ("proxy", "envoy:1.0")))
        before = await h.wait("two", is_ready)
        old = {c["name"]: c for c in before["status"]["containerStatuses"]}

        patch = {"spec": {"containers": [{"name": "app", "image": "nginx:1.26"}]}}
        await h.client.patch(PODS, "two", patch, NS, patch_type="strategic")

        def restarted(p: Obj) -> bool:
            return container(p)["restartCount"] == 1 and is_ready(p)

        after = await h.wait("two", restarted, "app restarted")
        new = {c["name"]: c for c in after["status"]["containerStatuses"]}
        assert after["metadata"]["uid"] == before["metadata"]["uid"]
        assert after["spec"]["nodeName"] == before["spec"]["nodeName"]
        assert after["status"]["podIP"] == before["status"]["podIP"]
        assert new["app"]["image"] == "nginx:1.26"
        assert new["app"]["imageID"] == image_id("nginx:1.26") != old["app"]["imageID"]
        assert new["app"]["containerID"] != old["app"]["containerID"]
        assert new["app"]["lastState"]["terminated"]["containerID"] == old["app"]["containerID"]
        assert new["proxy"] == old["proxy"]


async def test_graceful_deletion_stops_containers_then_deletes_the_pod(
        server: ApiServer) -> None:
    async with running(server) as h:
        await h.create(pod_body("doomed"))
        await h.create(pod_body("held", finalizers=("example.com/hold",)))
        await h.wait("doomed", is_ready)
        await h.wait("held", is_ready)

        await h.client.delete(PODS, "doomed", NS)
        await h.gone("doomed")

        await h.client.delete(PODS, "held", NS)
        held = await h.wait("held", lambda p: p["status"].get("phase") == "Succeeded"
                            and p["metadata"].get("deletionGracePeriodSeconds") == 0)
        (app,) = held["status"]["containerStatuses"]
        assert app["state"]["terminated"]["reason"] == "Completed"
        held["metadata"]["finalizers"] = []
        await h.client.update(PODS, held)
        await h.gone("held")
    assert ("delete", "pods") in h.kubelet_writes()


async def test_a_job_style_pod_succeeds(server: ApiServer) -> None:
    async with running(server) as h:
        await h.create(pod_body("job", annotations={RUN_FOR: "0"}, restart_policy="Never"))
        pod = await h.wait("job", lambda p: p["status"].get("phase") == "Succeeded")
        (app,) = pod["status"]["containerStatuses"]
        assert app["state"]["terminated"]["exitCode"] == 0
        assert app["state"]["terminated"]["reason"] == "Completed"


async def test_a_crash_loop_restarts_with_back_off_on_the_clock(server: ApiServer) -> None:
    async with running(server) as h:
        start = h.clock.monotonic()
        await h.create(pod_body("crashy", annotations={CRASH_LOOP: "true"}))

        def restarts(n: int) -> Callable[[Obj], bool]:
            def check(p: Obj) -> bool:
                app = container(p)
                waiting = (app.get("state") or {}).get("waiting") or {}
                return app.get("restartCount") == n and waiting.get("reason") == BACK_OFF
            return check

        pod = await h.wait("crashy", restarts(1), "first back-off")
        assert pod["status"]["phase"] == "Running" and condition(pod, "Ready") == "False"
        last = pod["status"]["containerStatuses"][0]["lastState"]["terminated"]
        assert (last["exitCode"], last["reason"]) == (1, "Error")
        # Each back-off ends on the clock: 10s, then 20s, then 40s.
        for back_off, due, count in ((10.0, 10.0, 2), (20.0, 30.0, 3), (40.0, 70.0, 4)):
            await parked_until(h.clock, start + due)
            h.clock.advance(back_off)
            await h.wait("crashy", restarts(count), f"restart {count} after {back_off}s")


async def test_slow_pulls_show_container_creating_then_running(server: ApiServer) -> None:
    latency = LatencyProfile(default_image=ImageLatency(pull=3.0, start=1.0))
    async with running(server, latency) as h:
        start = h.clock.monotonic()
        await h.create(pod_body("slow"))
        pod = await h.wait("slow", lambda p: bool(p["status"].get("containerStatuses")))
        waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
        assert waiting["reason"] == "ContainerCreating" and pod["status"]["phase"] == "Pending"
        await parked_until(h.clock, start + 4.0)
        h.clock.advance(4.0)
        await h.wait("slow", is_ready)
        await h.idle()
        assert h.kubelet_writes() == {("patch", "pods/status"): 2}


async def test_pods_on_a_not_ready_node_are_not_ready(server: ApiServer) -> None:
    async with running(server) as h:
        await h.create(pod_body("web"))
        await h.wait("web", is_ready)
        node = await h.client.get(NODES, "node-0")
        conditions = [dict(c, status="False", reason="KubeletNotReady")
                      if c["type"] == "Ready" else c for c in node["status"]["conditions"]]
        await h.client.patch(NODES, "node-0", {"status": {"conditions": conditions}},
                             subresource="status")
        pod = await h.wait("web", lambda p: condition(p, "Ready") == "False")
        assert condition(pod, "ContainersReady") == "True"


async def test_pods_on_other_nodes_are_left_alone(server: ApiServer) -> None:
    async with running(server) as h:
        await h.client.create(NODES, {"apiVersion": "v1", "kind": "Node",
                                      "metadata": {"name": "real-node"}})
        await h.create(pod_body("elsewhere", node="real-node"))
        await h.create(pod_body("here"))
        await h.wait("here", is_ready)
        await h.idle()
        pod = await h.get("elsewhere")
        assert pod is not None and pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


async def test_a_restarted_kubelet_adopts_its_pods_without_writing(server: ApiServer) -> None:
    async with running(server) as h:
        for i in range(4):
            await h.create(pod_body(f"keep-{i}", node=f"node-{i % 2}"))
        before = {f"keep-{i}": await h.wait(f"keep-{i}", is_ready) for i in range(4)}
    async with running(server, create_nodes=False) as again:
        await wait_until(lambda: len(again.kubelet.pods.cache) == 4, what="pods cached")
        await again.idle()
        assert again.kubelet_writes() == {}
        await again.create(pod_body("new", node="node-0"))
        new = await again.wait("new", is_ready)
        ips = {p["status"]["podIP"] for p in before.values()}
        assert new["status"]["podIP"] not in ips  # adopted pods kept their addresses
        for name, pod in before.items():
            now = await again.get(name)
            assert now is not None and now["status"] == pod["status"]
