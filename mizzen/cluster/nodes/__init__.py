"""Simulated nodes: Node objects with zones, capacity and labels, heartbeating by Lease.

:class:`NodeSimulator` makes the nodes of a
:class:`~mizzen.cluster.config.ClusterConfig` exist and keeps them alive the
way kubelets do: a Lease per node in ``kube-node-lease`` renewed every
``heartbeat_interval``, and the Ready condition's heartbeat rewritten only on
a change or every ``node_status_report_interval`` (so a quiet cluster of N
nodes costs N Lease writes per interval and little else).  A node annotated
``sim.mizzen.dev/not-ready`` reports NotReady; see ``docs/simulated-cluster.md``.

Modules: ``objects`` (pure builders of Node, conditions, taints, Lease),
``plan`` (pure: one decision per pass), ``controller`` (the executor).

Wiring, with a manager::

    nodes = NodeSimulator.register(manager, config)
"""

from mizzen.cluster.nodes.controller import NodeSimulator
from mizzen.cluster.nodes.plan import NodeAction, NodeInputs, NodePlan, plan_node

__all__ = ["NodeAction", "NodeInputs", "NodePlan", "NodeSimulator", "plan_node"]
