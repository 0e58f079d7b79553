"""A KubeletSimulator on the in-process API server, for controller tests.

Nodes are created directly (as ``NodeSimulator`` would create them, but
without its heartbeats), so the only timers on the fake clock are the
kubelet's own requeues and a test can step them with
``parked_until(clock, due)`` + ``clock.advance``.  The manager has its own
client, so ``harness.kubelet_writes()`` counts exactly the kubelet's requests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from mizzen.apiserver.server import ApiServer
from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import NODES, PODS
from mizzen.cluster.config import ClusterConfig, LatencyProfile, NodeSpec
from mizzen.cluster.kubelet import KubeletSimulator
from mizzen.cluster.nodes.objects import node_object
from mizzen.runtime.clock import FakeClock
from mizzen.runtime.manager import Manager, ManagerOptions
from tests.runtime.conftest import client_for
from tests.runtime.util import wait_for_async, wait_until

Obj = dict[str, Any]
NS = "default"


def pod_body(name: str, *containers: tuple[str, str], node: str | None = "node-0",
             annotations: dict[str, str] | None = None, restart_policy: str | None = None,
             gates: tuple[str, ...] = (), finalizers: tuple[str, ...] = ()) -> Obj:
    spec: Obj = {"containers": [{"name": n, "image": i}
                                for n, i in containers or (("app", "nginx:1.25"),)]}
    if node:
        spec["nodeName"] = node
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    if gates:
        spec["readinessGates"] = [{"conditionType": g} for g in gates]
    meta: Obj = {"name": name, "namespace": NS, "annotations": dict(annotations or {})}
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def condition(pod: Obj, kind: str) -> str | None:
    for c in (pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == kind:
            return str(c.get("status"))
    return None


def container(pod: Obj, name: str = "app") -> Obj:
    """The status of container ``name`` ({} before the kubelet reported it)."""
    for c in (pod.get("status") or {}).get("containerStatuses") or ():
        if c.get("name") == name:
            return dict(c)
    return {}


def is_ready(pod: Obj) -> bool:
    return pod["status"].get("phase") == "Running" and condition(pod, "Ready") == "True"


@dataclass
class Harness:
    client: Client  # the test's own client
    manager: Manager
    kubelet: KubeletSimulator
    clock: FakeClock
    config: ClusterConfig

    async def create(self, body: Obj) -> Obj:
        return await self.client.create(PODS, body, NS)

    async def bind(self, name: str, node: str) -> None:
        await self.client.create(PODS, {"apiVersion": "v1", "kind": "Binding",
                                        "metadata": {"name": name},
                                        "target": {"kind": "Node", "name": node}},
                                 NS, subresource="binding")

    async def get(self, name: str) -> Obj | None:
        try:
            return await self.client.get(PODS, name, NS)
        except ApiError as exc:
            if exc.not_found:
                return None
            raise

    async def wait(self, name: str, check: Callable[[Obj], bool], what: str = "",
                   timeout: float = 10.0) -> Obj:
        """The pod, once ``check`` holds for it (read through the API)."""
        async def probe() -> Obj | None:
            pod = await self.get(name)
            return pod if pod is not None and check(pod) else None

        found = await wait_for_async(probe, timeout=timeout, what=what or name)
        assert found is not None
        return found

    async def gone(self, name: str) -> None:
        async def absent() -> bool:
            return await self.get(name) is None
        await wait_for_async(absent, what=f"{name} deleted")

    async def idle(self) -> None:
        """Until the kubelet has nothing queued or in flight."""
        ctl = self.kubelet.controller
        assert ctl is not None
        await wait_until(lambda: ctl.running and len(ctl.queue) == 0
                         and ctl.queue.in_flight == 0, what="kubelet queue idle")

    def kubelet_writes(self) -> dict[tuple[str, str], int]:
        return {k: n for k, n in self.manager.client.metrics.counts().items()
                if k[0] in ("create", "update", "patch", "delete")}


@asynccontextmanager
async def running(server: ApiServer, latency: LatencyProfile | None = None,
                  nodes: int = 2, create_nodes: bool = True) -> AsyncIterator[Harness]:
    """Nodes ``node-0..`` in the API (made unless ``create_nodes`` is False: a second
    kubelet process), and a manager running a KubeletSimulator."""
    config = ClusterConfig(tuple(NodeSpec(f"node-{i}", f"zone-{i}") for i in range(nodes)),
                           latency or LatencyProfile())
    clock = FakeClock()
    async with client_for(server) as client, client_for(server) as kubelet_client:
        for i, spec in enumerate(config.nodes if create_nodes else ()):
            await client.create(NODES, node_object(spec, i, config, clock.now()))
        manager = Manager(kubelet_client, clock, ManagerOptions(check_mutations=True))
        kubelet = KubeletSimulator.register(manager, config)
        async with manager:
            await wait_until(lambda: len(kubelet.nodes.cache) == nodes, what="nodes cached")
            yield Harness(client, manager, kubelet, clock, config)
