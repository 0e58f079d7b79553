"""Convert a raw CloneSet between ``apps.kruise.io/v1alpha1`` and ``v1beta1``, losslessly.

Why shaped so: two layers.

1. A field mapping (:func:`_to_v1beta1`, :func:`_to_v1alpha1`) that keeps
   the *meaning*: v1alpha1 ``updateStrategy.type`` ReCreate, InPlaceIfPossible
   or InPlaceOnly becomes v1beta1 ``type: RollingUpdate`` with
   ``rollingUpdate.podUpdatePolicy``, OnDelete stays OnDelete, and the other
   knobs move under ``rollingUpdate`` (kept there under OnDelete too);
   ``disablePVCReuse`` becomes ``enablePVCReuse`` inverted, always written,
   since the two versions default the other way round; the v1alpha1 label
   ``apps.kruise.io/cloneset-scaling-exclude-preparing-delete`` becomes
   ``scaleStrategy.excludePreparingDelete`` and the
   ``apps.kruise.io/image-predownload-*`` annotations become
   ``inPlaceUpdateStrategy`` fields.  Everything else, status included, is
   copied.  On objects as the API server defaults them the mapping alone
   round-trips exactly.

2. What the mapping cannot say in the other version — a v1beta1 pod update
   policy under ``OnDelete``, ``excludePreparingDelete: false`` written out,
   an explicit ``disablePVCReuse: false``, an empty ``updateStrategy`` —
   is kept as upstream Kubernetes keeps such things: the converted object
   carries the original's differing parts in the annotation
   :data:`ORIGINAL_ANNOTATION`, and converting back restores them, but only
   if the object was not changed in between (the restored candidate must
   map onto the object exactly); otherwise the plain mapping wins and the
   stale note is dropped.  The note is only written when the mapping alone
   would lose something, so ordinary objects never carry it.

``convert`` is pure: it never changes its argument and returns a new dict.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import orjson

from mizzen.api.cloneset.parse import EXCLUDE_PREPARING_DELETE_LABEL, api_version_of
from mizzen.api.cloneset.types import GROUP, VERSIONS, PodUpdatePolicy, UpdateType

__all__ = ["IMAGE_PREDOWNLOAD_ANNOTATIONS", "ORIGINAL_ANNOTATION", "convert"]

Obj = dict[str, Any]

# Annotation on a converted object: JSON of the original's parts the field
# mapping cannot express, ``{"version": v, "parts": {"spec.updateStrategy": ...},
# "absent": ["spec.scaleStrategy"]}`` (parts the original did not have).
ORIGINAL_ANNOTATION = "conversion.mizzen.dev/cloneset-original"

# v1alpha1 annotation -> v1beta1 ``inPlaceUpdateStrategy`` field.
IMAGE_PREDOWNLOAD_ANNOTATIONS = {
    "apps.kruise.io/image-predownload-parallelism": "imagePreDownloadParallelism",
    "apps.kruise.io/image-predownload-timeout-seconds": "imagePreDownloadTimeoutSeconds",
    "apps.kruise.io/image-predownload-min-updated-ready-pods":
        "imagePreDownloadMinUpdatedReadyPods",
}

# The parts of an object the field mapping rewrites; the note records these.
_PARTS = (("spec", "updateStrategy"), ("spec", "scaleStrategy"),
          ("metadata", "labels"), ("metadata", "annotations"))
_NUMBER = re.compile(r"^-?[0-9]+$")


class _Absent:
    """Marks a part the original did not have (distinct from ``null`` and ``{}``)."""


_ABSENT: Any = _Absent()


def convert(obj: Obj, to_version: str) -> Obj:
    """``obj`` (a CloneSet in either served version) as ``to_version``; never changes ``obj``."""
    if to_version not in VERSIONS:
        raise ValueError(f"cannot convert CloneSet to {to_version!r}: served versions are "
                         f"{', '.join(VERSIONS)}")
    from_version = api_version_of(obj)
    if from_version == to_version:
        return copy.deepcopy(obj)
    restored = _restore(obj, to_version)
    if restored is not None:
        return restored
    source = _without_note(obj)
    out = _map(source, to_version)
    back = _map(out, from_version)
    if back != source:
        _set_note(out, from_version, source, back)
    return out


def _map(obj: Obj, to_version: str) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = f"{GROUP}/{to_version}"
    return _to_v1beta1(out) if to_version == "v1beta1" else _to_v1alpha1(out)


# --- the field mapping ---------------------------------------------------------


def _to_v1beta1(out: Obj) -> Obj:
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    raw_meta = out.get("metadata")
    meta: Obj = raw_meta if isinstance(raw_meta, dict) else {}
    raw_labels = meta.get("labels")
    labels: Obj = raw_labels if isinstance(raw_labels, dict) else {}
    scale = spec.get("scaleStrategy")
    scale = dict(scale) if isinstance(scale, dict) else {}
    scale["enablePVCReuse"] = not scale.pop("disablePVCReuse", False)
    if labels.get(EXCLUDE_PREPARING_DELETE_LABEL) == "true":
        scale["excludePreparingDelete"] = True
        _pop(meta, "labels", EXCLUDE_PREPARING_DELETE_LABEL)
    spec["scaleStrategy"] = scale

    strategy = spec.get("updateStrategy")
    pre_download = _pop_pre_download_annotations(meta)
    if strategy is None and not pre_download:
        return out
    rolling = dict(strategy) if isinstance(strategy, dict) else {}
    kind = rolling.pop("type", None)
    beta: Obj = {}
    if kind == UpdateType.ON_DELETE.value:
        beta["type"] = UpdateType.ON_DELETE.value
        # v1alpha1 cannot name a policy under OnDelete; v1beta1's default is ReCreate.
        rolling["podUpdatePolicy"] = PodUpdatePolicy.RECREATE.value
    elif kind is not None:
        beta["type"] = UpdateType.ROLLING_UPDATE.value
        rolling["podUpdatePolicy"] = kind
    if pre_download:
        in_place = rolling.get("inPlaceUpdateStrategy")
        rolling["inPlaceUpdateStrategy"] = {
            **(in_place if isinstance(in_place, dict) else {}), **pre_download}
    if rolling:
        beta["rollingUpdate"] = rolling
    spec["updateStrategy"] = beta
    return out


def _to_v1alpha1(out: Obj) -> Obj:
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    scale = spec.get("scaleStrategy")
    scale = dict(scale) if isinstance(scale, dict) else {}
    # Unset enablePVCReuse means no reuse in v1beta1; say so in v1alpha1.
    if not scale.pop("enablePVCReuse", False):
        scale["disablePVCReuse"] = True
    if scale.pop("excludePreparingDelete", False):
        _metadata_map(out, "labels")[EXCLUDE_PREPARING_DELETE_LABEL] = "true"
    elif isinstance(out.get("metadata"), dict):
        # v1beta1 ignores the label; in v1alpha1 it would switch exclusion on.
        labels = out["metadata"].get("labels")
        if isinstance(labels, dict) and labels.get(EXCLUDE_PREPARING_DELETE_LABEL) == "true":
            _pop(out["metadata"], "labels", EXCLUDE_PREPARING_DELETE_LABEL)
    if scale:
        spec["scaleStrategy"] = scale
    else:
        spec.pop("scaleStrategy", None)

    strategy = spec.get("updateStrategy")
    if not isinstance(strategy, dict):
        return out
    rolling = strategy.get("rollingUpdate")
    alpha = dict(rolling) if isinstance(rolling, dict) else {}
    policy = alpha.pop("podUpdatePolicy", None)
    kind = strategy.get("type")
    if kind == UpdateType.ON_DELETE.value:
        alpha["type"] = UpdateType.ON_DELETE.value
    elif kind is not None or policy is not None:
        alpha["type"] = policy if policy is not None else PodUpdatePolicy.RECREATE.value
    in_place = alpha.get("inPlaceUpdateStrategy")
    if isinstance(in_place, dict):
        in_place = dict(in_place)
        moved = _push_pre_download_annotations(in_place, out)
        if moved and not in_place:
            del alpha["inPlaceUpdateStrategy"]
        else:
            alpha["inPlaceUpdateStrategy"] = in_place
    spec["updateStrategy"] = alpha
    return out


def _pop_pre_download_annotations(meta: Obj) -> Obj:
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        return {}
    fields: Obj = {}
    for key, name in IMAGE_PREDOWNLOAD_ANNOTATIONS.items():
        raw = annotations.get(key)
        if not isinstance(raw, str) or not raw:
            continue
        value: int | str | None = raw
        if _NUMBER.match(raw):
            value = int(raw)
        elif name != "imagePreDownloadParallelism":
            value = None  # not a number: leave the annotation where it is
        if value is not None:
            fields[name] = value
            _pop(meta, "annotations", key)
    return fields


def _push_pre_download_annotations(in_place: Obj, out: Obj) -> bool:
    moved = False
    for key, name in IMAGE_PREDOWNLOAD_ANNOTATIONS.items():
        if name in in_place:
            value = in_place.pop(name)
            if value is not None:
                _metadata_map(out, "annotations")[key] = str(value)
            moved = True
    return moved


def _metadata_map(out: Obj, field: str) -> Obj:
    """``out.metadata[field]`` (labels or annotations), created if missing."""
    meta = out.get("metadata")
    if not isinstance(meta, dict):
        meta = out["metadata"] = {}
    values = meta.get(field)
    if not isinstance(values, dict):
        values = meta[field] = {}
    return values


def _pop(meta: Obj, field: str, key: str) -> None:
    """Remove ``meta[field][key]``; drop ``meta[field]`` if that empties it."""
    values = meta.get(field)
    if isinstance(values, dict):
        values.pop(key, None)
        if not values:
            del meta[field]


# --- the note that makes round trips exact -------------------------------------


def _get_part(obj: Obj, path: tuple[str, str]) -> Any:
    parent = obj.get(path[0])
    if isinstance(parent, dict) and path[1] in parent:
        return parent[path[1]]
    return _ABSENT


def _set_part(obj: Obj, path: tuple[str, str], value: Any) -> None:
    if value is _ABSENT:
        parent = obj.get(path[0])
        if isinstance(parent, dict):
            parent.pop(path[1], None)
        return
    parent = obj.setdefault(path[0], {})
    if isinstance(parent, dict):
        parent[path[1]] = copy.deepcopy(value)


def _set_note(out: Obj, version: str, original: Obj, mapped_back: Obj) -> None:
    """Record on ``out`` the parts of ``original`` that mapping ``out`` back gets wrong."""
    parts: Obj = {}
    absent: list[str] = []
    for path in _PARTS:
        value = _get_part(original, path)
        if value != _get_part(mapped_back, path):
            if value is _ABSENT:
                absent.append(".".join(path))
            else:
                parts[".".join(path)] = value
    note = orjson.dumps({"version": version, "parts": parts, "absent": absent},
                        option=orjson.OPT_SORT_KEYS).decode()
    _metadata_map(out, "annotations")[ORIGINAL_ANNOTATION] = note


def _read_note(obj: Obj) -> Obj | None:
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    raw = annotations.get(ORIGINAL_ANNOTATION) if isinstance(annotations, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        note = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(note, dict) or not isinstance(note.get("parts"), dict) or \
            not isinstance(note.get("absent"), list):
        return None
    return note


def _without_note(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    meta = out.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
        meta["annotations"].pop(ORIGINAL_ANNOTATION, None)
        if not meta["annotations"]:
            del meta["annotations"]
    return out


def _restore(obj: Obj, to_version: str) -> Obj | None:
    """The original ``obj`` was converted from, if its note still describes ``obj``."""
    note = _read_note(obj)
    if note is None or note.get("version") != to_version:
        return None
    current = _without_note(obj)
    candidate = _map(current, to_version)
    for path in _PARTS:
        name = ".".join(path)
        if name in note["parts"]:
            _set_part(candidate, path, note["parts"][name])
        elif name in note["absent"]:
            _set_part(candidate, path, _ABSENT)
    if _without_note(_map(candidate, api_version_of(obj))) != current:
        return None  # the object changed since it was converted: the note is stale
    return candidate
