"""Replica arithmetic of a Deployment: how many pods each ReplicaSet should have next.

Pure functions over the Deployment and its ReplicaSets (cache dicts), each one
upstream function of ``pkg/controller/deployment`` (``rolling.go``,
``sync.go``, ``util/deployment_util.go``).  They return target sizes by
ReplicaSet name; deciding which writes to make is ``plan.py``'s job.

**Fenceposts.**  ``maxSurge`` and ``maxUnavailable`` are an int or a percent
of ``spec.replicas``; a percent rounds **up** for surge and **down** for
unavailable.  If both resolve to 0 (possible after rounding, e.g. 25% of 1
unavailable), unavailable becomes 1: a rollout must be able to take a pod
down.  With ``Recreate`` both are 0.

**A rolling step**, worked for replicas 10, maxSurge 3, maxUnavailable 2
(at most 13 pods, at least 8 available):

1. :func:`new_rs_replicas` — the new ReplicaSet grows to the room left under
   13, never beyond 10: 10 old → new 3;
2. :func:`scale_down_old` — old ReplicaSets shrink by at most
   ``all - minAvailable - unavailable pods of the new one`` (13 - 8 - 3 = 2
   while the 3 new pods are not ready): first their *unhealthy* replicas
   (spec above available, oldest ReplicaSet first), then, if more than 8 pods
   are available, the surplus over 8: old 10 → 8;
3. once new pods become available the cycle repeats: new 5, old 5 … new 10.

**Proportional scaling** (:func:`proportional`): when ``spec.replicas``
changes mid-rollout, the difference to ``replicas + maxSurge`` is shared out
in proportion to each active ReplicaSet's size as recorded by its
``max-replicas`` annotation, larger ReplicaSets first (ties: newer first when
growing, older first when shrinking), the rounding leftover to the first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from mizzen.cluster.deployment.revision import DESIRED_REPLICAS, MAX_REPLICAS
from mizzen.cluster.podutil import parse_time

__all__ = [
    "active",
    "by_creation",
    "find_active_or_latest",
    "is_rolling",
    "is_saturated",
    "max_surge",
    "max_unavailable",
    "name_of",
    "new_rs_replicas",
    "proportional",
    "replicas_of",
    "resolve_fenceposts",
    "scale_down_old",
    "scaled_value",
    "status_count",
    "total",
]

Obj = dict[str, Any]
_EPOCH = datetime.min


def name_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def replicas_of(obj: Mapping[str, Any]) -> int:
    """``spec.replicas`` (the API server defaults it to 1)."""
    value = (obj.get("spec") or {}).get("replicas")
    return value if isinstance(value, int) else 1


def status_count(obj: Mapping[str, Any], field: str) -> int:
    value = (obj.get("status") or {}).get(field)
    return value if isinstance(value, int) else 0


def total(rss: Sequence[Mapping[str, Any]], field: str | None = None) -> int:
    """Sum of ``spec.replicas`` (``field=None``) or of a status count."""
    if field is None:
        return sum(replicas_of(rs) for rs in rss)
    return sum(status_count(rs, field) for rs in rss)


def active(rss: Sequence[Obj]) -> list[Obj]:
    """ReplicaSets with ``spec.replicas > 0``."""
    return [rs for rs in rss if replicas_of(rs) > 0]


def _created(rs: Mapping[str, Any]) -> tuple[datetime, str]:
    t = parse_time((rs.get("metadata") or {}).get("creationTimestamp"))
    return (t.replace(tzinfo=None) if t is not None else _EPOCH, name_of(rs))


def by_creation(rss: Sequence[Obj], newest_first: bool = False) -> list[Obj]:
    """Oldest first (ties by name), as ``ReplicaSetsByCreationTimestamp``."""
    return sorted(rss, key=_created, reverse=newest_first)


# -- fenceposts ------------------------------------------------------------------------


def scaled_value(value: Any, total_: int, round_up: bool) -> int:
    """An IntOrString resolved against ``total_`` (0 when malformed: validation's job)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or not value.endswith("%"):
        return 0
    try:
        percent = int(value[:-1])
    except ValueError:
        return 0
    scaled = percent * total_ / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


def is_rolling(deployment: Mapping[str, Any]) -> bool:
    strategy = (deployment.get("spec") or {}).get("strategy") or {}
    return (strategy.get("type") or "RollingUpdate") == "RollingUpdate"


def resolve_fenceposts(deployment: Mapping[str, Any]) -> tuple[int, int]:
    """``(maxSurge, maxUnavailable)`` as numbers of pods."""
    strategy = (deployment.get("spec") or {}).get("strategy") or {}
    rolling = strategy.get("rollingUpdate") or {}
    desired = replicas_of(deployment)
    surge = scaled_value(rolling.get("maxSurge", 0), desired, True)
    unavailable = scaled_value(rolling.get("maxUnavailable", 0), desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(deployment: Mapping[str, Any]) -> int:
    return resolve_fenceposts(deployment)[0] if is_rolling(deployment) else 0


def max_unavailable(deployment: Mapping[str, Any]) -> int:
    desired = replicas_of(deployment)
    if not is_rolling(deployment) or desired == 0:
        return 0
    return min(resolve_fenceposts(deployment)[1], desired)


# -- rolling update --------------------------------------------------------------------


def new_rs_replicas(deployment: Mapping[str, Any], all_rss: Sequence[Obj],
                    new_replicas: int) -> int:
    """The new ReplicaSet's next size (``NewRSNewReplicas``); ``all_rss`` includes it."""
    desired = replicas_of(deployment)
    if not is_rolling(deployment):
        return desired
    max_total = desired + max_surge(deployment)
    current = total(all_rss)
    if current >= max_total:
        return new_replicas
    return new_replicas + min(max_total - current, desired - new_replicas)


def scale_down_old(deployment: Mapping[str, Any], all_rss: Sequence[Obj],
                   old_active: Sequence[Obj], new_rs: Obj) -> dict[str, int]:
    """Old ReplicaSets' next sizes (``reconcileOldReplicaSets``); only changed ones."""
    old_count = total(old_active)
    if old_count == 0:
        return {}
    min_available = replicas_of(deployment) - max_unavailable(deployment)
    new_unavailable = replicas_of(new_rs) - status_count(new_rs, "availableReplicas")
    max_scaled_down = total(all_rss) - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}
    ordered = by_creation(list(old_active))
    sizes = {name_of(rs): replicas_of(rs) for rs in ordered}
    # Unhealthy replicas first: removing them costs no availability.
    cleaned = 0
    for rs in ordered:
        if cleaned >= max_scaled_down:
            break
        size, available = sizes[name_of(rs)], status_count(rs, "availableReplicas")
        if size == 0 or size == available:
            continue
        if size < available:
            return {}  # a stale status: upstream refuses the whole step
        down = min(max_scaled_down - cleaned, size - available)
        sizes[name_of(rs)] = size - down
        cleaned += down
    # Then the surplus of available pods over the minimum.
    available = total(ordered, "availableReplicas") + status_count(new_rs, "availableReplicas")
    if available > min_available:
        budget, scaled = available - min_available, 0
        for rs in ordered:
            if scaled >= budget:
                break
            size = sizes[name_of(rs)]
            if size == 0:
                continue
            down = min(size, budget - scaled)
            sizes[name_of(rs)] = size - down
            scaled += down
    return {name_of(rs): sizes[name_of(rs)] for rs in ordered
            if sizes[name_of(rs)] != replicas_of(rs)}


# -- scaling ---------------------------------------------------------------------------


def find_active_or_latest(new_rs: Obj | None, old_rss: Sequence[Obj]) -> Obj | None:
    """The only active ReplicaSet, or the newest one when none is active; ``None`` if
    several are active."""
    if new_rs is None and not old_rss:
        return None
    newest_first = by_creation(list(old_rss), newest_first=True)
    candidates = active([*newest_first, *([new_rs] if new_rs is not None else [])])
    if not candidates:
        return new_rs if new_rs is not None else newest_first[0]
    return candidates[0] if len(candidates) == 1 else None


def _annotation_int(rs: Mapping[str, Any], key: str) -> int | None:
    raw = ((rs.get("metadata") or {}).get("annotations") or {}).get(key)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def is_saturated(deployment: Mapping[str, Any], rs: Obj | None) -> bool:
    """The ReplicaSet runs the Deployment's full size, all available."""
    if rs is None:
        return False
    desired = replicas_of(deployment)
    return (replicas_of(rs) == desired and _annotation_int(rs, DESIRED_REPLICAS) == desired
            and status_count(rs, "availableReplicas") == desired)


def _round(value: float) -> int:
    """Go's ``integer.RoundToInt32``: halves away from zero."""
    return int(value - 0.5) if value < 0 else int(value + 0.5)


def _fraction(rs: Obj, deployment: Mapping[str, Any]) -> int:
    desired = replicas_of(deployment)
    if desired == 0:
        return -replicas_of(rs)
    deployment_max = desired + max_surge(deployment)
    annotated = _annotation_int(rs, MAX_REPLICAS)
    if annotated is None:
        annotated = status_count(deployment, "replicas")
    if annotated == 0:
        return 0
    return _round(replicas_of(rs) * deployment_max / annotated) - replicas_of(rs)


def _proportion(rs: Obj, deployment: Mapping[str, Any], to_add: int, added: int) -> int:
    if replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(rs, deployment)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def proportional(deployment: Mapping[str, Any], new_rs: Obj | None,
                 old_rss: Sequence[Obj]) -> list[tuple[Obj, int]]:
    """Every active ReplicaSet with its next size, larger ones first (``scale``)."""
    all_active = active([*old_rss, *([new_rs] if new_rs is not None else [])])
    desired = replicas_of(deployment)
    allowed = desired + max_surge(deployment) if desired > 0 else 0
    to_add = allowed - total(all_active)
    ordered = by_creation(all_active, newest_first=to_add > 0)
    ordered.sort(key=lambda rs: -replicas_of(rs))  # stable: ties keep the creation order
    sizes: list[int] = []
    added = 0
    for rs in ordered:
        share = _proportion(rs, deployment, to_add, added) if to_add else 0
        sizes.append(replicas_of(rs) + share)
        added += share
    if ordered and to_add:
        sizes[0] = max(0, sizes[0] + to_add - added)
    return list(zip(ordered, sizes, strict=True))
