"""The event recorder: ``kubectl describe``-visible core/v1 Events, repeats aggregated.

Reconcilers call :meth:`EventRecorder.event` — synchronous, never raising,
never waiting on the API — and a single writer task (:meth:`EventRecorder.run`,
started by the manager) sends them.  Three reasons for that shape:

* an Event is a diagnostic: a reconcile must not fail or slow down because
  one could not be written, so the call only queues it (a full queue drops it
  and counts the drop);
* one writer makes aggregation race-free: the same event twice in quick
  succession becomes one Event with ``count: 2``, never two creates;
* the writer owns the aggregation cache, no lock needed.

Aggregation is client-go's ``EventCorrelator`` reduced to its core: events
with the same involved object, type, reason, message and source are one
Event; a repeat is a merge patch raising ``count`` and ``lastTimestamp``.  If
that Event was deleted meanwhile (events expire on real clusters), the patch
404s and a new one is created.  The cache of recent events is a bounded LRU.

Event names are ``<object name>.<hex nanoseconds>`` like client-go's, taken
from the injected clock and bumped by one when two events share a
nanosecond (as they do under a fake clock).  Cluster-scoped objects' events
go to the ``default`` namespace.  Timestamps are RFC 3339 seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import EVENTS
from mizzen.runtime.clock import Clock

__all__ = ["NORMAL", "WARNING", "EventRecorder", "RecorderStats"]

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"

_Key = tuple[str, ...]


@dataclass
class RecorderStats:
    created: int = 0
    aggregated: int = 0  # repeats folded into an existing Event by a patch
    dropped: int = 0  # the queue was full
    failed: int = 0  # the API refused or could not be reached


@dataclass
class _Pending:
    involved: dict[str, str]
    type: str
    reason: str
    message: str


@dataclass
class _Seen:
    name: str
    namespace: str
    count: int


def rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    """Queues Events for one component and writes them, aggregating repeats."""

    def __init__(self, client: Client, clock: Clock, component: str, *, host: str = "",
                 queue_size: int = 1000, cache_size: int = 4096) -> None:
        self._client = client
        self._clock = clock
        self.component = component
        self.host = host
        self.stats = RecorderStats()
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(queue_size)
        self._seen: OrderedDict[_Key, _Seen] = OrderedDict()
        self._cache_size = cache_size
        self._last_nanos = 0

    def event(self, obj: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        """Record that ``reason``/``message`` happened to ``obj`` (type Normal or Warning)."""
        if type_ not in (NORMAL, WARNING):
            raise ValueError(f"event type must be {NORMAL} or {WARNING}, got {type_!r}")
        meta = obj.get("metadata") or {}
        involved = {
            "kind": str(obj.get("kind", "")),
            "apiVersion": str(obj.get("apiVersion", "")),
            "namespace": str(meta.get("namespace") or ""),
            "name": str(meta.get("name", "")),
            "uid": str(meta.get("uid", "")),
            "resourceVersion": str(meta.get("resourceVersion", "")),
        }
        try:
            self._queue.put_nowait(_Pending(involved, type_, reason, message))
        except asyncio.QueueFull:
            self.stats.dropped += 1
            # One line per power of two drops: a burst must not turn into a log flood.
            if self.stats.dropped & (self.stats.dropped - 1) == 0:
                log.warning("event recorder %s: queue full, %d events dropped so far "
                            "(latest: %s %s)", self.component, self.stats.dropped, reason,
                            message)

    async def flush(self) -> None:
        """Wait until every queued event has been written (needs :meth:`run` running)."""
        await self._queue.join()

    async def run(self) -> None:
        """Write queued events until cancelled."""
        while True:
            pending = await self._queue.get()
            try:
                await self._write(pending)
            except ApiError as exc:
                self.stats.failed += 1
                log.warning("event recorder %s: could not write event %s: %s",
                            self.component, pending.reason, exc)
            except Exception as exc:  # transport errors: the event is lost, not retried
                self.stats.failed += 1
                log.warning("event recorder %s: could not write event %s: %s: %s",
                            self.component, pending.reason, type(exc).__name__, exc)
            finally:
                self._queue.task_done()

    def _key(self, p: _Pending) -> _Key:
        inv = p.involved
        return (inv["kind"], inv["namespace"], inv["name"], inv["uid"], inv["apiVersion"],
                p.type, p.reason, p.message, self.component, self.host)

    async def _write(self, p: _Pending) -> None:
        key = self._key(p)
        now = rfc3339(self._clock.now())
        seen = self._seen.get(key)
        if seen is not None:
            patch = {"count": seen.count + 1, "lastTimestamp": now}
            try:
                await self._client.patch(EVENTS, seen.name, patch, seen.namespace,
                                         patch_type="merge")
            except ApiError as exc:
                if not exc.not_found:
                    raise
                del self._seen[key]
            else:
                seen.count += 1
                self._seen.move_to_end(key)
                self.stats.aggregated += 1
                return
        await self._create(key, p, now)

    async def _create(self, key: _Key, p: _Pending, now: str) -> None:
        namespace = p.involved["namespace"] or "default"
        nanos = int(self._clock.now().timestamp() * 1e9)
        nanos = max(nanos, self._last_nanos + 1)
        self._last_nanos = nanos
        name = f"{p.involved['name']}.{nanos:x}"
        involved = {k: v for k, v in p.involved.items() if v}
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved,
            "type": p.type,
            "reason": p.reason,
            "message": p.message,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "reportingComponent": self.component,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        if self.host:
            body["reportingInstance"] = self.host
        await self._client.create(EVENTS, body, namespace)
        self.stats.created += 1
        self._seen[key] = _Seen(name, namespace, 1)
        if len(self._seen) > self._cache_size:
            self._seen.popitem(last=False)
