"""Scenario tables for the kubelet planner: a pod, a latency profile, and named steps.

Each step happens ``at`` seconds after the pod was bound, may first change
the pod (as a user or controller would: a new image, a deletion, a gate
condition), then runs one planner pass and checks the outcome against an
:class:`Expect`.  :func:`cases` turns scenarios into pytest parameters, one
per step, named "<what happens> (step k/n)"; running step k replays steps
1..k-1 first, so every case stands alone.

The :class:`Driver` plays the API server's part: it applies a planned status
patch to its copy of the pod (a merge of top-level fields) and keeps the
runtime state and the node's images between passes, as the executor does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mizzen.cluster.config import LatencyProfile
from mizzen.cluster.kubelet.plan import NodeView, PodInputs, PodPlan, plan_pod
from mizzen.cluster.kubelet.runtime import PodRun

Obj = dict[str, Any]
T0 = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
POD_IP = "10.244.0.2"
NODE = NodeView("node-0", "10.0.0.2", True)
ANY = object()  # "do not check"


def pod(*containers: tuple[str, str], init: tuple[tuple[str, str], ...] = (),
        annotations: dict[str, str] | None = None, restart_policy: str = "Always",
        gates: tuple[str, ...] = (), probe_delay: int | None = None,
        sidecar: bool = False) -> Obj:
    """A bound pod as the API server stores it (defaults applied, status Pending)."""
    def container(name: str, image: str) -> Obj:
        out: Obj = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent"}
        if probe_delay is not None:
            out["readinessProbe"] = {"initialDelaySeconds": probe_delay,
                                     "httpGet": {"path": "/", "port": 80}}
        return out

    spec: Obj = {"nodeName": NODE.name, "restartPolicy": restart_policy,
                 "terminationGracePeriodSeconds": 30,
                 "containers": [container(n, i) for n, i in containers or (("app", "nginx:1.25"),)]}
    if init:
        spec["initContainers"] = [{"name": n, "image": i, "imagePullPolicy": "IfNotPresent"}
                                  for n, i in init]
        if sidecar:
            spec["initContainers"][0]["restartPolicy"] = "Always"
    if gates:
        spec["readinessGates"] = [{"conditionType": g} for g in gates]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "uid": "uid-1",
                         "resourceVersion": "1", "annotations": dict(annotations or {})},
            "spec": spec, "status": {"phase": "Pending", "qosClass": "BestEffort"}}


class Driver:
    """Runs planner passes over one pod, applying each planned status patch."""

    def __init__(self, pod: Obj, latency: LatencyProfile, node: NodeView = NODE,
                 images: frozenset[str] = frozenset()) -> None:
        self.pod = copy.deepcopy(pod)
        self.latency = latency
        self.node = node
        self.images = set(images)
        self.run: PodRun | None = None
        self.plans: list[PodPlan] = []

    def step(self, at: float) -> PodPlan:
        plan = plan_pod(PodInputs(copy.deepcopy(self.pod), self.run, POD_IP, self.node,
                                  frozenset(self.images), self.latency,
                                  T0 + timedelta(seconds=at)))
        self.run = plan.run
        self.images |= plan.images
        if plan.status_patch is not None:
            self.pod["status"].update(copy.deepcopy(plan.status_patch))
        self.plans.append(plan)
        return plan

    # -- reading the pod -------------------------------------------------------------

    def condition(self, kind: str) -> Obj:
        for c in self.pod["status"].get("conditions") or ():
            if c["type"] == kind:
                return dict(c)
        return {}

    def container(self, name: str, init: bool = False) -> Obj:
        key = "initContainerStatuses" if init else "containerStatuses"
        for c in self.pod["status"].get(key) or ():
            if c["name"] == name:
                return dict(c)
        raise AssertionError(f"no status for container {name}")

    def state(self, name: str, init: bool = False) -> str:
        """``running``, ``waiting:<reason>`` or ``terminated:<reason>:<exitCode>``."""
        state = self.container(name, init)["state"]
        if "running" in state:
            return "running"
        if "waiting" in state:
            return f"waiting:{state['waiting']['reason']}"
        term = state["terminated"]
        return f"terminated:{term['reason']}:{term['exitCode']}"


@dataclass(frozen=True)
class Expect:
    """What a step must produce; fields left at ANY are not checked."""

    write: Any = ANY  # a status patch was planned (bool)
    delete: Any = ANY  # the final delete was planned (bool)
    phase: Any = ANY
    ready: Any = ANY  # the Ready condition's status ("True"/"False")
    ready_reason: Any = ANY
    containers_ready: Any = ANY
    states: dict[str, str] = field(default_factory=dict)  # container -> Driver.state()
    init_states: dict[str, str] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)
    pod_ip: Any = ANY  # the reported podIP (None: absent)
    requeue: Any = ANY  # requeue_after in seconds (None: none)
    check: Callable[[Driver, PodPlan], None] | None = None  # anything else

    def verify(self, d: Driver, plan: PodPlan) -> None:
        status = d.pod["status"]
        if self.write is not ANY:
            assert (plan.status_patch is not None) == self.write, plan.status_patch
        if self.delete is not ANY:
            assert plan.delete == self.delete
        if self.phase is not ANY:
            assert status["phase"] == self.phase
        if self.ready is not ANY:
            assert d.condition("Ready").get("status") == self.ready, d.condition("Ready")
        if self.ready_reason is not ANY:
            assert d.condition("Ready").get("reason") == self.ready_reason
        if self.containers_ready is not ANY:
            assert d.condition("ContainersReady").get("status") == self.containers_ready
        for name, state in self.states.items():
            assert d.state(name) == state, d.container(name)
        for name, state in self.init_states.items():
            assert d.state(name, init=True) == state, d.container(name, init=True)
        for name, count in self.restarts.items():
            assert d.container(name)["restartCount"] == count
        if self.pod_ip is not ANY:
            assert status.get("podIP") == self.pod_ip
        if self.requeue is not ANY:
            if self.requeue is None:
                assert plan.requeue_after is None
            else:
                assert plan.requeue_after == pytest.approx(self.requeue)
        if self.check is not None:
            self.check(d, plan)


@dataclass(frozen=True)
class Step:
    name: str
    at: float
    expect: Expect
    change: Callable[[Obj], None] | None = None  # applied to the pod before the pass


@dataclass(frozen=True)
class Scenario:
    pod: Obj
    steps: tuple[Step, ...]
    latency: LatencyProfile = field(default_factory=LatencyProfile)
    node: NodeView = NODE
    images: frozenset[str] = frozenset()

    def play(self, upto: int) -> tuple[Driver, PodPlan]:
        """Run steps 0..upto; return the driver and the last plan."""
        d = Driver(self.pod, self.latency, self.node, self.images)
        plan: PodPlan | None = None
        for step in self.steps[:upto + 1]:
            if step.change is not None:
                step.change(d.pod)
            plan = d.step(step.at)
        assert plan is not None
        return d, plan


def cases(*scenarios: Scenario) -> list[Any]:
    """One pytest param per step, with the step's name (and position) as its id."""
    return [pytest.param(s, i, id=f"{step.name} (step {i + 1}/{len(s.steps)})")
            for s in scenarios for i, step in enumerate(s.steps)]


def run_case(scenario: Scenario, index: int) -> None:
    d, plan = scenario.play(index)
    scenario.steps[index].expect.verify(d, plan)


# -- pod changes -------------------------------------------------------------------------


def set_image(container: str, image: str) -> Callable[[Obj], None]:
    def change(p: Obj) -> None:
        for c in p["spec"]["containers"]:
            if c["name"] == container:
                c["image"] = image
    return change


def delete(grace: int, finalizers: tuple[str, ...] = ()) -> Callable[[Obj], None]:
    def change(p: Obj) -> None:
        p["metadata"]["deletionTimestamp"] = "2024-01-01T13:00:00Z"
        p["metadata"]["deletionGracePeriodSeconds"] = grace
        if finalizers:
            p["metadata"]["finalizers"] = list(finalizers)
    return change


def set_condition(kind: str, status: str) -> Callable[[Obj], None]:
    def change(p: Obj) -> None:
        conditions = [c for c in p["status"].get("conditions") or () if c["type"] != kind]
        conditions.append({"type": kind, "status": status,
                           "lastTransitionTime": "2024-01-01T12:00:00Z"})
        p["status"]["conditions"] = conditions
    return change
