"""Event correlation: similar events aggregated, repeats counted, per-object spam limited.

client-go's ``EventCorrelator`` decides, before anything is sent, what an event becomes.
Its three steps, kept here with upstream's defaults:

1. **Aggregate** (``EventAggregator``).  Events that differ only in their message — same
   source, involved object, type and reason — are *similar*.  The first nine distinct
   messages within ten minutes stay separate Events; from the tenth on they become one
   Event whose message is ``(combined from similar events): <latest message>``.
2. **Observe** (``eventLogger``).  An event seen before (the same key: every field but the
   timestamps, or the aggregate key) is not a new Event but a repeat: its ``count`` goes up
   and the existing Event is patched with the count, ``lastTimestamp`` and message.
3. **Filter** (``EventSourceObjectSpamFilter``).  Each source and involved object has a
   token bucket of 25, refilled one token per five minutes; an event finding it empty is
   not sent.  Its count was still taken in step 2, so the next patch reports it.

So one ReplicaSet creating 10,000 pods records nine Events, one combined Event, and
patches of that one for as long as its bucket lasts, instead of 10,000 creates.  All of it
is bookkeeping in bounded LRU maps on the injected clock; the recorder (``events.py``)
does the writing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from mizzen.runtime.clock import Clock

__all__ = ["AGGREGATE_PREFIX", "Correlator", "EventKey", "EventRecord", "rfc3339"]

# Similar events before they are combined (upstream's defaultAggregateMaxEvents).
MAX_SIMILAR = 10
# Seconds after which a quiet aggregation starts over (defaultAggregateIntervalInSeconds).
AGGREGATE_INTERVAL = 600.0
# Spam filter: bucket size and refill rate per source and object (defaultSpamBurst/QPS).
SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
AGGREGATE_PREFIX = "(combined from similar events): "

EventKey = tuple[str, ...]
K = TypeVar("K")
V = TypeVar("V")


def rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Lru(Generic[K, V]):
    """A bounded map that forgets the least recently used key."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)


@dataclass(eq=False)
class EventRecord:
    """One core/v1 Event as the recorder knows it: what to create or patch."""

    key: EventKey
    name: str
    namespace: str
    involved: dict[str, str]
    type: str
    reason: str
    message: str
    first: str  # firstTimestamp
    last: str  # lastTimestamp
    count: int = 1
    # The Event exists on the server (a create succeeded): repeats are patches.
    created: bool = False


@dataclass
class _Similar:
    messages: set[str] = field(default_factory=set)
    last: float = 0.0


@dataclass
class _Bucket:
    tokens: float
    at: float


class Correlator:
    """Turns ``(object, type, reason, message)`` into the record to write, or ``None``."""

    def __init__(self, clock: Clock, component: str, host: str = "", *,
                 cache_size: int = 4096, max_similar: int = MAX_SIMILAR,
                 interval: float = AGGREGATE_INTERVAL, burst: int = SPAM_BURST,
                 qps: float = SPAM_QPS) -> None:
        self._clock = clock
        self.component = component
        self.host = host
        self._max_similar = max_similar
        self._interval = interval
        self._burst = burst
        self._qps = qps
        self._similar: _Lru[EventKey, _Similar] = _Lru(cache_size)
        self._records: _Lru[EventKey, EventRecord] = _Lru(cache_size)
        self._buckets: _Lru[EventKey, _Bucket] = _Lru(cache_size)
        self._last_nanos = 0

    def observe(self, involved: Mapping[str, str], type_: str, reason: str,
                message: str) -> tuple[EventRecord, bool]:
        """The record this event creates or repeats, and whether it may be sent now
        (``False``: the spam filter holds it back; its count is kept all the same)."""
        source = (self.component, self.host, involved["kind"], involved["namespace"],
                  involved["name"], involved["uid"], involved["apiVersion"])
        aggregate = (*source, type_, reason)
        key: EventKey = (*aggregate, message)
        now = self._clock.monotonic()
        similar = self._similar.get(aggregate)
        if similar is None or now - similar.last > self._interval:
            similar = _Similar()
        similar.messages.add(message)
        similar.last = now
        self._similar.put(aggregate, similar)
        if len(similar.messages) >= self._max_similar:
            similar.messages.pop()  # stay below the threshold: keep combining
            key, message = aggregate, AGGREGATE_PREFIX + message
        stamp = rfc3339(self._clock.now())
        record = self._records.get(key)
        if record is None:
            record = EventRecord(key, self._name(involved["name"]),
                                 involved["namespace"] or "default", dict(involved), type_,
                                 reason, message, stamp, stamp)
            self._records.put(key, record)
        else:
            record.count += 1
            record.last = stamp
            record.message = message
        return record, self._allow(source, now)

    def _allow(self, source: EventKey, now: float) -> bool:
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = _Bucket(float(self._burst), now)
            self._buckets.put(source, bucket)
        bucket.tokens = min(float(self._burst), bucket.tokens + (now - bucket.at) * self._qps)
        bucket.at = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def _name(self, involved_name: str) -> str:
        """``<object name>.<hex nanoseconds>``, unique even when the clock stands still."""
        nanos = int(self._clock.now().timestamp() * 1e9)
        nanos = max(nanos, self._last_nanos + 1)
        self._last_nanos = nanos
        return f"{involved_name}.{nanos:x}"
