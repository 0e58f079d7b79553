"""The Deployment controller: Deployments → ReplicaSets, rolled out as upstream does.

Building and running it (with the ReplicaSet controller, which makes the pods)::

    manager = Manager(client, RealClock())
    add_replicaset_controller(manager)
    add_deployment_controller(manager, DeploymentOptions(workers=5))
    async with manager:
        ...   # kubectl apply / set image / rollout status|history|undo behave as usual

**One pass** (:meth:`DeploymentController.reconcile`) reads the Deployment,
its namespace's ReplicaSets and (for Recreate) their pods from the caches,
asks :func:`~mizzen.cluster.deployment.plan.plan` and makes that one kind of
write: ReplicaSet ownership patches, one ReplicaSet create, ReplicaSet
updates (PUT with the resourceVersion the plan saw: a conflict means someone
else changed it, and the change's event brings the Deployment back), deletes
of old ReplicaSets, a merge patch of the Deployment's revision annotation, or
a status update (PUT with its resourceVersion).  Events of the plan
(``ScalingReplicaSet`` …) are recorded once the write succeeded.

**Expectations.**  ReplicaSet creates, updates (by the resourceVersion each
write returned) and deletes are expected under the Deployment's key and
observed from the ReplicaSet informer; the Deployment's own annotation and
status writes are expected in a second set, observed from the Deployment
informer.  An update is expected only if the cache has not already seen it
(its watch event can beat the response; checked with no ``await`` between).
While anything is pending the pass does nothing: the write's event will
enqueue the Deployment again.

**Memory between passes** (per Deployment, lost on restart, as harmless as
upstream losing a failed status write): the name of the ReplicaSet created in
the previous pass (for ``NewReplicaSetCreated``) and the error of a failed
create (for ``ReplicaSetCreateError``).

**Time.**  Conditions are stamped, and progress deadlines measured, on the
manager's injected clock; a stuck rollout is re-examined when its deadline
passes (``Result.requeue_after``), with no other polling.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import DEPLOYMENTS, PODS, REPLICASETS
from mizzen.cluster.deployment.decisions import DeploymentPlan, Observed
from mizzen.cluster.deployment.handlers import (
    deleted,
    pod_to_deployment,
    replicaset_to_deployments,
)
from mizzen.cluster.deployment.plan import plan
from mizzen.cluster.deployment.replicas import is_rolling
from mizzen.cluster.podutil import (
    BY_CONTROLLER,
    adopt_patch,
    by_controller,
    cache_has_seen,
    controller_ref,
    release_patch,
)
from mizzen.runtime.cache import copy_of
from mizzen.runtime.clock import Clock
from mizzen.runtime.events import WARNING, EventRecorder
from mizzen.runtime.expectations import Expectations, observe_owned
from mizzen.runtime.handlers import enqueue_mapped, resource_version_changed
from mizzen.runtime.informer import FuncHandler, SharedInformer
from mizzen.runtime.manager import Manager
from mizzen.runtime.reconcile import Request, Result

__all__ = ["DeploymentController", "DeploymentOptions", "add_deployment_controller"]

log = logging.getLogger(__name__)
Obj = dict[str, Any]
COMPONENT = "deployment-controller"


@dataclass(frozen=True)
class DeploymentOptions:
    """How the Deployment controller runs."""

    # Deployments reconciled at once (kube-controller-manager's --concurrent-deployment-syncs).
    workers: int = 5
    # Watch one namespace only; None: all namespaces.
    namespace: str | None = None
    # Record ScalingReplicaSet and failure events on the Deployment.
    events: bool = True
    # Seconds after which ReplicaSet writes the cache never showed are given up on.
    expectations_timeout: float = 300.0


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, ApiError) else str(exc)


def _of_kind(objs: list[Obj], kind: str) -> list[Obj]:
    """Only objects of ``kind``.  Defensive: the embedded API server's watch replay has
    been seen to deliver other kinds' events to a watch; a cache holding a Deployment
    among ReplicaSets must not make us adopt or count it."""
    return [o for o in objs if o.get("kind") == kind]


class DeploymentController:
    """Plans from the caches and executes one kind of write per pass."""

    def __init__(self, client: Client, deployments: SharedInformer,
                 replicasets: SharedInformer, pods: SharedInformer, clock: Clock,
                 options: DeploymentOptions | None = None,
                 recorder: EventRecorder | None = None) -> None:
        self.client = client
        self.options = options if options is not None else DeploymentOptions()
        self.deployments = deployments
        self.replicasets = replicasets
        self.pods = pods
        self._clock = clock
        self._recorder = recorder
        timeout = self.options.expectations_timeout
        # Our ReplicaSet creates/updates/deletes, keyed by Deployment.
        self.expectations = Expectations(clock, timeout)
        # Our writes of the Deployment itself (annotation, status).
        self._own = Expectations(clock, timeout)
        self._created: dict[Request, str] = {}
        self._create_failures: dict[Request, str] = {}
        self.passes: dict[str, int] = {}
        replicasets.add_handler(observe_owned(self.expectations, DEPLOYMENTS))
        deployments.add_handler(FuncHandler(update=self._updated, delete=self._deleted))

    def _updated(self, old: Obj, new: Obj) -> None:
        meta = new.get("metadata") or {}
        self._own.observe_update(Request.of(new), str(meta.get("name")),
                                 str(meta.get("resourceVersion", "")))

    def _deleted(self, d: Obj) -> None:
        self._forget(Request.of(d))

    def _forget(self, key: Request) -> None:
        self.expectations.forget(key)
        self._own.forget(key)
        self._created.pop(key, None)
        self._create_failures.pop(key, None)

    # -- reading -------------------------------------------------------------------------

    def observe(self, request: Request, d: Obj) -> Observed:
        """Everything a pass plans from (read-only cache objects)."""
        rss = _of_kind(self.replicasets.cache.list(request.namespace), REPLICASETS.kind)
        pods: list[Obj] = []
        if not is_rolling(d):
            uid = d["metadata"].get("uid")
            for rs in _of_kind(self.replicasets.cache.by_index(BY_CONTROLLER, str(uid)),
                               REPLICASETS.kind):
                pods += self.pods.cache.by_index(BY_CONTROLLER, str(rs["metadata"]["uid"]))
        return Observed(d, rss, pods, self._clock.now(), self._created.get(request),
                        self._create_failures.get(request))

    # -- the pass ----------------------------------------------------------------------

    async def reconcile(self, request: Request) -> Result:
        d = self.deployments.cache.get(request.name, request.namespace)
        if d is None or d.get("kind") != DEPLOYMENTS.kind:
            self._forget(request)
            return Result()
        if not (self._own.satisfied(request) and self.expectations.satisfied(request)):
            return Result()  # the cache has not seen our last writes yet
        decision = plan(self.observe(request, d))
        self.passes[decision.step] = self.passes.get(decision.step, 0) + 1
        log.debug("deployment %s: %s %s", request, decision.step, decision.counts)
        if decision.clear_created:
            self._created.pop(request, None)
        try:
            await self._execute(request, d, decision)
        except ApiError as exc:
            if exc.conflict or exc.not_found:
                return Result()  # changed or gone meanwhile: its event brings us back
            raise
        for event in decision.events:
            self._event(d, event.type, event.reason, event.message)
        return Result(decision.requeue_after)

    async def _execute(self, request: Request, d: Obj, decision: DeploymentPlan) -> None:
        if decision.adopt or decision.release:
            await self._claim(request, d, decision)
        elif decision.create is not None:
            await self._create(request, d, decision.create)
        elif decision.updates:
            await self._update(request, decision)
        elif decision.delete:
            await self._delete(request, decision.delete)
        elif decision.annotations is not None:
            patch = {"metadata": {"annotations": dict(decision.annotations),
                                  "resourceVersion": d["metadata"]["resourceVersion"]}}
            patched = await self.client.patch(DEPLOYMENTS, request.name, patch,
                                              request.namespace)
            self._expect_own(request, patched)
        elif decision.status is not None:
            body = copy_of(d)
            body["status"] = decision.status
            written = await self.client.update(DEPLOYMENTS, body, subresource="status")
            self._expect_own(request, written)
            failure = self._create_failures.get(request)
            if decision.fail_after and failure is not None:
                raise RuntimeError(f"deployment {request}: creating its ReplicaSet failed: "
                                   f"{failure}")

    async def _claim(self, request: Request, d: Obj, decision: DeploymentPlan) -> None:
        uid = str(d["metadata"]["uid"])
        if decision.adopt:
            fresh = await self.client.get(DEPLOYMENTS, request.name, request.namespace)
            if fresh["metadata"].get("uid") != uid or fresh["metadata"].get("deletionTimestamp"):
                return
        ref = controller_ref(d, DEPLOYMENTS.api_version, DEPLOYMENTS.kind)
        for name in decision.adopt + decision.release:
            rs = self.replicasets.cache.get(name, request.namespace)
            if rs is None:
                continue
            adopting = name in decision.adopt
            body = adopt_patch(ref, rs) if adopting else release_patch(uid, rs)
            try:
                patched = await self.client.patch(REPLICASETS, name, body, request.namespace,
                                                  patch_type="strategic")
            except ApiError as exc:
                if exc.not_found:
                    continue
                raise
            if adopting:
                self._expect_rs(request, patched)

    async def _create(self, request: Request, d: Obj, rs: Obj) -> None:
        name = str(rs["metadata"]["name"])
        self.expectations.expect_create(request, name)
        try:
            await self.client.create(REPLICASETS, rs, request.namespace)
        except ApiError as exc:
            self.expectations.observe_create(request, name)
            if exc.already_exists:
                raise  # a stale cache or a hash collision: the next pass sees which
            message = f'Failed to create new replica set "{name}": {_message(exc)}'
            self._create_failures[request] = _message(exc)
            self._event(d, WARNING, "ReplicaSetCreateError", message)
            raise
        except BaseException:
            self.expectations.observe_create(request, name)
            raise
        self._created[request] = name
        self._create_failures.pop(request, None)

    async def _update(self, request: Request, decision: DeploymentPlan) -> None:
        for update in decision.updates:
            cached = self.replicasets.cache.get(update.name, request.namespace)
            if cached is None:
                continue
            rs = copy_of(cached)
            rs["spec"]["replicas"] = update.replicas
            rs["metadata"]["annotations"] = dict(update.annotations)
            if update.min_ready_seconds is not None:
                rs["spec"]["minReadySeconds"] = update.min_ready_seconds
            written = await self.client.update(REPLICASETS, rs)
            self._expect_rs(request, written)

    async def _delete(self, request: Request, names: tuple[str, ...]) -> None:
        for name in names:
            self.expectations.expect_delete(request, name)
            try:
                await self.client.delete(REPLICASETS, name, request.namespace)
            except ApiError as exc:
                self.expectations.observe_delete(request, name)
                if not exc.not_found:
                    raise
            except BaseException:
                self.expectations.observe_delete(request, name)
                raise

    def _expect_own(self, request: Request, written: Obj) -> None:
        """Wait for our write of the Deployment, unless its event already came."""
        if not cache_has_seen(self.deployments.cache.get(request.name, request.namespace),
                              written):
            self._own.expect_update(request, request.name,
                                    str(written["metadata"]["resourceVersion"]))

    def _expect_rs(self, request: Request, written: Obj) -> None:
        """Wait for our write of a ReplicaSet, unless its event already came."""
        meta = written["metadata"]
        if not cache_has_seen(self.replicasets.cache.get(meta["name"], request.namespace),
                              written):
            self.expectations.expect_update(request, str(meta["name"]),
                                            str(meta["resourceVersion"]))

    def _event(self, d: Obj, type_: str, reason: str, message: str) -> None:
        if self._recorder is not None:
            self._recorder.event(d, type_, reason, message)


def add_deployment_controller(manager: Manager, options: DeploymentOptions | None = None,
                              name: str = "deployment") -> DeploymentController:
    """Build the controller on ``manager``'s shared informers and register it.

    Call before ``manager.run()``.  Pods are made by the ReplicaSet controller
    (:func:`mizzen.cluster.replicaset.add_replicaset_controller`), registered
    separately: the two controllers share informers, never code.
    """
    options = options if options is not None else DeploymentOptions()
    index = {BY_CONTROLLER: by_controller}
    deployments = manager.informer(DEPLOYMENTS, namespace=options.namespace)
    replicasets = manager.informer(REPLICASETS, namespace=options.namespace, indexers=index)
    pods = manager.informer(PODS, namespace=options.namespace, indexers=index)
    recorder = manager.event_recorder(COMPONENT) if options.events else None
    ctl = DeploymentController(manager.client, deployments, replicasets, pods, manager.clock,
                               options, recorder)
    controller = manager.controller(name, ctl.reconcile, workers=options.workers)
    controller.for_(deployments, resource_version_changed)
    controller.watch(replicasets, enqueue_mapped(replicaset_to_deployments(deployments),
                                                 resource_version_changed))
    controller.watch(pods, enqueue_mapped(pod_to_deployment(replicasets), deleted))
    return ctl
