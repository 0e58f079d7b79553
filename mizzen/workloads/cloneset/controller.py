"""The CloneSet controller: a thin executor of :func:`~mizzen.workloads.cloneset.plan.plan`.

Building and running it::

    manager = Manager(client, RealClock())
    add_cloneset_controller(manager, CloneSetOptions())
    async with manager:
        ...   # every CloneSet gets its pods, PVCs, revisions and status

**One pass** (:meth:`CloneSetController.reconcile`) reads the CloneSet and
what it owns from the shared caches, parses its spec (either served version:
objects are read as the v1beta1 storage version), asks the planner for the
pass's one :class:`~mizzen.workloads.cloneset.decision.Write` and makes it —
one small method per kind (creating, which has more to it, in
:mod:`~mizzen.workloads.cloneset.creation`), no decisions of its own beyond
"which instance ids" (a random choice the planner leaves to the executor's
generator, which tests seed).  Patches go out status first, then the rest
(``decision.in_write_order``).

**Cost.**  The controller owns the planner's per-pod facts memo
(:mod:`~mizzen.workloads.cloneset.facts`: derived once per pod version,
dropped when the pod is deleted) and passes it in with every
:class:`~mizzen.workloads.cloneset.decision.Observed`; it times each pass
(observing and planning) and paces a CloneSet whose passes are expensive
(:mod:`~mizzen.workloads.cloneset.pacing`).  Waiting for expectations is
decided before observing, so those passes cost nothing.

**Expectations** (:class:`~mizzen.workloads.cloneset.handlers.Written`).
Every create, delete and patch is recorded before (or,
for a create whose name the response gives, right after) it is sent, per
kind of object, and the planner waits while any is pending.  An update is
expected only if the cache has not already seen the response's
resourceVersion (:func:`~mizzen.cluster.podutil.cache_has_seen`, checked
with no ``await`` in between).  Our own status writes are expected too, so a
pass never recomputes a status from a cache that has not seen the last one.
A failed write lowers its expectation at once (no event will come).

**Errors.**  409 (a precondition or an object that changed) and 404 end the
pass quietly: the object's event brings the CloneSet back.  Anything else is
raised for the runtime's backoff, after a Warning event.  A spec the parser
cannot read is a :class:`~mizzen.runtime.reconcile.TerminalError`: retrying
cannot help; the next edit brings it back.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from mizzen.api.cloneset.parse import parse_spec
from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import CONTROLLERREVISIONS, PODS, PVCS, Resource
from mizzen.cluster.podutil import (
    BY_CONTROLLER,
    cache_has_seen,
    labels_of,
    orphan_key,
    release_patch,
    selector_matches,
)
from mizzen.runtime.clock import Clock
from mizzen.runtime.events import WARNING, EventRecorder
from mizzen.runtime.expectations import Expectations
from mizzen.runtime.handlers import enqueue_mapped, resource_version_changed
from mizzen.runtime.informer import FuncHandler
from mizzen.runtime.manager import Manager
from mizzen.runtime.reconcile import Request, Result, TerminalError
from mizzen.workloads.cloneset.creation import Creator
from mizzen.workloads.cloneset.decision import CloneSetPlan, Event, Observed, PodPatch, Write
from mizzen.workloads.cloneset.facts import DEFAULT_CAPACITY, FactsMemo
from mizzen.workloads.cloneset.handlers import (
    CLONESETS,
    Informers,
    Written,
    informers,
    to_cloneset,
)
from mizzen.workloads.cloneset.pacing import Pacer, PacingOptions
from mizzen.workloads.cloneset.plan import plan

__all__ = ["COMPONENT", "CloneSetController", "CloneSetOptions", "add_cloneset_controller"]

log = logging.getLogger(__name__)
Obj = dict[str, Any]
COMPONENT = "cloneset-controller"


@dataclass(frozen=True)
class CloneSetOptions:
    """How the CloneSet controller runs."""

    # CloneSets reconciled at once (upstream's --cloneset-workers default).
    workers: int = 3
    # Watch one namespace only; None: all namespaces.
    namespace: str | None = None
    # Record scale/update Events on the CloneSet.
    events: bool = True
    # Seconds after which writes the caches never showed are given up on (upstream: 5 min).
    expectations_timeout: float = 300.0
    # Seed of the instance-id generator (None: from the OS); tests fix it.
    seed: int | None = None
    # Pod versions whose planner facts are kept (facts.FactsMemo).
    facts_capacity: int = DEFAULT_CAPACITY
    # How often a big CloneSet is planned (pacing.Pacer).
    pacing: PacingOptions = field(default_factory=PacingOptions)


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


class CloneSetController:
    """Plans from the caches and executes one kind of write per pass."""

    def __init__(self, client: Client, sources: Informers, clock: Clock,
                 options: CloneSetOptions | None = None,
                 recorder: EventRecorder | None = None) -> None:
        self.client = client
        self.options = options if options is not None else CloneSetOptions()
        self.sources = sources
        self._clock = clock
        self._recorder = recorder
        self._rng = random.Random(self.options.seed)
        self.written = Written(clock, self.options.expectations_timeout, sources)
        self._collisions: dict[Request, int] = {}
        self.passes: dict[str, int] = {}
        self.facts = FactsMemo(self.options.facts_capacity)
        self._pacer = Pacer(self.options.pacing)
        self._creator = Creator(client, sources, self.written, self._rng, clock.now, self._event)
        sources.pods.add_handler(FuncHandler(delete=self._pod_deleted))
        sources.clonesets.add_handler(FuncHandler(delete=self._cs_deleted))

    def _cs_deleted(self, cs: Obj) -> None:
        self._forget(Request.of(cs))

    def _pod_deleted(self, pod: Obj) -> None:
        self.facts.forget(str((pod.get("metadata") or {}).get("uid") or ""))

    def _forget(self, key: Request) -> None:
        self.written.forget(key)
        self._collisions.pop(key, None)
        self._pacer.forget(key)

    # -- reading -------------------------------------------------------------------------

    def observe(self, request: Request, cs: Obj) -> Observed:
        """Everything a pass plans from (read-only cache objects)."""
        spec = parse_spec(cs)
        uid = str((cs.get("metadata") or {}).get("uid") or "")
        ns = request.namespace
        pods = self.sources.pods.cache.by_index(BY_CONTROLLER, uid)
        pvcs = [c for c in self.sources.pvcs.cache.by_index(BY_CONTROLLER, uid)
                if not (c.get("metadata") or {}).get("deletionTimestamp")]
        cache = self.sources.revisions.cache
        all_revisions = cache.list(ns)
        revisions = [r for r in cache.by_index(BY_CONTROLLER, uid)
                     + cache.by_index(BY_CONTROLLER, orphan_key(ns))
                     if selector_matches(spec.selector, labels_of(r))]
        status = cs.get("status") or {}
        collisions = max(int(status.get("collisionCount") or 0),
                         self._collisions.get(request, 0))
        return Observed(cs, spec, pods, pvcs, revisions, {_name(r): r for r in all_revisions},
                        collisions, self.written.satisfied(request), self._clock.now(), self.facts)

    # -- the pass ------------------------------------------------------------------------

    async def reconcile(self, request: Request) -> Result:
        cs = self.sources.clonesets.cache.get(request.name, request.namespace)
        if cs is None:
            self._forget(request)
            return Result()
        if not self.written.status.satisfied(request):
            return Result()  # our last status write is not in the cache yet
        if not self.written.satisfied(request):  # what plan() would say, without observing
            return Result(self.written.deadline(request))
        started = self._clock.monotonic()
        wait = self._pacer.wait(request, started)
        if wait > 0:
            return Result(wait)  # see pacing.py; events meanwhile do not shorten it
        try:
            observed = self.observe(request, cs)
        except ValueError as exc:
            self._event(cs, Event(WARNING, "InvalidSpec", str(exc)))
            raise TerminalError(f"cloneset {request}: {exc}") from exc
        decision = plan(observed)
        self._pacer.record(request, started, self._clock.monotonic())
        if decision.step == "wait":
            return Result(self.written.deadline(request))
        self.passes[decision.step] = self.passes.get(decision.step, 0) + 1
        log.debug("cloneset %s: %s (%s)", request, decision.step, decision.write)
        if decision.collision_count > self._collisions.get(request, 0):
            self._collisions[request] = decision.collision_count
        try:
            await self._execute(request, cs, decision)
        except ApiError as exc:
            if exc.conflict or exc.not_found or exc.already_exists:
                return Result(decision.requeue_after)
            raise
        for event in decision.events:
            self._event(cs, event)
        return Result(decision.requeue_after)

    async def _execute(self, request: Request, cs: Obj, decision: CloneSetPlan) -> None:
        write = decision.write
        if write == Write.RELEASE:
            await self._release(request, cs, decision.release)
        elif write in (Write.PVCS, Write.PATCH, Write.DELETE):
            await self._patch(request, decision.patches)
            await self._delete(request, decision.delete, decision.delete_pvcs)
        elif write == Write.REVISION:
            await self._revision(request, decision)
        elif write == Write.CREATE:
            await self._creator.create(request, cs, decision)
        elif write == Write.STATUS and decision.status is not None:
            await self._write_status(request, cs, decision.status)
        elif write == Write.SPEC and decision.pods_to_delete is not None:
            body = {"metadata": {"resourceVersion": cs["metadata"]["resourceVersion"]},
                    "spec": {"scaleStrategy": {"podsToDelete": list(decision.pods_to_delete)}}}
            await self.client.patch(CLONESETS, request.name, body, request.namespace)
        elif write == Write.HISTORY:
            self.written.revisions.expect_delete(request, *decision.history)
            await self._each(request, self.written.revisions, CONTROLLERREVISIONS,
                             decision.history)

    # -- the writes ----------------------------------------------------------------------

    def _expect_update(self, exp: Expectations, request: Request, cached: Obj | None,
                       written: Obj) -> None:
        if not cache_has_seen(cached, written):
            exp.expect_update(request, _name(written),
                              str(written["metadata"].get("resourceVersion", "")))

    async def _release(self, request: Request, cs: Obj, names: tuple[str, ...]) -> None:
        uid = str(cs["metadata"]["uid"])
        for name in names:
            pod = self.sources.pods.cache.get(name, request.namespace)
            if pod is None:
                continue
            try:
                written = await self.client.patch(PODS, name, release_patch(uid, pod),
                                                  request.namespace, patch_type="strategic")
            except ApiError as exc:
                if exc.not_found:
                    continue
                raise
            self._expect_update(self.written.pods, request,
                                self.sources.pods.cache.get(name, request.namespace), written)

    async def _patch(self, request: Request, patches: tuple[PodPatch, ...]) -> None:
        """Each pod's patches in order (``decision.in_write_order``: its status first), pods
        side by side — no pod waits for another's status — and a chained patch only after
        its pod's status patch succeeded, on the version that returned."""
        versions: dict[str, str] = {}  # pod -> resourceVersion its status write returned

        async def one(p: PodPatch) -> None:
            res, exp, cache = (PVCS, self.written.pvcs, self.sources.pvcs.cache) if p.pvc \
                else (PODS, self.written.pods, self.sources.pods.cache)
            body = p.body
            if p.chained:
                body = {**body, "metadata": {**body.get("metadata", {}),
                                             "resourceVersion": versions[p.name]}}
            try:
                written = await self.client.patch(res, p.name, body, request.namespace,
                                                  patch_type=p.patch_type,
                                                  subresource=p.subresource)
            except ApiError as exc:
                if exc.not_found:
                    return
                raise
            if p.subresource == "status":
                versions[p.name] = str(written["metadata"].get("resourceVersion", ""))
            self._expect_update(exp, request, cache.get(p.name, request.namespace), written)

        async def in_turn(mine: list[PodPatch]) -> None:
            for p in mine:
                if not p.chained or p.name in versions:
                    await one(p)

        by_pod: dict[tuple[str, bool], list[PodPatch]] = {}
        for p in patches:
            by_pod.setdefault((p.name, p.pvc), []).append(p)
        await self._gather([in_turn(mine) for mine in by_pod.values()])

    async def _gather(self, calls: list[Any]) -> None:
        results = await asyncio.gather(*calls, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]

    async def _each(self, request: Request, exp: Expectations, res: Resource,
                    names: tuple[str, ...]) -> None:
        async def one(name: str) -> None:
            try:
                await self.client.delete(res, name, request.namespace)
            except ApiError as exc:
                exp.observe_delete(request, name)  # no event will come
                if not exc.not_found:
                    raise

        await self._gather([one(n) for n in names])

    async def _delete(self, request: Request, pods: tuple[str, ...],
                      pvcs: tuple[str, ...]) -> None:
        if pods:
            self.written.pods.expect_delete(request, *pods)
            await self._each(request, self.written.pods, PODS, pods)
        if pvcs:
            self.written.pvcs.expect_delete(request, *pvcs)
            await self._each(request, self.written.pvcs, PVCS, pvcs)

    async def _revision(self, request: Request, decision: CloneSetPlan) -> None:
        if decision.revision_bump is not None:
            name, number = decision.revision_bump
            written = await self.client.patch(CONTROLLERREVISIONS, name, {"revision": number},
                                              request.namespace)
            self._expect_update(self.written.revisions, request,
                                self.sources.revisions.cache.get(name, request.namespace),
                                written)
            return
        body = decision.revision_create
        if body is None:
            return
        try:
            created = await self.client.create(CONTROLLERREVISIONS, body, request.namespace)
        except ApiError as exc:
            if exc.already_exists:  # a collision the cache had not shown: count it
                self._collisions[request] = decision.collision_count + 1
            raise
        if self.sources.revisions.cache.get(_name(created), request.namespace) is None:
            self.written.revisions.expect_create(request, _name(created))

    async def _write_status(self, request: Request, cs: Obj, status: Obj) -> None:
        # A merge patch: fields the new status lacks (conditions) are removed explicitly.
        body = {**dict.fromkeys(cs.get("status") or {}), **status}
        written = await self.client.patch(CLONESETS, request.name, {"status": body},
                                          request.namespace, subresource="status")
        cached = self.sources.clonesets.cache.get(request.name, request.namespace)
        self._expect_update(self.written.status, request, cached, written)

    def _event(self, cs: Obj, event: Event) -> None:
        if self._recorder is not None:
            self._recorder.event(cs, event.type, event.reason, event.message)


def add_cloneset_controller(manager: Manager, options: CloneSetOptions | None = None,
                            name: str = "cloneset") -> CloneSetController:
    """Build the controller on ``manager``'s shared informers and register it.

    Call before ``manager.run()``; the controller runs while the manager leads.  The
    CloneSet CRD must be installed (``mizzen.api.crds.all_crds()``).
    """
    options = options if options is not None else CloneSetOptions()
    sources = informers(manager, options.namespace)
    recorder = manager.event_recorder(COMPONENT) if options.events else None
    ctl = CloneSetController(manager.client, sources, manager.clock, options, recorder)
    controller = manager.controller(name, ctl.reconcile, workers=options.workers)
    controller.for_(sources.clonesets, resource_version_changed)
    mapper = enqueue_mapped(to_cloneset(), resource_version_changed)
    for informer in (sources.pods, sources.pvcs, sources.revisions):
        controller.watch(informer, mapper)
    return ctl
