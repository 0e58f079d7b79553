"""Registering the whole simulated cluster on one manager.

``mizzen up`` (and tests that want "a cluster") call :func:`add_simulated_cluster`
once: nodes with heartbeats, a kubelet for every simulated node, the
scheduler, and the native Deployment and ReplicaSet controllers, all sharing
the manager's informers.  Each piece stays independent — they never import
each other — and this module is the one place that knows the full set.
"""

from __future__ import annotations

from dataclasses import dataclass

from mizzen.cluster.config import ClusterConfig
from mizzen.cluster.deployment.controller import DeploymentController, add_deployment_controller
from mizzen.cluster.kubelet import KubeletSimulator
from mizzen.cluster.nodes import NodeSimulator
from mizzen.cluster.replicaset.controller import ReplicaSetController, add_replicaset_controller
from mizzen.cluster.scheduler import SchedulerOptions, add_scheduler
from mizzen.runtime.manager import Manager


@dataclass(frozen=True)
class SimulatedCluster:
    """Handles on the simulators, for tests and benchmarks that steer the cluster."""

    nodes: NodeSimulator
    kubelets: KubeletSimulator
    deployments: DeploymentController
    replicasets: ReplicaSetController


def add_simulated_cluster(manager: Manager, config: ClusterConfig) -> SimulatedCluster:
    """Register every simulated-cluster controller on ``manager`` (before it runs)."""
    nodes = NodeSimulator.register(manager, config)
    kubelets = KubeletSimulator.register(manager, config)
    add_scheduler(manager, SchedulerOptions.for_cluster(config))
    replicasets = add_replicaset_controller(manager)
    deployments = add_deployment_controller(manager)
    return SimulatedCluster(nodes, kubelets, deployments, replicasets)
