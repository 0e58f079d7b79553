"""The controller-manager half of ``mizzen up`` (mizzen.cli.agent), in-process against a real
API server: ready means nodes registered and caches synced; the child's life ends when its
parent's end of the socket closes."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from mizzen.apiserver.server import ApiServer
from mizzen.cli.agent import Agent, AgentOptions, Readiness, run_agent
from mizzen.client.client import Client
from mizzen.client.config import ClientConfig, load_kubeconfig
from mizzen.client.resources import NODES
from mizzen.runtime.clock import RealClock
from mizzen.workloads.cloneset import CLONESETS
from tests.conftest import eventually


async def test_start_returns_once_the_nodes_exist_and_the_caches_are_synced(
        server: ApiServer) -> None:
    config = ClientConfig(server=server.url, ca_data=server.ca_pem, token=server.token)
    agent = Agent(config, RealClock(), AgentOptions(nodes=3, zones=1, controllers=False))
    try:
        ready = await agent.start()
        # Ready is checked on the agent's own caches; the server must agree.
        async with Client(config) as client:
            nodes, _ = await client.list_all(NODES)
        assert sorted(n["metadata"]["name"] for n in nodes) == ["node-0", "node-1", "node-2"]
        assert all(i.has_synced for i in agent.manager.informers)
        assert ready.controllers == () and ready.webhooks is None
        assert ready.crds == ("clonesets.apps.kruise.io",)
    finally:
        await agent.stop()


async def test_the_agent_process_reports_ready_and_stops_when_its_parent_is_gone(
        server: ApiServer, tmp_path: Path) -> None:
    ours, theirs = socket.socketpair()
    opts = AgentOptions(nodes=1, zones=1, controllers=True, webhook_cert_dir=tmp_path / "wh")
    # orphan_grace=None: an orphaned agent process exits at the latest after a grace
    # period; this one shares the test's process.
    task = asyncio.create_task(run_agent(server.kubeconfig_path, opts, theirs.detach(),
                                         orphan_grace=None))
    reader, writer = await asyncio.open_connection(sock=ours)
    try:
        ready = Readiness.from_line(await asyncio.wait_for(reader.readline(), 30))
        assert ready.controllers == ("cloneset",) and ready.webhooks is not None
        async with Client(load_kubeconfig(server.kubeconfig_path)) as client:
            # The controllers run: a CloneSet gets its pods from them and the simulated cluster.
            await client.create(CLONESETS, {
                "apiVersion": "apps.kruise.io/v1beta1", "kind": "CloneSet",
                "metadata": {"name": "web"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                             "containers": [{"name": "app", "image": "nginx"}]}}}}, "default")

            async def one_ready() -> bool:
                cs = await client.get(CLONESETS, "web", "default")
                return (cs.get("status") or {}).get("readyReplicas") == 1
            await eventually(one_ready, timeout=30)
        assert not task.done()
    finally:
        writer.close()  # what the kernel does when the parent dies
    await asyncio.wait_for(task, 10)  # run_agent returned: the child process would exit
