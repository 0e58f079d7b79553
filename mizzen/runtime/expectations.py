"""Expectations: remember our own writes until the cache has seen them.

A controller that creates three Pods and immediately reconciles again would
read a cache that does not hold them yet and create three more.  So before
each write it records an expectation under the owner's key, the informer's
events mark them observed, and the reconciler acts only when
:meth:`Expectations.satisfied` says the cache has caught up.

Expectations are tracked **by object name**, as OpenKruise does, not as bare
counters: a duplicated or replayed event observes the same name twice without
going negative, and an event for an object we never wrote observes nothing.

* creates — satisfied when an add for that name arrives;
* deletes — when a delete arrives, or an update carrying
  ``deletionTimestamp`` (graceful deletion has begun: the object is going);
* updates — when the cache holds the name at a resourceVersion at least the
  one our write returned (numerically when both are numbers, as every known
  API server issues them; otherwise only an exact match counts).

If a write fails, the controller must lower the expectation itself (call the
matching ``observe_*``), since no event will ever come.  Every pending key
also has a deadline, ``timeout`` seconds of injected-clock time after its
oldest unobserved expectation: past it, :meth:`satisfied` logs, drops the
key's expectations and returns ``True``, so a lost event delays a controller
but never wedges it.

:func:`observe_owned` builds the informer handler that feeds observations from
owned objects (their controller owner's key, their own name).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from mizzen.client.resources import Resource
from mizzen.runtime.clock import Clock
from mizzen.runtime.handlers import enqueue_owner
from mizzen.runtime.informer import FuncHandler, ResourceEventHandler
from mizzen.runtime.reconcile import Request

__all__ = ["Expectations", "Pending", "observe_owned"]

log = logging.getLogger(__name__)
Obj = dict[str, Any]


@dataclass(frozen=True)
class Pending:
    """What one key still waits for (a snapshot)."""

    creates: frozenset[str]
    deletes: frozenset[str]
    updates: tuple[tuple[str, str], ...]  # (name, resourceVersion) pairs
    age: float  # clock seconds since the oldest unobserved expectation


@dataclass
class _Record:
    since: float
    creates: set[str] = field(default_factory=set)
    deletes: set[str] = field(default_factory=set)
    updates: dict[str, str] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (self.creates or self.deletes or self.updates)


def _reached(observed: str, expected: str) -> bool:
    if observed.isdigit() and expected.isdigit():
        return int(observed) >= int(expected)
    return observed == expected


class Expectations:
    """Per-key expected creates/deletes/updates with a clock-measured timeout."""

    def __init__(self, clock: Clock, timeout: float = 300.0) -> None:
        self._clock = clock
        self.timeout = timeout
        self._records: dict[Request, _Record] = {}

    def _record(self, key: Request) -> _Record:
        rec = self._records.get(key)
        if rec is None:
            rec = self._records[key] = _Record(self._clock.monotonic())
        elif rec.empty():
            rec.since = self._clock.monotonic()
        return rec

    # -- before writing ----------------------------------------------------------------

    def expect_create(self, key: Request, *names: str) -> None:
        self._record(key).creates.update(names)

    def expect_delete(self, key: Request, *names: str) -> None:
        self._record(key).deletes.update(names)

    def expect_update(self, key: Request, name: str, resource_version: str) -> None:
        """Expect the cache to reach ``resource_version`` (from the write's response)."""
        self._record(key).updates[name] = resource_version

    # -- as events arrive (or writes fail) ---------------------------------------------

    def _settle(self, key: Request) -> None:
        rec = self._records.get(key)
        if rec is not None and rec.empty():
            del self._records[key]

    def observe_create(self, key: Request, name: str) -> None:
        rec = self._records.get(key)
        if rec is not None:
            rec.creates.discard(name)
            self._settle(key)

    def observe_delete(self, key: Request, name: str) -> None:
        rec = self._records.get(key)
        if rec is not None:
            rec.deletes.discard(name)
            self._settle(key)

    def observe_update(self, key: Request, name: str, resource_version: str) -> None:
        rec = self._records.get(key)
        if rec is not None:
            expected = rec.updates.get(name)
            if expected is not None and _reached(resource_version, expected):
                del rec.updates[name]
                self._settle(key)

    # -- before acting -----------------------------------------------------------------

    def satisfied(self, key: Request) -> bool:
        """Nothing pending for ``key``, or what is pending has timed out (then dropped)."""
        rec = self._records.get(key)
        if rec is None:
            return True
        if self._clock.monotonic() - rec.since >= self.timeout:
            log.warning("expectations for %s timed out after %.0fs (creates=%s deletes=%s "
                        "updates=%s)", key, self.timeout, sorted(rec.creates),
                        sorted(rec.deletes), sorted(rec.updates))
            del self._records[key]
            return True
        return False

    def pending(self, key: Request) -> Pending | None:
        rec = self._records.get(key)
        if rec is None:
            return None
        return Pending(frozenset(rec.creates), frozenset(rec.deletes),
                       tuple(sorted(rec.updates.items())),
                       self._clock.monotonic() - rec.since)

    def forget(self, key: Request) -> None:
        """Drop everything for ``key`` (e.g. the owner itself was deleted)."""
        self._records.pop(key, None)

    def __len__(self) -> int:
        return len(self._records)


def observe_owned(expectations: Expectations, owner: Resource) -> ResourceEventHandler:
    """An informer handler marking owned objects' events observed under their owner's key."""
    owners = enqueue_owner(owner).mapper

    def name_of(obj: Obj) -> str:
        return str((obj.get("metadata") or {}).get("name", ""))

    def on_add(obj: Obj) -> None:
        for key in owners(obj):
            expectations.observe_create(key, name_of(obj))

    def on_update(old: Obj, new: Obj) -> None:
        meta = new.get("metadata") or {}
        for key in owners(new):
            expectations.observe_update(key, name_of(new), str(meta.get("resourceVersion", "")))
            if meta.get("deletionTimestamp"):
                expectations.observe_delete(key, name_of(new))

    def on_delete(obj: Obj) -> None:
        for key in owners(obj):
            expectations.observe_delete(key, name_of(obj))

    return FuncHandler(on_add, on_update, on_delete)
