"""Which CloneSets an event concerns, the informers the controller shares, and our writes seen.

A CloneSet owns three kinds of objects, each with a controller owner
reference to it: pods, PVCs and ControllerRevisions.  An event on any of
them enqueues the owning CloneSet (and, for an update that moved the owner
reference, the former owner too: the runtime maps the old and the new
object).  Orphans are not adopted — upstream's CloneSet only releases pods
that stop matching its selector — so an orphan's events enqueue nothing.

The informers are the manager's shared ones, each with the
:func:`~mizzen.cluster.podutil.by_controller` index so that "the pods of
this CloneSet" is one index lookup; the pod informer is the same one the
ReplicaSet controller and the kubelet simulator use.

:class:`Seen` feeds the controller's expectations from the same events:
creates, deletes and updates of owned objects are observed under the owning
CloneSet's key, each kind in its own :class:`~mizzen.runtime.expectations.Expectations`
(pod and PVC names never collide, but keeping them apart makes a pending
expectation easy to read in a log).  :class:`Written` holds the four the
controller keeps — pods, PVCs, ControllerRevisions, and its own status writes
to each CloneSet — and says whether a pass may plan yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mizzen.client.resources import CONTROLLERREVISIONS, PODS, PVCS
from mizzen.cluster.podutil import BY_CONTROLLER, by_controller, controlled_by
from mizzen.runtime.clock import Clock
from mizzen.runtime.expectations import Expectations
from mizzen.runtime.handlers import Mapper
from mizzen.runtime.informer import FuncHandler, SharedInformer
from mizzen.runtime.manager import Manager
from mizzen.runtime.reconcile import Request
from mizzen.workloads.cloneset.decision import CLONESETS

__all__ = ["CLONESETS", "Informers", "Seen", "Written", "informers", "to_cloneset"]

Obj = dict[str, Any]



def _owner(obj: Obj) -> Request | None:
    name = controlled_by(obj, CLONESETS.kind, CLONESETS.group)
    if name is None:
        return None
    return Request(str((obj.get("metadata") or {}).get("namespace") or ""), name)


def to_cloneset() -> Mapper:
    """Mapper: the CloneSet controlling a pod, PVC or ControllerRevision."""

    def mapper(obj: Obj) -> Iterator[Request]:
        owner = _owner(obj)
        if owner is not None:
            yield owner

    return mapper


@dataclass(frozen=True)
class Informers:
    """The shared informers the CloneSet controller reads."""

    clonesets: SharedInformer
    pods: SharedInformer
    pvcs: SharedInformer
    revisions: SharedInformer


def informers(manager: Manager, namespace: str | None) -> Informers:
    """The manager's shared informers, each with the controller-UID index."""
    index = {BY_CONTROLLER: by_controller}
    return Informers(manager.informer(CLONESETS, namespace=namespace, indexers=index),
                     manager.informer(PODS, namespace=namespace, indexers=index),
                     manager.informer(PVCS, namespace=namespace, indexers=index),
                     manager.informer(CONTROLLERREVISIONS, namespace=namespace,
                                      indexers=index))


class Seen:
    """Expectations for one kind of owned object, observed from its informer."""

    def __init__(self, expectations: Expectations) -> None:
        self.expectations = expectations

    def handler(self) -> FuncHandler:
        return FuncHandler(self._added, self._updated, self._deleted)

    @staticmethod
    def _name(obj: Obj) -> str:
        return str((obj.get("metadata") or {}).get("name", ""))

    def _added(self, obj: Obj) -> None:
        owner = _owner(obj)
        if owner is not None:
            self.expectations.observe_create(owner, self._name(obj))

    def _updated(self, old: Obj, new: Obj) -> None:
        meta = new.get("metadata") or {}
        for owner in {_owner(old), _owner(new)} - {None}:
            assert owner is not None
            self.expectations.observe_update(owner, self._name(new),
                                             str(meta.get("resourceVersion", "")))
            if meta.get("deletionTimestamp"):
                self.expectations.observe_delete(owner, self._name(new))

    def _deleted(self, obj: Obj) -> None:
        owner = _owner(obj)
        if owner is not None:
            self.expectations.observe_delete(owner, self._name(obj))


class Written:
    """Our writes the caches must show before a pass may plan: pods, PVCs and
    ControllerRevisions (keyed by the owning CloneSet) and our status writes (by CloneSet)."""

    def __init__(self, clock: Clock, timeout: float, sources: Informers) -> None:
        self.timeout = timeout
        self.pods = Expectations(clock, timeout)
        self.pvcs = Expectations(clock, timeout)
        self.revisions = Expectations(clock, timeout)
        self.status = Expectations(clock, timeout)
        sources.pods.add_handler(Seen(self.pods).handler())
        sources.pvcs.add_handler(Seen(self.pvcs).handler())
        sources.revisions.add_handler(Seen(self.revisions).handler())
        sources.clonesets.add_handler(FuncHandler(update=self._cloneset_updated))

    def _cloneset_updated(self, old: Obj, new: Obj) -> None:
        meta = new.get("metadata") or {}
        self.status.observe_update(Request.of(new), str(meta.get("name")),
                                   str(meta.get("resourceVersion", "")))

    def _owned(self) -> tuple[Expectations, ...]:
        return self.pods, self.pvcs, self.revisions

    def satisfied(self, key: Request) -> bool:
        """Every create, delete and update of owned objects is in the caches."""
        return all([exp.satisfied(key) for exp in self._owned()])

    def deadline(self, key: Request) -> float:
        """Seconds until the oldest pending expectation times out (then a pass must look
        again even if the event it waits for never comes), as upstream requeues."""
        ages = [pending.age for exp in self._owned()
                if (pending := exp.pending(key)) is not None]
        return max(self.timeout - max(ages, default=0.0), 1.0)

    def forget(self, key: Request) -> None:
        for exp in (*self._owned(), self.status):
            exp.forget(key)
