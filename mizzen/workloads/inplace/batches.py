"""Applying an update to a pod one batch of containers at a time (by launch priority).

Why batches: a pod whose containers have a launch priority (a sidecar that
must be up before the app) is updated in the same order it starts — the
highest-priority containers first; the rest wait in the state's
``nextContainer*`` maps until those are updated *and Ready*
(``preCheckBeforeNext``).  Containers without a priority always go in the
first batch.  A container whose env reads a label that a container of this
batch also reads joins the batch: the label can only be written once.

Priority, as upstream reads it from the pod's containers (§8 "two containers
in two batches"):

* env ``KRUISE_CONTAINER_BARRIER`` with ``valueFrom.configMapKeyRef.key``
  ``p_<n>`` — what OpenKruise's webhook injects;
* else env ``KRUISE_CONTAINER_PRIORITY`` with a literal integer — what a user
  writes (Mizzen reads it directly, with or without the webhook);
* else, when the pod is annotated ``apps.kruise.io/container-launch-priority:
  Ordered``, container order (the first container is highest).

:func:`apply_batch` is the one place that turns a :class:`PendingSpec` into
patch fragments and the next :class:`InPlaceUpdateState` (upstream's
``PatchSpecToPod``); the first patch, the end of a grace period and every
later batch all go through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from mizzen.workloads.inplace.state import (
    ContainerBatch,
    ContainerRecord,
    InPlaceUpdateState,
    PendingSpec,
    RefMetadata,
)

__all__ = [
    "BARRIER_ENV",
    "LAUNCH_PRIORITY",
    "PRIORITY_ENV",
    "Batch",
    "apply_batch",
    "container_priority",
    "pre_check_failures",
]

Obj = dict[str, Any]
# Env the OpenKruise webhook injects: configMapKeyRef.key "p_<priority>".
BARRIER_ENV = "KRUISE_CONTAINER_BARRIER"
# Env a user sets to an integer priority.
PRIORITY_ENV = "KRUISE_CONTAINER_PRIORITY"
# Pod annotation: "Ordered" gives containers priority by their order.
LAUNCH_PRIORITY = "apps.kruise.io/container-launch-priority"


def _int(raw: Any) -> int | None:
    try:
        return int(str(raw).strip())
    except ValueError:
        return None


def container_priority(pod: Mapping[str, Any], name: str) -> int | None:
    """The launch priority of container ``name`` (None: none; higher starts first)."""
    containers = list((pod.get("spec") or {}).get("containers") or ())
    for index, c in enumerate(containers):
        if c.get("name") != name:
            continue
        for env in c.get("env") or ():
            if env.get("name") == BARRIER_ENV:
                key = str(((env.get("valueFrom") or {}).get("configMapKeyRef") or {})
                          .get("key") or "")
                return _int(key[2:]) if key.startswith("p_") else None
        for env in c.get("env") or ():
            if env.get("name") == PRIORITY_ENV:
                return _int(env.get("value"))
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        if annotations.get(LAUNCH_PRIORITY) == "Ordered":
            return -index
        return None
    return None


def _this_batch(pod: Mapping[str, Any], spec: PendingSpec) -> set[str]:
    wanted = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or ()
              if c.get("name") in spec.container_images
              or c.get("name") in spec.container_ref_metadata
              or c.get("name") in spec.container_resources]
    now = {n for n in wanted if container_priority(pod, n) is None}
    prioritised = {n: p for n in wanted if (p := container_priority(pod, n)) is not None}
    if prioritised:
        top = max(prioritised.values())
        now |= {n for n, p in prioritised.items() if p == top}
    # A container sharing an env-read label/annotation with this batch joins it.
    grew = True
    while grew:
        keys = {(kind, k) for n in now for kind, m in
                (("labels", spec.container_ref_metadata.get(n, RefMetadata()).labels),
                 ("annotations", spec.container_ref_metadata.get(n, RefMetadata()).annotations))
                for k in m}
        joining = {n for n, ref in spec.container_ref_metadata.items() if n not in now and
                   ({("labels", k) for k in ref.labels}
                    | {("annotations", k) for k in ref.annotations}) & keys}
        now |= joining
        grew = bool(joining)
    return now


@dataclass(frozen=True)
class Batch:
    """Patch fragments for one batch, and the state to record with them."""

    # metadata.labels to merge (None: remove).
    labels: Mapping[str, str | None]
    # metadata.annotations to merge (None: remove); the state annotation is not included.
    annotations: Mapping[str, str | None]
    # Strategic-merge entries of spec.containers ({"name", "image"/"resources"}).
    containers: tuple[Obj, ...]
    # The state after this batch.
    state: InPlaceUpdateState


def apply_batch(pod: Mapping[str, Any], spec: PendingSpec, state: InPlaceUpdateState,
                now: datetime) -> Batch:
    """The patch fragments that write this batch of ``spec`` to ``pod``, and the new state
    (``state``'s next-batch maps are replaced by what this batch leaves for later)."""
    batch = _this_batch(pod, spec)
    statuses = {str(s.get("name")): s for s in
                (pod.get("status") or {}).get("containerStatuses") or ()}
    labels: dict[str, str | None] = dict(spec.labels)
    annotations: dict[str, str | None] = dict(spec.annotations)
    records = dict(state.last_container_statuses)
    next_images: dict[str, str] = {}
    next_refs: dict[str, RefMetadata] = {}
    next_resources: dict[str, Mapping[str, Any]] = {}
    patches: dict[str, Obj] = {}
    for name, image in spec.container_images.items():
        if name not in batch:
            next_images[name] = image
            continue
        patches.setdefault(name, {"name": name})["image"] = image
        if name in statuses:
            records[name] = ContainerRecord(str(statuses[name].get("imageID") or ""),
                                            records.get(name, ContainerRecord()).resources)
    for name, res in spec.container_resources.items():
        if name not in batch:
            next_resources[name] = res
            continue
        patches.setdefault(name, {"name": name})["resources"] = dict(res)
        before = records.get(name, ContainerRecord())
        records[name] = ContainerRecord(
            before.image_id, dict((statuses.get(name) or {}).get("resources") or {}))
    for name, ref in spec.container_ref_metadata.items():
        if name not in batch:
            next_refs[name] = ref
            continue
        labels.update(ref.labels)
        annotations.update(ref.annotations)
    order = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or ()]
    has_next = bool(next_images or next_refs or next_resources)
    new_state = replace(
        state,
        last_container_statuses=records,
        update_env_from_metadata=state.update_env_from_metadata or spec.update_env_from_metadata,
        update_images=state.update_images or any(n in batch for n in spec.container_images),
        update_resources=state.update_resources or any(
            n in batch for n in spec.container_resources),
        vertical_update_only=bool(spec.container_resources) and not spec.container_images
        and not state.update_images,
        next_container_images=next_images,
        next_container_ref_metadata=next_refs,
        next_container_resources=next_resources,
        pre_check_before_next=tuple(sorted(batch)) if has_next else None,
        container_batches_record=(*state.container_batches_record,
                                  ContainerBatch(now, tuple(sorted(batch)))))
    return Batch(labels, annotations,
                 tuple(patches[n] for n in order if n in patches), new_state)


def pre_check_failures(pod: Mapping[str, Any], state: InPlaceUpdateState) -> list[str]:
    """Why the next batch may not start yet (empty: it may): the containers of the
    previous batch must report Ready."""
    statuses = {str(s.get("name")): s for s in
                (pod.get("status") or {}).get("containerStatuses") or ()}
    problems = []
    for name in state.pre_check_before_next or ():
        status = statuses.get(name)
        if status is None:
            problems.append(f"container {name} has no status")
        elif not status.get("ready"):
            problems.append(f"waiting for container {name} to be ready")
    return problems
