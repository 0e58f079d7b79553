"""A CloneSet's ControllerRevisions: naming, equality, which is current, which to prune.

Why a module of pure functions: the revision history decides what "updated"
means for every pod (a pod is on the update revision when its
``controller-revision-hash`` label names it), so it must be exact and
testable without an API server.  The controller only executes what
:func:`plan_revisions` and :func:`history_to_delete` decide.

Upstream's rules (``pkg/controller/history`` and kruise's revision control):

* **Data.**  A revision stores only the pod template, as a strategic-merge
  patch that replaces the whole template:
  ``{"spec": {"template": {..., "$patch": "replace"}}}``.
* **Name.**  ``<cloneset>-<hash>`` (the prefix cut to 223 characters).  The
  hash is 32-bit FNV-1 — ``fnv.New32``, *not* FNV-1a, as
  ``HashControllerRevision`` uses — over the data's bytes followed by the
  decimal digits of ``collisionCount``, rendered in decimal and then
  "safe encoded" into ``bcdfghjklmnpqrstvwxz2456789`` (no vowels, no words).
  Go serialises the data with its struct field order; we hash the
  canonical JSON instead (keys sorted, null/empty values dropped), so the
  same template always gives the same name here, though not Go's name.
* **Labels.**  The template's labels plus ``controller.kubernetes.io/hash``
  (the hash); annotations are the CloneSet's (without kubectl's
  last-applied copy, which would double every revision's size).
* **Equality.**  Two revisions are equal when their data are equal.
  (Upstream first compares the hash labels parsed as decimal integers, which
  a safe-encoded hash practically never is, so in effect it too compares the
  data only — and a revision named under another collisionCount still
  matches.)
* **Update revision.**  If the newest revision equals the one the current
  template makes, it is the update revision; if an older one does (a
  rollback to an earlier template), that one is reused and its revision
  number bumped past the newest; otherwise a new revision is created.  A
  name taken by a revision with different data is a hash collision:
  ``collisionCount`` goes up by one and the name is computed again.
* **Current revision.**  The revision named by ``status.currentRevision``;
  before there is one, the update revision.
* **History.**  Revisions neither current, update, nor carried by a pod are
  deleted oldest first until ``revisionHistoryLimit`` remain.

Pods name their revision with the full name; :func:`pod_has_revision` also
accepts a bare hash, as upstream's ``EqualToRevisionHash`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mizzen.api.kruise import CONTROLLER_REVISION_HASH
from mizzen.cluster.podutil import controller_ref, labels_of, parse_time
from mizzen.runtime.cache import copy_of
from mizzen.runtime.hashing import canonical, fnv1_32, safe_encode

__all__ = [
    "HASH_LABEL",
    "MAX_COLLISIONS",
    "RevisionPlan",
    "equal_revision",
    "hash_revision",
    "history_to_delete",
    "label_matches",
    "new_revision",
    "next_revision_number",
    "plan_revisions",
    "pod_has_revision",
    "pod_revision",
    "revision_data",
    "revision_matches",
    "revision_name",
    "revision_number",
    "short_hash",
    "sort_revisions",
    "template_of",
]

Obj = dict[str, Any]

# Label on a ControllerRevision: the hash part of its name.
HASH_LABEL = "controller.kubernetes.io/hash"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Collisions tried before giving up in one pass (each is a different name).
MAX_COLLISIONS = 64


# -- data, hash, name ----------------------------------------------------------------


def revision_data(template: Mapping[str, Any]) -> Obj:
    """The ``data`` of a revision for pod ``template`` (a replace patch of spec.template)."""
    patch = copy_of(template)
    patch["$patch"] = "replace"
    return {"spec": {"template": patch}}


def template_of(revision: Mapping[str, Any]) -> Obj:
    """The pod template a revision stores (a copy, without the ``$patch`` directive)."""
    data = revision.get("data") or {}
    template = copy_of(((data.get("spec") or {}).get("template")) or {})
    template.pop("$patch", None)
    return template


def hash_revision(data: Mapping[str, Any], collision_count: int | None) -> str:
    """FNV-1 32 of the canonical data, then ``collision_count``'s digits; safe encoded."""
    h = fnv1_32(canonical(data))
    if collision_count is not None:
        h = fnv1_32(str(collision_count).encode(), h)
    return safe_encode(str(h))


def revision_name(prefix: str, hash_: str) -> str:
    """``<prefix>-<hash>``, the prefix cut to 223 characters (names stay <= 253)."""
    return f"{prefix[:223]}-{hash_}"


def short_hash(name: str) -> str:
    """The hash part of a revision name (after the last ``-``)."""
    return name.rsplit("-", 1)[-1]


def new_revision(cloneset: Mapping[str, Any], template: Mapping[str, Any], number: int,
                 collision_count: int, api_version: str, kind: str) -> Obj:
    """A ControllerRevision for ``template`` owned by ``cloneset`` (not yet created)."""
    meta = cloneset.get("metadata") or {}
    data = revision_data(template)
    hash_ = hash_revision(data, collision_count)
    labels = dict(((template.get("metadata") or {}).get("labels")) or {})
    labels[HASH_LABEL] = hash_
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    rev_meta: Obj = {"name": revision_name(str(meta.get("name", "")), hash_),
                     "namespace": meta.get("namespace"), "labels": labels,
                     "ownerReferences": [controller_ref(cloneset, api_version, kind)]}
    if annotations:
        rev_meta["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": rev_meta,
            "data": data, "revision": number}


# -- comparing and ordering ----------------------------------------------------------


def revision_number(revision: Mapping[str, Any]) -> int:
    value = revision.get("revision")
    return value if isinstance(value, int) else 0


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def equal_revision(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal data (the stored templates are the same)."""
    return canonical(a.get("data") or {}) == canonical(b.get("data") or {})


def sort_revisions(revisions: Iterable[Obj]) -> list[Obj]:
    """Oldest first: by revision number, then creation time, then name."""
    def key(rev: Obj) -> tuple[int, str, str]:
        created = parse_time((rev.get("metadata") or {}).get("creationTimestamp"))
        return revision_number(rev), created.isoformat() if created else "", _name(rev)

    return sorted(revisions, key=key)


def next_revision_number(revisions: Sequence[Mapping[str, Any]]) -> int:
    """One more than the highest revision number (1 for an empty history)."""
    return max((revision_number(r) for r in revisions), default=0) + 1


def pod_revision(pod: Mapping[str, Any]) -> str:
    """The revision a pod is on (its ``controller-revision-hash`` label, "" if none)."""
    return str(labels_of(pod).get(CONTROLLER_REVISION_HASH) or "")


def label_matches(label: str, revision: str) -> bool:
    """A ``controller-revision-hash`` value names ``revision``: equal, or equal after the
    last ``-`` (a bare hash matches ``<cloneset>-<hash>``), as upstream compares."""
    return label == revision or label.rpartition("-")[2] == revision.rpartition("-")[2]


def revision_matches(pod: Mapping[str, Any], revision: str) -> bool:
    """The pod's ``controller-revision-hash`` label names ``revision`` (:func:`label_matches`;
    a pod without the label matches only a revision name ending in ``-``)."""
    return label_matches(pod_revision(pod), revision)


def pod_has_revision(pod: Mapping[str, Any], name: str) -> bool:
    """The pod's revision label names ``name`` (full name or bare hash)."""
    label = pod_revision(pod)
    return bool(label) and label_matches(label, name)


# -- deciding ------------------------------------------------------------------------


@dataclass(frozen=True)
class RevisionPlan:
    """Where the revisions stand for one pass; at most one of the writes is set."""

    # The update revision when it exists as wanted (None while a write is needed).
    update: Obj | None
    # The current revision (status.currentRevision's, else the update revision).
    current: Obj | None
    # The collisionCount to report (status.collisionCount), after any collision found.
    collision_count: int
    # Write: create this ControllerRevision (the update revision is new).
    create: Obj | None = None
    # Write: (name, number): reuse an older equal revision, bumping its number (rollback).
    bump: tuple[str, int] | None = None


def plan_revisions(cloneset: Mapping[str, Any], template: Mapping[str, Any],
                   revisions: Sequence[Obj], taken: Mapping[str, Obj], collision_count: int,
                   current_name: str, api_version: str, kind: str) -> RevisionPlan:
    """Find (or decide to write) the update revision and find the current one.

    ``revisions`` are the CloneSet's own (owned, or orphans its selector
    matches); ``taken`` maps every revision name of the namespace to its
    object, so a hash collision with any revision is seen before a create.
    """
    ordered = sort_revisions(revisions)
    count = collision_count
    wanted = new_revision(cloneset, template, next_revision_number(ordered), count, api_version,
                          kind)
    equal = [r for r in ordered if equal_revision(r, wanted)]
    create: Obj | None = None
    bump: tuple[str, int] | None = None
    update: Obj | None
    if equal and _name(equal[-1]) == _name(ordered[-1]):
        update = ordered[-1]
    elif equal:
        update, bump = None, (_name(equal[-1]), revision_number(wanted))
    else:
        for _ in range(MAX_COLLISIONS):
            clash = taken.get(_name(wanted))
            if clash is None:
                break
            if canonical(clash.get("data") or {}) == canonical(wanted["data"]):
                break  # ours in all but ownership/labels: creating answers AlreadyExists
            count += 1
            wanted = new_revision(cloneset, template, revision_number(wanted), count,
                                  api_version, kind)
        update, create = None, wanted
    current = next((r for r in ordered if _name(r) == current_name), None) if current_name \
        else None
    if current is None:
        current = update
    return RevisionPlan(update, current, count, create, bump)


def history_to_delete(revisions: Sequence[Obj], pods: Iterable[Mapping[str, Any]],
                      current_name: str, update_name: str, limit: int) -> list[str]:
    """Names of revisions to delete, oldest first, keeping ``limit`` unused ones."""
    in_use = {current_name, update_name}
    if sum(1 for r in revisions if _name(r) not in in_use) <= max(limit, 0):
        return []  # within the limit whatever the pods carry: no need to look at them
    labels = {pod_revision(p) for p in pods}
    history = [r for r in sort_revisions(revisions)
               if _name(r) not in in_use
               and not any(label and (label == _name(r) or short_hash(label) ==
                                      short_hash(_name(r))) for label in labels)]
    excess = len(history) - max(limit, 0)
    return [_name(r) for r in history[:excess]] if excess > 0 else []
