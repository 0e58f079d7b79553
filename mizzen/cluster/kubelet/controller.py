"""KubeletSimulator: one controller acting as the kubelet of every simulated node.

Upstream runs a kubelet per node; the simulator runs one controller for all
of them, keyed by pod, because what a kubelet does for a pod depends only on
that pod, its node and the time.  It is a thin executor around
:func:`~mizzen.cluster.kubelet.plan.plan_pod`:

* **Watches** — the shared pod informer (every pod; the predicate keeps those
  whose ``spec.nodeName`` is a node labelled ``SIM_NODE_LABEL``) and the
  simulated nodes, whose readiness, address or pod range changes re-enqueue
  the pods on them.  Nodes not labelled are someone else's (kwok, a real
  kubelet) and are left alone.
* **Per-node state** it owns, as a kubelet would: the IP pool carved from the
  node's ``spec.podCIDR`` (:class:`~mizzen.cluster.kubelet.identity.IpPool`) and
  the set of images pulled there.  Per-pod state: the simulated runtime
  (:class:`~mizzen.cluster.kubelet.runtime.PodRun`), dropped — and the IP
  released — when the pod is gone or replaced by a namesake with a new UID.
* **Writes**: a strategic-merge patch of ``pods/status`` with the fields that
  changed (``status.status_write``: conditions merge by type, so the ones
  others own — readiness gates — are never overwritten, and no
  resourceVersion precondition is needed: a controller flipping a gate at the
  same moment no longer makes the kubelet's write fail with 409; the pod's uid
  rides along as a real kubelet's does; a write without conditions goes as a
  JSON merge patch, which means the same for the kubelet's own fields and is
  far cheaper for the server to apply), and, for a deleted pod whose
  containers have stopped, the final
  ``DELETE`` with ``gracePeriodSeconds=0`` and a UID precondition right after
  the terminal status (the delete is skipped if that patch fails).  Never the
  main resource.
* **Expectations** — after a status write the pod is not planned again until
  the cache holds that write, so a pass triggered by some other event cannot
  plan from the pre-write status and write the same change twice.

A conflict or not-found answer is the cache being behind or the pod gone:
not an error; the event on its way brings the next pass.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import NODES, PODS
from mizzen.cluster.config import SIM_NODE_LABEL, ClusterConfig
from mizzen.cluster.kubelet.identity import IpPool
from mizzen.cluster.kubelet.plan import NodeView, PodInputs, plan_pod
from mizzen.cluster.kubelet.runtime import PodRun
from mizzen.cluster.kubelet.status import status_write
from mizzen.runtime.cache import BY_NODE_NAME
from mizzen.runtime.clock import Clock
from mizzen.runtime.controller import Controller
from mizzen.runtime.expectations import Expectations
from mizzen.runtime.handlers import enqueue_mapped, enqueue_object
from mizzen.runtime.informer import SharedInformer
from mizzen.runtime.manager import Manager
from mizzen.runtime.reconcile import Request, Result

__all__ = ["KubeletSimulator", "node_view"]

log = logging.getLogger(__name__)
Obj = dict[str, Any]


def node_view(node: Obj) -> NodeView:
    """Name, InternalIP and readiness of a cached Node."""
    status = node.get("status") or {}
    ip = next((str(a.get("address")) for a in status.get("addresses") or ()
               if a.get("type") == "InternalIP"), "")
    ready = next((str(c.get("status")) for c in status.get("conditions") or ()
                  if c.get("type") == "Ready"), "Unknown")
    return NodeView(str(node["metadata"]["name"]), ip, ready == "True", ready != "Unknown")


def _node_facts(node: Obj | None) -> tuple[Any, ...] | None:
    if node is None:
        return None
    return (node_view(node), (node.get("spec") or {}).get("podCIDR"))


def _node_changed(old: Obj | None, new: Obj | None) -> bool:
    """Node events that matter to its pods: it came, went, or changed readiness,
    address or pod range (not the periodic heartbeat rewrites)."""
    return old is None or new is None or _node_facts(old) != _node_facts(new)


class KubeletSimulator:
    """The kubelets of every node labelled ``SIM_NODE_LABEL``."""

    def __init__(self, client: Client, clock: Clock, config: ClusterConfig,
                 pods: SharedInformer, nodes: SharedInformer) -> None:
        self.client = client
        self.config = config
        self.pods = pods
        self.nodes = nodes
        self._clock = clock
        self._runs: dict[str, PodRun] = {}
        self._pools: dict[str, IpPool] = {}
        self._images: dict[str, set[str]] = {}
        self._expectations = Expectations(clock)
        self.controller: Controller | None = None

    @classmethod
    def register(cls, manager: Manager, config: ClusterConfig, *,
                 workers: int = 16) -> KubeletSimulator:
        """Build the simulator on ``manager``'s client, clock and shared informers, and
        add its controller (named ``kubelet-simulator``) to the manager.

        ``workers`` bounds the kubelets' writes in flight.  Real kubelets write
        independently, one per node; with four workers the simulated ones fell far behind
        the scheduler under load (each write waits its turn at the API server).  Each
        request in flight also holds a connection, with its buffers, hence not more."""
        pods = manager.informer(PODS)
        nodes = manager.informer(NODES, label_selector=SIM_NODE_LABEL)
        sim = cls(manager.client, manager.clock, config, pods, nodes)
        ctl = manager.controller("kubelet-simulator", sim.reconcile, workers=workers)
        ctl.watch(pods, enqueue_object(sim.on_simulated_node))
        ctl.watch(nodes, enqueue_mapped(sim.pods_on, _node_changed))
        sim.controller = ctl
        return sim

    # -- wiring helpers ----------------------------------------------------------------

    def on_simulated_node(self, old: Obj | None, new: Obj | None) -> bool:
        """Predicate: the pod is (or was) bound to a simulated node."""
        for pod in (new, old):
            name = ((pod or {}).get("spec") or {}).get("nodeName")
            if name and self.nodes.cache.get(name) is not None:
                return True
        return False

    def pods_on(self, node: Obj) -> list[Request]:
        """Mapper: every pod bound to ``node``."""
        name = str(node["metadata"]["name"])
        return [Request.of(p) for p in self.pods.cache.by_index(BY_NODE_NAME, name)]

    # -- per-node state ----------------------------------------------------------------

    def images_on(self, node: str) -> frozenset[str]:
        """Images the simulated node has pulled so far."""
        return frozenset(self._images.get(node, ()))

    def pool(self, node: Obj) -> IpPool:
        """The pod IP pool of ``node`` (made from its ``spec.podCIDR`` on first use)."""
        name = str(node["metadata"]["name"])
        cidr = (node.get("spec") or {}).get("podCIDR")
        pool = self._pools.get(name)
        if pool is None or (cidr and pool.cidr != cidr):
            if not cidr:
                raise ValueError(f"node {name} has no spec.podCIDR to give pods addresses")
            pool = self._pools[name] = IpPool(str(cidr))
        return pool

    def _address(self, pod: Obj, node: Obj) -> str:
        pool = self.pool(node)
        reported = (pod.get("status") or {}).get("podIP")
        if reported and pool.reserve(str(reported)):
            return str(reported)  # a pod reported before (this process restarted)
        return pool.allocate()

    def _forget(self, key: str) -> None:
        run = self._runs.pop(key, None)
        if run is not None and run.node in self._pools:
            self._pools[run.node].release(run.ip)

    # -- reconcile ---------------------------------------------------------------------

    async def reconcile(self, request: Request) -> Result:
        key = str(request)
        pod = self.pods.cache.get(request.name, request.namespace)
        node_name = str(((pod or {}).get("spec") or {}).get("nodeName") or "")
        node = self.nodes.cache.get(node_name) if node_name else None
        if pod is None or node is None:
            self._forget(key)
            self._expectations.forget(request)
            return Result()
        meta = pod["metadata"]
        self._expectations.observe_update(request, request.name,
                                          str(meta.get("resourceVersion", "")))
        if not self._expectations.satisfied(request):
            return Result()  # our last write is not in the cache yet; its event follows
        run = self._runs.get(key)
        if run is not None and (run.uid != meta.get("uid") or run.node != node_name):
            self._forget(key)
            run = None
        ip = run.ip if run is not None else self._address(pod, node)
        plan = plan_pod(PodInputs(pod, run, ip, node_view(node), self.images_on(node_name),
                                  self.config.latency, self._clock.now()))
        self._runs[key] = plan.run
        self._images.setdefault(node_name, set()).update(plan.images)
        try:
            if plan.status_patch is not None:
                status = status_write(pod.get("status"), plan.status_patch)
                body = {"metadata": {"uid": meta.get("uid")}, "status": status}
                written = await self.client.patch(
                    PODS, request.name, body, request.namespace, subresource="status",
                    patch_type="strategic" if "conditions" in status else "merge")
                rv = str((written.get("metadata") or {}).get("resourceVersion", ""))
                self._expectations.expect_update(request, request.name, rv)
            if plan.delete:
                await self.client.delete(PODS, request.name, request.namespace,
                                         grace_period_seconds=0,
                                         preconditions={"uid": str(meta.get("uid", ""))})
        except ApiError as exc:
            if plan.delete:  # not deleted after all: try again next pass
                self._runs[key] = replace(plan.run, delete_sent=False)
            if exc.not_found:
                self._forget(key)
                return Result()
            if exc.conflict:
                return Result(plan.requeue_after)
            raise
        return Result(plan.requeue_after)
