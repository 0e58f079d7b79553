"""Simulated kubelets: pods on simulated nodes start, run, restart and stop as on a node.

:class:`KubeletSimulator` is one controller playing the kubelet of every node
labelled ``sim.mizzen.dev/node``.  It walks each bound pod through
Pending → ContainerCreating → Running → Ready with the latencies of a
:class:`~mizzen.cluster.config.LatencyProfile` (sandbox, per-image pull and
start, stop), hands out pod IPs from each node's range, honours readiness
gates and init containers, completes job-style pods, restarts a container in
place when its image changes (same uid, IP and node; new ``imageID``, higher
``restartCount`` — what kwok cannot do), and finishes graceful deletions.
Pod annotations inject failures (``timing.py``; ``docs/simulated-cluster.md``).

Modules, from pure to I/O::

    identity    image IDs, container IDs, per-node pod IP pools
    timing      failure-injection annotations, pull/start times, crash back-off
    runtime     the simulated container runtime: frozen state, transitions in time
    adopt       rebuilding runtime state from a status a previous process wrote
    status      the status a kubelet reports for a runtime state, and its diff
    plan        pure: observed pod + runtime state + clock -> one decision
    controller  the executor (one status write or one delete per pass)

Wiring, with a manager::

    kubelets = KubeletSimulator.register(manager, config)
"""

from mizzen.cluster.kubelet.controller import KubeletSimulator
from mizzen.cluster.kubelet.plan import NodeView, PodInputs, PodPlan, plan_pod
from mizzen.cluster.kubelet.timing import Faults

__all__ = ["Faults", "KubeletSimulator", "NodeView", "PodInputs", "PodPlan", "plan_pod"]
