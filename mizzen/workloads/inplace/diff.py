"""Whether a pod can move from one revision's template to another's without being recreated.

:func:`diff_templates` compares two raw pod templates (a ControllerRevision's
``spec.template``) and answers with an :class:`InPlaceDiff`: either an
:class:`InPlaceChange` — what the in-place patch must write — or the reason
a new pod is needed, naming the first offending path in template order
(``spec.containers[nginx].env changed``), so a CloneSet condition or an
``InPlaceOnly`` refusal can tell the user exactly what blocked it.

Upstream's rule (``defaultCalculateInPlaceUpdateSpec``), kept here:

* a container's ``image`` may change (the kubelet restarts just it);
* ``metadata.labels`` and ``metadata.annotations`` may change: they are
  merged into the pod (a removed key is deleted);
* a label or annotation some container's env reads through the downward API
  (``fieldRef: metadata.labels['k']``) moves with that container, so it is
  set in the same batch as the container's restart;
* with vertical scaling on (upstream's ``InPlaceWorkloadVerticalScaling``
  gate, off by default, as here), ``resources`` cpu/memory requests and limits
  may change when the pod keeps its QoS class;
* anything else — another field, containers added, removed or reordered —
  needs a new pod.

One deliberate difference: upstream relies on kruise-daemon to restart a
container whose env-from-metadata value changed without a new image.  Mizzen
has no such daemon (and the kubelet restarts only on an image change), so
that case needs a new pod here; an env-from-metadata change together with
the container's new image stays in place, and the restart applies it.
Without this the pod would keep the old value silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mizzen.workloads.inplace.qos import RESIZABLE, qos_class
from mizzen.workloads.inplace.state import RefMetadata

__all__ = ["InPlaceChange", "InPlaceDiff", "diff_templates", "env_references"]

Obj = dict[str, Any]
_FIELD_REF = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")
_META_KEYS = ("labels", "annotations")


@dataclass(frozen=True)
class InPlaceChange:
    """What an in-place update writes to a pod (empty maps: nothing of that kind)."""

    # Container name -> new image.
    images: Mapping[str, str] = field(default_factory=dict)
    # Container name -> new resources (requests/limits); vertical scaling only.
    resources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Template labels to set on the pod (None: remove the label).
    labels: Mapping[str, str | None] = field(default_factory=dict)
    # Template annotations to set on the pod (None: remove the annotation).
    annotations: Mapping[str, str | None] = field(default_factory=dict)
    # Container name -> labels/annotations its env reads, set in that container's batch.
    env_metadata: Mapping[str, RefMetadata] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.images or self.resources or self.labels or self.annotations
                    or self.env_metadata)

    @property
    def containers(self) -> frozenset[str]:
        """Containers the update touches."""
        return frozenset((*self.images, *self.resources, *self.env_metadata))


@dataclass(frozen=True)
class InPlaceDiff:
    """The answer of :func:`diff_templates`."""

    # The change to write in place; None when a new pod is needed.
    change: InPlaceChange | None
    # Why a new pod is needed ("" when in place is possible).
    reason: str = ""

    @property
    def in_place(self) -> bool:
        return self.change is not None


def _recreate(reason: str) -> InPlaceDiff:
    return InPlaceDiff(None, reason)


def _norm(value: Any) -> Any:
    """Absent, null and empty collections compare equal (as serialised templates differ)."""
    return None if value in (None, {}, []) else value


def _first_difference(old: Mapping[str, Any], new: Mapping[str, Any],
                      skip: Sequence[str]) -> str | None:
    keys = [k for k in (*old, *(k for k in new if k not in old)) if k not in skip]
    for key in keys:
        if _norm(old.get(key)) != _norm(new.get(key)):
            return key
    return None


def env_references(container: Mapping[str, Any]) -> set[tuple[str, str]]:
    """``(labels|annotations, key)`` pairs the container's env reads via the downward API."""
    refs: set[tuple[str, str]] = set()
    for env in container.get("env") or ():
        path = ((env.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        match = _FIELD_REF.match(str(path or ""))
        if match and not env.get("value"):
            refs.add((match.group(1), match.group(2)))
    return refs


def _metadata_changes(old: Mapping[str, Any], new: Mapping[str, Any],
                      kind: str) -> dict[str, str | None]:
    before, after = old.get(kind) or {}, new.get(kind) or {}
    changes: dict[str, str | None] = {k: str(v) for k, v in after.items()
                                      if before.get(k) != v}
    changes.update({k: None for k in before if k not in after})
    return changes


def _resources_problem(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """Why a resources change cannot be resized in place (None: it can, QoS aside)."""
    at = f"spec.containers[{name}].resources"
    other = _first_difference(old, new, ("requests", "limits"))
    if other is not None:
        return f"{at}.{other} changed"
    for kind in ("requests", "limits"):
        before, after = old.get(kind) or {}, new.get(kind) or {}
        for res in (*before, *(r for r in after if r not in before)):
            if before.get(res) == after.get(res):
                continue
            if res not in RESIZABLE:
                return f"{at}.{kind}.{res} changed (only cpu and memory resize in place)"
            if res not in after:
                return f"{at}.{kind}.{res} removed"
    return None


def diff_templates(old_template: Mapping[str, Any], new_template: Mapping[str, Any], *,
                   vertical_scaling: bool = False) -> InPlaceDiff:
    """Whether pods of ``old_template`` can be updated in place to ``new_template``.

    ``vertical_scaling`` allows cpu/memory resource changes that keep the pod's QoS
    class (the API server must then accept resource changes on pods).
    """
    top = _first_difference(old_template, new_template, ("metadata", "spec"))
    if top is not None:
        return _recreate(f"{top} changed")
    old_meta, new_meta = old_template.get("metadata") or {}, new_template.get("metadata") or {}
    other = _first_difference(old_meta, new_meta, _META_KEYS)
    if other is not None:
        return _recreate(f"metadata.{other} changed")
    old_spec, new_spec = old_template.get("spec") or {}, new_template.get("spec") or {}
    other = _first_difference(old_spec, new_spec, ("containers",))
    if other is not None:
        return _recreate(f"spec.{other} changed")

    old_cs: list[Obj] = list(old_spec.get("containers") or ())
    new_cs: list[Obj] = list(new_spec.get("containers") or ())
    old_names = [str(c.get("name")) for c in old_cs]
    new_names = [str(c.get("name")) for c in new_cs]
    if old_names != new_names:
        return _recreate(f"spec.containers changed: [{', '.join(old_names)}] -> "
                         f"[{', '.join(new_names)}] (added, removed or reordered)")

    images: dict[str, str] = {}
    resources: dict[str, Mapping[str, Any]] = {}
    for name, old_c, new_c in zip(old_names, old_cs, new_cs, strict=True):
        for key in (*old_c, *(k for k in new_c if k not in old_c)):
            if key == "name" or _norm(old_c.get(key)) == _norm(new_c.get(key)):
                continue
            if key == "image" and new_c.get("image"):
                images[name] = str(new_c["image"])
            elif key == "resources" and vertical_scaling:
                problem = _resources_problem(name, old_c.get("resources") or {},
                                             new_c.get("resources") or {})
                if problem is not None:
                    return _recreate(problem)
                resources[name] = dict(new_c.get("resources") or {})
            elif key == "resources":
                return _recreate(f"spec.containers[{name}].resources changed "
                                 "(in-place resize is off)")
            else:
                return _recreate(f"spec.containers[{name}].{key} changed")
    if resources:
        before, after = qos_class(old_spec), qos_class(new_spec)
        if before != after:
            first = next(iter(resources))
            return _recreate(f"spec.containers[{first}].resources changed the pod's QoS "
                             f"class ({before} -> {after})")

    changes = {kind: _metadata_changes(old_meta, new_meta, kind) for kind in _META_KEYS}
    env_metadata: dict[str, RefMetadata] = {}
    taken: set[tuple[str, str]] = set()
    for name, container in zip(new_names, new_cs, strict=True):
        refs = {(kind, key) for kind, key in env_references(container)
                if changes[kind].get(key) is not None}
        if not refs:
            continue
        if name not in images:
            kind, key = sorted(refs)[0]
            return _recreate(f"spec.containers[{name}].env reads metadata.{kind}['{key}'], "
                             "which changed; without a new image nothing restarts the "
                             "container in place")
        env_metadata[name] = RefMetadata(
            {k: str(changes["labels"][k]) for kind, k in refs if kind == "labels"},
            {k: str(changes["annotations"][k]) for kind, k in refs if kind == "annotations"})
        taken |= refs
    labels = {k: v for k, v in changes["labels"].items() if ("labels", k) not in taken}
    annotations = {k: v for k, v in changes["annotations"].items()
                   if ("annotations", k) not in taken}
    return InPlaceDiff(InPlaceChange(images, resources, labels, annotations, env_metadata))
