"""Prometheus series of one webhook server: reviews answered, by webhook and outcome.

Named after controller-runtime's webhook metrics so existing dashboards read
them: ``mizzen_webhook_requests_total{webhook,type,outcome}`` and
``mizzen_webhook_request_duration_seconds{webhook,type}``.  ``webhook`` is a
*registered* path (unknown paths are counted as ``<unknown>``), so the label
set stays bounded whatever clients send.  ``outcome`` is one of ``allowed``,
``denied``, ``patched``, ``converted``, ``failed`` (a converter's Failure or a
handler error) and ``bad_request``.

As elsewhere in Mizzen there is no process-wide registry: a
:class:`WebhookMetrics` owns the ``CollectorRegistry`` it is given or makes one,
so several servers in one process (tests, embedders) never collide.
"""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["WebhookMetrics"]

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            10.0, 30.0)


class WebhookMetrics:
    """Counters and latencies of one :class:`~mizzen.webhook.server.WebhookServer`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._requests = Counter(
            "mizzen_webhook_requests_total", "Reviews answered by the webhook server, by "
            "webhook path, type (validating, mutating, conversion) and outcome.",
            ["webhook", "type", "outcome"], registry=self.registry)
        self._latency = Histogram(
            "mizzen_webhook_request_duration_seconds", "Time to answer a review.",
            ["webhook", "type"], buckets=_BUCKETS, registry=self.registry)
        # The same counts as a plain tally a test can read without parsing exposition text.
        self.counts: Tally[tuple[str, str]] = Tally()

    def observe(self, webhook: str, kind: str, outcome: str, seconds: float) -> None:
        self._requests.labels(webhook, kind, outcome).inc()
        self._latency.labels(webhook, kind).observe(seconds)
        self.counts[(webhook, outcome)] += 1
