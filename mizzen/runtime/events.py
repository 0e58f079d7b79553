"""The event recorder: ``kubectl describe``-visible core/v1 Events, correlated as upstream.

Reconcilers call :meth:`EventRecorder.event` — synchronous, never raising, never waiting
on the API — and writer tasks (:meth:`EventRecorder.run`, started by the manager) send
them.  The shape, with its reasons:

* An Event is a diagnostic: a reconcile must not fail or slow down because one could not
  be written, so the call only decides and queues.
* What to send is decided at once by the :class:`~mizzen.runtime.eventcorrelate.Correlator`
  (client-go's ``EventCorrelator``): similar events are combined, repeats become a higher
  ``count`` on the existing Event (a merge patch), and a per-object token bucket holds
  back floods.  Held back is not lost: the count keeps growing and the next write
  carries it (``stats.filtered`` counts them).
* The queue holds *Events*, not calls: a repeat of an Event whose write has not started
  yet only raises the count that write will send (``stats.coalesced``), so a burst costs
  one write per Event however many times it happened.  Under load this is what keeps the
  queue short; only when more distinct Events than ``queue_size`` wait at once is one
  dropped (counted, and logged once per power of two).
* A few writers send concurrently, but never two writes of one Event at a time: a repeat
  arriving while its Event is being written queues it again after that write, so creates
  precede patches and counts only grow.  A patch answered 404 (the Event expired or was
  deleted) creates it afresh.

Event names are ``<object name>.<hex nanoseconds>`` like client-go's, taken from the
injected clock and bumped by one when two events share a nanosecond (as they do under a
fake clock).  Cluster-scoped objects' events go to the ``default`` namespace.  Timestamps
are RFC 3339 seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import EVENTS
from mizzen.runtime.clock import Clock
from mizzen.runtime.eventcorrelate import Correlator, EventKey, EventRecord, rfc3339

__all__ = ["NORMAL", "WARNING", "EventRecorder", "RecorderStats", "rfc3339"]

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"


@dataclass
class RecorderStats:
    created: int = 0  # Events created
    aggregated: int = 0  # patches raising the count of an existing Event
    coalesced: int = 0  # repeats folded into a write not yet sent: no write of their own
    filtered: int = 0  # held back by the spam filter (counted by the Event's next write)
    dropped: int = 0  # too many distinct Events waiting: lost
    failed: int = 0  # the API refused or could not be reached


class EventRecorder:
    """Correlates Events for one component and writes them, a few at a time."""

    def __init__(self, client: Client, clock: Clock, component: str, *, host: str = "",
                 queue_size: int = 8192, cache_size: int = 4096, writers: int = 8) -> None:
        self._client = client
        self._clock = clock
        self.component = component
        self.host = host
        self.stats = RecorderStats()
        self._correlator = Correlator(clock, component, host, cache_size=cache_size)
        self._queue_size = queue_size
        self._writers = writers
        self._pending: OrderedDict[EventKey, EventRecord] = OrderedDict()
        self._writing: set[EventKey] = set()
        self._again: set[EventKey] = set()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

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
        record, allowed = self._correlator.observe(involved, type_, reason, message)
        if not allowed:
            self.stats.filtered += 1
            return
        key = record.key
        if key in self._writing:
            self._again.add(key)  # written once more after the write in flight
        elif key in self._pending:
            self.stats.coalesced += 1
        elif len(self._pending) >= self._queue_size:
            self.stats.dropped += 1
            # One line per power of two drops: a burst must not turn into a log flood.
            if self.stats.dropped & (self.stats.dropped - 1) == 0:
                log.warning("event recorder %s: queue full, %d events dropped so far "
                            "(latest: %s %s)", self.component, self.stats.dropped, reason,
                            message)
        else:
            self._pending[key] = record
            self._idle.clear()
            self._ready.set()

    @property
    def in_flight(self) -> int:
        """Events being written right now."""
        return len(self._writing)

    async def flush(self) -> None:
        """Wait until every queued event has been written (needs :meth:`run` running)."""
        await self._idle.wait()

    async def run(self) -> None:
        """Write queued events until cancelled."""
        await asyncio.gather(*(self._writer() for _ in range(self._writers)))

    async def _writer(self) -> None:
        while True:
            record = self._next()
            if record is None:
                self._ready.clear()
                await self._ready.wait()
                continue
            key = record.key
            self._writing.add(key)
            try:
                await self._write(record)
            except ApiError as exc:
                self.stats.failed += 1
                log.warning("event recorder %s: could not write event %s: %s",
                            self.component, record.reason, exc)
            except Exception as exc:  # transport errors: the event is lost, not retried
                self.stats.failed += 1
                log.warning("event recorder %s: could not write event %s: %s: %s",
                            self.component, record.reason, type(exc).__name__, exc)
            finally:
                self._writing.discard(key)
                if key in self._again:
                    self._again.discard(key)
                    self._pending[key] = record
                    self._ready.set()
                elif not self._pending and not self._writing:
                    self._idle.set()

    def _next(self) -> EventRecord | None:
        """The oldest waiting Event (none is ever being written: see :meth:`event`)."""
        if not self._pending:
            return None
        _, record = self._pending.popitem(last=False)
        return record

    async def _write(self, r: EventRecord) -> None:
        if r.created:
            patch = {"count": r.count, "lastTimestamp": r.last, "message": r.message}
            try:
                await self._client.patch(EVENTS, r.name, patch, r.namespace,
                                         patch_type="merge")
            except ApiError as exc:
                if not exc.not_found:
                    raise
                r.created = False  # expired or deleted: create it again (count kept)
            else:
                self.stats.aggregated += 1
                return
        await self._create(r)

    async def _create(self, r: EventRecord) -> None:
        involved = {k: v for k, v in r.involved.items() if v}
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": r.name, "namespace": r.namespace},
            "involvedObject": involved,
            "type": r.type,
            "reason": r.reason,
            "message": r.message,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "reportingComponent": self.component,
            "firstTimestamp": r.first,
            "lastTimestamp": r.last,
            "count": r.count,
        }
        if self.host:
            body["reportingInstance"] = self.host
        try:
            await self._client.create(EVENTS, body, r.namespace)
        except ApiError as exc:
            if not exc.already_exists:
                raise
            # Created by an earlier attempt whose answer was lost: patch it instead.
            await self._client.patch(EVENTS, r.name, {"count": r.count, "lastTimestamp": r.last,
                                                      "message": r.message}, r.namespace,
                                     patch_type="merge")
        r.created = True
        self.stats.created += 1
