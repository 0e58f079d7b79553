"""Which ReplicaSets a pod event concerns, and the informers both need.

A pod's controller owner reference names its ReplicaSet; that one is
enqueued (and, on an update that moved the pod, the former one too: the
runtime maps both the old and the new object).  An *orphan* pod — no
controller — may be adopted by any ReplicaSet in its namespace whose selector
matches its labels, so all of those are enqueued, as upstream's
``getPodReplicaSets`` does.  That lookup reads the ReplicaSet informer's
cache, which is why the mapper is built from the informer.

Pod and ReplicaSet informers carry the :func:`~mizzen.cluster.podutil.by_controller`
index: "pods of this ReplicaSet plus the orphans of its namespace" and "the
sibling ReplicaSets of one Deployment" are then index lookups.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mizzen.client.resources import PODS, REPLICASETS
from mizzen.cluster.podutil import (
    BY_CONTROLLER,
    by_controller,
    controlled_by,
    controller_of,
    labels_of,
    selector_matches,
)
from mizzen.runtime.handlers import Mapper
from mizzen.runtime.informer import SharedInformer
from mizzen.runtime.manager import Manager
from mizzen.runtime.reconcile import Request

__all__ = ["informers", "pod_to_replicasets"]

Obj = dict[str, Any]


def pod_to_replicasets(replicasets: SharedInformer) -> Mapper:
    """Mapper: a pod's controlling ReplicaSet, or every ReplicaSet selecting an orphan."""

    def mapper(pod: Obj) -> Iterator[Request]:
        meta = pod.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        if controller_of(pod) is not None:
            name = controlled_by(pod, REPLICASETS.kind, REPLICASETS.group)
            if name is not None:
                yield Request(namespace, name)
            return
        labels = labels_of(pod)
        for rs in replicasets.cache.list(namespace):
            if selector_matches((rs.get("spec") or {}).get("selector"), labels):
                yield Request.of(rs)

    return mapper


def informers(manager: Manager, namespace: str | None) -> tuple[SharedInformer, SharedInformer]:
    """The shared ReplicaSet and pod informers, with the controller-UID index."""
    index = {BY_CONTROLLER: by_controller}
    return (manager.informer(REPLICASETS, namespace=namespace, indexers=index),
            manager.informer(PODS, namespace=namespace, indexers=index))
