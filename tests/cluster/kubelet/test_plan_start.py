"""Kubelet planner, starting pods: latencies, init containers, readiness and its faults."""

from __future__ import annotations

import pytest

from mizzen.cluster.config import (
    NEVER_READY,
    READINESS_FLAP,
    START_DELAY,
    ImageLatency,
    LatencyProfile,
)
from mizzen.cluster.kubelet.plan import NodeView
from mizzen.cluster.kubelet.runtime import PodRun
from tests.cluster.kubelet.scenario import (
    POD_IP,
    Driver,
    Expect,
    Scenario,
    Step,
    cases,
    pod,
    run_case,
    set_condition,
)

SLOW = LatencyProfile(sandbox=1.0, default_image=ImageLatency(pull=2.0, start=1.0))
KEYS = {"phase", "conditions", "containerStatuses", "hostIP", "hostIPs", "podIP", "podIPs",
        "startTime"}


def _one_write_with_everything(d: Driver, plan: object) -> None:
    assert d.plans[-1].status_patch is not None
    assert set(d.plans[-1].status_patch) == KEYS
    kinds = [c["type"] for c in d.pod["status"]["conditions"]]
    assert kinds == ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                     "PodScheduled"]
    app = d.container("app")
    assert app["image"] == "nginx:1.25" and app["started"] is True
    assert app["imageID"].startswith("docker.io/library/nginx@sha256:")
    assert app["containerID"].startswith("mizzen-sim://")


ZERO = Scenario(pod(), (
    Step("scheduled pod with zero latency goes straight to Running and Ready", 0, Expect(
        write=True, phase="Running", ready="True", containers_ready="True",
        states={"app": "running"}, restarts={"app": 0}, pod_ip=POD_IP, requeue=None,
        check=_one_write_with_everything)),
    Step("a later pass with nothing new writes nothing", 30, Expect(write=False, requeue=None)),
))

LATENCY = Scenario(pod(), (
    Step("bound pod waits for its sandbox in ContainerCreating, without an IP", 0, Expect(
        write=True, phase="Pending", ready="False", states={"app": "waiting:ContainerCreating"},
        pod_ip=None, requeue=1.0)),
    Step("sandbox ready: the pod gets its IP while the image is pulled", 1, Expect(
        write=True, phase="Pending", states={"app": "waiting:ContainerCreating"},
        pod_ip=POD_IP, requeue=3.0)),
    Step("pull and start done: Running and Ready", 4, Expect(
        write=True, phase="Running", ready="True", states={"app": "running"}, requeue=None)),
    Step("nothing due: no write", 60, Expect(write=False, requeue=None)),
), latency=SLOW)

CACHED_IMAGE = Scenario(pod(), (
    Step("a node that has the image skips the pull", 0, Expect(requeue=1.0)),
), latency=LatencyProfile(default_image=ImageLatency(pull=2.0, start=1.0)),
   images=frozenset({"nginx:1.25"}))

SAME_REPOSITORY = Scenario(pod(), (
    Step("a node with another tag of the repository pulls only the missing layers", 0,
         Expect(requeue=0.5 + 1.0)),
), latency=LatencyProfile(default_image=ImageLatency(2.0, 0.5, 1.0)),
   images=frozenset({"nginx:1.24"}))

INIT = Scenario(pod(init=(("migrate", "busybox:1"), ("seed", "busybox:1"))), (
    Step("init containers run first; regular containers wait in PodInitializing", 0, Expect(
        phase="Pending", ready="False", init_states={"migrate": "waiting:ContainerCreating",
                                                      "seed": "waiting:PodInitializing"},
        states={"app": "waiting:PodInitializing"}, requeue=2.0,
        check=lambda d, _: _initialized(d, "False"))),
    Step("first init container completed; the second reuses the pulled image", 2, Expect(
        init_states={"migrate": "terminated:Completed:0", "seed": "waiting:ContainerCreating"},
        requeue=1.0)),
    Step("all init containers completed: Initialized, regular containers start", 3, Expect(
        phase="Pending", init_states={"seed": "terminated:Completed:0"},
        states={"app": "waiting:ContainerCreating"}, requeue=2.0,
        check=lambda d, _: _initialized(d, "True"))),
    Step("regular container running: Ready; completed init containers count as ready", 5,
         Expect(phase="Running", ready="True", states={"app": "running"},
                check=lambda d, _: _init_ready(d))),
), latency=LatencyProfile(default_image=ImageLatency(pull=1.0, start=1.0)))

SIDECAR = Scenario(pod(init=(("proxy", "envoy:1"), ("migrate", "busybox:1")), sidecar=True), (
    Step("a sidecar init container keeps running and the next one starts after it", 0, Expect(
        phase="Running", ready="True", init_states={"proxy": "running",
                                                    "migrate": "terminated:Completed:0"},
        states={"app": "running"})),
))

GATES = Scenario(pod(gates=("example.com/in-service",)), (
    Step("containers ready but the gate condition is missing: not Ready", 0, Expect(
        write=True, containers_ready="True", ready="False",
        ready_reason="ReadinessGatesNotReady")),
    Step("gate condition False keeps the pod not Ready", 1, Expect(
        ready="False", ready_reason="ReadinessGatesNotReady"),
        change=set_condition("example.com/in-service", "False")),
    Step("gate condition True: Ready, and the gate condition is kept", 2, Expect(
        write=True, ready="True",
        check=lambda d, _: _has_condition(d, "example.com/in-service", "True")),
        change=set_condition("example.com/in-service", "True")),
))

NEVER = Scenario(pod(annotations={NEVER_READY: "true"}), (
    Step("never-ready pod runs but is never Ready", 0, Expect(
        phase="Running", states={"app": "running"}, ready="False", containers_ready="False",
        requeue=None)),
))

DELAYED = Scenario(pod(annotations={START_DELAY: "2.5"}), (
    Step("start-delay holds the container in ContainerCreating", 0, Expect(
        states={"app": "waiting:ContainerCreating"}, requeue=2.5)),
    Step("after the delay it runs", 2.5, Expect(states={"app": "running"}, ready="True")),
))

FLAPPING = Scenario(pod(annotations={READINESS_FLAP: "1"}), (
    Step("flapping pod starts Ready", 0, Expect(ready="True", requeue=1.0)),
    Step("one period later it is not Ready", 1, Expect(
        write=True, ready="False", containers_ready="False", requeue=1.0)),
    Step("and Ready again the next", 2, Expect(write=True, ready="True", requeue=1.0)),
))

PROBE = Scenario(pod(probe_delay=3), (
    Step("readiness probe delay: running but not Ready yet", 0, Expect(
        states={"app": "running"}, ready="False", requeue=3.0)),
    Step("probe delay over: Ready", 3, Expect(write=True, ready="True", requeue=None)),
))

NODE_DOWN = Scenario(pod(), (
    Step("pods on a NotReady node run but are not Ready", 0, Expect(
        phase="Running", containers_ready="True", ready="False", ready_reason="NodeNotReady")),
), node=NodeView("node-0", "10.0.0.2", False))


def _initialized(d: Driver, status: str) -> None:
    assert d.condition("Initialized")["status"] == status


def _init_ready(d: Driver) -> None:
    assert [c["ready"] for c in d.pod["status"]["initContainerStatuses"]] == [True, True]


def _has_condition(d: Driver, kind: str, status: str) -> None:
    assert d.condition(kind)["status"] == status


@pytest.mark.parametrize(("scenario", "index"), cases(
    ZERO, LATENCY, CACHED_IMAGE, SAME_REPOSITORY, INIT, SIDECAR, GATES, NEVER, DELAYED,
    FLAPPING, PROBE, NODE_DOWN))
def test_start(scenario: Scenario, index: int) -> None:
    run_case(scenario, index)


def test_a_restarted_kubelet_adopts_a_running_pod_without_writing() -> None:
    first = Driver(pod(), LatencyProfile())
    first.step(0)
    again = Driver(first.pod, LatencyProfile())  # a new process: no runtime state
    plan = again.step(3600)
    assert plan.status_patch is None and plan.requeue_after is None
    assert isinstance(plan.run, PodRun) and plan.run.ip == POD_IP
    assert plan.run.containers[0].container_id == first.container("app")["containerID"]
