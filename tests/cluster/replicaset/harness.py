"""Scaffolding for the ReplicaSet and Deployment controller tests (both import it).

* builders for Deployments and ReplicaSets as plain API dicts;
* :func:`running` — a :class:`Manager` with both controllers on the in-process
  API server (cache mutation checks on);
* :func:`mark_ready` — what a kubelet would report: writes the pod's status
  through ``pods/status`` (Running, Ready and friends, a container status),
  optionally after binding the pod to a fake node through ``pods/binding``.
  The tests do not depend on the scheduler or kubelet simulators: readiness is
  driven by the test, so every run sees the same sequence;
* :class:`PodWatch` — a pod watch the test consumes as it happens: it keeps the
  current pods, calls a check after *every* event (invariants "at every
  instant"), marks new pods ready on request, and — standing in for the
  kubelet — finishes the graceful deletion of pods bound to a node;
* :class:`JumpClock` — real time plus jumps the test makes, so a progress
  deadline can be passed without waiting while backoffs still run in real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mizzen.apiserver.server import ApiServer
from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import DEPLOYMENTS, PODS
from mizzen.cluster.deployment import DeploymentController, add_deployment_controller
from mizzen.cluster.podutil import is_ready, is_terminating, rfc3339
from mizzen.cluster.replicaset import ReplicaSetController, add_replicaset_controller
from mizzen.runtime.clock import Clock, RealClock
from mizzen.runtime.manager import Manager, ManagerOptions
from tests.runtime.conftest import client_for

Obj = dict[str, Any]
NS = "default"


def template(labels: dict[str, str], image: str = "nginx:1.25", **spec: Any) -> Obj:
    return {"metadata": {"labels": dict(labels)},
            "spec": {"containers": [{"name": "app", "image": image}], **spec}}


def deployment(name: str = "web", replicas: int = 3, image: str = "nginx:1.25", *,
               strategy: Obj | None = None, annotations: dict[str, str] | None = None,
               **spec: Any) -> Obj:
    labels = {"app": name}
    body: Obj = {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": template(labels, image), **spec}
    if strategy is not None:
        body["strategy"] = strategy
    meta: Obj = {"name": name, "namespace": NS}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": body}


def replica_set(name: str = "front", replicas: int = 3, image: str = "nginx:1.25",
                labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": template(labels, image), **spec}}


def pod(name: str, labels: dict[str, str], image: str = "nginx:1.25") -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "app", "image": image}]}}


@dataclass
class Controllers:
    manager: Manager
    replicasets: ReplicaSetController
    deployments: DeploymentController


@asynccontextmanager
async def running(server: ApiServer, clock: Clock | None = None) -> AsyncIterator[Controllers]:
    """Both controllers on one manager, running until the block ends."""
    manager = Manager(client_for(server), clock or RealClock(),
                      ManagerOptions(check_mutations=True))
    controllers = Controllers(manager, add_replicaset_controller(manager),
                              add_deployment_controller(manager))
    try:
        async with manager:
            yield controllers
    finally:
        await manager.client.close()


async def mark_ready(client: Client, pod: Obj, *, node: str | None = None,
                     at: datetime | None = None) -> None:
    """Report ``pod`` Running and Ready since ``at`` (now), optionally bound to ``node``."""
    meta = pod["metadata"]
    if node is not None and not (pod.get("spec") or {}).get("nodeName"):
        await client.create(PODS, {"apiVersion": "v1", "kind": "Binding",
                                   "metadata": {"name": meta["name"], "namespace": NS},
                                   "target": {"apiVersion": "v1", "kind": "Node", "name": node}},
                            NS, subresource="binding")
    stamp = rfc3339(at or datetime.now(UTC))
    containers = (pod.get("spec") or {}).get("containers") or []
    status = {
        "phase": "Running", "startTime": stamp,
        "conditions": [{"type": t, "status": "True", "lastTransitionTime": stamp}
                       for t in ("PodReadyToStartContainers", "Initialized", "Ready",
                                 "ContainersReady", "PodScheduled")],
        "containerStatuses": [{"name": c["name"], "image": c["image"], "imageID": "",
                               "ready": True, "started": True, "restartCount": 0,
                               "state": {"running": {"startedAt": stamp}}}
                              for c in containers],
    }
    await client.patch(PODS, meta["name"], {"status": status}, NS, subresource="status")


Check = Callable[[dict[str, Obj]], None]


@dataclass
class PodWatch:
    """Follows the namespace's pods; see the module docstring."""

    client: Client
    # Mark a pod ready when it appears (and is not terminating) if this says so.
    make_ready: Callable[[Obj], bool] = lambda pod: False
    # Bind pods made ready to this node (their deletion then waits for us).
    node: str | None = None
    # Called with the current pods after every event.
    check: Check | None = None
    pods: dict[str, Obj] = field(default_factory=dict)
    events: int = 0
    _readied: set[str] = field(default_factory=set)
    _task: asyncio.Task[None] | None = None
    _synced: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> PodWatch:
        self._task = asyncio.create_task(self._run())
        await self._synced.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        items, rv = await self.client.list_all(PODS, NS)
        for item in items:
            self.pods[item["metadata"]["name"]] = item
        self._synced.set()
        for item in items:
            await self._act(item)
        async for event in self.client.watch(PODS, NS, resource_version=rv):
            if event.type == "BOOKMARK":
                continue
            name = event.object["metadata"]["name"]
            if event.type == "DELETED":
                self.pods.pop(name, None)
            else:
                self.pods[name] = event.object
            self.events += 1
            if self.check is not None:
                self.check(dict(self.pods))
            if event.type != "DELETED":
                await self._act(event.object)

    async def _act(self, pod: Obj) -> None:
        name = pod["metadata"]["name"]
        try:
            if is_terminating(pod) and (pod.get("spec") or {}).get("nodeName"):
                await self.client.delete(PODS, name, NS, grace_period_seconds=0)
            elif (not is_terminating(pod) and not is_ready(pod) and name not in self._readied
                  and self.make_ready(pod)):
                self._readied.add(name)
                await mark_ready(self.client, pod, node=self.node)
        except ApiError as exc:
            if not exc.not_found:
                raise

    def live(self) -> list[Obj]:
        """Pods not being deleted."""
        return [p for p in self.pods.values() if not is_terminating(p)]


class JumpClock:
    """Real time, plus whatever :meth:`jump` added; sleepers wake early after a jump."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._jumped = asyncio.Event()

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    async def sleep(self, seconds: float) -> None:
        deadline = self.monotonic() + seconds
        while (left := deadline - self.monotonic()) > 0:
            jumped = self._jumped
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(jumped.wait(), left)

    def jump(self, seconds: float) -> None:
        self._offset += seconds
        self._jumped.set()
        self._jumped = asyncio.Event()


def rolled_out(client: Client, name: str = "web") -> Callable[[], Any]:
    """An async check: ``kubectl rollout status`` would report success."""

    async def check() -> bool:
        d = await client.get(DEPLOYMENTS, name, NS)
        status, want = d.get("status") or {}, d["spec"]["replicas"]
        return bool(d["metadata"]["generation"] <= (status.get("observedGeneration") or 0)
                    and (status.get("updatedReplicas") or 0) == want
                    and (status.get("replicas") or 0) == want
                    and (status.get("availableReplicas") or 0) == want)

    return check


def progressing(client: Client, reason: str, name: str = "web") -> Callable[[], Any]:
    """An async check: the Progressing condition has ``reason`` (returns the condition)."""

    async def check() -> Obj | None:
        d = await client.get(DEPLOYMENTS, name, NS)
        for cond in (d.get("status") or {}).get("conditions") or ():
            if cond["type"] == "Progressing" and cond["reason"] == reason:
                return dict(cond)
        return None

    return check


def stuck(client: Client, updated: int, total: int, name: str = "web") -> Callable[[], Any]:
    """An async check: a rollout that cannot go on (new pods never ready) has settled —
    ``updated`` new and ``total`` pods counted in an up-to-date status, whose Progressing
    condition (NewReplicaSetCreated or ReplicaSetUpdated) then no longer moves."""

    async def check() -> bool:
        d = await client.get(DEPLOYMENTS, name, NS)
        status = d.get("status") or {}
        reasons = {c["type"]: c["reason"] for c in status.get("conditions") or ()}
        return bool((status.get("updatedReplicas") or 0) == updated
                    and (status.get("replicas") or 0) == total
                    and (status.get("observedGeneration") or 0) >= d["metadata"]["generation"]
                    and reasons.get("Progressing") in ("NewReplicaSetCreated",
                                                       "ReplicaSetUpdated"))

    return check
