"""What the store keeps per object and per write: bytes always, parsed dicts only while warm.

Memory is the reason for this shape.  A stored object is kept as its JSON bytes — what
SQLite persists, what GET, LIST and watch send — and the parsed dict is a cache.  In Python
the dict of a pod costs six to seven times its JSON (about 26 KB against 4 KB with
managedFields), so keeping a dict for every live object *and* every logged write made the
change log the largest thing in the process.  Here:

* An :class:`Entry` holds ``raw`` for good and its dict only while *warm*: the dict it was
  written with, or one parsed on demand.  A :class:`WarmSet` owned by the store remembers
  the most recently published or parsed entries and drops the dicts of older ones; reading
  ``obj`` of a cold entry parses ``raw`` again (about 10 µs for a 4 KB pod) and warms it.
  While a write is in flight, its new value and the value it replaces are *pinned*: the
  store's listeners and selector watchers read both when it is published, so neither may
  go cold before then, however many writes are in flight.  Once a value is superseded (or
  deleted) and its write published, it is *retired*: only current values are ever warm.
* The warm set is small on purpose.  Freeing a pod's dict a few hundred writes after it
  was made costs about as much again as parsing it (its memory has left the CPU caches),
  while freeing it a few dozen writes later costs little; a large warm set made every
  write pay that delayed free to spare the occasional parse.
* An :class:`Event` (one committed write) does not copy anything: it points at the
  :class:`Entry` written (the same one the store serves while it is current) and at the
  previous one.  Its watch line is cached only until the batch has been published; a
  replay to a resuming watcher builds lines without keeping them.
* The :class:`ChangeLog` is bounded by count *and* by the bytes of the values it holds,
  so a burst of large writes cannot grow it past its budget.

Never mutate ``Entry.obj`` or ``Event.obj``: a warm dict is shared with every reader.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import orjson

Obj = dict[str, Any]
T = TypeVar("T")
_NONE: Any = object()  # no memo yet (None is a value a memo may hold)


class WarmSet:
    """The entries whose parsed dicts are kept: the last ``capacity`` written or parsed."""

    __slots__ = ("_capacity", "_order")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._order: deque[Entry] = deque()

    def add(self, entry: Entry) -> None:
        order = self._order
        order.append(entry)
        if len(order) > self._capacity:
            order.popleft().cool()

    def __len__(self) -> int:
        return len(self._order)


class Entry:
    """A stored object: its JSON bytes and revision, and its dict while warm.

    ``raw`` may be empty for values that were never stored (dry runs); those keep their
    dict for good.  Equality compares the value and revision, as the dataclass it was.
    """

    __slots__ = ("_key", "_memo", "_obj", "_pins", "_warm", "raw", "rv")

    def __init__(self, obj: Obj | None, raw: bytes, rv: int, warm: WarmSet | None = None,
                 key: tuple[str, str] | None = None) -> None:
        if obj is None and not raw:
            raise ValueError("an entry needs its dict or its bytes")
        self._obj = obj
        self.raw = raw
        self.rv = rv
        self._warm = warm
        self._key = key
        self._pins = 0
        self._memo: dict[Hashable, Any] | None = None

    @property
    def key(self) -> tuple[str, str]:
        """``(namespace, name)``, without parsing when the store knows it."""
        key = self._key
        if key is None:
            meta = self.obj["metadata"]
            key = (str(meta.get("namespace", "")), str(meta["name"]))
        return key

    @property
    def obj(self) -> Obj:
        """The object as a dict (read-only: shared with every other reader)."""
        obj = self._obj
        if obj is None:
            obj = orjson.loads(self.raw)
            if self._warm is not None:  # retired values are parsed for each read
                self._obj = obj
                self._warm.add(self)
        return obj

    def parsed(self) -> Obj:
        """The object as a dict without warming it: for a read that walks many entries once
        (a Table of every pod), which would otherwise push every warm dict out."""
        obj = self._obj
        if obj is None:
            parsed: Obj = orjson.loads(self.raw)
            return parsed
        return obj

    def memo(self, key: Hashable, make: Callable[[Entry], T]) -> T:
        """What ``make`` derives from this value, computed once per ``key`` and kept until
        the value is retired (a Table row's cells: a function of the value alone)."""
        memo = self._memo
        if memo is None:
            memo = self._memo = {}
        found = memo.get(key, _NONE)
        if found is _NONE:
            found = memo[key] = make(self)
        return found  # type: ignore[no-any-return]

    @property
    def warm(self) -> bool:
        return self._obj is not None

    def cool(self) -> None:
        """Drop the parsed dict (kept when there are no bytes to parse it from, and while
        the entry is pinned)."""
        if self.raw and not self._pins:
            self._obj = None

    def pin(self) -> None:
        """A staged write involves this entry (as its value or as the value it replaces):
        keep the dict, once parsed, until :meth:`unpin` or :meth:`retire`."""
        self._pins += 1

    def unpin(self) -> None:
        self._pins -= 1

    def retire(self) -> None:
        """The value was superseded or deleted and every write involving it is published:
        cool it, and never warm it again (a listener or replay reading an old value parses
        it for that read only)."""
        self._warm = None
        self._pins = 0
        self._memo = None
        self.cool()

    def release(self) -> None:
        """Back to a plain committed value after its staged writes failed: unpinned, cold."""
        self._pins = 0
        self.cool()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        if self.rv != other.rv or self.raw != other.raw:
            return False
        return bool(self.raw) or self.obj == other.obj

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Entry(rv={self.rv}, {len(self.raw)} bytes, {'warm' if self.warm else 'cold'})"


class Event:
    """One committed write, as watchers see it: the value written and the one before."""

    __slots__ = ("_line", "_live", "entry", "name", "ns", "prev", "prev_known", "res", "rv",
                 "type")

    def __init__(self, type_: str, res: str, ns: str, name: str, entry: Entry,
                 prev: Entry | None, prev_known: bool = True) -> None:
        self.type = type_  # ADDED, MODIFIED, DELETED
        self.res = res
        self.ns = ns
        self.name = name
        self.rv = entry.rv
        # The value written; for DELETED the object as deleted.
        self.entry = entry
        # The value before this write; None for ADDED (or when unknown after a restart).
        self.prev = prev
        self.prev_known = prev_known
        # Until published, the watch line is built once and shared by every watcher.
        self._live = True
        self._line: bytes | None = None

    @property
    def obj(self) -> Obj:
        return self.entry.obj

    @property
    def raw(self) -> bytes:
        return self.entry.raw

    def line(self) -> bytes:
        """The watch-stream line for this event, encoded once for all live watchers."""
        line = self._line
        if line is None:
            line = watch_line(self.type, self.entry.raw)
            if self._live:
                self._line = line
        return line

    def published(self) -> None:
        """Live watchers have their lines: a replay builds its own rather than keep one."""
        self._live = False
        self._line = None

    def __repr__(self) -> str:
        return f"Event({self.type} {self.res} {self.ns}/{self.name} rv={self.rv})"


def watch_line(typ: str, raw: bytes) -> bytes:
    return b'{"type":"' + typ.encode() + b'","object":' + raw + b"}\n"


class ChangeLog:
    """Committed events in revision order, at most ``window`` of them and ``max_bytes`` of
    values (the newest event always stays, however large).

    An event keeps two values alive: the one written and the one before it (``prev``, which
    list_at and selector watches need even when its own write has left the log).  Each event
    is charged both, so a value shared by two logged events counts twice: the budget bounds
    the memory held rather than measuring it."""

    __slots__ = ("_bytes", "_events", "_rvs", "max_bytes", "window")

    def __init__(self, window: int, max_bytes: int) -> None:
        self.window = window
        self.max_bytes = max_bytes
        self._events: list[Event] = []
        self._rvs: list[int] = []
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._events)

    @property
    def bytes(self) -> int:
        """Bytes charged for the logged events (see the class docstring)."""
        return self._bytes

    @property
    def first_rv(self) -> int:
        """The oldest logged revision (0 when empty)."""
        return self._rvs[0] if self._rvs else 0

    def append(self, ev: Event) -> None:
        self._events.append(ev)
        self._rvs.append(ev.rv)
        self._bytes += _charge(ev)

    def over(self, slack: float = 1.0) -> bool:
        """More than the window or the byte budget (times ``slack``) is logged."""
        return (len(self._events) > self.window * slack
                or self._bytes > self.max_bytes * slack)

    def trim(self) -> int:
        """Drop the oldest events down to the bounds; returns the last revision dropped
        (0 if nothing went)."""
        events = self._events
        excess = max(0, len(events) - self.window)
        dropped = sum(_charge(ev) for ev in events[:excess])
        left = self._bytes - dropped
        while left > self.max_bytes and excess < len(events) - 1:
            left -= _charge(events[excess])
            excess += 1
        if excess <= 0:
            return 0
        last = self._rvs[excess - 1]
        del events[:excess]
        del self._rvs[:excess]
        self._bytes = left
        return last

    def between(self, after: int, upto: int) -> list[Event]:
        """Events with ``after < rv <= upto``, oldest first."""
        start = bisect.bisect_right(self._rvs, after)
        end = bisect.bisect_right(self._rvs, upto)
        return self._events[start:end]


def _charge(ev: Event) -> int:
    return len(ev.entry.raw) + (len(ev.prev.raw) if ev.prev is not None else 0)
