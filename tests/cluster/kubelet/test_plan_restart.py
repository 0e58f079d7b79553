"""Kubelet planner, containers that restart or end: in-place image updates, crash loops,
job-style pods."""

from __future__ import annotations

import pytest

from mizzen.cluster.config import CRASH_LOOP, RUN_FOR, ImageLatency, LatencyProfile
from mizzen.cluster.kubelet.identity import image_id
from mizzen.cluster.kubelet.plan import PodPlan
from tests.cluster.kubelet.scenario import (
    POD_IP,
    Driver,
    Expect,
    Scenario,
    Step,
    cases,
    pod,
    run_case,
    set_image,
)

TWO = (("app", "nginx:1.25"), ("proxy", "envoy:1.0"))
PULLS = LatencyProfile(default_image=ImageLatency(pull=4.0, pull_cached_layers=1.0, start=1.0))


def _ids(d: Driver) -> dict[str, str]:
    return {c["name"]: c["containerID"] for c in d.pod["status"]["containerStatuses"]}


def _restarting(d: Driver, plan: PodPlan) -> None:
    app = d.container("app")
    # Until the new instance runs, the old one's image and imageID are reported.
    assert app["image"] == "nginx:1.25"
    assert app["imageID"] == image_id("nginx:1.25")
    assert app["lastState"]["terminated"]["exitCode"] == 0
    assert app["lastState"]["terminated"]["reason"] == "Completed"
    assert d.pod["status"]["podIP"] == POD_IP and d.pod["metadata"]["uid"] == "uid-1"


def _restarted(d: Driver, plan: PodPlan) -> None:
    app, proxy = d.container("app"), d.container("proxy")
    assert app["image"] == "nginx:1.26" and app["imageID"] == image_id("nginx:1.26")
    assert app["imageID"] != image_id("nginx:1.25")
    first = d.plans[1].status_patch or {}
    before = {c["name"]: c for c in first["containerStatuses"]}
    assert app["containerID"] != before["app"]["containerID"]
    assert proxy == before["proxy"]  # the other container did not move at all
    assert app["lastState"]["terminated"]["containerID"] == before["app"]["containerID"]


IN_PLACE = Scenario(pod(*TWO), (
    Step("both containers pull and start", 0, Expect(
        states={"app": "waiting:ContainerCreating", "proxy": "waiting:ContainerCreating"},
        requeue=5.0)),
    Step("both running: Ready", 5, Expect(phase="Running", ready="True")),
    Step("image change stops only that container; the pod is not Ready meanwhile", 6, Expect(
        write=True, phase="Running", ready="False", containers_ready="False",
        states={"app": "waiting:ContainerCreating", "proxy": "running"},
        restarts={"app": 0, "proxy": 0}, requeue=1.0 + 1.0, check=_restarting),
        change=set_image("app", "nginx:1.26")),
    Step("image change restarts only that container, on cached layers", 8, Expect(
        write=True, ready="True", states={"app": "running", "proxy": "running"},
        restarts={"app": 1, "proxy": 0}, pod_ip=POD_IP, check=_restarted)),
), latency=PULLS)

IN_PLACE_ZERO = Scenario(pod(*TWO), (
    Step("running pod", 0, Expect(ready="True")),
    Step("image change with zero latency restarts the container in one write", 1, Expect(
        write=True, ready="True", states={"app": "running", "proxy": "running"},
        restarts={"app": 1, "proxy": 0}, requeue=None),
        change=set_image("app", "nginx:1.26")),
    Step("the restarted pod is steady", 2, Expect(write=False)),
))

IN_PLACE_NEW_REPO = Scenario(pod(*TWO), (
    Step("pod pulls its images", 0, Expect(requeue=5.0)),
    Step("running pod", 5, Expect(ready="True")),
    Step("an image from another repository pays the full pull", 6, Expect(requeue=4.0 + 1.0),
         change=set_image("app", "httpd:2.4")),
), latency=PULLS)


CRASH = Scenario(pod(annotations={CRASH_LOOP: "true"}), (
    Step("crashing container restarts at once, then backs off 10s", 0, Expect(
        write=True, phase="Running", ready="False", states={"app": "waiting:CrashLoopBackOff"},
        restarts={"app": 1}, requeue=10.0, check=lambda d, _: _last_exit(d, 1, "Error"))),
    Step("after 10s it restarts, crashes and backs off 20s", 10, Expect(
        restarts={"app": 2}, states={"app": "waiting:CrashLoopBackOff"}, requeue=20.0)),
    Step("then 40s", 30, Expect(restarts={"app": 3}, requeue=40.0)),
    Step("then 80s", 70, Expect(restarts={"app": 4}, requeue=80.0)),
    Step("then 160s", 150, Expect(restarts={"app": 5}, requeue=160.0)),
    Step("then 300s, the cap", 310, Expect(restarts={"app": 6}, requeue=300.0)),
    Step("and stays at the cap", 610, Expect(restarts={"app": 7}, requeue=300.0)),
    Step("a pass during the back-off writes nothing", 700, Expect(write=False, requeue=210.0)),
))

CRASH_LATER = Scenario(pod(annotations={CRASH_LOOP: "5"}), (
    Step("container that crashes after 5s runs first", 0, Expect(
        states={"app": "running"}, ready="True", requeue=5.0)),
    Step("first crash: restarted at once", 5, Expect(
        states={"app": "running"}, restarts={"app": 1}, requeue=5.0,
        check=lambda d, _: _last_exit(d, 1, "Error"))),
    Step("second crash: CrashLoopBackOff for 10s", 10, Expect(
        states={"app": "waiting:CrashLoopBackOff"}, ready="False", requeue=10.0)),
))

CRASH_NEVER = Scenario(pod(annotations={CRASH_LOOP: "true"}, restart_policy="Never"), (
    Step("crashing container of a restartPolicy=Never pod fails the pod", 0, Expect(
        phase="Failed", states={"app": "terminated:Error:1"}, restarts={"app": 0},
        requeue=None)),
))

JOB = Scenario(pod(annotations={RUN_FOR: "3"}, restart_policy="Never"), (
    Step("job-style pod runs", 0, Expect(phase="Running", ready="True", requeue=3.0)),
    Step("job-style pod completes: Succeeded, exit 0", 3, Expect(
        write=True, phase="Succeeded", ready="False", ready_reason="PodCompleted",
        states={"app": "terminated:Completed:0"}, requeue=None,
        check=lambda d, _: _condition_is(d, "PodReadyToStartContainers", "False"))),
    Step("a completed pod stays as it is", 60, Expect(write=False, requeue=None)),
))

JOB_ON_FAILURE = Scenario(pod(annotations={RUN_FOR: "0"}, restart_policy="OnFailure"), (
    Step("restartPolicy=OnFailure pod that exits 0 Succeeds", 0, Expect(
        phase="Succeeded", states={"app": "terminated:Completed:0"}, restarts={"app": 0})),
))

RUN_FOR_ALWAYS = Scenario(pod(annotations={RUN_FOR: "2"}), (
    Step("server pod that exits 0", 0, Expect(phase="Running", requeue=2.0)),
    Step("is restarted by restartPolicy=Always", 2, Expect(
        phase="Running", states={"app": "running"}, restarts={"app": 1},
        check=lambda d, _: _last_exit(d, 0, "Completed"))),
))


def _last_exit(d: Driver, code: int, reason: str) -> None:
    term = d.container("app")["lastState"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (code, reason)


def _condition_is(d: Driver, kind: str, status: str) -> None:
    assert d.condition(kind)["status"] == status


@pytest.mark.parametrize(("scenario", "index"), cases(
    IN_PLACE, IN_PLACE_ZERO, IN_PLACE_NEW_REPO, CRASH, CRASH_LATER, CRASH_NEVER, JOB,
    JOB_ON_FAILURE, RUN_FOR_ALWAYS))
def test_restart(scenario: Scenario, index: int) -> None:
    run_case(scenario, index)


def test_crash_back_off_starts_over_after_ten_quiet_minutes() -> None:
    d = Driver(pod(annotations={CRASH_LOOP: "700"}), LatencyProfile())
    d.step(0)
    first = d.step(700)  # first exit: restart at once
    assert d.state("app") == "running" and first.requeue_after == pytest.approx(700)
    second = d.step(1400)  # 700s after the last back-off: it has expired
    assert d.state("app") == "running" and d.container("app")["restartCount"] == 2
    assert second.requeue_after == pytest.approx(700)


def test_a_second_image_change_during_the_restart_retargets_it() -> None:
    d = Driver(pod(*TWO), PULLS)
    d.step(0)
    d.step(5)
    set_image("app", "nginx:1.26")(d.pod)
    d.step(6)
    set_image("app", "nginx:1.27")(d.pod)
    plan = d.step(7)
    assert plan.requeue_after == pytest.approx(2.0)
    d.step(9)
    app = d.container("app")
    assert app["image"] == "nginx:1.27" and app["restartCount"] == 1
