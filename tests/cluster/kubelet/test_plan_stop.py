"""Kubelet planner, graceful termination: grace periods, the final delete, finalizers."""

from __future__ import annotations

import pytest

from mizzen.cluster.config import CRASH_LOOP, ImageLatency, LatencyProfile
from mizzen.cluster.kubelet.plan import NodeView
from tests.cluster.kubelet.scenario import (
    Driver,
    Expect,
    Scenario,
    Step,
    cases,
    delete,
    pod,
    run_case,
    set_image,
)

STOP_2S = LatencyProfile(stop=2.0)
STOP_5S = LatencyProfile(stop=5.0)


def _stopped_at(d: Driver, finished: str) -> None:
    term = d.container("app")["state"]["terminated"]
    assert term["finishedAt"] == finished
    assert term["containerID"] == d.container("app")["containerID"]


GRACEFUL = Scenario(pod(), (
    Step("running pod", 0, Expect(phase="Running", ready="True")),
    Step("deletion seen: containers keep running while they stop", 5, Expect(
        write=False, delete=False, requeue=2.0), change=delete(30)),
    Step("containers stopped within the grace period: Completed, phase Succeeded, "
         "then delete with grace 0 in the same pass", 7, Expect(
             write=True, delete=True, phase="Succeeded", ready="False",
             states={"app": "terminated:Completed:0"}, requeue=None,
             check=lambda d, _: _stopped_at(d, "2024-01-01T12:00:07Z"))),
    Step("the delete is sent once", 8, Expect(write=False, delete=False)),
), latency=STOP_2S)

KILLED = Scenario(pod(), (
    Step("running pod", 0, Expect(phase="Running")),
    Step("grace period shorter than the stop: containers run until it ends", 1, Expect(
        write=False, requeue=2.0), change=delete(2)),
    Step("killed at the end of the grace period: exit 137, phase Failed, and deleted", 3,
         Expect(write=True, delete=True, phase="Failed",
                states={"app": "terminated:Error:137"})),
), latency=STOP_5S)

FORCED = Scenario(pod(), (
    Step("running pod", 0, Expect(phase="Running")),
    Step("deleted with grace 0 but held by a finalizer: killed and reported at once", 1,
         Expect(write=True, phase="Failed", states={"app": "terminated:Error:137"},
                delete=False), change=delete(0, ("example.com/hold",))),
    Step("not deleted again: the finalizer's owner releases it", 2, Expect(
        write=False, delete=False, requeue=None)),
), latency=STOP_2S)

NEVER_RAN = Scenario(pod(), (
    Step("pod pulling a large image", 0, Expect(states={"app": "waiting:ContainerCreating"})),
    Step("deleted before anything ran: deleted without a status write", 1, Expect(
        write=False, delete=True), change=delete(30)),
), latency=LatencyProfile(default_image=ImageLatency(pull=60.0)))

CRASHING = Scenario(pod(annotations={CRASH_LOOP: "true"}), (
    Step("crash-looping pod", 0, Expect(states={"app": "waiting:CrashLoopBackOff"})),
    Step("deleted during its back-off: no restart, the last exit is reported and the pod "
         "deleted", 1, Expect(write=True, delete=True, phase="Failed",
                              states={"app": "terminated:Error:1"}, requeue=None),
         change=delete(30)),
))

NO_UPDATE_WHILE_STOPPING = Scenario(pod(), (
    Step("running pod", 0, Expect(phase="Running")),
    Step("deletion seen", 1, Expect(requeue=2.0), change=delete(30)),
    Step("an image change while stopping restarts nothing", 2, Expect(
        write=False, states={"app": "running"}), change=set_image("app", "nginx:1.26")),
), latency=STOP_2S)


@pytest.mark.parametrize(("scenario", "index"), cases(
    GRACEFUL, KILLED, FORCED, NEVER_RAN, CRASHING, NO_UPDATE_WHILE_STOPPING))
def test_stop(scenario: Scenario, index: int) -> None:
    run_case(scenario, index)


def test_on_an_unreachable_node_nothing_moves_and_pods_are_marked_not_ready() -> None:
    d = Driver(pod(), STOP_2S)
    d.step(0)
    d.node = NodeView("node-0", "10.0.0.2", ready=False, reachable=False)
    lost = d.step(10)
    assert lost.status_patch is not None and set(lost.status_patch) == {"conditions"}
    assert d.condition("Ready")["status"] == "False"
    assert d.condition("Ready")["reason"] == "NodeNotReady"
    delete(30)(d.pod)
    stuck = d.step(60)
    assert stuck.status_patch is None and not stuck.delete and stuck.requeue_after is None
    assert d.state("app") == "running"  # stuck Terminating while the kubelet is gone

    d.node = NodeView("node-0", "10.0.0.2", ready=True)
    d.step(61)  # back: the deletion is seen now, the stop takes its 2 s
    stopped = d.step(63)
    assert d.state("app") == "terminated:Completed:0"
    assert stopped.status_patch is not None and stopped.delete
