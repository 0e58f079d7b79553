"""The OpenKruise-compatible CloneSet controller.

Register it with a manager (the CloneSet CRD must be installed,
``mizzen.api.crds.all_crds()``)::

    controller = add_cloneset_controller(manager, CloneSetOptions(workers=3))

One concept per module, pure ones first::

    diffs        how far the pods are from the spec, in numbers (calculateDiffsWithExpectation)
    priority     weight / order priority of pods for the update order
    scatter      spreading labelled pods over the update order
    ranking      which pods a scale-down deletes first
    updateorder  which pods an update takes, in which order, how many
    revision     ControllerRevisions: names, equality, current/update, history
    instances    a pod and its PVCs: one instance id; PVC reuse and cleanup
    status       status counts, Progressing and RolloutBlocked conditions
    facts        what the planner reads from each pod, memoised per pod version
    decision     the planner's vocabulary: Observed, CloneSetPlan, Write kinds
    refresh      step: in-place updates followed up, lifecycle states moved on
    scale        step: create / delete / specified delete
    update       step: in place or recreate, within partition and budgets
    plan         Observed -> CloneSetPlan (pure; the steps in upstream's order)
    handlers     owned objects' events -> CloneSet keys; shared informers; expectations
    pacing       how often a big CloneSet is planned
    creation     the executor of a create: instances, PVCs first, slow start
    controller   CloneSetController (one kind of write per pass) and
                 add_cloneset_controller(manager, options)

Only the client speaks to the API: everything above ``controller`` is pure.
"""

from mizzen.workloads.cloneset.controller import (
    COMPONENT,
    CloneSetController,
    CloneSetOptions,
    add_cloneset_controller,
)
from mizzen.workloads.cloneset.decision import CLONESETS, CloneSetPlan, Observed, Write
from mizzen.workloads.cloneset.plan import plan
from mizzen.workloads.cloneset.status import ROLLOUT_BLOCKED, Blocked

__all__ = [
    "CLONESETS",
    "COMPONENT",
    "ROLLOUT_BLOCKED",
    "Blocked",
    "CloneSetController",
    "CloneSetOptions",
    "CloneSetPlan",
    "Observed",
    "Write",
    "add_cloneset_controller",
    "plan",
]
