"""NodeSimulator on the in-process API server: nodes appear, heartbeat, go NotReady, leave."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from mizzen.apiserver.server import ApiServer
from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import LEASES, NODES
from mizzen.cluster.config import (
    NODE_LEASE_NAMESPACE,
    NODE_NOT_READY,
    SIM_NODE_LABEL,
    ClusterConfig,
    NodeSpec,
)
from mizzen.cluster.nodes import NodeSimulator
from mizzen.cluster.nodes.objects import micro_time
from mizzen.runtime.clock import FakeClock
from mizzen.runtime.manager import Manager, ManagerOptions
from tests.runtime.conftest import client_for
from tests.runtime.util import parked_until, wait_for_async, wait_until

Obj = dict[str, Any]
CONFIG = ClusterConfig(
    (NodeSpec("node-0", "zone-a"),
     NodeSpec("node-1", "zone-b", cpu="8", memory="32Gi", pods=50, labels=(("tier", "gold"),),
              taints=(("dedicated", "db", "NoSchedule"),)),
     NodeSpec("node-2", "zone-a")),
    heartbeat_interval=10.0, node_status_report_interval=30.0, lease_duration=40)


@dataclass
class Harness:
    client: Client
    manager: Manager
    sim: NodeSimulator
    clock: FakeClock

    async def node(self, name: str) -> Obj | None:
        try:
            return await self.client.get(NODES, name)
        except ApiError as exc:
            if exc.not_found:
                return None
            raise

    async def lease(self, name: str) -> Obj | None:
        try:
            return await self.client.get(LEASES, name, NODE_LEASE_NAMESPACE)
        except ApiError as exc:
            if exc.not_found:
                return None
            raise

    async def renewed(self, names: list[str]) -> bool:
        """Every named Lease carries the clock's current time."""
        stamp = micro_time(self.clock.now())
        for name in names:
            lease = await self.lease(name)
            if lease is None or lease["spec"]["renewTime"] != stamp:
                return False
        return True

    async def tick(self, seconds: float) -> None:
        """Advance the clock to the next heartbeat, once the simulator waits for it."""
        await parked_until(self.clock, self.clock.monotonic() + seconds)
        self.clock.advance(seconds)

    def writes(self) -> dict[tuple[str, str], int]:
        return {k: n for k, n in self.manager.client.metrics.counts().items()
                if k[0] in ("create", "update", "patch", "delete")}


@asynccontextmanager
async def running(server: ApiServer, config: ClusterConfig = CONFIG) -> AsyncIterator[Harness]:
    clock = FakeClock()
    async with client_for(server) as client, client_for(server) as sim_client:
        manager = Manager(sim_client, clock, ManagerOptions(check_mutations=True))
        sim = NodeSimulator.register(manager, config)
        async with manager:
            h = Harness(client, manager, sim, clock)
            names = [n.name for n in config.nodes]
            await wait_for_async(lambda: h.renewed(names), what="nodes and leases")
            yield h


def ready(node: Obj | None) -> str | None:
    for c in ((node or {}).get("status") or {}).get("conditions") or ():
        if c["type"] == "Ready":
            return str(c["status"])
    return None


def taint_keys(node: Obj | None) -> list[str]:
    return [t["key"] for t in ((node or {}).get("spec") or {}).get("taints") or ()]


async def test_nodes_appear_with_zones_capacity_and_labels_and_leases_renew(
        server: ApiServer) -> None:
    async with running(server) as h:
        listed = (await h.client.list(NODES, label_selector=SIM_NODE_LABEL))["items"]
        nodes = {n["metadata"]["name"]: n for n in listed}
        assert sorted(nodes) == ["node-0", "node-1", "node-2"]
        zones = {n: o["metadata"]["labels"]["topology.kubernetes.io/zone"]
                 for n, o in nodes.items()}
        assert zones == {"node-0": "zone-a", "node-1": "zone-b", "node-2": "zone-a"}
        gold = nodes["node-1"]
        assert gold["metadata"]["labels"]["tier"] == "gold"
        assert gold["status"]["allocatable"] == {"cpu": "8", "memory": "32Gi", "pods": "50",
                                                 "ephemeral-storage": "100Gi"}
        assert taint_keys(gold) == ["dedicated"]
        assert [n["spec"]["podCIDR"] for n in listed] == [
            "10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]
        assert all(ready(n) == "True" for n in listed)
        lease = await h.lease("node-1")
        assert lease is not None
        assert lease["spec"]["holderIdentity"] == "node-1"
        assert lease["spec"]["leaseDurationSeconds"] == 40
        assert lease["metadata"]["ownerReferences"][0]["uid"] == gold["metadata"]["uid"]

        # Heartbeats renew the Leases only; the Ready heartbeat waits for the report interval.
        names = list(nodes)
        before = h.writes()
        for _ in range(2):
            await h.tick(10.0)
            await wait_for_async(lambda: h.renewed(names), what="leases renewed")
        after = h.writes()
        assert after.get(("update", "leases"), 0) - before.get(("update", "leases"), 0) == 6
        assert after.get(("patch", "nodes/status")) == before.get(("patch", "nodes/status"))

        await h.tick(10.0)  # 30 s: the report interval is reached too
        await wait_for_async(lambda: h.renewed(names), what="leases renewed")

        async def reported() -> bool:
            node = await h.node("node-0")
            beat = [c for c in (node or {})["status"]["conditions"] if c["type"] == "Ready"]
            return bool(beat and beat[0]["lastHeartbeatTime"] == "2024-01-01T00:00:30Z")

        await wait_for_async(reported, what="Ready heartbeat rewritten")
        assert h.writes()[("patch", "nodes/status")] == 3


async def test_the_not_ready_annotation_flips_ready_and_the_taint(server: ApiServer) -> None:
    async with running(server) as h:
        async def annotate(value: str | None) -> None:
            body = {"metadata": {"annotations": {NODE_NOT_READY: value}}}
            await h.client.patch(NODES, "node-0", body)

        async def node_is(state: str, taints: list[str]) -> bool:
            node = await h.node("node-0")
            return ready(node) == state and taint_keys(node) == taints

        await annotate("true")
        await wait_for_async(lambda: node_is("False", ["node.kubernetes.io/not-ready"]))
        await annotate(None)
        await wait_for_async(lambda: node_is("True", []))

        # "unknown": the kubelet is gone, so its Lease is no longer renewed.
        await annotate("unknown")
        await wait_for_async(lambda: node_is("Unknown", ["node.kubernetes.io/unreachable"]))
        await h.tick(10.0)
        await wait_for_async(lambda: h.renewed(["node-1", "node-2"]))
        assert not await h.renewed(["node-0"])


async def test_deleted_nodes_leave_and_nodes_can_be_added_and_removed(
        server: ApiServer) -> None:
    async with running(server) as h:
        await h.client.delete(NODES, "node-1")
        await wait_until(lambda: "node-1" not in h.sim.node_names, what="node-1 dropped")

        async def lease_gone(name: str) -> bool:
            return await h.lease(name) is None

        await wait_for_async(lambda: lease_gone("node-1"), what="node-1 lease gone")

        h.sim.add_node(NodeSpec("node-9", "zone-c"))
        await wait_for_async(lambda: h.renewed(["node-9"]), what="node-9 heartbeating")
        added = await h.node("node-9")
        assert added is not None and added["spec"]["podCIDR"] == "10.244.3.0/24"
        assert added["status"]["addresses"][0]["address"] == "10.0.0.5"
        assert await h.node("node-1") is None  # not recreated

        h.sim.remove_node("node-9")

        async def node_gone(name: str) -> bool:
            return await h.node(name) is None

        await wait_for_async(lambda: node_gone("node-9"), what="node-9 removed")
        await wait_for_async(lambda: lease_gone("node-9"), what="node-9 lease removed")
        assert h.sim.node_names == ["node-0", "node-2"]


async def test_deleted_nodes_come_back_when_configured_to(server: ApiServer) -> None:
    config = ClusterConfig(CONFIG.nodes[:1], recreate_deleted_nodes=True)
    async with running(server, config) as h:
        first = await h.node("node-0")
        assert first is not None
        await h.client.delete(NODES, "node-0")

        async def recreated() -> bool:
            node = await h.node("node-0")
            return node is not None and node["metadata"]["uid"] != first["metadata"]["uid"]

        await wait_for_async(recreated, what="node-0 recreated")
