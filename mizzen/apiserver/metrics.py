"""Prometheus metrics for the embedded API server, one registry per server.

Names and labels follow kube-apiserver (``apiserver_request_total``,
``apiserver_request_duration_seconds``, ``apiserver_storage_objects``...) so
existing dashboards and alerts work unchanged; storage metrics that have no
upstream twin carry a ``mizzen_`` prefix.

Every :class:`ApiMetrics` owns its own :class:`~prometheus_client.CollectorRegistry`
instead of using the library's global ``REGISTRY``: tests (and embedders) run
several servers in one process, and a shared registry would both mix their
numbers and refuse the second registration of each name.

``observe_request`` runs once per request, so it keeps the resolved label
children in a dict and pays one lookup on the hot path instead of the
library's per-call label validation.  Label values must come from a bounded
set (the server's own verbs and resource catalogue, never raw URL text):
every distinct combination is a time series that lives as long as the server.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

__all__ = ["REQUEST_BUCKETS", "ApiMetrics"]

# 0.5 ms ... 60 s, roughly 1-2.5-5 per decade, like kube-apiserver's.
REQUEST_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0,
)  # fmt: skip
# A group commit is one fsync-bound write; it should stay well under a second.
COMMIT_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
BATCH_BUCKETS: tuple[float, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

_WATCH = "WATCH"


class ApiMetrics:
    """The server's metrics and the registry that exposes them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self._requests = Counter(
            "apiserver_request_total",
            "Counter of apiserver requests broken out by verb, resource, subresource "
            "and HTTP response code.",
            ("verb", "resource", "subresource", "code"),
            registry=reg,
        )
        self._request_seconds = Histogram(
            "apiserver_request_duration_seconds",
            "Response latency distribution in seconds for each verb, resource and "
            "subresource.",
            ("verb", "resource", "subresource"),
            buckets=REQUEST_BUCKETS,
            registry=reg,
        )
        self._longrunning = Gauge(
            "apiserver_longrunning_requests",
            "Gauge of all active long-running apiserver requests (watches).",
            ("verb", "resource"),
            registry=reg,
        )
        self._watchers = Gauge(
            "apiserver_registered_watchers",
            "Number of currently registered watchers for a given resource.",
            ("resource",),
            registry=reg,
        )
        self._watch_events = Counter(
            "apiserver_watch_events_total",
            "Number of events sent in watch clients.",
            ("resource",),
            registry=reg,
        )
        self._commits = Counter(
            "mizzen_storage_commits_total",
            "Number of storage commit batches made durable.",
            registry=reg,
        )
        self._commit_seconds = Histogram(
            "mizzen_storage_commit_duration_seconds",
            "Time to make one storage commit batch durable, in seconds.",
            buckets=COMMIT_BUCKETS,
            registry=reg,
        )
        self._committed_writes = Counter(
            "mizzen_storage_committed_writes_total",
            "Number of object writes made durable, summed over commit batches.",
            registry=reg,
        )
        self._batch_size = Histogram(
            "mizzen_storage_commit_batch_size",
            "Number of object writes in one storage commit batch.",
            buckets=BATCH_BUCKETS,
            registry=reg,
        )
        self._objects = Gauge(
            "apiserver_storage_objects",
            "Number of stored objects at the time of last check split by kind.",
            ("resource",),
            registry=reg,
        )
        self._request_children: dict[tuple[str, str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(
        self, verb: str, resource: str, subresource: str, code: int, seconds: float
    ) -> None:
        """Count one finished request and record its latency."""
        key = (verb, resource, subresource, code)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self._requests.labels(verb, resource, subresource, str(code)),
                self._request_seconds.labels(verb, resource, subresource),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def watch_started(self, resource: str) -> None:
        """A watch on ``resource`` was registered; pair with :meth:`watch_stopped`."""
        self._longrunning.labels(_WATCH, resource).inc()
        self._watchers.labels(resource).inc()

    def watch_stopped(self, resource: str) -> None:
        """A watch on ``resource`` ended (for any reason)."""
        self._longrunning.labels(_WATCH, resource).dec()
        self._watchers.labels(resource).dec()

    def watch_events(self, resource: str, n: int) -> None:
        """``n`` events were sent to watchers of ``resource``."""
        if n:
            self._watch_events.labels(resource).inc(n)

    def observe_commit(self, writes: int, seconds: float) -> None:
        """One storage batch of ``writes`` object writes became durable."""
        self._commits.inc()
        self._commit_seconds.observe(seconds)
        self._committed_writes.inc(writes)
        self._batch_size.observe(writes)

    def set_object_count(self, resource: str, n: int) -> None:
        """Record how many ``resource`` objects are stored now."""
        self._objects.labels(resource).set(n)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of this registry and its content type.

        All names here are legacy-valid, so the body is the classic 0.0.4 text
        format, labelled as such, as kube-apiserver and every scraper expect.
        """
        return generate_latest(self.registry), CONTENT_TYPE_PLAIN_0_0_4
