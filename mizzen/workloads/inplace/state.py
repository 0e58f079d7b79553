"""The two JSON annotations an in-place update leaves on a pod, as frozen dataclasses.

* ``apps.kruise.io/inplace-update-state`` — :class:`InPlaceUpdateState`: which
  revision the pod was updated to and when, each updated container's
  ``imageID`` before the update (completion is "that ID changed"), and the
  containers still waiting for a later batch.
* ``apps.kruise.io/inplace-update-grace`` — :class:`PendingSpec`: the update
  held back while ``inPlaceUpdateStrategy.gracePeriodSeconds`` runs.

Why dataclasses with hand-written JSON: the keys are upstream's
(``apis/apps/pub/inplace_update.go``: ``revision``, ``updateTimestamp``,
``lastContainerStatuses``, ``nextContainerImages``, ``preCheckBeforeNext``,
``containerBatchesRecord``, ...), because users' tooling and OpenKruise's
own components read them, and Go's ``omitempty`` decides which keys appear.
Times are ``metav1.Time`` strings (RFC 3339, seconds).  ``metaDataPatch`` is
bytes in Go, so it is base64 in JSON, as upstream writes it.

Reading is lenient about missing keys (older writers omit them) and strict
about shapes: a malformed annotation raises :class:`StateError`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mizzen.api.kruise import INPLACE_UPDATE_GRACE, INPLACE_UPDATE_STATE
from mizzen.cluster.podutil import parse_time, rfc3339

__all__ = [
    "ContainerBatch",
    "ContainerRecord",
    "InPlaceUpdateState",
    "PendingSpec",
    "RefMetadata",
    "StateError",
    "read_grace",
    "read_state",
]

Obj = dict[str, Any]
_EMPTY: Mapping[str, Any] = {}


class StateError(ValueError):
    """An in-place update annotation that is not the JSON it should be."""


@dataclass(frozen=True)
class RefMetadata:
    """Labels and annotations a container's env reads (downward API), to set with it."""

    # Label key -> new value.
    labels: Mapping[str, str] = field(default_factory=dict)
    # Annotation key -> new value.
    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_obj(self) -> Obj:
        out: Obj = {}
        if self.labels:
            out["labels"] = dict(self.labels)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    @classmethod
    def from_obj(cls, raw: Any) -> RefMetadata:
        obj = _map(raw, "objectMeta")
        return cls(_strings(obj.get("labels"), "labels"),
                   _strings(obj.get("annotations"), "annotations"))


@dataclass(frozen=True)
class ContainerRecord:
    """A container as it was before its in-place update (``InPlaceUpdateContainerStatus``)."""

    # status.containerStatuses[].imageID before the new image was written.
    image_id: str = ""
    # status.containerStatuses[].resources before a resize (None: no resize recorded).
    resources: Mapping[str, Any] | None = None

    def to_obj(self) -> Obj:
        out: Obj = {}
        if self.image_id:
            out["imageID"] = self.image_id
        if self.resources is not None:
            out["resources"] = dict(self.resources)
        return out


@dataclass(frozen=True)
class ContainerBatch:
    """One batch of containers patched together (``InPlaceUpdateContainerBatch``)."""

    # When the batch was written.
    timestamp: datetime
    # Names of its containers, sorted.
    containers: tuple[str, ...]


@dataclass(frozen=True)
class InPlaceUpdateState:
    """The ``apps.kruise.io/inplace-update-state`` annotation."""

    # The revision (controller-revision-hash value) the pod was updated to.
    revision: str
    # When the update began (the grace period counts from here).
    update_timestamp: datetime
    # Container name -> what it ran before; only containers patched so far.
    last_container_statuses: Mapping[str, ContainerRecord] = field(default_factory=dict)
    # Some container's env reads a label/annotation this update changes.
    update_env_from_metadata: bool = False
    # Some container got a new image.
    update_images: bool = False
    # Some container got new resources (vertical scaling).
    update_resources: bool = False
    # Resources are all that change (no restart expected).
    vertical_update_only: bool = False
    # Containers of a lower launch priority: name -> image for a later batch.
    next_container_images: Mapping[str, str] = field(default_factory=dict)
    # Containers of a lower launch priority: name -> metadata their env reads.
    next_container_ref_metadata: Mapping[str, RefMetadata] = field(default_factory=dict)
    # Containers of a lower launch priority: name -> resources for a later batch.
    next_container_resources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Containers that must be Ready before the next batch (None: no next batch).
    pre_check_before_next: tuple[str, ...] | None = None
    # The batches written so far, oldest first.
    container_batches_record: tuple[ContainerBatch, ...] = ()

    @property
    def has_next_batch(self) -> bool:
        return bool(self.next_container_images or self.next_container_ref_metadata
                    or self.next_container_resources)

    def to_obj(self) -> Obj:
        out: Obj = {"revision": self.revision,
                    "updateTimestamp": rfc3339(self.update_timestamp),
                    "lastContainerStatuses": {k: v.to_obj() for k, v in
                                              self.last_container_statuses.items()}}
        for key, flag in (("updateEnvFromMetadata", self.update_env_from_metadata),
                          ("updateImages", self.update_images),
                          ("updateResources", self.update_resources)):
            if flag:
                out[key] = True
        out["verticalUpdateOnly"] = self.vertical_update_only
        if self.next_container_images:
            out["nextContainerImages"] = dict(self.next_container_images)
        if self.next_container_ref_metadata:
            out["nextContainerRefMetadata"] = {k: v.to_obj() for k, v in
                                               self.next_container_ref_metadata.items()}
        if self.next_container_resources:
            out["nextContainerResources"] = {k: dict(v) for k, v in
                                             self.next_container_resources.items()}
        if self.pre_check_before_next is not None:
            out["preCheckBeforeNext"] = {"containersRequiredReady":
                                         list(self.pre_check_before_next)}
        if self.container_batches_record:
            out["containerBatchesRecord"] = [
                {"timestamp": rfc3339(b.timestamp), "containers": list(b.containers)}
                for b in self.container_batches_record]
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_obj(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> InPlaceUpdateState:
        obj = _map(_loads(text), "state")
        records = {name: ContainerRecord(str(_map(rec, name).get("imageID") or ""),
                                         _map(rec, name).get("resources"))
                   for name, rec in _map(obj.get("lastContainerStatuses"), "statuses").items()}
        pre = obj.get("preCheckBeforeNext")
        batches = tuple(ContainerBatch(_time(_map(b, "batch").get("timestamp")),
                                       tuple(_map(b, "batch").get("containers") or ()))
                        for b in _list(obj.get("containerBatchesRecord")))
        return cls(
            revision=str(obj.get("revision") or ""),
            update_timestamp=_time(obj.get("updateTimestamp")),
            last_container_statuses=records,
            update_env_from_metadata=bool(obj.get("updateEnvFromMetadata")),
            update_images=bool(obj.get("updateImages")),
            update_resources=bool(obj.get("updateResources")),
            vertical_update_only=bool(obj.get("verticalUpdateOnly")),
            next_container_images=_strings(obj.get("nextContainerImages"), "images"),
            next_container_ref_metadata={
                k: RefMetadata.from_obj(v)
                for k, v in _map(obj.get("nextContainerRefMetadata"), "refMetadata").items()},
            next_container_resources={
                k: _map(v, k) for k, v in _map(obj.get("nextContainerResources"),
                                               "resources").items()},
            pre_check_before_next=None if pre is None else tuple(
                _map(pre, "preCheck").get("containersRequiredReady") or ()),
            container_batches_record=batches)


@dataclass(frozen=True)
class PendingSpec:
    """What an update still has to write (upstream ``UpdateSpec``): the grace annotation's
    value, and the input of every batch."""

    # The revision (controller-revision-hash value) being updated to.
    revision: str
    # Container name -> new image.
    container_images: Mapping[str, str] = field(default_factory=dict)
    # Container name -> labels/annotations its env reads, set with that container.
    container_ref_metadata: Mapping[str, RefMetadata] = field(default_factory=dict)
    # Container name -> new resources (vertical scaling).
    container_resources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Template labels to set (None: remove), applied in the first batch.
    labels: Mapping[str, str | None] = field(default_factory=dict)
    # Template annotations to set (None: remove), applied in the first batch.
    annotations: Mapping[str, str | None] = field(default_factory=dict)
    # Some container's env reads changed metadata.
    update_env_from_metadata: bool = False
    # The grace period this update waits before touching containers.
    grace_seconds: int = 0

    def to_json(self) -> str:
        out: Obj = {"revision": self.revision}
        if self.container_images:
            out["containerImages"] = dict(self.container_images)
        if self.container_ref_metadata:
            out["containerRefMetadata"] = {k: v.to_obj() for k, v in
                                           self.container_ref_metadata.items()}
        if self.container_resources:
            out["containerResources"] = {k: dict(v) for k, v in
                                         self.container_resources.items()}
        meta: Obj = {}
        if self.labels:
            meta["labels"] = dict(self.labels)
        if self.annotations:
            meta["annotations"] = dict(self.annotations)
        if meta:
            patch = json.dumps({"metadata": meta}, separators=(",", ":")).encode()
            out["metaDataPatch"] = base64.b64encode(patch).decode()
        if self.update_env_from_metadata:
            out["updateEnvFromMetadata"] = True
        if self.grace_seconds:
            out["graceSeconds"] = self.grace_seconds
        return json.dumps(out, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> PendingSpec:
        obj = _map(_loads(text), "spec")
        meta: Mapping[str, Any] = _EMPTY
        if obj.get("metaDataPatch"):
            try:
                raw = base64.b64decode(str(obj["metaDataPatch"]), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise StateError(f"metaDataPatch is not base64: {exc}") from None
            meta = _map(_map(_loads(raw.decode()), "patch").get("metadata"), "metadata")
        return cls(
            revision=str(obj.get("revision") or ""),
            container_images=_strings(obj.get("containerImages"), "containerImages"),
            container_ref_metadata={
                k: RefMetadata.from_obj(v)
                for k, v in _map(obj.get("containerRefMetadata"), "refMetadata").items()},
            container_resources={k: _map(v, k) for k, v in
                                 _map(obj.get("containerResources"), "resources").items()},
            labels=dict(_map(meta.get("labels"), "labels")),
            annotations=dict(_map(meta.get("annotations"), "annotations")),
            update_env_from_metadata=bool(obj.get("updateEnvFromMetadata")),
            grace_seconds=int(obj.get("graceSeconds") or 0))


def _annotation(pod: Mapping[str, Any], key: str) -> str | None:
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(key)
    return None if value in (None, "") else str(value)


def read_state(pod: Mapping[str, Any]) -> InPlaceUpdateState | None:
    """The pod's in-place update state (``None``: never updated in place)."""
    text = _annotation(pod, INPLACE_UPDATE_STATE)
    return None if text is None else InPlaceUpdateState.from_json(text)


def read_grace(pod: Mapping[str, Any]) -> PendingSpec | None:
    """The update waiting for its grace period (``None``: none)."""
    text = _annotation(pod, INPLACE_UPDATE_GRACE)
    return None if text is None else PendingSpec.from_json(text)


# -- decoding helpers -------------------------------------------------------------------


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise StateError(f"not JSON: {exc}") from None


def _map(raw: Any, what: str) -> Mapping[str, Any]:
    if raw is None:
        return _EMPTY
    if not isinstance(raw, dict):
        raise StateError(f"{what}: expected an object, got {type(raw).__name__}")
    return raw


def _list(raw: Any) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise StateError(f"expected a list, got {type(raw).__name__}")
    return raw


def _strings(raw: Any, what: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in _map(raw, what).items()}


def _time(raw: Any) -> datetime:
    parsed = parse_time(raw)
    if parsed is None:
        raise StateError(f"not an RFC 3339 time: {raw!r}")
    return parsed
