"""A controller: informers -> handlers -> a work queue -> N workers -> ``reconcile``.

The controller wires the separate pieces together and owns retry policy; it
holds no business logic.  Building one reads as a sentence::

    ctl = Controller("mirror", MirrorReconciler(client, cms, secrets).reconcile, clock,
                     workers=2)
    ctl.for_(configmaps, has_labels({"mirror": "yes"})).owns(secrets, CONFIGMAPS)

Running it (:meth:`Controller.run`, normally from the manager while it leads):

1. make a **fresh** work queue and rate limiter, and bind every watch's
   handler to it — so a controller stopped on losing leadership and started
   again later begins clean, and an informer that is already synced replays
   its cache as adds, i.e. every object is reconciled once on start;
2. wait until every watched informer has synced (a reconciler acting on a
   half-filled cache would, say, create objects that already exist);
3. start ``workers`` tasks.  The queue guarantees a key is reconciled by at
   most one of them at a time.

What happens after a pass (see ``reconcile.py``): success forgets the key's
backoff; ``Result(requeue_after=s)`` forgets it and re-adds the key after
``s``; :class:`~mizzen.runtime.reconcile.TerminalError` drops the key; any
other exception re-adds it through the rate limiter.  Each outcome is counted
and timed in :class:`~mizzen.runtime.metrics.ControllerMetrics`.

Cancelling :meth:`run` cancels in-flight passes, shuts the queue down and
unbinds the handlers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from mizzen.client.resources import Resource
from mizzen.runtime.clock import Clock
from mizzen.runtime.handlers import EnqueueHandler, Predicate, enqueue_object, enqueue_owner
from mizzen.runtime.informer import ResourceEventHandler, SharedInformer
from mizzen.runtime.metrics import ControllerMetrics, RuntimeMetrics
from mizzen.runtime.queue import QueueShutDown, WorkQueue
from mizzen.runtime.ratelimit import RateLimiter, default_controller_rate_limiter
from mizzen.runtime.reconcile import Reconciler, Request, Result, TerminalError

__all__ = ["Controller"]

log = logging.getLogger(__name__)

RateLimiterFactory = Callable[[Clock], RateLimiter]


@dataclass(frozen=True)
class _Watch:
    informer: SharedInformer
    handler: EnqueueHandler


class Controller:
    """Runs one reconciler over the keys its watches produce."""

    def __init__(self, name: str, reconcile: Reconciler, clock: Clock, *, workers: int = 1,
                 rate_limiter: RateLimiterFactory = default_controller_rate_limiter,
                 metrics: RuntimeMetrics | None = None) -> None:
        if workers < 1:
            raise ValueError("a controller needs at least one worker")
        self.name = name
        self.workers = workers
        self._reconcile = reconcile
        self._clock = clock
        self._rate_limiter = rate_limiter
        self._metrics = metrics if metrics is not None else RuntimeMetrics()
        self._cmetrics: ControllerMetrics = self._metrics.controller(name)
        self._watches: list[_Watch] = []
        self.queue: WorkQueue[Request] = WorkQueue(clock, rate_limiter(clock), name)
        self._running = False

    # -- wiring ----------------------------------------------------------------------

    def watch(self, informer: SharedInformer, handler: EnqueueHandler) -> Controller:
        """Enqueue what ``handler`` maps ``informer``'s events to."""
        if self._running:
            raise RuntimeError("add watches before the controller starts")
        self._watches.append(_Watch(informer, handler))
        return self

    def for_(self, informer: SharedInformer, *predicates: Predicate) -> Controller:
        """The primary resource: each changed object is its own key."""
        return self.watch(informer, enqueue_object(*predicates))

    def owns(self, informer: SharedInformer, owner: Resource,
             *predicates: Predicate) -> Controller:
        """A child resource: changes enqueue the controlling owner of kind ``owner``."""
        return self.watch(informer, enqueue_owner(owner, *predicates))

    @property
    def informers(self) -> list[SharedInformer]:
        """Every informer this controller needs running (each listed once)."""
        seen: dict[int, SharedInformer] = {}
        for w in self._watches:
            seen.setdefault(id(w.informer), w.informer)
        return list(seen.values())

    @property
    def running(self) -> bool:
        return self._running

    # -- running ---------------------------------------------------------------------

    async def run(self) -> None:
        """Reconcile until cancelled (waits for the informers' first sync first)."""
        if self._running:
            raise RuntimeError(f"controller {self.name} is already running")
        self._running = True
        queue: WorkQueue[Request] = WorkQueue(self._clock, self._rate_limiter(self._clock),
                                              self.name)
        self.queue = queue
        self._metrics.add_queue(self.name, queue)
        bound: list[tuple[SharedInformer, ResourceEventHandler]] = []
        try:
            for w in self._watches:
                handler = w.handler.bind(queue)
                w.informer.add_handler(handler)
                bound.append((w.informer, handler))
            for informer in self.informers:
                await informer.wait_for_sync()
            self._cmetrics.max_workers.set(self.workers)
            log.info("controller %s: starting %d workers", self.name, self.workers)
            async with asyncio.TaskGroup() as tg:
                for i in range(self.workers):
                    tg.create_task(self._worker(queue), name=f"{self.name}-worker-{i}")
        finally:
            queue.shutdown()
            for informer, handler in bound:
                informer.remove_handler(handler)
            self._running = False

    async def _worker(self, queue: WorkQueue[Request]) -> None:
        while True:
            try:
                request = await queue.get()
            except QueueShutDown:
                return
            try:
                await self._process(queue, request)
            finally:
                queue.done(request)

    async def _process(self, queue: WorkQueue[Request], request: Request) -> None:
        start = self._clock.monotonic()
        outcome: str | None = None
        self._cmetrics.active_workers.inc()
        try:
            result: Result = await self._reconcile(request)
        except TerminalError as exc:
            outcome = "terminal"
            queue.forget(request)
            log.error("controller %s: %s: terminal error, not retrying: %s",
                      self.name, request, exc)
        except Exception:
            outcome = "error"
            queue.add_rate_limited(request)
            log.exception("controller %s: %s: reconcile failed (retry %d)", self.name,
                          request, queue.num_requeues(request))
        else:
            queue.forget(request)
            if result.requeue_after:
                outcome = "requeue_after"
                queue.add_after(request, result.requeue_after)
            else:
                outcome = "success"
        finally:
            self._cmetrics.active_workers.dec()
            if outcome is not None:
                self._cmetrics.observe(outcome, self._clock.monotonic() - start)
