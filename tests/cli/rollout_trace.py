"""Replaying a CloneSet rollout from a pod watch, checking its budgets after every event.

Why shaped so: the restart-safety test kills the controller at random
moments, so no single snapshot proves anything — the guarantees must hold at
*every* instant the API server went through.  A watch on the namespace gives
exactly those instants, in resourceVersion order; :class:`RolloutTrace`
applies one event at a time to its picture of the pods and checks, after
each, what the CloneSet promises:

* availability: at most ``maxUnavailable`` of the ``replicas`` pods are
  missing or unavailable, with "available" decided by the controller's own
  rule (:func:`mizzen.workloads.lifecycle.is_pod_available`: active, lifecycle
  state empty or Normal, ``InPlaceUpdateReady`` not False, no
  ``unavailable-pod.kruise.io/`` label, Ready — ``minReadySeconds`` is 0);
* surge: at most ``replicas + maxSurge`` active (not terminating) pods;
* identity: no two pods, terminating ones included, share an
  ``apps.kruise.io/cloneset-instance-id``;
* no stray creation: creations and deletions are recorded (with the revision
  each new pod was created on) for the caller to compare with the plan.

The budgets are scaled from the spec as upstream does (:func:`scaled`), not
taken from Mizzen's own arithmetic, so a rounding bug there would show.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mizzen.api.kruise import CONTROLLER_REVISION_HASH, INSTANCE_ID
from mizzen.cluster.podutil import is_active
from mizzen.workloads.lifecycle import is_pod_available

__all__ = ["Budget", "RolloutTrace", "scaled"]

Obj = dict[str, Any]
MAX_REPORTED = 10  # violations kept verbatim (the rest are only counted)


def scaled(value: int | str, replicas: int, round_up: bool) -> int:
    """An int-or-percent of ``replicas``, as upstream's ``GetScaledValueFromIntOrPercent``."""
    if isinstance(value, int):
        return value
    exact = int(value.rstrip("%")) * replicas / 100
    return math.ceil(exact) if round_up else math.floor(exact)


@dataclass(frozen=True)
class Budget:
    """What the rollout may spend, in pods."""

    # spec.replicas.
    replicas: int
    # updateStrategy.maxUnavailable scaled (rounded down when maxSurge > 0, else up).
    max_unavailable: int
    # updateStrategy.maxSurge scaled (rounded up).
    max_surge: int

    @classmethod
    def of(cls, replicas: int, max_unavailable: int | str, max_surge: int | str) -> Budget:
        surge = scaled(max_surge, replicas, round_up=True)
        return cls(replicas, scaled(max_unavailable, replicas, round_up=surge == 0), surge)


@dataclass(frozen=True)
class _Standing:
    """What one pod contributes to the counts at an instant."""

    active: bool  # not terminating, not finished: it counts against the surge budget
    available: bool  # the controller's rule, minReadySeconds 0
    instance: str  # its apps.kruise.io/cloneset-instance-id

    @classmethod
    def of(cls, pod: Obj, now: datetime) -> _Standing:
        return cls(is_active(pod), is_pod_available(pod, 0, now),
                   _labels(pod).get(INSTANCE_ID, ""))


@dataclass
class RolloutTrace:
    """The pods of one CloneSet, event by event, with what went wrong and when.

    Counts are kept incrementally (each event replaces one pod's contribution), so
    checking after every event costs the same for 20 pods as for 2,000.
    """

    budget: Budget
    pods: dict[str, Obj] = field(default_factory=dict)
    events: int = 0
    created: list[tuple[str, str]] = field(default_factory=list)  # (name, revision) ADDED
    deleted: list[str] = field(default_factory=list)  # names, in order of DELETED
    worst_unavailable: int = 0
    worst_active: int = 0
    violations: list[str] = field(default_factory=list)
    violation_count: int = 0
    _standing: dict[str, _Standing] = field(default_factory=dict)
    _active: int = 0
    _available: int = 0
    _instances: dict[str, set[str]] = field(default_factory=dict)
    _shared: set[str] = field(default_factory=set)  # instance ids held by two pods or more

    def start(self, pods: Iterable[Obj]) -> None:
        """The listed state the watch starts from."""
        for pod in pods:
            self._put(pod["metadata"]["name"], pod)
        self._check("initial list")

    def apply(self, kind: str, pod: Obj) -> None:
        """One watch event (ADDED, MODIFIED, DELETED); BOOKMARKs are not passed in."""
        name = pod["metadata"]["name"]
        self.events += 1
        if kind == "DELETED":
            self._put(name, None)
            self.deleted.append(name)
        else:
            if kind == "ADDED" and name not in self.pods:
                self.created.append((name, _labels(pod).get(CONTROLLER_REVISION_HASH, "")))
            self._put(name, pod)
        self._check(f"event {self.events} ({kind} {name})")

    def _put(self, name: str, pod: Obj | None) -> None:
        old = self._standing.pop(name, None)
        if old is not None:
            self._active -= old.active
            self._available -= old.available
            holders = self._instances[old.instance]
            holders.discard(name)
            if len(holders) < 2:
                self._shared.discard(old.instance)
            del self.pods[name]
        if pod is None:
            return
        new = _Standing.of(pod, datetime.now(UTC))
        self._standing[name] = new
        self.pods[name] = pod
        self._active += new.active
        self._available += new.available
        holders = self._instances.setdefault(new.instance, set())
        holders.add(name)
        if len(holders) > 1:
            self._shared.add(new.instance)

    # -- what a user of the CloneSet sees now ---------------------------------------------

    def unavailable(self) -> int:
        """Of the ``replicas`` pods the CloneSet owes, how many are missing or unavailable."""
        return max(self.budget.replicas - self._available, 0)

    def revisions(self) -> set[str]:
        """The controller-revision-hash labels of the pods present now."""
        return {_labels(p).get(CONTROLLER_REVISION_HASH, "") for p in self.pods.values()}

    def done(self, revision: str) -> bool:
        """Every pod on ``revision`` and available, none left over, none leaving."""
        return (len(self.pods) == self.budget.replicas == self._available == self._active
                and all(_labels(p).get(CONTROLLER_REVISION_HASH) == revision
                        for p in self.pods.values()))

    # -- checks ---------------------------------------------------------------------------

    def _check(self, when: str) -> None:
        unavailable = self.unavailable()
        self.worst_active = max(self.worst_active, self._active)
        self.worst_unavailable = max(self.worst_unavailable, unavailable)
        if unavailable > self.budget.max_unavailable:
            self._violate(f"{when}: {unavailable} unavailable > maxUnavailable "
                          f"{self.budget.max_unavailable}")
        if self._active > self.budget.replicas + self.budget.max_surge:
            self._violate(f"{when}: {self._active} active pods > replicas + maxSurge "
                          f"{self.budget.replicas + self.budget.max_surge}")
        if self._shared:
            shared = {i: sorted(self._instances[i]) for i in sorted(self._shared)}
            self._violate(f"{when}: pods sharing an instance id: {shared}")

    def _violate(self, what: str) -> None:
        self.violation_count += 1
        if len(self.violations) < MAX_REPORTED:
            self.violations.append(what)

    def summary(self) -> str:
        return (f"{self.events} events, {len(self.created)} created, {len(self.deleted)} "
                f"deleted, worst unavailable {self.worst_unavailable}/"
                f"{self.budget.max_unavailable}, worst active {self.worst_active}/"
                f"{self.budget.replicas + self.budget.max_surge}, "
                f"{self.violation_count} violations: {self.violations}")


def _labels(pod: Obj) -> dict[str, str]:
    labels: dict[str, str] = (pod.get("metadata") or {}).get("labels") or {}
    return labels
