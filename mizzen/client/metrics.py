"""Request metrics of a client: Prometheus series plus counters a test can read.

Two audiences want the same numbers.  Operators scrape Prometheus series,
named after client-go's ``rest_client_*`` family:

* ``mizzen_client_requests_total{verb,resource,code}`` — one per HTTP attempt,
  retries included; ``code`` is the HTTP status, or ``<error>`` when no answer
  came back (as client-go labels it);
* ``mizzen_client_request_duration_seconds{verb,resource}`` — attempt latency;
* ``mizzen_client_retries_total{verb,resource,reason}`` — attempts repeated;
* ``mizzen_client_rate_limiter_wait_seconds`` — time spent in the QPS limiter.

Benchmarks and tests want "how many writes did that rollout cost" without
parsing exposition text, so :meth:`ClientMetrics.counts` keeps a plain dict
keyed by ``(verb, resource)``, counting every attempt whatever its outcome.

``verb`` is the Kubernetes verb (get, list, watch, create, update, patch,
delete, deletecollection) and ``resource`` the plural, with a subresource
after a slash as RBAC writes it (``pods/status``, ``deployments/scale``).

There is no process-wide registry: a :class:`ClientMetrics` owns the
``CollectorRegistry`` it is given (or makes one), so several clients — one per
cluster in a fleet, or one per test — never collide on series names.  Several
clients may share one :class:`ClientMetrics` to report as one.
"""

from __future__ import annotations

from collections import Counter as Tally
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["WRITE_VERBS", "ClientMetrics"]

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0, 60.0)


class ClientMetrics:
    """Counters and histograms for one or more :class:`~mizzen.client.client.Client`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._requests = Counter(
            "mizzen_client_requests_total", "HTTP requests sent to the API server, by verb, "
            "resource and status code (<error> when no response arrived).",
            ["verb", "resource", "code"], registry=self.registry)
        self._latency = Histogram(
            "mizzen_client_request_duration_seconds", "Latency of one HTTP attempt, "
            "from sending to the response headers (whole body for non-watch requests).",
            ["verb", "resource"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self._retries = Counter(
            "mizzen_client_retries_total", "Requests repeated after a retryable failure.",
            ["verb", "resource", "reason"], registry=self.registry)
        self._throttle = Histogram(
            "mizzen_client_rate_limiter_wait_seconds", "Time requests waited in the "
            "client-side QPS limiter.", buckets=_LATENCY_BUCKETS, registry=self.registry)
        self._counts: Tally[tuple[str, str]] = Tally()
        # The label-bound children per (verb, resource, code), resolved once: ``labels()``
        # costs more than the increment, and a controller sends the same few kinds of
        # request over and over.
        self._children: dict[tuple[str, str, int | str], tuple[Any, Any]] = {}

    def observe(self, verb: str, resource: str, code: int | str, seconds: float) -> None:
        """Record one attempt (``code`` is the HTTP status or ``"<error>"``)."""
        key = (verb, resource, code)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (self._requests.labels(verb, resource, str(code)),
                                              self._latency.labels(verb, resource))
        children[0].inc()
        children[1].observe(seconds)
        self._counts[(verb, resource)] += 1

    def retried(self, verb: str, resource: str, reason: str) -> None:
        self._retries.labels(verb, resource, reason).inc()

    def throttled(self, seconds: float) -> None:
        self._throttle.observe(seconds)

    def counts(self) -> dict[tuple[str, str], int]:
        """Attempts so far by ``(verb, resource)``, e.g. ``{("create", "pods"): 3}``."""
        return dict(self._counts)

    def delta(self, before: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
        """Attempts made since ``before`` (an earlier :meth:`counts`), zero entries left out.

        What a benchmark wants around one operation::

            before = metrics.counts()
            await rollout()
            cost = metrics.delta(before)   # {("patch", "deployments"): 1, ...}
        """
        return {key: n - before.get(key, 0) for key, n in self._counts.items()
                if n != before.get(key, 0)}

    def writes(self) -> int:
        """Attempts with a write verb (create, update, patch, delete, deletecollection)."""
        return sum(n for (verb, _), n in self._counts.items() if verb in WRITE_VERBS)

    def reset(self) -> None:
        """Zero the in-memory counts (Prometheus counters only ever rise)."""
        self._counts.clear()
