"""The ReplicaSet controller: keeps ``spec.replicas`` pods per ReplicaSet, as upstream does.

Building and running it::

    manager = Manager(client, RealClock())
    add_replicaset_controller(manager, ReplicaSetOptions(workers=5))
    async with manager:
        ...   # every ReplicaSet gets its pods, and a status counting them

**One pass** (:meth:`ReplicaSetController.reconcile`) reads the ReplicaSet and
its candidate pods from the caches, asks :func:`~mizzen.cluster.replicaset.plan.plan`
what to do, makes that one kind of write and returns:

* *claim* — strategic-merge patches of the pods' ``ownerReferences`` (an
  uncached GET first confirms the ReplicaSet is not being deleted, as
  upstream's ``RecheckDeletionTimestamp``);
* *create* — pods from the template: ``generateName: <rs-name>-``, the
  template's labels, annotations and finalizers, and a controller owner
  reference with ``blockOwnerDeletion``; in slow-start batches, stopping at the
  first batch with a failure;
* *delete* — the chosen pods, concurrently;

  (creates and deletes of all ReplicaSets share ``max_in_flight`` requests at once);
* *status* — a merge patch of ``/status`` (the status is this controller's
  alone, so no resourceVersion precondition: upstream's update also retries
  over conflicts with the status it computed).

**Expectations.**  Creates and deletes are recorded by pod name before the
cache can show them: a create's name is known only from its response, and
with no ``await`` between the response and the check, a pod already in the
cache is simply not expected.  Adoptions are expected as updates, under the
same rule (:func:`~mizzen.cluster.podutil.cache_has_seen`): a write's watch
event can beat its response.  Our own status writes are expected too (a
separate set keyed by the ReplicaSet), so a pass never recomputes a status
from a cache that has not seen the last one.  While pod expectations are
pending a pass may still claim pods, but neither creates, deletes nor writes
the status.

**Counting.**  A pass reads counts and claims from the ReplicaSet's census
(``census.py``), which pod events keep current: a pass costs O(pods changed since the
last one), not O(pods); the pods themselves are listed only to choose deletions.

**Failures.**  A failed create or delete is remembered per ReplicaSet and the
pass fails (the runtime backs off); the next pass writes the
``ReplicaFailure`` condition and fails again, the one after that retries.
Creating in a terminating namespace is not a failure: nothing can be created.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import PODS, REPLICASETS
from mizzen.cluster.podutil import (
    BY_CONTROLLER,
    adopt_patch,
    cache_has_seen,
    controller_of,
    controller_ref,
    release_patch,
    selector_matches,
)
from mizzen.cluster.replicaset.census import CensusBook
from mizzen.cluster.replicaset.handlers import informers, pod_to_replicasets
from mizzen.cluster.replicaset.plan import BURST_REPLICAS, Observed, ReplicaSetPlan, plan
from mizzen.cluster.replicaset.status import Failure
from mizzen.runtime.cache import copy_of
from mizzen.runtime.clock import Clock
from mizzen.runtime.events import NORMAL, WARNING, EventRecorder
from mizzen.runtime.expectations import Expectations, observe_owned
from mizzen.runtime.handlers import enqueue_mapped, resource_version_changed
from mizzen.runtime.informer import FuncHandler, SharedInformer
from mizzen.runtime.manager import Manager
from mizzen.runtime.reconcile import Request, Result

__all__ = ["ReplicaSetController", "ReplicaSetOptions", "add_replicaset_controller",
           "pod_from_template"]

log = logging.getLogger(__name__)
Obj = dict[str, Any]
COMPONENT = "replicaset-controller"


@dataclass(frozen=True)
class ReplicaSetOptions:
    """How the ReplicaSet controller runs."""

    # ReplicaSets reconciled at once (kube-controller-manager's --concurrent-replicaset-syncs).
    workers: int = 5
    # Most pods created or deleted by one pass (upstream's burstReplicas).
    burst_replicas: int = BURST_REPLICAS
    # Watch one namespace only; None: all namespaces.
    namespace: str | None = None
    # Record SuccessfulCreate/SuccessfulDelete/Failed* events on the ReplicaSet (one
    # API write each, as upstream).
    events: bool = True
    # Seconds after which creates/deletes the cache never showed are given up on.
    expectations_timeout: float = 300.0
    # Pod creates and deletes in flight at once, all ReplicaSets together (upstream's
    # client QPS limit plays this part).  A slow-start batch of 256 still starts 256
    # creates; they just queue here instead of opening 256 connections at once.
    max_in_flight: int = 16


def pod_from_template(rs: Obj) -> Obj:
    """The pod a ReplicaSet creates (upstream's ``GetPodFromTemplate``)."""
    meta, spec = rs["metadata"], rs.get("spec") or {}
    template = copy_of(spec.get("template") or {})
    tmeta = template.get("metadata") or {}
    name = str(meta["name"])
    pod_meta: Obj = {"generateName": f"{name}-" if len(name) < 253 else name,
                     "namespace": meta.get("namespace"),
                     "ownerReferences": [controller_ref(rs, REPLICASETS.api_version,
                                                       REPLICASETS.kind)]}
    for key in ("labels", "annotations", "finalizers"):
        if tmeta.get(key):
            pod_meta[key] = tmeta[key]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta,
            "spec": template.get("spec") or {}}


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, ApiError) else str(exc)


def _namespace_terminating(exc: BaseException) -> bool:
    if not isinstance(exc, ApiError):
        return False
    return (any(c.get("type") == "NamespaceTerminating" for c in exc.causes)
            or (exc.status == 403 and "being terminated" in exc.message))


def _mine(rss: list[Obj]) -> list[Obj]:
    """Only ReplicaSets.  Defensive: the embedded API server's watch replay has been seen
    to deliver other kinds' events to a ReplicaSet watch; an informer's cache must never
    make us treat a Deployment as a ReplicaSet."""
    return [rs for rs in rss if rs.get("kind") == REPLICASETS.kind]


class ReplicaSetController:
    """Plans from the caches and executes one kind of write per pass."""

    def __init__(self, client: Client, replicasets: SharedInformer, pods: SharedInformer,
                 clock: Clock, options: ReplicaSetOptions | None = None,
                 recorder: EventRecorder | None = None) -> None:
        self.client = client
        self.options = options if options is not None else ReplicaSetOptions()
        self.replicasets = replicasets
        self.pods = pods
        self._clock = clock
        self._recorder = recorder
        # Our creates/deletes/adoptions of pods, keyed by ReplicaSet.
        self.expectations = Expectations(clock, self.options.expectations_timeout)
        # Our status writes, keyed by ReplicaSet (name = the ReplicaSet's).
        self._own = Expectations(clock, self.options.expectations_timeout)
        self._failures: dict[Request, Failure] = {}
        self._in_flight = asyncio.Semaphore(self.options.max_in_flight)
        self.passes: dict[str, int] = {}
        # Counts and claims per ReplicaSet, kept from the pod events (O(changes) a pass).
        self.census = CensusBook(pods.cache)
        pods.add_handler(observe_owned(self.expectations, REPLICASETS))
        pods.add_handler(FuncHandler(add=self.census.changed, update=self._pod_updated,
                                     delete=self.census.changed))
        replicasets.add_handler(FuncHandler(update=self._rs_updated, delete=self._rs_deleted))

    def _rs_updated(self, old: Obj, new: Obj) -> None:
        meta = new.get("metadata") or {}
        self._own.observe_update(Request.of(new), str(meta.get("name")),
                                 str(meta.get("resourceVersion", "")))

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        self.census.changed(old)
        self.census.changed(new)

    def _rs_deleted(self, rs: Obj) -> None:
        key = Request.of(rs)
        self.census.forget(str((rs.get("metadata") or {}).get("uid") or ""))
        self.expectations.forget(key)
        self._own.forget(key)
        self._failures.pop(key, None)

    # -- reading -------------------------------------------------------------------------

    def observe(self, request: Request, rs: Obj) -> Observed:
        """Everything a pass plans from (read-only cache objects).  The counts come from
        the census; the pods themselves only when some may have to be deleted."""
        now = self._clock.now()
        census = self.census.census(rs, now)
        pods: list[Obj] = []
        related: list[Obj] = []
        replicas = (rs.get("spec") or {}).get("replicas")
        if isinstance(replicas, int) and census.replicas > replicas:
            uid = str(rs["metadata"].get("uid") or "")
            pods = self.pods.cache.by_index(BY_CONTROLLER, uid)
            related = self._related_pods(rs, request.namespace)
        satisfied = self.expectations.satisfied(request)
        return Observed(rs, pods, related, satisfied, self._failures.get(request), now,
                        self.options.burst_replicas, census)

    def _related_pods(self, rs: Obj, namespace: str) -> list[Obj]:
        """Pods selected by the ReplicaSets sharing ``rs``'s controller."""
        owner = controller_of(rs)
        if owner is None:
            return []
        siblings = _mine(self.replicasets.cache.by_index(BY_CONTROLLER, str(owner.get("uid"))))
        seen: dict[str, Obj] = {}
        for pod in self.pods.cache.list(namespace):
            labels = (pod.get("metadata") or {}).get("labels") or {}
            if any(selector_matches((s.get("spec") or {}).get("selector"), labels)
                   for s in siblings):
                seen.setdefault(str(pod["metadata"].get("uid")), pod)
        return list(seen.values())

    # -- the pass ----------------------------------------------------------------------

    async def reconcile(self, request: Request) -> Result:
        rs = self.replicasets.cache.get(request.name, request.namespace)
        if rs is None or rs.get("kind") != REPLICASETS.kind:  # (a foreign kind: see _mine)
            self.expectations.forget(request)
            self._own.forget(request)
            self._failures.pop(request, None)
            return Result()
        if not self._own.satisfied(request):
            return Result()  # our last status write is not in the cache yet
        decision = plan(self.observe(request, rs))
        self.passes[decision.step] = self.passes.get(decision.step, 0) + 1
        log.debug("replicaset %s: %s (active %d, want %d)", request, decision.step,
                  *decision.counts)
        if decision.forget_failure:
            self._failures.pop(request, None)
        try:
            await self._execute(request, rs, decision)
        except ApiError as exc:
            if exc.conflict or exc.not_found:
                return Result()  # the object changed or went: its event brings us back
            raise
        return Result(decision.requeue_after)

    async def _execute(self, request: Request, rs: Obj, decision: ReplicaSetPlan) -> None:
        if decision.adopt or decision.release:
            await self._claim(request, rs, decision)
        elif decision.create:
            await self._create(request, rs, decision.create)
        elif decision.delete:
            await self._delete(request, rs, decision.delete)
        elif decision.status is not None:
            await self._write_status(request, rs, decision.status)
            failure = self._failures.get(request)
            if decision.fail_after and failure is not None:
                raise RuntimeError(f"replicaset {request}: {failure.reason}: {failure.message}")

    async def _claim(self, request: Request, rs: Obj, decision: ReplicaSetPlan) -> None:
        uid = str(rs["metadata"]["uid"])
        if decision.adopt:
            fresh = await self.client.get(REPLICASETS, request.name, request.namespace)
            if fresh["metadata"].get("uid") != uid or fresh["metadata"].get("deletionTimestamp"):
                return  # deleted or replaced meanwhile: its event brings us back
        ref = controller_ref(rs, REPLICASETS.api_version, REPLICASETS.kind)
        for name in decision.adopt + decision.release:
            pod = self.pods.cache.get(name, request.namespace)
            if pod is None:
                continue
            body = adopt_patch(ref, pod) if name in decision.adopt else release_patch(uid, pod)
            try:
                patched = await self.client.patch(PODS, name, body, request.namespace,
                                                  patch_type="strategic")
            except ApiError as exc:
                if exc.not_found:
                    continue
                raise
            if name in decision.adopt and not cache_has_seen(
                    self.pods.cache.get(name, request.namespace), patched):
                self.expectations.expect_update(request, name,
                                                str(patched["metadata"]["resourceVersion"]))

    async def _create(self, request: Request, rs: Obj, batches: tuple[int, ...]) -> None:
        body = pod_from_template(rs)
        for size in batches:
            results = await asyncio.gather(*(self._create_one(request, rs, body)
                                              for _ in range(size)), return_exceptions=True)
            errors = [r for r in results if isinstance(r, BaseException)]
            if errors:
                self._failed(request, rs, "FailedCreate", "Error creating", errors[0])
                raise errors[0]
        self._failures.pop(request, None)

    async def _create_one(self, request: Request, rs: Obj, body: Obj) -> None:
        try:
            async with self._in_flight:
                created = await self.client.create(PODS, body, request.namespace)
        except ApiError as exc:
            if _namespace_terminating(exc):
                return
            raise
        name = str(created["metadata"]["name"])
        if self.pods.cache.get(name, request.namespace) is None:  # no await since the reply
            self.expectations.expect_create(request, name)
        self._event(rs, NORMAL, "SuccessfulCreate", f"Created pod: {name}")

    async def _delete(self, request: Request, rs: Obj, names: tuple[str, ...]) -> None:
        self.expectations.expect_delete(request, *names)

        async def delete(name: str) -> None:
            try:
                async with self._in_flight:
                    await self.client.delete(PODS, name, request.namespace)
            except ApiError as exc:
                self.expectations.observe_delete(request, name)
                if not exc.not_found:
                    raise
                return
            except BaseException:
                self.expectations.observe_delete(request, name)
                raise
            self._event(rs, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")

        results = await asyncio.gather(*(delete(n) for n in names), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            self._failed(request, rs, "FailedDelete", "Error deleting", errors[0])
            raise errors[0]
        self._failures.pop(request, None)

    async def _write_status(self, request: Request, rs: Obj, status: Obj) -> None:
        old = rs.get("status") or {}
        body = {k: None for k in old if k not in status}
        body.update(status)
        patched = await self.client.patch(REPLICASETS, request.name, {"status": body},
                                          request.namespace, subresource="status")
        if not cache_has_seen(self.replicasets.cache.get(request.name, request.namespace),
                              patched):
            self._own.expect_update(request, request.name,
                                    str(patched["metadata"]["resourceVersion"]))

    def _failed(self, request: Request, rs: Obj, reason: str, verb: str,
                exc: BaseException) -> None:
        self._failures[request] = Failure(reason, _message(exc))
        self._event(rs, WARNING, reason, f"{verb}: {_message(exc)}")

    def _event(self, rs: Obj, type_: str, reason: str, message: str) -> None:
        if self._recorder is not None:
            self._recorder.event(rs, type_, reason, message)


def add_replicaset_controller(manager: Manager, options: ReplicaSetOptions | None = None,
                              name: str = "replicaset") -> ReplicaSetController:
    """Build the controller on ``manager``'s shared informers and register it.

    Call before ``manager.run()``; the controller runs while the manager leads.
    """
    options = options if options is not None else ReplicaSetOptions()
    replicasets, pods = informers(manager, options.namespace)
    recorder = manager.event_recorder(COMPONENT) if options.events else None
    ctl = ReplicaSetController(manager.client, replicasets, pods, manager.clock, options,
                               recorder)
    controller = manager.controller(name, ctl.reconcile, workers=options.workers)
    controller.for_(replicasets, resource_version_changed)
    controller.watch(pods, enqueue_mapped(pod_to_replicasets(replicasets),
                                          resource_version_changed))
    return ctl

