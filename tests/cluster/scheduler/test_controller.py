"""The scheduler controller on the in-process API server: bindings honour every rule,
replicas spread over zones, unschedulable pods say why and are bound once room appears,
and each pod costs exactly one binding write."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from mizzen.apiserver.server import ApiServer
from mizzen.client.client import Client
from mizzen.client.resources import EVENTS, NODES, PODS, REPLICASETS
from mizzen.cluster.scheduler import SchedulerOptions
from mizzen.runtime.cache import BY_NODE_NAME
from mizzen.runtime.clock import FakeClock
from tests.cluster.scheduler.builders import (
    NS,
    Obj,
    expr,
    node,
    pod,
    required,
    taint,
    term,
    toleration,
)
from tests.cluster.scheduler.conftest import running_scheduler
from tests.runtime.util import wait_for_async, wait_until

ZONE = "topology.kubernetes.io/zone"


async def create_all(client: Client, resource: Any, objs: list[Obj], batch: int = 50) -> None:
    for i in range(0, len(objs), batch):
        await asyncio.gather(*(client.create(resource, o, (o["metadata"].get("namespace")))
                               for o in objs[i:i + batch]))


async def placements(client: Client) -> dict[str, str]:
    """Pod name -> node name ("" while pending)."""
    items, _ = await client.list_all(PODS, NS)
    return {p["metadata"]["name"]: p["spec"].get("nodeName", "") for p in items}


async def all_bound(client: Client, count: int) -> dict[str, str]:
    """The bound pods' nodes once exactly ``count`` are bound, else ``{}``."""
    placed = await placements(client)
    done = {name: n for name, n in placed.items() if n}
    return done if len(done) == count else {}


async def replicaset(client: Client, name: str) -> str:
    """A ReplicaSet to own pods (so the server's garbage collector keeps them); its UID."""
    rs = await client.create(REPLICASETS, {
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "x"}]}}}}, NS)
    return str(rs["metadata"]["uid"])


def unowned(p: Obj) -> Obj:
    """Builders give pods a fake uid; the server assigns its own."""
    p["metadata"].pop("uid", None)
    return p


async def test_pods_are_bound_honouring_taints_selectors_affinity_and_resources(
        server: ApiServer, client: Client) -> None:
    await create_all(client, NODES, [
        node("gpu", "a", labels={"accelerator": "yes", "disk": "ssd"},
             taints=[taint("dedicated", "gpu")]),
        node("ssd", "a", labels={"disk": "ssd"}),
        node("big", "b", cpu="16", labels={"cores": "32"}),
        node("small", "c", cpu="1", labels={"cores": "4"}),
        node("sick", "c", cpu="64", ready="False"),
    ])
    wanted = {
        "tolerates-gpu": ("gpu", pod("tolerates-gpu", node_selector={"accelerator": "yes"},
                                     tolerations=[toleration("dedicated", "gpu",
                                                             "NoSchedule")])),
        "wants-ssd": ("ssd", pod("wants-ssd", affinity=required(
            term(expr("disk", "In", "ssd")))),),
        "needs-8-cpus": ("big", pod("needs-8-cpus", "8")),
        "gt-16-cores": ("big", pod("gt-16-cores", affinity=required(
            term(expr("cores", "Gt", "16"))))),
        "by-name": ("small", pod("by-name", affinity=required(
            term(fields=[expr("metadata.name", "In", "small")])))),
        "tolerates-not-ready": ("sick", pod("tolerates-not-ready", "32", tolerations=[
            toleration("node.kubernetes.io/not-ready", operator="Exists")])),
    }
    async with running_scheduler(server):
        await create_all(client, PODS, [unowned(p) for _, p in wanted.values()])
        placed = await wait_for_async(lambda: all_bound(client, len(wanted)))
    assert placed == {name: where for name, (where, _) in wanted.items()}


async def test_thirty_replicas_of_one_owner_spread_ten_per_zone(
        server: ApiServer, client: Client) -> None:
    await create_all(client, NODES, [node(f"{z}{i}", f"zone-{z}") for z in "abc"
                                     for i in (1, 2)])
    uid = await replicaset(client, "web")
    async with running_scheduler(server) as scheduler:
        await create_all(client, PODS, [unowned(pod(f"web-{i}", "100m", owner=uid,
                                                    labels={"app": "web"}))
                                        for i in range(30)])
        placed = await wait_for_async(lambda: all_bound(client, 30))
        await wait_until(lambda: scheduler.state.assumed == 0)
    per_zone = Counter(n[0] for n in placed.values())
    per_node = Counter(placed.values())
    assert per_zone == {"a": 10, "b": 10, "c": 10}
    assert set(per_node.values()) == {5}


async def pod_scheduled(client: Client, name: str) -> dict[str, Any] | None:
    p = await client.get(PODS, name, NS)
    for c in (p.get("status") or {}).get("conditions") or ():
        if c["type"] == "PodScheduled":
            return dict(c)
    return None


async def test_an_unschedulable_pod_says_why_and_is_bound_once_a_node_fits(
        server: ApiServer, client: Client) -> None:
    await create_all(client, NODES, [node("small", cpu="1"),
                                     node("tainted", taints=[taint("k", "v")])])
    async with running_scheduler(server) as scheduler:
        await client.create(PODS, unowned(pod("hungry", "2")), NS)
        message = ("0/2 nodes are available: 1 Insufficient cpu, "
                   "1 node(s) had untolerated taint {k: v}.")

        async def says_why() -> bool:
            c = await pod_scheduled(client, "hungry")
            return c is not None and c["status"] == "False" and c["message"] == message

        await wait_for_async(says_why)
        c = await pod_scheduled(client, "hungry")
        assert c is not None and c["reason"] == "Unschedulable"
        writes = scheduler.client.metrics.counts().get(("patch", "pods/status"))
        assert writes == 1
        await client.create(NODES, node("roomy", cpu="4"))
        placed = await wait_for_async(lambda: all_bound(client, 1), timeout=5)
        assert placed == {"hungry": "roomy"}
        c = await pod_scheduled(client, "hungry")
        assert c is not None and c["status"] == "True"
        await wait_until(lambda: not scheduler.unschedulable)
        events, _ = await client.list_all(EVENTS, NS)
        assert any(e["reason"] == "FailedScheduling" and e["message"] == message
                   for e in events)


async def test_deleting_a_pod_frees_room_for_an_unschedulable_one(
        server: ApiServer, client: Client) -> None:
    await client.create(NODES, node("only", cpu="1", pods=2))
    async with running_scheduler(server) as scheduler:
        await client.create(PODS, unowned(pod("first", "1")), NS)
        await wait_for_async(lambda: all_bound(client, 1))
        await client.create(PODS, unowned(pod("second", "1")), NS)
        await wait_until(lambda: scheduler.unschedulable)
        await client.delete(PODS, "first", NS, grace_period_seconds=0)
        placed = await wait_for_async(lambda: all_bound(client, 1), timeout=5)
        assert placed == {"second": "only"}


async def test_uncordoning_a_node_binds_the_waiting_pod(
        server: ApiServer, client: Client) -> None:
    await client.create(NODES, node("cordoned", unschedulable=True))
    async with running_scheduler(server) as scheduler:
        await client.create(PODS, unowned(pod("waiting")), NS)
        await wait_until(lambda: scheduler.unschedulable)
        await client.patch(NODES, "cordoned", {"spec": {"unschedulable": None}})
        placed = await wait_for_async(lambda: all_bound(client, 1), timeout=5)
        assert placed == {"waiting": "cordoned"}


async def test_a_burst_of_500_pods_costs_one_binding_each(
        server: ApiServer, client: Client) -> None:
    await create_all(client, NODES, [node(f"n{i}", f"zone-{i % 3}", cpu="64", memory="256Gi")
                                     for i in range(5)])
    async with running_scheduler(server, check_mutations=False) as scheduler:
        await create_all(client, PODS, [unowned(pod(f"burst-{i}", "100m", "64Mi"))
                                        for i in range(500)], batch=100)
        placed = await wait_for_async(lambda: all_bound(client, 500), timeout=60)
        counts = scheduler.client.metrics.counts()
        # Once the informer has caught up, the incremental totals equal a recount of the
        # cache's node-name index, and no assumption is left.
        await wait_until(lambda: scheduler.state.assumed == 0)
        pods = scheduler.pods
        for i in range(5):
            on_node = pods.cache.by_index(BY_NODE_NAME, f"n{i}")
            state = scheduler.state.node(f"n{i}")
            assert state is not None
            assert state.pod_count == len(on_node) == 100
            assert state.requested == {"cpu": 100 * 100, "memory": 100 * 64 * 2**20}
    assert counts.get(("create", "pods/binding")) == 500
    assert ("patch", "pods/status") not in counts
    assert set(Counter(placed.values()).values()) == {100}  # least allocated: even


async def test_other_schedulers_pods_are_left_alone_and_gated_pods_say_so(
        server: ApiServer, client: Client) -> None:
    await client.create(NODES, node("n1"))
    gated = unowned(pod("gated"))
    gated["spec"]["schedulingGates"] = [{"name": "example.com/wait"}]
    async with running_scheduler(server) as scheduler:
        await client.create(PODS, unowned(pod("elsewhere", scheduler="other-scheduler")), NS)
        await client.create(PODS, gated, NS)
        await client.create(PODS, unowned(pod("ours")), NS)

        async def gated_condition() -> bool:
            c = await pod_scheduled(client, "gated")
            return c is not None and c["reason"] == "SchedulingGated"

        await wait_for_async(gated_condition)
        await wait_for_async(lambda: all_bound(client, 1))
        assert (await placements(client)) == {"elsewhere": "", "gated": "", "ours": "n1"}
        await client.patch(PODS, "gated", {"spec": {"schedulingGates": None}}, NS)
        await wait_for_async(lambda: all_bound(client, 2))
        assert scheduler.client.metrics.counts()[("create", "pods/binding")] == 2


async def test_latency_holds_the_binding_with_the_capacity_already_taken(
        server: ApiServer, client: Client) -> None:
    clock = FakeClock()
    await client.create(NODES, node("n1", cpu="1"))
    await client.create(NODES, node("n2", cpu="1"))
    options = SchedulerOptions(latency=2.0)
    async with running_scheduler(server, options, clock) as scheduler:
        await client.create(PODS, unowned(pod("a", "1")), NS)
        await client.create(PODS, unowned(pod("b", "1")), NS)
        await wait_until(lambda: scheduler.state.assumed == 2)
        assert await placements(client) == {"a": "", "b": ""}
        assert scheduler.state.node_of(f"{NS}/a") != scheduler.state.node_of(f"{NS}/b")
        clock.advance(2.0)
        placed = await wait_for_async(lambda: all_bound(client, 2))
    assert sorted(placed.values()) == ["n1", "n2"]
