"""The Deployment's new ReplicaSet: finding it, keeping its annotations, creating it.

Upstream's ``getAllReplicaSetsAndSyncRevision`` (``sync.go``) reads *and*
writes: it brings the new ReplicaSet's annotations up to date, records its
revision on the Deployment, notes the Progressing condition, or creates the
ReplicaSet.  Here it is :func:`sync_revision`, a pure function returning
either the new and old ReplicaSets, or the first write that has to happen
before the pass can go on (the caller then returns that plan; the next pass,
triggered by the write's own event, continues):

1. the new ReplicaSet exists but its annotations (copied Deployment
   annotations, revision bump, revision history) or ``minReadySeconds`` are
   stale → update it;
2. the Deployment's ``deployment.kubernetes.io/revision`` differs from the new
   ReplicaSet's → patch the Deployment's annotation.  (Upstream does this in
   a status update, which kube-apiserver lets through for Deployments; the
   embedded server's status subresource ignores metadata, so it is a
   metadata patch — which, as any Deployment annotation change, bumps
   ``generation``);
3. Progressing: ``NewReplicaSetCreated`` right after our own create (the
   controller remembers it for one pass), ``FoundNewReplicaSet`` when there is
   no Progressing condition yet → status write;
4. no new ReplicaSet and ``create``: the name ``<deployment>-<hash>`` is held
   by a ReplicaSet that is not this template's → bump ``collisionCount``
   (status write) so the next hash differs; the last create failed and the
   status does not say so → Progressing False ``ReplicaSetCreateError``
   (status write, then the pass fails to keep the backoff); else create it
   with ``NewRSNewReplicas`` replicas and a ``ScalingReplicaSet`` event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mizzen.cluster.deployment.decisions import DeploymentPlan, Event, Observed, ReplicaSetUpdate
from mizzen.cluster.deployment.replicas import (
    by_creation,
    max_surge,
    name_of,
    new_rs_replicas,
    replicas_of,
)
from mizzen.cluster.deployment.revision import (
    POD_TEMPLATE_HASH,
    REVISION,
    compute_hash,
    equal_ignore_hash,
    max_revision,
    new_rs_annotations,
)
from mizzen.cluster.deployment.status import (
    FAILED_RS_CREATE,
    FOUND_NEW_RS,
    NEW_RS_CREATED,
    PROGRESSING,
    condition,
    has_progress_deadline,
    new_condition,
    same_status,
    set_condition,
)
from mizzen.cluster.podutil import controller_of, controller_ref

__all__ = ["find_new", "new_replica_set", "sync_revision"]

Obj = dict[str, Any]
NewAndOld = tuple[Obj | None, list[Obj]]


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def _annotations(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def find_new(deployment: Mapping[str, Any], rss: Sequence[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template is the Deployment's (hash label ignored)."""
    template = _spec(deployment).get("template") or {}
    for rs in by_creation(list(rss)):
        if equal_ignore_hash(_spec(rs).get("template") or {}, template):
            return rs
    return None


def new_replica_set(deployment: Mapping[str, Any], pod_hash: str, replicas: int,
                    annotations: Mapping[str, str]) -> Obj:
    """The ReplicaSet object for the Deployment's current template."""
    meta, spec = deployment["metadata"], _spec(deployment)
    template = dict(spec.get("template") or {})
    tmeta = dict(template.get("metadata") or {})
    labels = {**(tmeta.get("labels") or {}), POD_TEMPLATE_HASH: pod_hash}
    template["metadata"] = {**tmeta, "labels": labels}
    selector = dict(spec.get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), POD_TEMPLATE_HASH: pod_hash}
    rs_spec: Obj = {"replicas": replicas, "selector": selector, "template": template}
    if spec.get("minReadySeconds"):
        rs_spec["minReadySeconds"] = spec["minReadySeconds"]
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{meta['name']}-{pod_hash}", "namespace": meta.get("namespace"),
                         "labels": labels, "annotations": dict(annotations),
                         "ownerReferences": [controller_ref(deployment, "apps/v1", "Deployment")]},
            "spec": rs_spec}


def _status_with(o: Observed, cond: Obj) -> Obj | None:
    status = dict(o.deployment.get("status") or {})
    set_condition(status, cond)
    return None if same_status(o.deployment.get("status") or {}, status) else status


def _existing(o: Observed, new: Obj, new_revision: int) -> DeploymentPlan | None:
    d = o.deployment
    desired = replicas_of(d)
    annotations, changed = new_rs_annotations(d, _annotations(new), new_revision, True,
                                              desired, desired + max_surge(d))
    min_ready = _spec(d).get("minReadySeconds") or 0
    if changed or (_spec(new).get("minReadySeconds") or 0) != min_ready:
        update = ReplicaSetUpdate(name_of(new), replicas_of(new), replicas_of(new),
                                  annotations, min_ready)
        return DeploymentPlan("sync new replica set annotations", updates=(update,))
    revision = _annotations(new).get(REVISION, "")
    if _annotations(d).get(REVISION) != revision:
        return DeploymentPlan("record revision", annotations={REVISION: revision})
    if not has_progress_deadline(d):
        return None
    name = name_of(new)
    if o.created == name:
        cond = new_condition(PROGRESSING, "True", NEW_RS_CREATED,
                             f'Created new replica set "{name}"', o.now)
        status = _status_with(o, cond)
        if status is not None:
            return DeploymentPlan("new replica set created", status=status, clear_created=True)
    elif condition(d.get("status") or {}, PROGRESSING) is None:
        cond = new_condition(PROGRESSING, "True", FOUND_NEW_RS,
                             f'Found new replica set "{name}"', o.now)
        return DeploymentPlan("found new replica set", status=_status_with(o, cond))
    return None


def _create(o: Observed, old: list[Obj], new_revision: int) -> DeploymentPlan:
    d = o.deployment
    status = d.get("status") or {}
    collisions = status.get("collisionCount")
    pod_hash = compute_hash(_spec(d).get("template") or {},
                            collisions if isinstance(collisions, int) else None)
    name = f"{d['metadata']['name']}-{pod_hash}"
    taken = next((rs for rs in o.replica_sets if name_of(rs) == name), None)
    if taken is not None:
        ref = controller_of(taken)
        ours = ref is not None and ref.get("uid") == d["metadata"].get("uid")
        if ours and equal_ignore_hash(_spec(taken).get("template") or {},
                                      _spec(d).get("template") or {}):
            return DeploymentPlan("wait for the new replica set to be claimed")
        bumped = {**status, "collisionCount": (collisions or 0) + 1}
        return DeploymentPlan("hash collision", status=bumped)
    if o.create_failure is not None and has_progress_deadline(d):
        cond = new_condition(PROGRESSING, "False", FAILED_RS_CREATE,
                             f'Failed to create new replica set "{name}": {o.create_failure}',
                             o.now)
        failed = _status_with(o, cond)
        if failed is not None:
            return DeploymentPlan("report failed create", status=failed, fail_after=True)
    desired = replicas_of(d)
    annotations, _ = new_rs_annotations(d, {}, new_revision, False, desired,
                                        desired + max_surge(d))
    rs = new_replica_set(d, pod_hash, 0, annotations)
    replicas = new_rs_replicas(d, [*old, rs], 0)
    rs["spec"]["replicas"] = replicas
    events: tuple[Event, ...] = ()
    if replicas > 0:
        events = (Event("Normal", "ScalingReplicaSet",
                        f"Scaled up replica set {name} from 0 to {replicas}"),)
    return DeploymentPlan("create new replica set", create=rs, events=events)


def sync_revision(o: Observed, rss: Sequence[Obj], create: bool
                  ) -> DeploymentPlan | NewAndOld:
    """The new ReplicaSet and the old ones, or the write that must come first."""
    new = find_new(o.deployment, rss)
    old = [rs for rs in rss if rs is not new]
    new_revision = max_revision(old) + 1
    if new is not None:
        step = _existing(o, new, new_revision)
        return step if step is not None else (new, old)
    if not create:
        return None, old
    return _create(o, old, new_revision)
