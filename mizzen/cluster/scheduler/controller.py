"""The scheduler controller: pending pods in, one binding (or one status write) out.

Building and running it::

    manager = Manager(client, RealClock())
    scheduler = add_scheduler(manager, SchedulerOptions.for_cluster(cluster_config))
    async with manager:
        ...   # pods with no spec.nodeName and schedulerName default-scheduler get bound

**Which pods.**  Pods with an empty ``spec.nodeName``, ``spec.schedulerName``
equal to the options' (``default-scheduler``, which the API server fills in
when unset), not being deleted and not finished.

**One pass** (:meth:`Scheduler.reconcile`), one kind of write, then return:

1. the pod is gone, bound, or not ours → forget its backoff, done;
2. it still has ``schedulingGates`` → write ``PodScheduled=False`` reason
   ``SchedulingGated`` (only if the pod does not already say so), done;
3. a binding of ours is in flight or not yet visible in the cache (the state
   holds an *assumption* for it) → done: never bind twice;
4. :func:`~mizzen.cluster.scheduler.plan.plan` it.  A node was chosen →
   **assume** the pod there (synchronously, right after the decision: with
   several workers on one event loop, no other decision can run in between,
   so each sees every earlier one), wait ``latency`` seconds if configured,
   ``POST pods/{name}/binding``.  A failed binding drops the assumption; a
   404 or 409 (pod gone, being deleted, bound by someone else) ends the pass
   quietly, anything else is retried by the runtime with backoff;
5. no node fits → write ``PodScheduled=False`` reason ``Unschedulable`` with
   the planner's message (only when it changed, plus a FailedScheduling
   Warning event), remember the pod as unschedulable and requeue it after
   1 s, 2 s, 4 s ... at most 10 s (kube-scheduler's pod backoff).

**When to look again.**  Besides its own backoff, every unschedulable pod is
enqueued at once when something may have made room: a node was added,
removed, or changed in a way a decision could see (labels, taints,
allocatable, readiness, cordon — not heartbeats; see ``nodeinfo.py``), or a
pod holding capacity was deleted or finished.  Pod updates that only touch
status (our own condition writes, for one) do not enqueue a pending pod.

**Latency** (``ClusterConfig.latency.schedule``) is slept between decision
and binding, inside the worker, with the capacity already assumed: it delays
each pod without letting a second decision see a stale node.  Workers run
concurrently, so a latency of ``L`` bounds throughput at ``workers / L``
bindings per second.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import NODES, PODS
from mizzen.cluster.config import ClusterConfig
from mizzen.cluster.scheduler.nodeinfo import NodeInfo
from mizzen.cluster.scheduler.plan import Decision, plan
from mizzen.cluster.scheduler.podinfo import DEFAULT_SCHEDULER, PodInfo
from mizzen.cluster.scheduler.quantity import QuantityError
from mizzen.cluster.scheduler.state import ClusterState
from mizzen.cluster.scheduler.status import (
    GATED_MESSAGE,
    SCHEDULING_GATED,
    UNSCHEDULABLE,
    not_scheduled_patch,
)
from mizzen.runtime.cache import key_of
from mizzen.runtime.clock import Clock
from mizzen.runtime.controller import Controller
from mizzen.runtime.events import WARNING, EventRecorder
from mizzen.runtime.handlers import enqueue_mapped, enqueue_object
from mizzen.runtime.informer import FuncHandler, SharedInformer
from mizzen.runtime.manager import Manager
from mizzen.runtime.reconcile import Request, Result, TerminalError

__all__ = ["Scheduler", "SchedulerOptions", "add_scheduler"]

log = logging.getLogger(__name__)
Obj = dict[str, Any]


@dataclass(frozen=True)
class SchedulerOptions:
    """How the scheduler runs."""

    # Pods whose spec.schedulerName is this are ours (the API server defaults it).
    scheduler_name: str = DEFAULT_SCHEDULER
    # Concurrent reconcile workers, i.e. bindings in flight at once.
    workers: int = 32
    # Seconds between a decision and its binding (ClusterConfig.latency.schedule).
    latency: float = 0.0
    # Requeue delay of an unschedulable pod: doubles from initial up to max.
    initial_backoff: float = 1.0
    max_backoff: float = 10.0
    # Record a FailedScheduling Warning event whenever the pod's message changes.
    events: bool = True

    @classmethod
    def for_cluster(cls, config: ClusterConfig, **overrides: Any) -> SchedulerOptions:
        """Options taking the simulated cluster's scheduling latency."""
        return replace(cls(latency=config.latency.schedule), **overrides)


class Scheduler:
    """Decides and binds; owns the :class:`ClusterState` its informers feed."""

    def __init__(self, client: Client, pods: SharedInformer, nodes: SharedInformer,
                 clock: Clock, options: SchedulerOptions | None = None,
                 recorder: EventRecorder | None = None) -> None:
        self.client = client
        self.options = options if options is not None else SchedulerOptions()
        self.state = ClusterState()
        self.pods = pods  # the informer whose cache the passes read
        self._clock = clock
        self._recorder = recorder
        self._unschedulable: set[Request] = set()
        self._attempts: dict[Request, int] = {}
        # The runtime controller running :meth:`reconcile` (set by add_scheduler).
        self.controller: Controller | None = None
        pods.add_handler(FuncHandler(self._pod_added, self._pod_updated, self._pod_deleted))
        nodes.add_handler(FuncHandler(self._node_added, self._node_updated, self._node_deleted))

    # -- feeding the state (informer handlers: synchronous, cheap) ------------------------

    def _pod_added(self, pod: Obj) -> None:
        self.state.observe_pod(pod)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        self.state.observe_pod(new)
        if not self.is_ours(new):
            self._settled(Request.of(new))

    def _pod_deleted(self, pod: Obj) -> None:
        self.state.remove_pod(key_of(pod))
        self._settled(Request.of(pod))

    def _node_added(self, node: Obj) -> None:
        self.state.set_node(node)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        self.state.set_node(new)

    def _node_deleted(self, node: Obj) -> None:
        self.state.remove_node(key_of(node))

    # -- which pods, and when ------------------------------------------------------------

    def is_ours(self, pod: Mapping[str, Any]) -> bool:
        """Unbound, ours, not deleting and not finished."""
        spec = pod.get("spec") or {}
        return (not spec.get("nodeName")
                and (spec.get("schedulerName") or DEFAULT_SCHEDULER) == self.options.scheduler_name
                and not (pod.get("metadata") or {}).get("deletionTimestamp")
                and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))

    def pending_changed(self, old: Obj | None, new: Obj | None) -> bool:
        """Predicate for pod events: a pod of ours appeared or changed beyond its status."""
        if new is None:
            return False  # deleted: the handler above already forgot it
        if old is None:
            return self.is_ours(new)
        if not self.is_ours(new):
            return False  # bound, deleting or finished: nothing to do
        meta_old, meta_new = old.get("metadata") or {}, new.get("metadata") or {}
        return (old.get("spec") != new.get("spec")
                or meta_old.get("labels") != meta_new.get("labels") or not self.is_ours(old))

    def retry_unschedulable(self, _: Obj) -> Iterable[Request]:
        """Mapper: every pod that found no node, to be tried again now."""
        return list(self._unschedulable)

    @staticmethod
    def capacity_freed(old: Obj | None, new: Obj | None) -> bool:
        """Predicate for pod events: a bound pod was deleted or finished."""
        if old is None or not (old.get("spec") or {}).get("nodeName"):
            return False
        if new is None:
            return True
        return ((new.get("status") or {}).get("phase") in ("Succeeded", "Failed")
                and (old.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))

    @staticmethod
    def node_changed(old: Obj | None, new: Obj | None) -> bool:
        """Predicate for node events: added, removed, or changed in what scheduling reads."""
        if old is None or new is None:
            return True
        return NodeInfo.of(old) != NodeInfo.of(new)

    # -- the pass ----------------------------------------------------------------------

    async def reconcile(self, request: Request) -> Result:
        pod = self.pods.cache.get(request.name, request.namespace)
        if pod is None or not self.is_ours(pod):
            self._settled(request)
            return Result()
        if (pod.get("spec") or {}).get("schedulingGates"):
            await self._not_scheduled(pod, SCHEDULING_GATED, GATED_MESSAGE)
            return Result()
        key = str(request)
        if self.state.is_assumed(key):
            return Result()
        try:
            info = PodInfo.of(pod)
        except QuantityError as exc:
            raise TerminalError(f"pod {key}: {exc}") from exc
        decision = plan(info, self.state)
        if decision.node is None:
            return await self._unschedulable_pass(request, pod, decision)
        self.state.assume(info, decision.node)  # before any await: later decisions see it
        try:
            if self.options.latency > 0:
                await self._clock.sleep(self.options.latency)
            await self._bind(info, decision.node)
        except ApiError as exc:
            self.state.forget(key)
            if exc.not_found or exc.conflict:
                log.info("binding %s to %s refused: %s", key, decision.node, exc)
                return Result()
            raise
        except BaseException:
            self.state.forget(key)
            raise
        self._settled(request)
        return Result()

    async def _bind(self, pod: PodInfo, node: str) -> None:
        binding = {"apiVersion": "v1", "kind": "Binding",
                   "metadata": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        await self.client.create(PODS, binding, pod.namespace, subresource="binding")

    async def _unschedulable_pass(self, request: Request, pod: Obj,
                                  decision: Decision) -> Result:
        self._unschedulable.add(request)
        attempts = self._attempts.get(request, 0)
        self._attempts[request] = attempts + 1
        if await self._not_scheduled(pod, UNSCHEDULABLE, decision.message):
            log.info("pod %s is unschedulable: %s", request, decision.message)
            if self._recorder is not None:
                self._recorder.event(pod, WARNING, "FailedScheduling", decision.message)
        opts = self.options
        return Result(requeue_after=min(opts.max_backoff,
                                        opts.initial_backoff * 2 ** min(attempts, 30)))

    async def _not_scheduled(self, pod: Obj, reason: str, message: str) -> bool:
        """Write PodScheduled=False if it differs; True if a write was made."""
        patch = not_scheduled_patch(pod, reason, message, self._clock.now())
        if patch is None:
            return False
        meta = pod["metadata"]
        try:
            await self.client.patch(PODS, meta["name"], patch, meta["namespace"],
                                    patch_type="strategic", subresource="status")
        except ApiError as exc:
            if exc.not_found:
                return False
            raise
        return True

    def _settled(self, request: Request) -> None:
        self._unschedulable.discard(request)
        self._attempts.pop(request, None)

    @property
    def unschedulable(self) -> frozenset[Request]:
        """Pods whose last pass found no node."""
        return frozenset(self._unschedulable)


def add_scheduler(manager: Manager, options: SchedulerOptions | None = None,
                  name: str = "scheduler") -> Scheduler:
    """Build the scheduler on ``manager``'s shared pod and node informers and register it.

    Call before ``manager.run()``; the runtime controller (named ``name``) is
    ``scheduler.controller``.
    """
    options = options if options is not None else SchedulerOptions()
    pods = manager.informer(PODS)
    nodes = manager.informer(NODES)
    recorder = manager.event_recorder(options.scheduler_name) if options.events else None
    scheduler = Scheduler(manager.client, pods, nodes, manager.clock, options, recorder)
    controller = scheduler.controller = manager.controller(name, scheduler.reconcile,
                                                           workers=options.workers)
    controller.watch(pods, enqueue_object(scheduler.pending_changed))
    controller.watch(pods, enqueue_mapped(scheduler.retry_unschedulable,
                                          scheduler.capacity_freed))
    controller.watch(nodes, enqueue_mapped(scheduler.retry_unschedulable,
                                           scheduler.node_changed))
    return scheduler
