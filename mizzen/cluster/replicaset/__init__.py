"""The ReplicaSet controller of the simulated cluster: ReplicaSet → Pods, as upstream.

Register it with a manager::

    controller = add_replicaset_controller(manager, ReplicaSetOptions(workers=5))

One concept per module, pure ones first::

    ranking      which pods a scale-down deletes first (upstream's ActivePodsWithRanks)
    status       counting replicas, ReplicaFailure, when a status write is due
    census       counts and claims per ReplicaSet, kept up to date from pod events
    plan         (ReplicaSet, pods, expectations) -> ReplicaSetPlan   (pure)
    handlers     pod events -> ReplicaSets; the shared indexed informers
    controller   ReplicaSetController (one kind of write per pass) and
                 add_replicaset_controller(manager, options)

Embedded-only by layer (``mizzen.cluster``): a real cluster runs
kube-controller-manager's.  It speaks only the public API through the client.
"""

from mizzen.cluster.replicaset.controller import (
    ReplicaSetController,
    ReplicaSetOptions,
    add_replicaset_controller,
    pod_from_template,
)
from mizzen.cluster.replicaset.plan import Observed, ReplicaSetPlan, plan, slow_start_batches
from mizzen.cluster.replicaset.ranking import deletion_order
from mizzen.cluster.replicaset.status import Failure, calculate_status

__all__ = [
    "Failure",
    "Observed",
    "ReplicaSetController",
    "ReplicaSetOptions",
    "ReplicaSetPlan",
    "add_replicaset_controller",
    "calculate_status",
    "deletion_order",
    "plan",
    "pod_from_template",
    "slow_start_batches",
]
