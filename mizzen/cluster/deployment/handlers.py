"""Which Deployments a ReplicaSet or pod event concerns.

As upstream's deployment controller handlers:

* a ReplicaSet event enqueues its controlling Deployment; an *orphan*
  ReplicaSet enqueues every Deployment of its namespace whose selector matches
  its labels (one of them will adopt it).  On an update the runtime maps the
  old and the new object, so a ReplicaSet that changed owner or labels also
  wakes the Deployment it left;
* a pod's **deletion** enqueues the Deployment owning the pod's ReplicaSet:
  a Recreate rollout waits for the last old pod to be gone, and a deletion is
  the only event that says so (the ReplicaSet stops counting a pod as soon as
  it starts terminating).  Other pod events reach the Deployment through its
  ReplicaSets' status changes.

The mappers read the informers' caches (Deployments to match orphans,
ReplicaSets to go from a pod to its Deployment), hence the factories.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mizzen.client.resources import DEPLOYMENTS, REPLICASETS
from mizzen.cluster.podutil import controlled_by, controller_of, labels_of, selector_matches
from mizzen.runtime.handlers import Mapper
from mizzen.runtime.informer import SharedInformer
from mizzen.runtime.reconcile import Request

__all__ = ["deleted", "pod_to_deployment", "replicaset_to_deployments"]

Obj = dict[str, Any]


def _namespace(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def replicaset_to_deployments(deployments: SharedInformer) -> Mapper:
    """Mapper: the ReplicaSet's controlling Deployment, or all selecting an orphan."""

    def mapper(rs: Obj) -> Iterator[Request]:
        if controller_of(rs) is not None:
            name = controlled_by(rs, DEPLOYMENTS.kind, DEPLOYMENTS.group)
            if name is not None:
                yield Request(_namespace(rs), name)
            return
        labels = labels_of(rs)
        for d in deployments.cache.list(_namespace(rs)):
            if selector_matches((d.get("spec") or {}).get("selector"), labels):
                yield Request.of(d)

    return mapper


def pod_to_deployment(replicasets: SharedInformer) -> Mapper:
    """Mapper: the Deployment controlling the pod's controlling ReplicaSet."""

    def mapper(pod: Obj) -> Iterator[Request]:
        rs_name = controlled_by(pod, REPLICASETS.kind, REPLICASETS.group)
        if rs_name is None:
            return
        rs = replicasets.cache.get(rs_name, _namespace(pod))
        if rs is None:
            return
        name = controlled_by(rs, DEPLOYMENTS.kind, DEPLOYMENTS.group)
        if name is not None:
            yield Request(_namespace(pod), name)

    return mapper


def deleted(old: Obj | None, new: Obj | None) -> bool:
    """Predicate: only deletions pass."""
    return old is not None and new is None
