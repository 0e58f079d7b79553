"""Event handlers: which keys to enqueue when an informer reports a change.

A handler here is a recipe, not a live object: :class:`EnqueueHandler` pairs a
*mapper* (object -> requests) with *predicates* (should this change count at
all?), and :meth:`EnqueueHandler.bind` turns it into a
:class:`~mizzen.runtime.informer.ResourceEventHandler` that feeds one queue.
Keeping the recipe apart from the queue lets a controller re-bind it to a
fresh queue each time it starts (e.g. after winning a leader election).

Mappers, the three shapes controllers need:

* :func:`enqueue_object` — the object's own ``namespace/name``;
* :func:`enqueue_owner` — the owner named in ``ownerReferences`` (by default
  only the ``controller: true`` one) of a given kind, e.g. a Secret's
  ConfigMap, a Pod's ReplicaSet;
* :func:`enqueue_mapped` — anything else, as a function ``obj -> requests``
  (e.g. every Deployment selecting a changed Pod's labels).

On an update both the old and the new object are mapped, so a change of owner
or of labels enqueues the former key too.

Predicates take ``(old, new)``: ``(None, obj)`` for an add, ``(obj, None)`` for a
delete, both for an update, and every predicate must agree for the event to
enqueue.  :func:`generation_changed` is the usual filter for a controller of
``spec``: it ignores status-only updates (and, like controller-runtime, every
update of kinds that have no ``metadata.generation``, such as ConfigMaps).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from mizzen.client.resources import Resource
from mizzen.runtime.informer import ResourceEventHandler
from mizzen.runtime.reconcile import Request

__all__ = [
    "EnqueueHandler",
    "Enqueuer",
    "Mapper",
    "Predicate",
    "all_of",
    "annotations_changed",
    "any_of",
    "enqueue_mapped",
    "enqueue_object",
    "enqueue_owner",
    "generation_changed",
    "has_labels",
    "labels_changed",
    "negate",
    "resource_version_changed",
]

Obj = dict[str, Any]
Mapper = Callable[[Obj], Iterable[Request]]
Predicate = Callable[[Obj | None, Obj | None], bool]


class Enqueuer(Protocol):
    """Where requests go: a :class:`~mizzen.runtime.queue.WorkQueue` or a test list."""

    def add(self, item: Request) -> None: ...


@dataclass(frozen=True)
class EnqueueHandler:
    """A mapper plus predicates; :meth:`bind` attaches it to a queue."""

    mapper: Mapper
    predicates: tuple[Predicate, ...] = ()

    def bind(self, queue: Enqueuer) -> ResourceEventHandler:
        return _Bound(self, queue)

    def passes(self, old: Obj | None, new: Obj | None) -> bool:
        return all(p(old, new) for p in self.predicates)


class _Bound:
    def __init__(self, spec: EnqueueHandler, queue: Enqueuer) -> None:
        self.spec = spec
        self.queue = queue

    def _enqueue(self, *objs: Obj) -> None:
        seen: set[Request] = set()
        for obj in objs:
            for request in self.spec.mapper(obj):
                if request not in seen:
                    seen.add(request)
                    self.queue.add(request)

    def on_add(self, obj: Obj) -> None:
        if self.spec.passes(None, obj):
            self._enqueue(obj)

    def on_update(self, old: Obj, new: Obj) -> None:
        if self.spec.passes(old, new):
            self._enqueue(old, new)

    def on_delete(self, obj: Obj) -> None:
        if self.spec.passes(obj, None):
            self._enqueue(obj)


# -- mappers -------------------------------------------------------------------------


def enqueue_object(*predicates: Predicate) -> EnqueueHandler:
    """Enqueue the changed object itself."""
    return EnqueueHandler(lambda obj: (Request.of(obj),), predicates)


def enqueue_owner(owner: Resource, *predicates: Predicate,
                  controller_only: bool = True) -> EnqueueHandler:
    """Enqueue the object's owner of ``owner``'s kind and API group.

    The owner's namespace is the object's own when ``owner`` is namespaced
    (owner references never cross namespaces), ``""`` otherwise.
    """

    def owners(obj: Obj) -> Iterable[Request]:
        meta = obj.get("metadata") or {}
        ns = str(meta.get("namespace") or "") if owner.namespaced else ""
        for ref in meta.get("ownerReferences") or ():
            if ref.get("kind") != owner.kind:
                continue
            group = str(ref.get("apiVersion", "")).rpartition("/")[0]
            if group != owner.group:
                continue
            if controller_only and not ref.get("controller"):
                continue
            yield Request(ns, str(ref.get("name", "")))

    return EnqueueHandler(owners, predicates)


def enqueue_mapped(fn: Mapper, *predicates: Predicate) -> EnqueueHandler:
    """Enqueue whatever ``fn(obj)`` returns (it must not change ``obj``)."""
    return EnqueueHandler(fn, predicates)


# -- predicates ----------------------------------------------------------------------


def _meta(obj: Obj | None) -> Mapping[str, Any]:
    return (obj or {}).get("metadata") or {}


def generation_changed(old: Obj | None, new: Obj | None) -> bool:
    """Adds and deletes pass; updates pass only if ``metadata.generation`` moved."""
    if old is None or new is None:
        return True
    return _meta(old).get("generation") != _meta(new).get("generation")


def resource_version_changed(old: Obj | None, new: Obj | None) -> bool:
    """Drops updates that are not changes (a relist re-delivering the same object)."""
    if old is None or new is None:
        return True
    return _meta(old).get("resourceVersion") != _meta(new).get("resourceVersion")


def labels_changed(old: Obj | None, new: Obj | None) -> bool:
    if old is None or new is None:
        return True
    return (_meta(old).get("labels") or {}) != (_meta(new).get("labels") or {})


def annotations_changed(old: Obj | None, new: Obj | None) -> bool:
    if old is None or new is None:
        return True
    return (_meta(old).get("annotations") or {}) != (_meta(new).get("annotations") or {})


def has_labels(selector: Mapping[str, str]) -> Predicate:
    """Passes when the old or the new object carries every ``selector`` pair.

    Checking both sides means an object *leaving* the selection (its label
    removed, or it was deleted) still enqueues, so its controller can clean up.
    """

    def match(obj: Obj | None) -> bool:
        labels = _meta(obj).get("labels") or {}
        return obj is not None and all(labels.get(k) == v for k, v in selector.items())

    return lambda old, new: match(new) or match(old)


def any_of(*predicates: Predicate) -> Predicate:
    return lambda old, new: any(p(old, new) for p in predicates)


def all_of(*predicates: Predicate) -> Predicate:
    return lambda old, new: all(p(old, new) for p in predicates)


def negate(predicate: Predicate) -> Predicate:
    return lambda old, new: not predicate(old, new)
