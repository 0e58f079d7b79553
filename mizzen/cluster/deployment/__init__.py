"""The Deployment controller of the simulated cluster: Deployment → ReplicaSets, as upstream.

Register it, with the ReplicaSet controller that makes the pods::

    add_replicaset_controller(manager)
    controller = add_deployment_controller(manager, DeploymentOptions(workers=5))

One concept per module, pure ones first::

    revision     pod-template-hash, revision and replica annotations, history
    replicas     maxSurge/maxUnavailable, rolling steps, proportional scaling
    status       counts and conditions (Available, Progressing, deadlines)
    decisions    Observed and DeploymentPlan: the planner's input and output
    newrs        find, annotate or create the new ReplicaSet
    plan         Observed -> DeploymentPlan: upstream's syncDeployment to its first write
    handlers     ReplicaSet and pod events -> Deployments
    controller   DeploymentController (one kind of write per pass) and
                 add_deployment_controller(manager, options)

``kubectl rollout status|history|undo|pause|resume`` work unchanged: they read
the status, conditions and revision annotations written here, and ``undo``
copies an old ReplicaSet's template back into the Deployment, which this
controller then rolls out like any other template change.
"""

from mizzen.cluster.deployment.controller import (
    DeploymentController,
    DeploymentOptions,
    add_deployment_controller,
)
from mizzen.cluster.deployment.decisions import (
    DeploymentPlan,
    Event,
    Observed,
    ReplicaSetUpdate,
)
from mizzen.cluster.deployment.plan import plan
from mizzen.cluster.deployment.revision import compute_hash, safe_encode

__all__ = [
    "DeploymentController",
    "DeploymentOptions",
    "DeploymentPlan",
    "Event",
    "Observed",
    "ReplicaSetUpdate",
    "add_deployment_controller",
    "compute_hash",
    "plan",
    "safe_encode",
]
