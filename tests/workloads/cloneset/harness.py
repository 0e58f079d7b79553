"""Scaffolding for the CloneSet end-to-end tests: API server + simulated cluster + controller.

* :func:`running` — the CloneSet CRD installed, then one manager with the
  simulated nodes, scheduler and kubelets (zero latency) and the CloneSet
  controller (instance ids seeded), on a :class:`JumpClock` so a progress
  deadline can be passed without waiting;
* :func:`cloneset` — a v1beta1 (or v1alpha1) CloneSet body with the usual knobs;
* :class:`Env` — reads as the tests need them (the CloneSet, its pods, a
  condition) and waits on them;
* :class:`PodTrace` — a pod watch that records, after *every* event, what a
  user of the CloneSet would see at that instant (pods, unavailable pods),
  for invariants "at every observed instant".
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mizzen.api.cloneset.crd import CRD_NAME, clonesets_crd
from mizzen.apiserver.server import ApiServer
from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import CRDS, NODES, PODS, PVCS, Resource
from mizzen.cluster.config import ClusterConfig
from mizzen.cluster.podutil import is_terminating
from mizzen.cluster.setup import add_simulated_cluster
from mizzen.runtime.manager import Manager, ManagerOptions
from mizzen.workloads.cloneset import (
    CLONESETS,
    CloneSetController,
    CloneSetOptions,
    add_cloneset_controller,
)
from mizzen.workloads.lifecycle import is_pod_available
from tests.cluster.replicaset.harness import JumpClock
from tests.runtime.conftest import client_for
from tests.runtime.util import wait_for_async

Obj = dict[str, Any]
NS = "default"
V1ALPHA1 = Resource("apps.kruise.io", "v1alpha1", "clonesets", "CloneSet", True)


def cloneset(name: str = "web", replicas: int = 3, image: str = "nginx:1.25", *,
             version: str = "v1beta1", policy: str | None = None, partition: Any = None,
             max_unavailable: Any = None, max_surge: Any = None, paused: bool | None = None,
             update_type: str | None = None, **spec: Any) -> Obj:
    """A CloneSet; ``policy`` is the pod update policy (v1alpha1: the strategy type)."""
    labels = {"app": name}
    rolling: Obj = {}
    for key, value in (("partition", partition), ("maxUnavailable", max_unavailable),
                       ("maxSurge", max_surge), ("paused", paused)):
        if value is not None:
            rolling[key] = value
    if version == "v1beta1":
        strategy: Obj = {"type": update_type or "RollingUpdate"}
        if policy is not None:
            rolling["podUpdatePolicy"] = policy
        if rolling:
            strategy["rollingUpdate"] = rolling
    else:
        strategy = {**rolling, "type": update_type or policy or "ReCreate"}
    body: Obj = {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": dict(labels)},
                              "spec": {"containers": [{"name": "app", "image": image}]}},
                 "updateStrategy": strategy, **spec}
    return {"apiVersion": f"apps.kruise.io/{version}", "kind": "CloneSet",
            "metadata": {"name": name, "namespace": NS}, "spec": body}


def app_and_sidecar(app: str, sidecar: str) -> list[Obj]:
    """Two containers for in-place batches: the sidecar (priority 10) updates first."""
    return [{"name": "app", "image": app,
             "env": [{"name": "KRUISE_CONTAINER_PRIORITY", "value": "1"}]},
            {"name": "sidecar", "image": sidecar,
             "env": [{"name": "KRUISE_CONTAINER_PRIORITY", "value": "10"}]}]


def condition(obj: Obj, type_: str) -> Obj | None:
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if cond.get("type") == type_:
            return dict(cond)
    return None


def revision_of(pod: Obj) -> str:
    return str(pod["metadata"]["labels"].get("controller-revision-hash", ""))


@dataclass
class Env:
    """The test's view: its own client, the manager and the controller."""

    client: Client
    manager: Manager
    controller: CloneSetController
    clock: JumpClock

    async def create(self, body: Obj) -> Obj:
        version = body["apiVersion"].rpartition("/")[2]
        res = CLONESETS if version == "v1beta1" else V1ALPHA1
        return await self.client.create(res, body, NS)

    async def get(self, name: str = "web") -> Obj:
        return await self.client.get(CLONESETS, name, NS)

    async def patch_spec(self, spec: Obj, name: str = "web") -> Obj:
        return await self.client.patch(CLONESETS, name, {"spec": spec}, NS)

    async def set_image(self, image: str, name: str = "web", **template: Any) -> Obj:
        cs = await self.get(name)
        tpl = cs["spec"]["template"]
        tpl["spec"]["containers"][0]["image"] = image
        tpl["spec"].update(template)
        return await self.patch_spec({"template": tpl}, name)

    async def pods(self, name: str = "web", *, live: bool = True) -> list[Obj]:
        items = (await self.client.list(PODS, NS, label_selector=f"app={name}"))["items"]
        return [p for p in items if not (live and is_terminating(p))]

    async def pvcs(self) -> list[Obj]:
        return list((await self.client.list(PVCS, NS))["items"])

    async def wait(self, check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
        return await wait_for_async(check, timeout=timeout, what=what)

    async def settled(self, name: str = "web", *, updated: int | None = None,
                      replicas: int | None = None, timeout: float = 20.0) -> Obj:
        """The CloneSet once its status answers its generation with every pod ready
        (``updated`` pods on the update revision, default: all) and no pod is leaving."""
        async def check() -> Obj | None:
            cs = await self.get(name)
            status, want = cs.get("status") or {}, cs["spec"]["replicas"]
            expect = want if updated is None else updated
            total = want if replicas is None else replicas
            pods = await self.pods(name, live=False)
            if (status.get("observedGeneration") == cs["metadata"]["generation"]
                    and status.get("replicas") == total
                    and status.get("readyReplicas") == total
                    and status.get("availableReplicas") == total
                    and status.get("updatedReplicas") == expect
                    and len(pods) == total):
                return cs
            return None

        found: Obj = await self.wait(check, f"{name} settled", timeout)
        return found


async def _install_crd(client: Client) -> None:
    try:
        await client.create(CRDS, clonesets_crd())
    except ApiError as exc:
        if not exc.already_exists:
            raise

    async def established() -> bool:
        crd = await client.get(CRDS, CRD_NAME)
        return any(c.get("type") == "Established" and c.get("status") == "True"
                   for c in (crd.get("status") or {}).get("conditions") or ())

    await wait_for_async(established, what="CloneSet CRD established")


@asynccontextmanager
async def _webhooks(client: Client, on: bool) -> AsyncIterator[None]:
    """The CLI's webhook server (CloneSet validation and v1alpha1 conversion), if ``on``."""
    if not on:
        yield
        return
    from mizzen.cli.webhooks import WebhookOptions, start_webhooks
    with tempfile.TemporaryDirectory() as certs:
        hooks = await start_webhooks(client, WebhookOptions(cert_dir=Path(certs)))
        try:
            yield
        finally:
            await hooks.stop()


@asynccontextmanager
async def running(server: ApiServer, nodes: int = 3, options: CloneSetOptions | None = None,
                  *, webhooks: bool = False) -> AsyncIterator[Env]:
    """CRD, simulated cluster and CloneSet controller (and with ``webhooks`` the CLI's
    webhook server, so v1alpha1 objects are converted), until the block ends."""
    clock = JumpClock()
    async with client_for(server) as client, client_for(server) as manager_client:
        await _install_crd(client)
        async with _webhooks(client, webhooks), \
                _manager(manager_client, client, clock, nodes, options) as env:
            yield env


@asynccontextmanager
async def _manager(manager_client: Client, client: Client, clock: JumpClock, nodes: int,
                   options: CloneSetOptions | None) -> AsyncIterator[Env]:
    manager = Manager(manager_client, clock, ManagerOptions(check_mutations=True))
    add_simulated_cluster(manager, ClusterConfig.with_nodes(nodes))
    ctl = add_cloneset_controller(manager, options or CloneSetOptions(seed=7))
    async with manager:
        async def nodes_ready() -> bool:
            items = (await client.list(NODES)).get("items") or []
            return len(items) == nodes

        await wait_for_async(nodes_ready, what="nodes")
        yield Env(client, manager, ctl, clock)


@dataclass
class PodTrace:
    """Follows the namespace's pods; calls ``check`` with the live pods after every event."""

    client: Client
    check: Callable[[list[Obj]], None] | None = None
    min_ready_seconds: int = 0
    clock: JumpClock | None = None
    pods: dict[str, Obj] = field(default_factory=dict)
    events: int = 0
    errors: list[str] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _synced: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> PodTrace:
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
        self.pods = {p["metadata"]["name"]: p for p in items}
        self._synced.set()
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
                try:
                    self.check(self.live())
                except AssertionError as exc:
                    self.errors.append(str(exc))

    def live(self) -> list[Obj]:
        return [p for p in self.pods.values() if not is_terminating(p)]

    def unavailable(self, pods: list[Obj]) -> list[str]:
        now = self.clock.now() if self.clock is not None else None
        assert now is not None
        return sorted(p["metadata"]["name"] for p in pods
                      if not is_pod_available(p, self.min_ready_seconds, now))
