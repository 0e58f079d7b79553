"""Pod and ownership facts the workload controllers share, as pure functions over API dicts.

Why a module of its own: the ReplicaSet controller counts ready and available
pods and adopts orphans; the Deployment controller adopts orphan ReplicaSets
and waits for old pods to go; both read label selectors and owner references.
Controllers never import each other, so what they have in common lives here.
Everything takes the informers' read-only cache objects and returns new values;
nothing here writes to the API or changes its arguments.

Upstream equivalents, whose semantics are kept:

* ``k8s.io/kubernetes/pkg/api/v1/pod`` — :func:`is_ready`, :func:`is_available`
  (ready for more than ``minReadySeconds``, measured on the caller's clock);
* ``pkg/controller`` — :func:`is_active` (not finished, not being deleted),
  :func:`claim` (``BaseControllerRefManager.ClaimObject``: adopt orphans that
  match, release owned objects that no longer match, never while the owner is
  being deleted), the controller owner reference with ``blockOwnerDeletion``;
* apimachinery's ``LabelSelectorAsSelector`` — :func:`selector_matches` (a
  missing selector selects nothing, an empty one everything).

:func:`by_controller` is an informer indexer: objects by their controller's
UID, and orphans under ``orphan/<namespace>``, so "my pods plus the orphans I
might adopt" is two dict lookups instead of a scan of the namespace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "BY_CONTROLLER",
    "DELETION_COST",
    "Claim",
    "adopt_patch",
    "available_at",
    "cache_has_seen",
    "by_controller",
    "claim",
    "controlled_by",
    "controller_of",
    "controller_ref",
    "deletion_cost",
    "is_active",
    "is_available",
    "is_ready",
    "is_terminating",
    "labels_of",
    "orphan_key",
    "parse_time",
    "ready_since",
    "release_patch",
    "restarts",
    "rfc3339",
    "selector_is_empty",
    "selector_matches",
]

Obj = dict[str, Any]

BY_CONTROLLER = "controller-uid"
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_INT32 = (-(2**31), 2**31 - 1)


# -- time ------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp from the API (``None`` when absent or malformed)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def rfc3339(t: datetime) -> str:
    """Seconds precision, as the API serialises ``metav1.Time``."""
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- metadata --------------------------------------------------------------------------


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return _meta(obj).get("labels") or {}


def is_terminating(obj: Mapping[str, Any]) -> bool:
    """Deletion has begun (``deletionTimestamp`` is set)."""
    return bool(_meta(obj).get("deletionTimestamp"))


def controller_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The owner reference with ``controller: true``, if any."""
    for ref in _meta(obj).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref  # type: ignore[no-any-return]
    return None


def controlled_by(obj: Mapping[str, Any], kind: str, group: str) -> str | None:
    """The name of ``obj``'s controller when it is a ``kind`` of API ``group``."""
    ref = controller_of(obj)
    if ref is None or ref.get("kind") != kind:
        return None
    if str(ref.get("apiVersion", "")).rpartition("/")[0] != group:
        return None
    return str(ref.get("name") or "") or None


def controller_ref(owner: Mapping[str, Any], api_version: str, kind: str) -> Obj:
    """The owner reference a controller puts on what it creates or adopts."""
    meta = _meta(owner)
    return {"apiVersion": api_version, "kind": kind, "name": meta.get("name", ""),
            "uid": meta.get("uid", ""), "controller": True, "blockOwnerDeletion": True}


def orphan_key(namespace: str) -> str:
    """The :func:`by_controller` index value of objects without a controller."""
    return f"orphan/{namespace}"


def by_controller(obj: Obj) -> Iterable[str]:
    """Indexer: the controller's UID, or :func:`orphan_key` of the object's namespace."""
    ref = controller_of(obj)
    if ref is not None and ref.get("uid"):
        return (str(ref["uid"]),)
    return (orphan_key(str(_meta(obj).get("namespace") or "")),)


# -- label selectors -------------------------------------------------------------------


def selector_is_empty(selector: Mapping[str, Any] | None) -> bool:
    """``{}``: selects everything, which workloads must not do."""
    return selector is not None and not selector.get("matchLabels") \
        and not selector.get("matchExpressions")


def _expression_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op = expr.get("key", ""), expr.get("operator", "")
    values = expr.get("values") or ()
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False  # an unknown operator selects nothing (validation rejects it)


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a ``metav1.LabelSelector`` selects ``labels`` (``None`` selects nothing)."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_expression_matches(e, labels) for e in selector.get("matchExpressions") or ())


# -- pod state -------------------------------------------------------------------------


def is_active(pod: Mapping[str, Any]) -> bool:
    """Not Succeeded, not Failed and not being deleted: it counts as a replica."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not is_terminating(pod)


def _ready_condition(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond  # type: ignore[no-any-return]
    return None


def is_ready(pod: Mapping[str, Any]) -> bool:
    cond = _ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def ready_since(pod: Mapping[str, Any]) -> datetime | None:
    """When a ready pod became ready (its Ready condition's lastTransitionTime)."""
    cond = _ready_condition(pod)
    if cond is None or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime"))


def available_at(pod: Mapping[str, Any], min_ready_seconds: int) -> datetime | None:
    """When a ready pod's ``minReadySeconds`` run out (``None``: not ready, or its
    Ready condition has no transition time)."""
    since = ready_since(pod)
    return None if since is None else since + timedelta(seconds=min_ready_seconds)


def is_available(pod: Mapping[str, Any], min_ready_seconds: int, now: datetime) -> bool:
    """Ready, and for longer than ``minReadySeconds`` (strictly, as upstream)."""
    if not is_ready(pod):
        return False
    if min_ready_seconds == 0:
        return True
    since = ready_since(pod)
    return since is not None and since + timedelta(seconds=min_ready_seconds) < now


def restarts(pod: Mapping[str, Any]) -> tuple[int, int]:
    """``(sidecar, regular)``: the highest restart count of restartable init containers
    (sidecars) and of ordinary containers."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    sidecars = {c.get("name") for c in spec.get("initContainers") or ()
                if c.get("restartPolicy") == "Always"}
    sidecar = max((int(s.get("restartCount") or 0) for s in status.get("initContainerStatuses")
                   or () if s.get("name") in sidecars), default=0)
    regular = max((int(s.get("restartCount") or 0)
                   for s in status.get("containerStatuses") or ()), default=0)
    return sidecar, regular


def deletion_cost(pod: Mapping[str, Any]) -> int:
    """``controller.kubernetes.io/pod-deletion-cost`` (0 when absent or not an int32)."""
    raw = (_meta(pod).get("annotations") or {}).get(DELETION_COST)
    try:
        cost = int(str(raw).strip())
    except (TypeError, ValueError):
        return 0
    return cost if _INT32[0] <= cost <= _INT32[1] else 0


# -- our own writes ---------------------------------------------------------------------


def cache_has_seen(cached: Mapping[str, Any] | None, written: Mapping[str, Any]) -> bool:
    """Whether a cached object already reflects ``written`` (a write's response): same
    UID and a resourceVersion at least as new.  A controller expecting its write to show
    up must check this right after the response, with no ``await`` in between: the
    write's own watch event may have arrived before its response, and an expectation
    registered after its event would wait for an event that never comes."""
    if cached is None:
        return False
    new, old = _meta(written), _meta(cached)
    if new.get("uid") != old.get("uid"):
        return False
    seen, wrote = str(old.get("resourceVersion", "")), str(new.get("resourceVersion", ""))
    if seen.isdigit() and wrote.isdigit():
        return int(seen) >= int(wrote)
    return seen == wrote


# -- claiming --------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """How an owner's view of candidate objects splits (``ClaimObject``)."""

    # Controlled by the owner and still selected: its objects.
    owned: tuple[Obj, ...]
    # Orphans the owner selects: adopt them (they become owned after the patch).
    adopt: tuple[Obj, ...]
    # Controlled by the owner but no longer selected: drop the owner reference.
    release: tuple[Obj, ...]


def claim(owner: Mapping[str, Any], candidates: Sequence[Obj],
          matches: Callable[[Obj], bool]) -> Claim:
    """Split ``candidates`` as upstream's controller ref manager does.

    Objects controlled by someone else are ignored.  While the owner is being
    deleted it neither adopts nor releases; objects being deleted are never
    adopted; nothing crosses namespaces.
    """
    meta = _meta(owner)
    uid, namespace = meta.get("uid"), meta.get("namespace") or ""
    deleting = is_terminating(owner)
    owned: list[Obj] = []
    adopt: list[Obj] = []
    release: list[Obj] = []
    for obj in candidates:
        ref = controller_of(obj)
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches(obj):
                owned.append(obj)
            elif not deleting:
                release.append(obj)
            continue
        if deleting or not matches(obj) or is_terminating(obj):
            continue
        if namespace and (_meta(obj).get("namespace") or "") != namespace:
            continue
        adopt.append(obj)
    return Claim(tuple(owned), tuple(adopt), tuple(release))


def adopt_patch(ref: Mapping[str, Any], obj: Mapping[str, Any]) -> Obj:
    """Strategic merge patch adding controller reference ``ref`` (ownerReferences merge
    by uid); carries the object's uid as upstream does."""
    return {"metadata": {"ownerReferences": [dict(ref)], "uid": _meta(obj).get("uid")}}


def release_patch(owner_uid: str, obj: Mapping[str, Any]) -> Obj:
    """Strategic merge patch deleting the owner reference with ``owner_uid``."""
    return {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner_uid}],
                         "uid": _meta(obj).get("uid")}}
