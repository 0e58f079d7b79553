"""The manager: one process's informers, controllers, recorders, election and probes.

A manager is the unit an operator deploys.  It owns, for its lifetime:

* **shared informers** — :meth:`Manager.informer` returns the one informer
  per (resource, namespace, label selector, field selector), so controllers
  that watch the same thing share one list+watch and one cache.  Every cache
  is indexed by namespace and owner UID (pods also by node name);
* **controllers** — built with :meth:`Manager.controller` (same clock and
  metrics) or added with :meth:`Manager.add`;
* **event recorders** — one per component name, with their writer tasks;
* **leader election** (optional) — informers and recorders run on every
  replica so a standby's caches are warm, but controllers run only while this
  replica holds the Lease.  When leadership ends the controllers are
  cancelled (their queues discarded) and the manager campaigns again; on
  winning, each controller starts from a fresh queue fed by its informers'
  full caches, which is safe because reconciliation is level-based;
* **probes and metrics** (optional) — a :class:`~mizzen.runtime.health.HealthServer`
  on ``health_port`` serving /healthz, /readyz (ready once every informer has
  synced) and /metrics from the manager's own registry (client, runtime and
  leader-election series).  It is a small asyncio responder, not aiohttp,
  because the runtime layer must not depend on an HTTP framework; a CLI that
  already runs a web server can serve :attr:`Manager.health` ``.respond``
  instead and pass ``health_port=None``.

Everything runs inside :meth:`Manager.run` as tasks of one task group:
cancelling ``run`` stops all of it.  The clock and the client come through
the constructor, how to run (election, probe port, watch timeout) as one
:class:`ManagerOptions` value; :meth:`Manager.from_config` is a convenience that
builds the client (sharing the manager's metrics registry) and closes it on exit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

from mizzen.client.client import Client
from mizzen.client.config import ClientConfig
from mizzen.client.metrics import ClientMetrics
from mizzen.client.resources import PODS, Resource
from mizzen.runtime.cache import (
    BY_NAMESPACE,
    BY_NODE_NAME,
    BY_OWNER_UID,
    Indexer,
    by_namespace,
    by_node_name,
    by_owner_uid,
)
from mizzen.runtime.clock import Clock
from mizzen.runtime.controller import Controller, RateLimiterFactory
from mizzen.runtime.events import EventRecorder
from mizzen.runtime.health import HealthServer
from mizzen.runtime.informer import SharedInformer
from mizzen.runtime.leaderelection import LeaderElectionConfig, LeaderElector
from mizzen.runtime.metrics import RuntimeMetrics
from mizzen.runtime.ratelimit import default_controller_rate_limiter
from mizzen.runtime.reconcile import Reconciler

__all__ = ["Manager", "ManagerOptions"]

log = logging.getLogger(__name__)

_InformerKey = tuple[Resource, str | None, str | None, str | None]


@dataclass(frozen=True)
class ManagerOptions:
    """How a manager runs, apart from what it is given (client, clock, metrics)."""

    # Campaign for this Lease and run controllers only while holding it; None: always run.
    leader_election: LeaderElectionConfig | None = None
    # Serve /healthz, /readyz, /metrics on this port (0: a free one); None: do not serve.
    health_port: int | None = None
    health_host: str = "127.0.0.1"
    # timeoutSeconds of each informer watch; the informer resumes when it ends.
    watch_timeout: int = 300
    # Detect in-place changes of cached objects (see cache.py); for tests and debugging.
    check_mutations: bool = False


class Manager:
    """Runs informers and recorders always, controllers while leading."""

    def __init__(self, client: Client, clock: Clock, options: ManagerOptions | None = None, *,
                 metrics: RuntimeMetrics | None = None) -> None:
        self.client = client
        self.clock = clock
        self.options = opts = options if options is not None else ManagerOptions()
        self.metrics = metrics if metrics is not None else RuntimeMetrics()
        self.elector = (LeaderElector(client, opts.leader_election, clock, metrics=self.metrics)
                        if opts.leader_election is not None else None)
        self.health = HealthServer(clock, self.metrics.render, host=opts.health_host,
                                   port=opts.health_port or 0)
        self.health.add_ready_check("informers-synced", self._informers_synced)
        self._informers: dict[_InformerKey, SharedInformer] = {}
        self._controllers: list[Controller] = []
        self._recorders: dict[str, EventRecorder] = {}
        self._tg: asyncio.TaskGroup | None = None
        self._task: asyncio.Task[None] | None = None
        self._owns_client = False

    @classmethod
    def from_config(cls, config: ClientConfig, clock: Clock,
                    options: ManagerOptions | None = None, *,
                    metrics: RuntimeMetrics | None = None) -> Manager:
        """A manager with its own :class:`Client`, closed when :meth:`run` ends.

        The client reports into the manager's metrics registry, so /metrics
        shows API request counts next to the controllers' numbers.
        """
        metrics = metrics if metrics is not None else RuntimeMetrics()
        client = Client(config, metrics=ClientMetrics(metrics.registry))
        manager = cls(client, clock, options, metrics=metrics)
        manager._owns_client = True
        return manager

    # -- building --------------------------------------------------------------------

    def informer(self, resource: Resource, *, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 indexers: Mapping[str, Indexer] | None = None) -> SharedInformer:
        """The shared informer for this scope (made on first request, started if running)."""
        key = (resource, namespace, label_selector, field_selector)
        informer = self._informers.get(key)
        if informer is None:
            base: dict[str, Indexer] = {BY_NAMESPACE: by_namespace, BY_OWNER_UID: by_owner_uid}
            if resource == PODS:
                base[BY_NODE_NAME] = by_node_name
            informer = SharedInformer(
                self.client, resource, self.clock, namespace=namespace,
                label_selector=label_selector, field_selector=field_selector,
                watch_timeout=self.options.watch_timeout, indexers=base,
                check_mutations=self.options.check_mutations)
            self._informers[key] = informer
            self._register_informer(informer)
        for name, fn in (indexers or {}).items():
            informer.cache.add_indexer(name, fn)
        return informer

    def _register_informer(self, informer: SharedInformer) -> None:
        scope = "/".join(p for p in (informer.namespace, informer.label_selector,
                                     informer.field_selector) if p)
        name = informer.resource.plural + (f"[{scope}]" if scope else "")
        self.metrics.add_informer(name, informer)
        if self._tg is not None:
            self._tg.create_task(informer.run(), name=f"informer-{name}")

    def controller(self, name: str, reconcile: Reconciler, *, workers: int = 1,
                   rate_limiter: RateLimiterFactory = default_controller_rate_limiter
                   ) -> Controller:
        """A new controller on this manager's clock and metrics, registered to run."""
        ctl = Controller(name, reconcile, self.clock, workers=workers,
                         rate_limiter=rate_limiter, metrics=self.metrics)
        return self.add(ctl)

    def add(self, controller: Controller) -> Controller:
        if self._tg is not None:
            raise RuntimeError("add controllers before the manager runs")
        self._controllers.append(controller)
        return controller

    def event_recorder(self, component: str) -> EventRecorder:
        """The recorder for ``component`` (one per name, written by a manager task)."""
        recorder = self._recorders.get(component)
        if recorder is None:
            host = self.elector.config.identity if self.elector is not None else ""
            recorder = EventRecorder(self.client, self.clock, component, host=host)
            self._recorders[component] = recorder
            if self._tg is not None:
                self._tg.create_task(recorder.run(), name=f"events-{component}")
        return recorder

    # -- state -----------------------------------------------------------------------

    @property
    def informers(self) -> list[SharedInformer]:
        return list(self._informers.values())

    @property
    def controllers(self) -> list[Controller]:
        return list(self._controllers)

    @property
    def is_leader(self) -> bool:
        """Leading the election, or always when there is none."""
        return self.elector is None or self.elector.is_leader

    def _informers_synced(self) -> str | None:
        waiting = [i.resource.plural for i in self._all_informers() if not i.has_synced]
        return f"not synced: {', '.join(waiting)}" if waiting else None

    def _all_informers(self) -> list[SharedInformer]:
        seen = {id(i): i for i in self._informers.values()}
        for ctl in self._controllers:
            for informer in ctl.informers:
                seen.setdefault(id(informer), informer)
        return list(seen.values())

    # -- running ---------------------------------------------------------------------

    async def run(self) -> None:
        """Run everything until cancelled."""
        if self._tg is not None:
            raise RuntimeError("the manager is already running")
        try:
            if self.options.health_port is not None:
                await self.health.start()
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                for informer in self._all_informers():
                    if informer not in self._informers.values():
                        self._register_informer(informer)
                    else:
                        tg.create_task(informer.run())
                for component, recorder in self._recorders.items():
                    tg.create_task(recorder.run(), name=f"events-{component}")
                tg.create_task(self._lead())
        finally:
            self._tg = None
            await self.health.stop()
            if self._owns_client:
                await self.client.close()

    async def _lead(self) -> None:
        if self.elector is None:
            await self._run_controllers()
            return
        while True:
            await self.elector.run(self._run_controllers)
            log.warning("%s: leadership ended; campaigning again", self.elector.config.identity)

    async def _run_controllers(self) -> None:
        if not self._controllers:
            await asyncio.Event().wait()  # nothing to run: hold leadership until cancelled
        async with asyncio.TaskGroup() as tg:
            for ctl in self._controllers:
                tg.create_task(ctl.run(), name=f"controller-{ctl.name}")

    async def __aenter__(self) -> Manager:
        """Run the manager in a background task until the ``async with`` block ends."""
        self._task = asyncio.get_running_loop().create_task(self.run(), name="manager")
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                         exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._task is not None:
            self._task.cancel()
            (outcome,) = await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
            if isinstance(outcome, Exception):  # run() failed (e.g. the probe port was taken)
                raise outcome
