"""NodeSimulator: makes a ClusterConfig's nodes exist, and keeps them heartbeating.

A thin executor around :func:`~mizzen.cluster.nodes.plan.plan_node`: one
request per node name, one write per pass.  It watches the simulated Nodes
(those labelled ``SIM_NODE_LABEL``) and the Leases in ``kube-node-lease``;
an event on either brings the node's next pass, and the plan's
``requeue_after`` brings the heartbeats.

Which nodes are simulated is the simulator's own state, not the cluster's:

* every node of the configuration, enqueued each time the controller starts
  (missing nodes produce no event, so the start itself must name them);
* plus those added with :meth:`NodeSimulator.add_node`, minus those removed
  with :meth:`NodeSimulator.remove_node` (which deletes the Node and Lease);
* a Node deleted from outside (``kubectl delete node``) leaves the simulation
  until the process restarts, unless ``recreate_deleted_nodes`` is set — a
  simulator that resurrected nodes would make node-loss scenarios impossible.

Conflicts and "already exists" answers mean the cache is behind; they are
not errors: the watch event that is on its way brings another pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import LEASES, NODES
from mizzen.cluster.config import NODE_LEASE_NAMESPACE, SIM_NODE_LABEL, ClusterConfig, NodeSpec
from mizzen.cluster.nodes.plan import NodeAction, NodeInputs, NodePlan, plan_node
from mizzen.runtime.clock import Clock
from mizzen.runtime.controller import Controller
from mizzen.runtime.handlers import EnqueueHandler, Enqueuer, enqueue_mapped
from mizzen.runtime.informer import ResourceEventHandler, SharedInformer
from mizzen.runtime.manager import Manager
from mizzen.runtime.reconcile import Request, Result

__all__ = ["NodeSimulator"]

log = logging.getLogger(__name__)
Obj = dict[str, Any]


@dataclass(frozen=True)
class _Seeded(EnqueueHandler):
    """An enqueue handler that also names every simulated node when it is bound,
    i.e. each time the controller starts with a fresh queue."""

    seed: Callable[[], Iterable[Request]] | None = None

    def bind(self, queue: Enqueuer) -> ResourceEventHandler:
        for request in self.seed() if self.seed is not None else ():
            queue.add(request)
        return super().bind(queue)


class NodeSimulator:
    """The Nodes and node Leases of one simulated cluster."""

    def __init__(self, client: Client, clock: Clock, config: ClusterConfig,
                 nodes: SharedInformer, leases: SharedInformer) -> None:
        self.client = client
        self.config = config
        self.nodes = nodes
        self.leases = leases
        self._clock = clock
        self._specs: dict[str, NodeSpec] = {n.name: n for n in config.nodes}
        self._index: dict[str, int] = {n.name: i for i, n in enumerate(config.nodes)}
        self._removed: set[str] = set()
        self._seen: set[str] = set()  # names we have seen in the cache (so: created)
        self.controller: Controller | None = None

    @classmethod
    def register(cls, manager: Manager, config: ClusterConfig, *,
                 workers: int = 2) -> NodeSimulator:
        """Build the simulator on ``manager``'s client, clock and shared informers, and
        add its controller (named ``node-simulator``) to the manager."""
        nodes = manager.informer(NODES, label_selector=SIM_NODE_LABEL)
        leases = manager.informer(LEASES, namespace=NODE_LEASE_NAMESPACE)
        sim = cls(manager.client, manager.clock, config, nodes, leases)
        ctl = manager.controller("node-simulator", sim.reconcile, workers=workers)
        ctl.watch(nodes, _Seeded(lambda obj: (Request.of(obj),), (), sim._all_requests))
        ctl.watch(leases, enqueue_mapped(lambda lease: (Request("", Request.of(lease).name),)))
        sim.controller = ctl
        return sim

    # -- which nodes are simulated -----------------------------------------------------

    @property
    def node_names(self) -> list[str]:
        """The nodes simulated now, in index order."""
        return sorted(self._specs, key=lambda n: self._index[n])

    def _all_requests(self) -> Iterable[Request]:
        return [Request("", name) for name in self.node_names]

    def add_node(self, spec: NodeSpec) -> None:
        """Simulate ``spec`` from now on (created on the next pass)."""
        if spec.name not in self._index:
            self._index[spec.name] = max(self._index.values(), default=-1) + 1
        self._specs[spec.name] = spec
        self._removed.discard(spec.name)
        self._seen.discard(spec.name)
        self._enqueue(spec.name)

    def remove_node(self, name: str) -> None:
        """Stop simulating ``name`` and delete its Node and Lease."""
        self._specs.pop(name, None)
        self._removed.add(name)
        self._enqueue(name)

    def _enqueue(self, name: str) -> None:
        if self.controller is not None and self.controller.running:
            self.controller.queue.add(Request("", name))

    # -- reconcile ---------------------------------------------------------------------

    async def reconcile(self, request: Request) -> Result:
        name = request.name
        node = self.nodes.cache.get(name)
        lease = self.leases.cache.get(name, NODE_LEASE_NAMESPACE)
        if node is not None:
            self._seen.add(name)
        elif name in self._seen and name in self._specs and not self.config.recreate_deleted_nodes:
            log.info("node %s was deleted; it leaves the simulation until restart", name)
            del self._specs[name]
            self._seen.discard(name)
            self._removed.add(name)  # its Lease goes too
        plan = plan_node(NodeInputs(
            spec=self._specs.get(name), index=self._index.get(name, 0),
            removed=name in self._removed, node=node, lease=lease,
            now=self._clock.now(), config=self.config))
        try:
            await self._execute(name, plan)
        except ApiError as exc:
            if exc.conflict or exc.already_exists:
                return Result(plan.requeue_after)  # the cache is behind; an event follows
            if not exc.not_found:
                raise
        return Result(plan.requeue_after)

    async def _execute(self, name: str, plan: NodePlan) -> None:
        action, body = plan.action, plan.body
        if action == NodeAction.NONE:
            return
        log.debug("node %s: %s", name, action)
        if action == NodeAction.CREATE_NODE:
            assert body is not None
            await self.client.create(NODES, body)
        elif action == NodeAction.DELETE_NODE:
            await self.client.delete(NODES, name)
        elif action == NodeAction.PATCH_STATUS:
            await self.client.patch(NODES, name, body, subresource="status")
        elif action == NodeAction.PATCH_TAINTS:
            await self.client.patch(NODES, name, body)
        elif action == NodeAction.CREATE_LEASE:
            assert body is not None
            await self.client.create(LEASES, body, NODE_LEASE_NAMESPACE)
        elif action == NodeAction.RENEW_LEASE:
            assert body is not None
            await self.client.update(LEASES, body)
        elif action == NodeAction.DELETE_LEASE:
            await self.client.delete(LEASES, name, NODE_LEASE_NAMESPACE)
