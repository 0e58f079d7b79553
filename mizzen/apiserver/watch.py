"""Watch fan-out: committed events from memory to every matching watcher.

The store calls :meth:`WatchHub.publish` once per committed batch.  Watchers
are indexed by resource, so an event costs one dict lookup plus one predicate
call per watcher of that resource; the encoded line is shared by all of them.
A selector watch sees the transitions kube-apiserver reports: an object that
starts matching arrives as ADDED, one that stops matching as DELETED.

Each watcher has a bounded buffer.  A watcher that falls behind by more than
``buffer`` events is closed, as kube-apiserver closes slow watchers; the
client resumes from its last resourceVersion.  Registration and the replay of
past events happen in one synchronous step on the event loop, so no event can
fall between the replay and the live stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from mizzen.apiserver.store import Entry, Event
from mizzen.apiserver.store_log import watch_line

Predicate = Callable[[dict[str, Any]], bool]


@dataclass(eq=False)
class Watcher:
    """One open watch stream."""

    res: str
    ns: str | None
    predicate: Predicate | None
    buffer: int
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    closed: bool = False
    # The highest resourceVersion queued so far (for bookmarks).
    last_rv: int = 0
    # Renders (type, object) to a line when the client wants something other than JSON
    # objects (kubectl get -w asks for Table rows); None means the stored bytes as they are.
    render: Callable[[str, dict[str, Any]], bytes] | None = None

    def _emit(self, typ: str, ev: Event) -> None:
        if self.render is not None:
            self._push(self.render(typ, ev.obj), ev.rv)
        elif typ == ev.type:
            self._push(ev.line(), ev.rv)
        else:
            self._push(watch_line(typ, ev.raw), ev.rv)

    def _push(self, line: bytes, rv: int) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= self.buffer:
            self.close()
            return
        self.queue.put_nowait(line)
        self.last_rv = rv

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)

    def offer(self, ev: Event) -> None:
        """Queue ``ev`` as this watcher should see it (or not at all)."""
        if self.ns is not None and ev.ns != self.ns:
            return
        pred = self.predicate
        if pred is None:
            self._emit(ev.type, ev)
            return
        if ev.type == "ADDED":
            if pred(ev.obj):
                self._emit("ADDED", ev)
            return
        if ev.type == "DELETED":
            old_match = pred(ev.prev.obj) if ev.prev is not None else pred(ev.obj)
            if old_match:
                self._emit("DELETED", ev)
            return
        new_match = pred(ev.obj)
        old_match = pred(ev.prev.obj) if ev.prev is not None else new_match
        if new_match and old_match:
            self._emit("MODIFIED", ev)
        elif new_match:
            self._emit("ADDED", ev)
        elif old_match:
            self._emit("DELETED", ev)


def initial_line(entry: Entry) -> bytes:
    return watch_line("ADDED", entry.raw)


def bookmark_line(api_version: str, kind: str, rv: int, initial_end: bool = False) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    obj = {"kind": kind, "apiVersion": api_version, "metadata": meta}
    return b'{"type":"BOOKMARK","object":' + orjson.dumps(obj) + b"}\n"


def error_line(status: dict[str, Any]) -> bytes:
    return b'{"type":"ERROR","object":' + orjson.dumps(status) + b"}\n"


class WatchHub:
    """Registry of open watchers; receives committed batches from the store."""

    def __init__(self, buffer: int = 10_000) -> None:
        self._by_res: dict[str, set[Watcher]] = {}
        self._buffer = buffer
        self.on_count: Callable[[str, int], None] | None = None

    def open(self, res: str, ns: str | None, predicate: Predicate | None,
             replay: list[Event] | None = None,
             initial: list[Entry] | None = None,
             render: Callable[[str, dict[str, Any]], bytes] | None = None) -> Watcher:
        """Register a watcher and queue its replay (past events or initial ADDED) at once."""
        w = Watcher(res, ns, predicate, self._buffer + len(initial or ()) + len(replay or ()),
                    render=render)
        for entry in initial or ():
            if predicate is None or predicate(entry.obj):
                line = render("ADDED", entry.obj) if render else initial_line(entry)
                w._push(line, entry.rv)
        for ev in replay or ():
            if ev.res == res:  # the change log holds every resource's events
                w.offer(ev)
        self._by_res.setdefault(res, set()).add(w)
        if self.on_count:
            self.on_count(res, len(self._by_res[res]))
        return w

    def close(self, w: Watcher) -> None:
        w.close()
        group = self._by_res.get(w.res)
        if group is not None and w in group:
            group.discard(w)
            if self.on_count:
                self.on_count(w.res, len(group))

    def close_all(self) -> None:
        for group in list(self._by_res.values()):
            for w in list(group):
                self.close(w)

    def publish(self, batch: list[Event]) -> None:
        by_res = self._by_res
        for ev in batch:
            group = by_res.get(ev.res)
            if group:
                for w in group:
                    w.offer(ev)

    def count(self, res: str | None = None) -> int:
        if res is not None:
            return len(self._by_res.get(res, ()))
        return sum(len(g) for g in self._by_res.values())
