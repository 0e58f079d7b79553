"""A CloneSet's instances: the pod and the PVCs that share one instance id.

Why its own module: a CloneSet pod is not a bare copy of the template.  It
is one *instance* — a 5-character id that is the pod name's suffix and
labels the pod and each of its PVCs — and the id outlives the pod when its
PVCs are kept for reuse.  Building the objects and choosing ids are pure
functions here; the controller creates and deletes what they describe.

A new pod (upstream ``newVersionedPods`` + ``createPods``):

* name ``<cloneset>-<id>``, the id drawn from ``bcdfghjklmnpqrstvwxz2456789``
  (Kubernetes' ``rand.String`` alphabet) with the caller's random generator;
* the template's labels, annotations and finalizers, plus
  ``controller-revision-hash: <revision name>``, ``pod-template-hash: <hash>``,
  ``apps.kruise.io/cloneset-instance-id: <id>``, and lifecycle state
  ``PreparingNormal`` (its RFC 3339 timestamp as the annotation
  ``lifecycle.apps.kruise.io/timestamp``) — upstream sets that state on
  *every* pod it creates, whether or not ``spec.lifecycle`` is set;
* the readiness gate ``InPlaceUpdateReady`` (so a later in-place update can
  take the pod out of endpoints), and ``KruisePodReady`` when a lifecycle
  hook marks pods not ready (``markPodNotReady``);
* a controller owner reference to the CloneSet;
* one volume per claim template, named as the template, pointing at the
  instance's PVC (replacing a template volume of the same name).

Its PVCs: ``<claim>-<cloneset>-<id>``, the claim template's labels plus the
selector's ``matchLabels`` plus the instance id, owned by the CloneSet.

Instance ids for new pods (upstream ``getOrGenAvailableIDs``): ids of PVCs
no live pod carries are reused first (so a pod deleted by someone else comes
back with its volumes), then fresh random ids no pod or PVC uses.  A
*terminating* pod's id is reusable — its replacement takes its name, so the
executor creates that pod once the old one is gone (its delete event brings
the CloneSet back); a *finished* pod's id is not (unlike upstream, whose
replacement would collide with the finished pod's name for ever).

When PVCs are not reused (:func:`pvc_cleanup`, upstream ``cleanupPVCs``):
PVCs of an instance with no active pod are deleted, except those of an
inactive (finished or terminating) pod, which are handed to that pod (owner
reference moved) so the garbage collector removes them with it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mizzen.api.cloneset.types import CloneSetSpec, Lifecycle
from mizzen.api.kruise import (
    CONTROLLER_REVISION_HASH,
    INSTANCE_ID,
    LIFECYCLE_STATE,
    LIFECYCLE_TIMESTAMP,
    POD_TEMPLATE_HASH,
    LifecycleState,
)
from mizzen.cluster.podutil import controller_ref, is_active, is_terminating, labels_of, rfc3339
from mizzen.runtime.cache import copy_of
from mizzen.workloads.cloneset.revision import short_hash
from mizzen.workloads.inplace import with_readiness_gate
from mizzen.workloads.lifecycle import needs_gate, with_kruise_ready_gate

__all__ = [
    "ID_ALPHABET",
    "ID_LENGTH",
    "PvcCleanup",
    "choose_instance_ids",
    "claim_name",
    "claims_for",
    "instance_id",
    "new_instances",
    "new_pod",
    "pvc_cleanup",
    "pvcs_of",
]

Obj = dict[str, Any]

ID_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
ID_LENGTH = 5


def instance_id(obj: Mapping[str, Any]) -> str:
    """The ``apps.kruise.io/cloneset-instance-id`` label ("" when absent)."""
    return str(labels_of(obj).get(INSTANCE_ID) or "")


def claim_name(claim_template: Mapping[str, Any], cloneset_name: str, id_: str) -> str:
    return f"{(claim_template.get('metadata') or {}).get('name', '')}-{cloneset_name}-{id_}"


def choose_instance_ids(count: int, pods: Iterable[Mapping[str, Any]],
                        pvcs: Iterable[Mapping[str, Any]], rng: random.Random) -> list[str]:
    """``count`` ids for new pods: reusable PVC ids first (sorted), then fresh random ones.

    ``pods`` are all the CloneSet's pods, terminating and finished ones included.
    """
    pod_list = list(pods)
    pod_ids = {instance_id(p) for p in pod_list if not is_terminating(p)} - {""}
    pvc_ids = {instance_id(c) for c in pvcs} - {""}
    reusable = sorted(pvc_ids - pod_ids)
    chosen = reusable[:count]
    taken = pod_ids | pvc_ids | {instance_id(p) for p in pod_list}
    while len(chosen) < count:
        candidate = "".join(rng.choice(ID_ALPHABET) for _ in range(ID_LENGTH))
        if candidate not in taken:
            taken.add(candidate)
            chosen.append(candidate)
    return chosen


def claims_for(cloneset: Mapping[str, Any], claim_templates: Sequence[Mapping[str, Any]],
               selector: Mapping[str, Any], id_: str, api_version: str, kind: str) -> list[Obj]:
    """The PVCs of instance ``id_`` (one per claim template), owned by the CloneSet."""
    meta = cloneset.get("metadata") or {}
    name = str(meta.get("name", ""))
    out: list[Obj] = []
    for template in claim_templates:
        claim = copy_of(template)
        cmeta = claim.setdefault("metadata", {})
        labels = dict(cmeta.get("labels") or {})
        labels.update(selector.get("matchLabels") or {})
        labels[INSTANCE_ID] = id_
        out.append({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {**{k: v for k, v in cmeta.items()
                            if k in ("annotations", "finalizers")},
                         "name": claim_name(template, name, id_),
                         "namespace": meta.get("namespace"), "labels": labels,
                         "ownerReferences": [controller_ref(cloneset, api_version, kind)]},
            "spec": claim.get("spec") or {}})
    return out


def new_pod(cloneset: Mapping[str, Any], template: Mapping[str, Any], revision_name: str,
            id_: str, claim_templates: Sequence[Mapping[str, Any]], now: datetime,
            api_version: str, kind: str, lifecycle: Lifecycle | None = None) -> Obj:
    """The pod of instance ``id_`` at revision ``revision_name`` (see the module docstring)."""
    meta = cloneset.get("metadata") or {}
    name = str(meta.get("name", ""))
    tmpl = copy_of(template)
    tmeta = tmpl.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    labels.update({CONTROLLER_REVISION_HASH: revision_name,
                   POD_TEMPLATE_HASH: short_hash(revision_name), INSTANCE_ID: id_,
                   LIFECYCLE_STATE: LifecycleState.PREPARING_NORMAL.value})
    annotations = dict(tmeta.get("annotations") or {})
    annotations[LIFECYCLE_TIMESTAMP] = rfc3339(now)
    pod_meta: Obj = {"name": f"{name}-{id_}", "namespace": meta.get("namespace"),
                     "labels": labels, "annotations": annotations,
                     "ownerReferences": [controller_ref(cloneset, api_version, kind)]}
    if tmeta.get("finalizers"):
        pod_meta["finalizers"] = tmeta["finalizers"]
    spec = with_readiness_gate(tmpl.get("spec") or {})
    if needs_gate(lifecycle):
        spec = with_kruise_ready_gate(spec)
    if claim_templates:
        claimed = {str((t.get("metadata") or {}).get("name", "")): claim_name(t, name, id_)
                   for t in claim_templates}
        volumes = [{"name": vol, "persistentVolumeClaim": {"claimName": claim}}
                   for vol, claim in claimed.items()]
        volumes += [v for v in spec.get("volumes") or () if v.get("name") not in claimed]
        spec = {**spec, "volumes": volumes}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


def new_instances(cloneset: Mapping[str, Any], spec: CloneSetSpec,
                  create: Sequence[tuple[str, int]], templates: Mapping[str, Obj],
                  pods: Sequence[Obj], pvcs: Sequence[Obj], rng: random.Random, now: datetime,
                  api_version: str, kind: str) -> list[tuple[Obj, list[Obj]]]:
    """The pods to create — ``create`` is ``(revision name, count)`` pairs, ``templates``
    the revisions' pod templates — each with those of its PVCs that do not exist yet."""
    existing = {str((c.get("metadata") or {}).get("name", "")) for c in pvcs}
    ids = iter(choose_instance_ids(sum(n for _, n in create), pods, pvcs, rng))
    out: list[tuple[Obj, list[Obj]]] = []
    for revision, count in create:
        for _ in range(count):
            id_ = next(ids)
            claims = [c for c in claims_for(cloneset, spec.volume_claim_templates,
                                            spec.selector, id_, api_version, kind)
                      if c["metadata"]["name"] not in existing]
            pod = new_pod(cloneset, templates[revision], revision, id_,
                          spec.volume_claim_templates, now, api_version, kind, spec.lifecycle)
            out.append((pod, claims))
    return out


def pvcs_of(pvcs: Iterable[Obj], id_: str) -> list[Obj]:
    """The PVCs of instance ``id_``."""
    return [c for c in pvcs if id_ and instance_id(c) == id_]


@dataclass(frozen=True)
class PvcCleanup:
    """PVCs no active pod uses, when the CloneSet does not reuse them."""

    # PVC names to delete (no pod of that instance exists).
    delete: tuple[str, ...] = ()
    # (PVC name, pod): hand the PVC to this inactive pod of its instance (owner moved).
    hand_over: tuple[tuple[str, Obj], ...] = ()


def pvc_cleanup(pvcs: Iterable[Obj], pods: Iterable[Obj]) -> PvcCleanup:
    """Upstream ``cleanupPVCs``: ``pvcs`` are the CloneSet's own, ``pods`` all its pods."""
    pod_list = list(pods)
    active = {instance_id(p) for p in pod_list if is_active(p)} - {""}
    inactive = {instance_id(p): p for p in pod_list if not is_active(p) and instance_id(p)}
    delete: list[str] = []
    hand_over: list[tuple[str, Obj]] = []
    for pvc in pvcs:
        id_ = instance_id(pvc)
        name = str((pvc.get("metadata") or {}).get("name", ""))
        if id_ in active:
            continue
        if id_ in inactive:
            hand_over.append((name, inactive[id_]))
        else:
            delete.append(name)
    return PvcCleanup(tuple(sorted(delete)), tuple(hand_over))
