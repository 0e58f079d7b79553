"""The scheduler of the simulated cluster: binds pending pods to nodes, as kube-scheduler does.

One concept per module, pure ones first::

    quantity     "250m", "1Gi", "1e3" -> integers (millicores, bytes), rounded up
    selectors    node selector terms, label selectors, taints and tolerations
    podinfo      a pod compiled once: effective requests, affinity, spread group
    nodeinfo     a node's scheduling facts; readiness as implied taints
    state        per-node totals kept incrementally, plus assumed pods
    plan         filters and scores: (pod, state) -> Decision  (pure)
    status       the PodScheduled=False condition and when to write it
    controller   Scheduler (reconcile: one binding or one status write per pass)
                 and add_scheduler(manager, options)

Register it with a manager::

    scheduler = add_scheduler(manager, SchedulerOptions.for_cluster(cluster_config))

Embedded-only by layer (``mizzen.cluster``), but it speaks only the public
API through the client, so it also schedules against any API server whose
pods name ``default-scheduler`` (or ``SchedulerOptions.scheduler_name``).
"""

from mizzen.cluster.scheduler.controller import Scheduler, SchedulerOptions, add_scheduler
from mizzen.cluster.scheduler.plan import Decision, fit_message, plan
from mizzen.cluster.scheduler.podinfo import PodInfo
from mizzen.cluster.scheduler.state import ClusterState, NodeState

__all__ = [
    "ClusterState",
    "Decision",
    "NodeState",
    "PodInfo",
    "Scheduler",
    "SchedulerOptions",
    "add_scheduler",
    "fit_message",
    "plan",
]
