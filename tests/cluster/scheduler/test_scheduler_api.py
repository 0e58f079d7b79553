"""The scheduler package's public surface, pinned; and its wiring on a manager."""

from __future__ import annotations

import mizzen.cluster.scheduler as scheduler_package
from mizzen.client.client import Client
from mizzen.client.config import ClientConfig
from mizzen.cluster.config import ClusterConfig, LatencyProfile
from mizzen.cluster.scheduler import SchedulerOptions, add_scheduler
from mizzen.runtime.clock import FakeClock
from mizzen.runtime.manager import Manager


def test_public_names() -> None:
    assert sorted(scheduler_package.__all__) == [
        "ClusterState", "Decision", "NodeState", "PodInfo", "Scheduler", "SchedulerOptions",
        "add_scheduler", "fit_message", "plan"]


def test_options_take_the_clusters_scheduling_latency() -> None:
    config = ClusterConfig.with_nodes(3, latency=LatencyProfile(schedule=0.25))
    options = SchedulerOptions.for_cluster(config, workers=4)
    assert (options.latency, options.workers) == (0.25, 4)


async def test_add_scheduler_registers_one_controller_on_shared_informers() -> None:
    client = Client(ClientConfig(server="https://127.0.0.1:1"))
    try:
        manager = Manager(client, FakeClock())
        scheduler = add_scheduler(manager)
        assert manager.controllers == [scheduler.controller]
        assert scheduler.controller is not None and scheduler.controller.workers == 32
        assert sorted(i.resource.plural for i in scheduler.controller.informers) == [
            "nodes", "pods"]
        assert scheduler.pods is manager.informer(scheduler.pods.resource)
    finally:
        await client.close()
