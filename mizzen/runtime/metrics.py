"""Prometheus metrics for controllers, work queues, informers and leader election.

Names follow controller-runtime and client-go (``controller_runtime_reconcile_total``,
``workqueue_depth``, ``leader_election_master_status``...) so existing dashboards
work; informer counters, which have no upstream twin, carry a ``mizzen_`` prefix.

One :class:`RuntimeMetrics` per manager, created by (or handed to) it, owning
its own :class:`~prometheus_client.CollectorRegistry`: tests run several
managers in one process, and the library's global registry would both mix their
numbers and reject the second registration of each name.

Two ways in, chosen by where the numbers live:

* reconcile outcomes and durations are *events* the controller reports as
  they happen, through a per-controller :class:`ControllerMetrics`;
* queue and informer numbers are plain counters those objects keep anyway
  (``QueueStats``, ``InformerStats``); a collector reads them at scrape time,
  so the queue and the informer stay free of Prometheus and pay nothing per
  event.  Registering a new queue under an existing name (a controller
  restarted after a leader election) replaces the old one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from mizzen.runtime.informer import SharedInformer
from mizzen.runtime.queue import WorkQueue

__all__ = ["RECONCILE_BUCKETS", "ControllerMetrics", "RuntimeMetrics"]

RECONCILE_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip


class ControllerMetrics:
    """The label-bound children for one controller (resolved once, used per pass)."""

    def __init__(self, metrics: RuntimeMetrics, name: str) -> None:
        self._total = {result: metrics.reconcile_total.labels(name, result)
                       for result in ("success", "error", "requeue_after", "terminal")}
        self._errors = metrics.reconcile_errors.labels(name)
        self._terminal = metrics.terminal_errors.labels(name)
        self._seconds = metrics.reconcile_seconds.labels(name)
        self.active_workers = metrics.active_workers.labels(name)
        self.max_workers = metrics.max_workers.labels(name)

    def observe(self, result: str, seconds: float) -> None:
        """One pass ended with ``result`` (success, error, requeue_after, terminal)."""
        self._total[result].inc()
        self._seconds.observe(seconds)
        if result == "error":
            self._errors.inc()
        elif result == "terminal":
            self._terminal.inc()


class _SourceCollector(Collector):
    def __init__(self) -> None:
        self.queues: dict[str, WorkQueue[Any]] = {}
        self.informers: dict[str, SharedInformer] = {}

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("workqueue_depth", "Current depth of workqueue.",
                                  labels=("name",))
        adds = CounterMetricFamily("workqueue_adds", "Total number of adds handled by "
                                   "workqueue.", labels=("name",))
        retries = CounterMetricFamily("workqueue_retries", "Total number of retries "
                                      "handled by workqueue.", labels=("name",))
        delayed = GaugeMetricFamily("mizzen_workqueue_delayed", "Keys waiting for a "
                                    "delayed or rate-limited add.", labels=("name",))
        wait = CounterMetricFamily("mizzen_workqueue_wait_seconds", "Summed seconds keys "
                                   "waited in the queue before being processed.",
                                   labels=("name",))
        for name, q in sorted(self.queues.items()):
            depth.add_metric((name,), len(q))
            adds.add_metric((name,), q.stats.adds)
            retries.add_metric((name,), q.stats.retries)
            delayed.add_metric((name,), q.delayed)
            wait.add_metric((name,), q.stats.wait_seconds)
        yield from (depth, adds, retries, delayed, wait)

        labels = ("informer",)
        objects = GaugeMetricFamily("mizzen_informer_cache_objects", "Objects held in the "
                                    "informer's cache.", labels=labels)
        synced = GaugeMetricFamily("mizzen_informer_synced", "1 once the informer's first "
                                   "list is applied.", labels=labels)
        counters = {field: CounterMetricFamily(f"mizzen_informer_{field}", help_, labels=labels)
                    for field, help_ in (("lists", "Full lists applied."),
                                         ("relists_gone", "Relists caused by 410 Gone."),
                                         ("watches", "Watch requests started."),
                                         ("events", "Watch events applied."),
                                         ("bookmarks", "Bookmarks received."),
                                         ("errors", "Failed lists or watches."))}
        for name, inf in sorted(self.informers.items()):
            objects.add_metric((name,), len(inf.cache))
            synced.add_metric((name,), 1.0 if inf.has_synced else 0.0)
            for field, family in counters.items():
                family.add_metric((name,), getattr(inf.stats, field))
        yield from (objects, synced, *counters.values())


class RuntimeMetrics:
    """All runtime metrics of one manager, and the registry exposing them."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self.reconcile_total = Counter(
            "controller_runtime_reconcile_total",
            "Total number of reconciliations per controller.",
            ("controller", "result"), registry=reg)
        self.reconcile_errors = Counter(
            "controller_runtime_reconcile_errors_total",
            "Total number of reconciliation errors per controller.",
            ("controller",), registry=reg)
        self.terminal_errors = Counter(
            "controller_runtime_terminal_reconcile_errors_total",
            "Total number of terminal reconciliation errors per controller.",
            ("controller",), registry=reg)
        self.reconcile_seconds = Histogram(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller.",
            ("controller",), buckets=RECONCILE_BUCKETS, registry=reg)
        self.active_workers = Gauge(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller.", ("controller",), registry=reg)
        self.max_workers = Gauge(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller.",
            ("controller",), registry=reg)
        self.leader = Gauge(
            "leader_election_master_status",
            "Gauge of if the reporting system is master of the relevant lease, 0 indicates "
            "backup, 1 indicates master. 'name' is the string used to identify the lease.",
            ("name",), registry=reg)
        self._sources = _SourceCollector()
        reg.register(self._sources)

    def controller(self, name: str) -> ControllerMetrics:
        return ControllerMetrics(self, name)

    def add_queue(self, name: str, queue: WorkQueue[Any]) -> None:
        self._sources.queues[name] = queue

    def add_informer(self, name: str, informer: SharedInformer) -> None:
        self._sources.informers[name] = informer

    def set_leader(self, name: str, leading: bool) -> None:
        self.leader.labels(name).set(1.0 if leading else 0.0)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_PLAIN_0_0_4
