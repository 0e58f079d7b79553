"""Naming and history of a Deployment's ReplicaSets: the template hash and the annotations.

**pod-template-hash.**  Every ReplicaSet of a Deployment is the Deployment's
pod template at some moment; the hash names it (``<deployment>-<hash>``) and
is added to the ReplicaSet's selector, template labels and so to its pods, so
that ReplicaSets of one Deployment never select each other's pods.  Upstream
(``controller.ComputeHash``) feeds a Go-specific dump of the template struct to
FNV-32a, writes the collision count as 8 little-endian bytes, and renders the
32-bit sum's decimal digits with the "safe encode" alphabet
``bcdfghjklmnpqrstvwxz2456789`` (no vowels, so no words; digits map to
``4``-``9``, ``b``, ``c``, ``d``, ``f``).  Python cannot reproduce Go's dump, so
what we hash is the **canonical JSON of the template as the API server stored
it in the Deployment** (defaults applied): keys sorted, no whitespace, UTF-8,
with null values and empty objects/lists dropped at every level (Go cannot
tell those from absent fields either).  Everything after that is upstream's:
FNV-32a, the optional ``collisionCount`` as 8 bytes (uint32 little-endian, then
four zero bytes), safe encoding.  The same template always gives the same
name, so a repeated create answers AlreadyExists instead of duplicating.

**Which ReplicaSet is "new".**  The oldest ReplicaSet whose template equals
the Deployment's once the hash label is ignored (:func:`equal_ignore_hash`,
the same normalisation as the hash).

**Annotations** (``deployment.kubernetes.io/...``), as ``deployment_util.go``:

* ``revision`` — on each ReplicaSet: 1 + the highest revision of the others
  when it becomes the new one; an old ReplicaSet brought back (``kubectl
  rollout undo``) gets the next number and appends its previous one to
  ``revision-history`` (comma separated, at most 2000 characters, oldest
  dropped first).  The Deployment carries its new ReplicaSet's revision.
* ``desired-replicas`` / ``max-replicas`` — the Deployment's replicas and
  replicas + maxSurge when the ReplicaSet was last scaled: proportional
  scaling reads them to know what each ReplicaSet's share was.
* every other annotation of the Deployment (``kubernetes.io/change-cause``
  included) is copied to the new ReplicaSet, except kubectl's
  last-applied-configuration and the ones above; ``kubectl rollout history``
  shows change-cause from there, and ``rollout undo`` copies it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mizzen.runtime.hashing import canonical, fnv1a_32, normalised, safe_encode

__all__ = [
    "CHANGE_CAUSE",
    "DESIRED_REPLICAS",
    "MAX_REPLICAS",
    "POD_TEMPLATE_HASH",
    "REVISION",
    "REVISION_HISTORY",
    "canonical",
    "compute_hash",
    "equal_ignore_hash",
    "max_revision",
    "new_rs_annotations",
    "replicas_annotations_need_update",
    "revision_of",
    "safe_encode",
    "with_replicas_annotations",
]

Obj = dict[str, Any]

POD_TEMPLATE_HASH = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
# Deployment annotations never copied to its ReplicaSets.
SKIPPED = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS,
                     MAX_REPLICAS, ROLLBACK_TO})
MAX_HISTORY_CHARS = 2000



def _without_hash(template: Mapping[str, Any]) -> Obj:
    meta = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != POD_TEMPLATE_HASH}
    meta["labels"] = labels
    return {**template, "metadata": meta}


def compute_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    """The pod-template-hash of ``template`` (without any hash label of its own)."""
    h = fnv1a_32(canonical(_without_hash(template)))
    if collision_count is not None:
        h = fnv1a_32((collision_count & 0xFFFFFFFF).to_bytes(4, "little") + bytes(4), h)
    return safe_encode(str(h))


def equal_ignore_hash(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Templates equal once the pod-template-hash label is dropped from both."""
    return bool(normalised(_without_hash(a)) == normalised(_without_hash(b)))


# -- revisions -------------------------------------------------------------------------


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def revision_of(rs: Mapping[str, Any]) -> int | None:
    """The ReplicaSet's revision annotation (``None`` when absent or not an integer)."""
    raw = _annotations(rs).get(REVISION)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def max_revision(replica_sets: Iterable[Mapping[str, Any]]) -> int:
    """The highest revision among ``replica_sets`` (0 if none has one)."""
    return max((r for rs in replica_sets if (r := revision_of(rs)) is not None), default=0)


def _history(history: str, previous: str) -> str | None:
    """``history`` with ``previous`` appended, oldest entries dropped past the limit."""
    if not history:
        return previous
    entries = history.split(",")
    total = len(history) + len(previous) + 1
    start = 0
    while total > MAX_HISTORY_CHARS and start < len(entries):
        total -= len(entries[start]) + 1
        start += 1
    if total > MAX_HISTORY_CHARS:
        return None
    return ",".join([*entries[start:], previous])


def with_replicas_annotations(annotations: Mapping[str, str], desired: int,
                              max_replicas: int) -> dict[str, str]:
    return {**annotations, DESIRED_REPLICAS: str(desired), MAX_REPLICAS: str(max_replicas)}


def replicas_annotations_need_update(rs: Mapping[str, Any], desired: int,
                                     max_replicas: int) -> bool:
    found = _annotations(rs)
    return found.get(DESIRED_REPLICAS) != str(desired) or found.get(MAX_REPLICAS) != str(
        max_replicas)


def new_rs_annotations(deployment: Mapping[str, Any], rs_annotations: Mapping[str, str],
                       new_revision: int, exists: bool, desired: int,
                       max_replicas: int) -> tuple[dict[str, str], bool]:
    """The new ReplicaSet's annotations and whether they changed
    (upstream's ``SetNewReplicaSetAnnotations``)."""
    out = dict(rs_annotations)
    changed = False
    for key, value in _annotations(deployment).items():
        if key in SKIPPED or out.get(key) == value:
            continue
        out[key] = value
        changed = True
    previous = out.get(REVISION)
    try:
        old_revision = int(previous) if previous else 0
    except ValueError:
        return out, False  # upstream gives up on a non-integer revision
    if old_revision < new_revision:
        out[REVISION] = str(new_revision)
        changed = True
        if previous is not None:
            history = _history(out.get(REVISION_HISTORY, ""), previous)
            if history is not None:
                out[REVISION_HISTORY] = history
    if not exists:
        updated = with_replicas_annotations(out, desired, max_replicas)
        changed = changed or updated != out
        out = updated
    return out, changed
