"""The control plane ``bench/cloneset.py`` measures: ``mizzen up``'s two processes, one client
per writer, and the watches that tell when a rollout is done.

**As ``mizzen up``.**  The embedded API server (temporary data directory, SQLite
``synchronous`` FULL by default) in a process of its own, as ``mizzen up`` runs it
(``bench/server_proc.py``; ``processes=1``: on this process's loop), the CRDs installed
and the webhook server started as ``mizzen up`` does (so CloneSet writes pass its
validating webhook), then one Manager running what
:func:`~mizzen.cluster.setup.add_simulated_cluster` registers (node and kubelet
simulators, scheduler, ReplicaSet and Deployment controllers) and the CloneSet controller,
on this process's event loop.  Peak RSS and CPU (both processes) are therefore the control
plane's, plus the benchmark's own client (two watches and the few requests it sends).

**One client per writer.**  The components take the manager's client when they are
registered, so :class:`Plane` points ``manager.client`` at a different
:class:`~mizzen.client.client.Client` before each registration: each writer gets its own
user agent, field manager and :class:`~mizzen.client.metrics.ClientMetrics`, and its
Event recorder writes through the same client.  That is how "the controller's writes" and
"the kubelet's writes" are told apart; the shared informers still read through whichever
client registered them first.  The list mirrors ``add_simulated_cluster``.

**Watches.**  A :class:`RolloutFollower` keeps per pod the bits of
:func:`pod_rollout_flags` (its spec names the target image; it runs it, Ready; it is
Ready; it is terminating) and the most pods it ever saw unavailable while tracking; a
plain :class:`~bench.cluster_probe.Follower` over the workload keeps one bit, "its status
says the rollout is complete for the current generation".
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.cluster_probe import Follower, GcTimer, api_writes, settle
from bench.server_proc import InProcessServer, ServerView, start_view
from mizzen.cli.crds import install_crds
from mizzen.cli.webhooks import WebhookOptions, start_webhooks
from mizzen.client.client import Client
from mizzen.client.config import ClientConfig
from mizzen.client.metrics import ClientMetrics
from mizzen.client.resources import NAMESPACES, NODES, Resource
from mizzen.cluster.config import ClusterConfig, LatencyProfile
from mizzen.cluster.deployment.controller import COMPONENT as DEPLOYMENT_COMPONENT
from mizzen.cluster.deployment.controller import add_deployment_controller
from mizzen.cluster.kubelet import KubeletSimulator
from mizzen.cluster.nodes import NodeSimulator
from mizzen.cluster.replicaset.controller import COMPONENT as REPLICASET_COMPONENT
from mizzen.cluster.replicaset.controller import add_replicaset_controller
from mizzen.cluster.scheduler import SchedulerOptions, add_scheduler
from mizzen.cluster.scheduler.podinfo import DEFAULT_SCHEDULER
from mizzen.runtime.clock import RealClock
from mizzen.runtime.manager import Manager
from mizzen.webhook import WebhookServer
from mizzen.workloads.cloneset import COMPONENT as CLONESET_COMPONENT
from mizzen.workloads.cloneset import CloneSetController, add_cloneset_controller

Obj = dict[str, Any]
Counts = dict[tuple[str, str], int]

# Writers, in registration order; "bench" is the benchmark's own client.
WRITERS = ("nodes", "kubelet", "scheduler", "replicaset", "deployment", "cloneset", "bench")
RECORDERS = (DEFAULT_SCHEDULER, REPLICASET_COMPONENT, DEPLOYMENT_COMPONENT, CLONESET_COMPONENT)

# Flag bits of a pod during a rollout (Follower counts bits 1, 2, 4 and 8).
UPDATED, DONE, READY, TERMINATING = 1, 2, 4, 8


def _ready(obj: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or ())


def pod_rollout_flags(target: Callable[[], str]) -> Callable[[Obj], int]:
    """Classifier of pods against the image ``target()`` names at event time."""
    def classify(pod: Obj) -> int:
        image = target()
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        flags = 0
        if [c.get("image") for c in spec.get("containers") or ()] == [image]:
            flags |= UPDATED
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            return flags | TERMINATING
        if _ready(pod):
            flags |= READY
            running = status.get("containerStatuses") or ()
            if flags & UPDATED and running and all(
                    s.get("image") == image and s.get("ready") and "running" in (s.get("state")
                                                                                 or {})
                    for s in running):
                flags |= DONE
        return flags
    return classify


def workload_done(generation: Callable[[], int], cloneset: bool) -> Callable[[Obj], int]:
    """READY when the status answers generation ≥ ``generation()`` with every replica
    updated and available (CloneSet: updated and ready) and no old pod counted."""
    def classify(obj: Obj) -> int:
        meta, spec, st = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
        want = spec.get("replicas", 1)
        gen = meta.get("generation", 0)
        fields = ("replicas", "updatedReplicas", "availableReplicas") + (
            ("updatedReadyReplicas", "readyReplicas") if cloneset else ())
        if (gen >= generation() and st.get("observedGeneration") == gen
                and all(st.get(f) == want for f in fields)):
            return READY
        return 0
    return classify


class RolloutFollower(Follower):
    """A pod Follower that also keeps the most pods it saw unavailable while tracking."""

    def __init__(self, client: Client, res: Resource, namespace: str,
                 classify: Callable[[Obj], int]) -> None:
        super().__init__(client, res, namespace, classify)
        self.replicas = 0  # 0: not tracking
        self.max_unavailable = 0

    def track(self, replicas: int) -> None:
        self.replicas, self.max_unavailable = replicas, 0

    def _check(self) -> None:
        if self.replicas:
            self.max_unavailable = max(self.max_unavailable, self.replicas - self.count(READY))
        super()._check()


class Plane:
    """The server, the manager with every writer on its own client, the benchmark's client."""

    def __init__(self, data: Path, sync: str, nodes: int, latency: LatencyProfile,
                 gc_timer: GcTimer | None = None, processes: int = 2) -> None:
        self.gc_timer = gc_timer  # the run's collection time, if timed
        self.data, self.sync, self.processes = data, sync, processes
        self.server: ServerView = InProcessServer(data, sync)  # replaced by start()
        self.config = ClusterConfig.with_nodes(nodes, latency=latency)
        self.clients: dict[str, Client] = {}
        self.manager: Manager | None = None
        self.cloneset: CloneSetController | None = None
        self.webhooks: WebhookServer | None = None
        self.tasks: list[asyncio.Task[None]] = []

    @property
    def client(self) -> Client:
        """The benchmark's own client."""
        return self.clients["bench"]

    async def start(self, with_cloneset: bool, timeout: float) -> float:
        """Everything up; returns seconds until every node was Ready and every informer
        synced."""
        t0 = time.perf_counter()
        self.data.mkdir(parents=True, exist_ok=True)
        self._log = (self.data.parent / f"{self.data.name}-server.log").open("wb")
        self.server = await start_view(self.processes, self.data, self.sync, self._log)
        gc.freeze()  # as mizzen up: the loaded state is long-lived
        config = ClientConfig(server=self.server.url, ca_data=self.server.ca_pem,
                              token=self.server.token)
        for w in WRITERS:
            self.clients[w] = Client(config, metrics=ClientMetrics(), field_manager=w,
                                     user_agent=f"mizzen-bench/{w}")
        await install_crds(self.client)
        self.webhooks = await start_webhooks(self.client, WebhookOptions())
        self.manager = m = Manager(self.clients["nodes"], RealClock())
        cfg = self.config
        NodeSimulator.register(m, cfg)
        m.client = self.clients["kubelet"]
        KubeletSimulator.register(m, cfg)
        m.client = self.clients["scheduler"]
        add_scheduler(m, SchedulerOptions.for_cluster(cfg))
        m.client = self.clients["replicaset"]
        add_replicaset_controller(m)
        m.client = self.clients["deployment"]
        add_deployment_controller(m)
        if with_cloneset:
            m.client = self.clients["cloneset"]
            self.cloneset = add_cloneset_controller(m)
        m.client = self.clients["nodes"]
        self.tasks.append(asyncio.create_task(m.run(), name="manager"))
        want = len(cfg.nodes)
        while True:
            nodes = (await self.client.list(NODES))["items"]
            ready = sum(1 for n in nodes if _ready(n))
            if ready >= want and all(i.has_synced for i in m.informers):
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError(f"only {ready}/{want} nodes Ready")
            await asyncio.sleep(0.25)

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()
        if self.webhooks is not None:
            await self.webhooks.stop()
        for c in self.clients.values():
            await c.close()
        await self.server.stop()
        self._log.close()

    async def namespace(self, name: str) -> None:
        await self.client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": name}})

    def follow(self, follower: Follower) -> Follower:
        """Run ``follower`` until :meth:`unfollow` (or :meth:`stop`)."""
        self.tasks.append(asyncio.create_task(follower.run(), name=f"follow-{follower.res.plural}"))
        return follower

    async def unfollow(self) -> None:
        """Stop every follower (the manager keeps running)."""
        keep = [t for t in self.tasks if t.get_name() == "manager"]
        for t in self.tasks:
            if t not in keep:
                t.cancel()
        await asyncio.gather(*(t for t in self.tasks if t not in keep), return_exceptions=True)
        self.tasks = keep

    # -- counters ------------------------------------------------------------------------

    def counts(self) -> dict[str, Counts]:
        """Requests so far by writer and (verb, resource), as each client counted them."""
        return {w: c.metrics.counts() for w, c in self.clients.items()}

    def dropped_events(self) -> int:
        """Events the recorders dropped (queue full) so far: writes not made."""
        assert self.manager is not None
        return sum(self.manager.event_recorder(n).stats.dropped for n in RECORDERS)

    async def api_writes(self) -> int:
        """Writes the server answered so far, node Lease renewals aside."""
        return await api_writes(self.server)

    async def settle(self, quiet: float = 0.5, limit: float = 60.0) -> float:
        """Wait until no API write (heartbeats aside) happened for ``quiet`` seconds."""
        return await settle(self.server, quiet, limit)
