"""What the CloneSet planner reads from each pod, derived once per pod version and memoised.

Why: a pass plans from every pod of the CloneSet — counts for the diffs and
the status, the update order, the refresh step — and the facts it needs
(revision label, lifecycle state, readiness and ready time, availability
inputs, the in-place state annotation parsed and judged, the update-order
sort key) took a JSON parse, condition scans and timestamp parses per pod,
per step, per pass: with 10,000 pods and a pass for every few kubelet
writes, the planner was quadratic.  A pod's facts depend on the pod alone,
and a cached pod never changes for a given ``resourceVersion`` (the informer
replaces the object on every event; cached objects are read-only), so
:class:`FactsMemo` keeps one :class:`PodFacts` per pod uid together with the
resourceVersion it was derived from, and derives again only when that
changed.  A pass then costs a dict lookup and a few attribute reads per
unchanged pod; the parsing is paid once per pod *write*.

Purity is kept: :func:`pod_facts` is a pure function and the memo only
avoids recomputing it, so ``plan()`` returns the same for the same observed
objects with a fresh memo or a warm one.  Facts that depend on the
CloneSet's spec (``minReadySeconds``, the update revision, the lifecycle
hooks) are not memoised; they are cheap methods over the memoised ones
(:meth:`PodFacts.available`, :meth:`PodFacts.refresh_quiet`).

The memo is the controller's (no module-level state): it is bounded
(``capacity`` entries, the least recently derived go first), the controller
drops a pod's entry when the pod is deleted, and a pod without a uid or
resourceVersion (a test's hand-made dict) is derived every time.  Callers of
the pure functions that pass no memo get a fresh one per call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mizzen.api.kruise import (
    CONTROLLER_REVISION_HASH,
    INPLACE_UPDATE_GRACE,
    INPLACE_UPDATE_READY,
    KRUISE_POD_READY,
    LIFECYCLE_STATE,
    SPECIFIED_DELETE,
    LifecycleState,
)
from mizzen.cluster.podutil import is_active, is_ready, is_terminating, ready_since
from mizzen.workloads.cloneset.ranking import ActivityKey, activity_key
from mizzen.workloads.inplace import (
    StateError,
    find_condition,
    finish_patch,
    has_gate,
    is_started,
    parsed_completion,
    read_grace,
    read_state,
)
from mizzen.workloads.inplace.completion import containers_completion
from mizzen.workloads.lifecycle import condition_status, is_serving_state, marked_unavailable

__all__ = ["DEFAULT_CAPACITY", "FactsMemo", "PodFacts", "memo_or_new", "pod_facts"]

Obj = dict[str, Any]
DEFAULT_CAPACITY = 100_000
# Any instant: whether finish_patch writes does not depend on the time, only its body does.
_ANY_TIME = datetime(2000, 1, 1, tzinfo=UTC)
_EMPTY: Mapping[str, str] = {}
# Lifecycle states whose refresh transition never writes, whatever the hooks.
_SETTLED_STATES = frozenset({"", LifecycleState.NORMAL.value,
                             LifecycleState.PREPARING_DELETE.value})
_KNOWN_STATES = frozenset(s.value for s in LifecycleState)


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What the planner reads from one version of one pod (see the module docstring)."""

    # The pod's resourceVersion these facts were derived from ("" when it has none).
    resource_version: str
    name: str
    # Labels of the cached pod (read-only: never change them).
    labels: Mapping[str, str]
    # Not finished, not being deleted (it counts as a replica).
    active: bool
    # deletionTimestamp is set.
    terminating: bool
    # The controller-revision-hash label ("" when absent), and its part after the last "-".
    revision: str
    revision_hash: str
    # The lifecycle state label ("" when absent).
    lifecycle: str
    # The specified-delete label is present (podsToDelete is the spec's: not here).
    specified_delete: bool
    # An in-place update waits out its grace period (the grace annotation is set).
    in_grace: bool
    # The InPlaceUpdateReady condition's status (None: no such condition).
    inplace_ready: str | None
    # Available but for minReadySeconds: active, serving state, not marked unavailable,
    # InPlaceUpdateReady not False, Ready.
    available_base: bool
    # When the pod became Ready (None: not Ready, or no transition time).
    ready_since: datetime | None
    # Upstream IsPodUpdateReady: Running, Ready, InPlaceUpdateReady not False.
    update_ready: bool
    # InPlaceUpdateReady=False with reason StartInPlaceUpdate (an update began).
    started: bool
    # inplace.completion(pod).done.
    completed: bool
    # The in-place refresh (inplace.refresh) writes nothing and waits on no timer, as
    # long as the pod is not started toward another revision (see refresh_quiet).
    inplace_quiet: bool
    # The lifecycle refresh transition writes nothing, whatever the hooks.
    lifecycle_quiet: bool
    # A KruisePodReady gate without its condition (lifecycle.initial_patch writes one).
    kruise_ready_missing: bool
    # ranking.activity_key(pod): the first pass of the update order.
    activity_key: ActivityKey

    def available(self, min_ready_seconds: int, now: datetime) -> bool:
        """``lifecycle.is_pod_available(pod, min_ready_seconds, now)``."""
        if not self.available_base:
            return False
        if min_ready_seconds == 0:
            return True
        return self.ready_since is not None and \
            self.ready_since + timedelta(seconds=min_ready_seconds) < now

    def refresh_quiet(self, update_revision: str) -> bool:
        """The refresh step (``refresh.refresh_pods``) writes nothing for this pod and asks
        for no requeue, whatever the time and the lifecycle hooks."""
        started_elsewhere = self.started and self.revision != update_revision
        return (self.inplace_quiet or started_elsewhere) and self.lifecycle_quiet \
            and not self.kruise_ready_missing


def _inplace(pod: Mapping[str, Any]) -> tuple[bool, bool, bool]:
    """``(completed, in_grace, inplace_quiet)`` — one read of each annotation."""
    try:
        grace = read_grace(pod)
        state = read_state(pod)
    except StateError:
        return False, _has_grace(pod), True  # refresh waits; completion reports it
    done = parsed_completion(pod, grace, state).done
    if grace is not None:
        return done, True, False  # a timer runs, or the parked update is due
    if state is not None:
        if not containers_completion(pod, state).done:
            return done, False, True  # waits for the kubelet
        if state.has_next_batch:
            return done, False, False  # the next batch may be due
    return done, False, finish_patch(pod, _ANY_TIME) is None


def _has_grace(pod: Mapping[str, Any]) -> bool:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    return bool(annotations.get(INPLACE_UPDATE_GRACE))


def pod_facts(pod: Mapping[str, Any]) -> PodFacts:
    """The facts of ``pod`` (pure)."""
    meta = pod.get("metadata") or {}
    labels: Mapping[str, str] = meta.get("labels") or _EMPTY
    lifecycle = str(labels.get(LIFECYCLE_STATE, "") or "")
    revision = str(labels.get(CONTROLLER_REVISION_HASH) or "")
    active, ready = is_active(pod), is_ready(pod)
    inplace_ready = condition_status(pod, INPLACE_UPDATE_READY)
    completed, in_grace, inplace_quiet = _inplace(pod)
    serving = is_serving_state(pod) and not marked_unavailable(pod)
    lifecycle_quiet = lifecycle in _SETTLED_STATES or lifecycle not in _KNOWN_STATES or (
        lifecycle == LifecycleState.UPDATING and not completed)
    return PodFacts(
        resource_version=str(meta.get("resourceVersion") or ""),
        name=str(meta.get("name") or ""),
        labels=labels,
        active=active,
        terminating=is_terminating(pod),
        revision=revision,
        revision_hash=revision.rpartition("-")[2],
        lifecycle=lifecycle,
        specified_delete=SPECIFIED_DELETE in labels,
        in_grace=in_grace,
        inplace_ready=inplace_ready,
        available_base=active and serving and inplace_ready != "False" and ready,
        ready_since=ready_since(pod),
        update_ready=((pod.get("status") or {}).get("phase") == "Running" and ready
                      and inplace_ready in (None, "True")),
        started=is_started(pod),
        completed=completed,
        inplace_quiet=inplace_quiet,
        lifecycle_quiet=lifecycle_quiet,
        kruise_ready_missing=has_gate(pod, KRUISE_POD_READY)
        and find_condition(pod, KRUISE_POD_READY) is None,
        activity_key=activity_key(pod))


class FactsMemo:
    """:func:`pod_facts` memoised per pod uid and resourceVersion, bounded (see the module
    docstring).

    Looking up by ``id()`` first is what makes a lookup cheap (a pass looks each pod up
    a dozen times): an entry keeps the pod object it was derived from, and is used only
    for that very object (``is``), so a recycled id never matches; the uid entry then
    catches an equal version decoded into a new object (a relist).  Holding the object
    keeps at most one version per pod alive beyond the informer's cache, and only
    until the pod's next version is looked up.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = max(capacity, 1)
        self._by_uid: dict[str, tuple[Mapping[str, Any], PodFacts]] = {}
        self._by_id: dict[int, tuple[Mapping[str, Any], PodFacts]] = {}
        self._last: tuple[Sequence[Mapping[str, Any]], list[PodFacts]] | None = None
        # Derivations (misses) so far, for tests and benchmarks.
        self.derived = 0

    def all(self, pods: Sequence[Mapping[str, Any]]) -> Sequence[PodFacts]:
        """The facts of each of ``pods``, in order.  For a tuple (immutable: the same
        object has the same pods) the answer is kept until the next tuple is asked about,
        so the steps of a pass, each handed the pass's one tuple of active pods, look every
        pod up once between them."""
        last = self._last
        if last is not None and last[0] is pods:
            return last[1]
        out = [self.of(pod) for pod in pods]
        if isinstance(pods, tuple):
            self._last = (pods, out)
        return out

    def of(self, pod: Mapping[str, Any]) -> PodFacts:
        """The facts of ``pod`` (derived now if this version was not seen)."""
        hit = self._by_id.get(id(pod))
        if hit is not None and hit[0] is pod:
            return hit[1]
        meta = pod.get("metadata") or {}
        uid, version = meta.get("uid"), meta.get("resourceVersion")
        if not (uid and version):
            self.derived += 1
            return pod_facts(pod)  # a hand-made pod: nothing to key it by
        known = self._by_uid.pop(uid, None)
        if known is not None:
            self._by_id.pop(id(known[0]), None)
        if known is not None and known[1].resource_version == version:
            facts = known[1]
        else:
            facts = pod_facts(pod)
            self.derived += 1
        entry = (pod, facts)
        self._by_uid[uid] = entry  # (re-)inserted last: the most recently used
        self._by_id[id(pod)] = entry
        if len(self._by_uid) > self.capacity:
            oldest = next(iter(self._by_uid))
            self.forget(oldest)
        return facts

    def forget(self, uid: str) -> None:
        """Drop the facts of a pod that is gone."""
        known = self._by_uid.pop(uid, None)
        if known is not None:
            self._by_id.pop(id(known[0]), None)

    def __len__(self) -> int:
        return len(self._by_uid)


def memo_or_new(facts: FactsMemo | None) -> FactsMemo:
    """``facts``, or a fresh memo for a caller that keeps none."""
    return facts if facts is not None else FactsMemo()
