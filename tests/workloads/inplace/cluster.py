"""A simulated cluster (nodes, scheduler, kubelets) on the in-process API server, for the
in-place and lifecycle tests that play a controller through the client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from mizzen.apiserver.server import ApiServer
from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import NODES, PODS
from mizzen.cluster.config import ClusterConfig
from mizzen.cluster.setup import add_simulated_cluster
from mizzen.runtime.clock import FakeClock
from mizzen.runtime.manager import Manager, ManagerOptions
from tests.runtime.conftest import client_for
from tests.runtime.util import wait_for_async

Obj = dict[str, Any]
NS = "default"


@dataclass
class Cluster:
    client: Client
    clock: FakeClock

    async def wait(self, name: str, check: Callable[[Obj], bool], what: str) -> Obj:
        async def probe() -> Obj | None:
            pod = await self.client.get(PODS, name, NS)
            return pod if check(pod) else None
        found = await wait_for_async(probe, timeout=15.0, what=f"{name}: {what}")
        assert found is not None
        return found

    async def status_patch(self, name: str, body: Obj | None) -> None:
        assert body is not None
        await self.client.patch(PODS, name, body, NS, patch_type="strategic",
                                subresource="status")

    async def patch_fresh(self, name: str, body_for: Callable[[Obj], Obj]) -> Obj:
        """Patch with a body computed from the pod as read; a 409 (the kubelet wrote in
        between: the body carries the resourceVersion) means read again, as a
        controller's requeue would."""
        for _ in range(20):
            pod = await self.client.get(PODS, name, NS)
            try:
                return await self.client.patch(PODS, name, body_for(pod), NS,
                                               patch_type="strategic")
            except ApiError as exc:
                if not exc.conflict:
                    raise
        raise AssertionError(f"{name}: still conflicting after 20 attempts")


@asynccontextmanager
async def simulated_cluster(server: ApiServer) -> AsyncIterator[Cluster]:
    """Nodes, scheduler and kubelets on a manager (zero latency, fake clock)."""
    config = ClusterConfig.with_nodes(2)
    clock = FakeClock()
    async with client_for(server) as client, client_for(server) as manager_client:
        manager = Manager(manager_client, clock, ManagerOptions(check_mutations=True))
        add_simulated_cluster(manager, config)
        async with manager:
            async def nodes_ready() -> bool:
                items = (await client.list(NODES)).get("items") or []
                return len(items) == 2 and all(
                    any(c.get("type") == "Ready" and c.get("status") == "True"
                        for c in n["status"].get("conditions") or ()) for n in items)
            await wait_for_async(nodes_ready, what="nodes Ready")
            yield Cluster(client, clock)


def condition(pod: Obj, kind: str) -> str | None:
    for c in pod["status"].get("conditions") or ():
        if c["type"] == kind:
            return str(c["status"])
    return None


def ready(pod: Obj) -> bool:
    return pod["status"].get("phase") == "Running" and condition(pod, "Ready") == "True"
