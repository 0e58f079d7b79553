"""The ReplicaSet controller's decisions: observed state in, one :class:`ReplicaSetPlan` out.

Pure, so every rule is a table test.  A pass makes at most one kind of write;
the steps are tried in upstream's ``syncReplicaSet`` order and the first that
has something to do wins:

1. **claim** — orphan pods the selector matches are adopted, owned pods that
   no longer match are released (never while the ReplicaSet is being deleted);
2. **wait** — our earlier creates/deletes are not all in the cache yet: doing
   anything now would act on a stale count (expectations);
3. **report** — the previous attempt to create/delete pods failed and the
   status does not say so yet: write ``ReplicaFailure`` first (the executor
   then fails the pass again, so the runtime's backoff keeps growing);
4. **manage** — too few active pods: create the difference (at most
   ``burst`` per pass) in slow-start batches 1, 2, 4, …; too many: delete the
   surplus, the most expendable first (``ranking.py``).  Nothing while the
   ReplicaSet is being deleted;
5. **status** — write the status if it changed, and come back when the next
   ready pod's ``minReadySeconds`` runs out so ``availableReplicas`` catches up.

The counts and claims come from a :class:`~mizzen.cluster.replicaset.census.Census`: the
controller keeps one per ReplicaSet up to date from pod events, so a pass costs O(pods that
changed) rather than O(pods); tests leave it out and it is counted from ``pods``.  The pods
themselves are read only to choose which to delete.

Unlike upstream, the status is not written while expectations are pending:
a status written then would count pods we are about to delete as available,
and the Deployment controller trusts ``availableReplicas`` once
``observedGeneration`` has caught up.  Written only after the cache has seen
our writes, the status is exact for its generation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mizzen.cluster.podutil import (
    controller_of,
    is_active,
    is_terminating,
    labels_of,
    selector_matches,
)
from mizzen.cluster.replicaset.census import Census, census_of
from mizzen.cluster.replicaset.ranking import deletion_order
from mizzen.cluster.replicaset.status import Counts, Failure, needs_update, status_of

__all__ = [
    "BURST_REPLICAS",
    "SLOW_START_INITIAL_BATCH",
    "Observed",
    "ReplicaSetPlan",
    "plan",
    "slow_start_batches",
]

Obj = dict[str, Any]

# Most pods created or deleted by one pass (upstream's burstReplicas).
BURST_REPLICAS = 500
# Size of the first batch of creates; each later batch doubles (upstream's
# SlowStartInitialBatchSize): a ReplicaSet whose creates all fail stops after one.
SLOW_START_INITIAL_BATCH = 1


@dataclass(frozen=True)
class Observed:
    """What one pass knows; objects are read-only cache entries."""

    # The ReplicaSet.
    rs: Obj
    # Its candidate pods: those it controls plus the namespace's orphans.
    pods: Sequence[Obj]
    # Pods selected by ReplicaSets with the same controller (for deletion ranking).
    related: Sequence[Obj]
    # Every create/delete of ours has been seen by the pod cache.
    satisfied: bool
    # The previous pass's create/delete failure, if it failed.
    failure: Failure | None
    # The controller's clock.
    now: datetime
    # Creation/deletion cap per pass.
    burst: int = BURST_REPLICAS
    # The census of ``pods`` when the caller keeps one (``census.py``); None: count
    # ``pods`` here.  Then ``pods`` is read only to pick the pods to delete.
    census: Census | None = None


@dataclass(frozen=True)
class ReplicaSetPlan:
    """What to write in this pass: at most one of the write fields is non-empty."""

    # Which step decided (claim, wait, report, create, delete, status, idle): logs, tests.
    step: str
    # Names of orphan pods to adopt.
    adopt: tuple[str, ...] = ()
    # Names of owned pods whose labels no longer match: drop our owner reference.
    release: tuple[str, ...] = ()
    # Sizes of the create batches (slow start): sum is the number of pods to create.
    create: tuple[int, ...] = ()
    # Names of pods to delete, most expendable first.
    delete: tuple[str, ...] = ()
    # The complete status to write, when it differs from the stored one.
    status: Obj | None = None
    # After writing the status, fail the pass with the stored failure (keeps backoff).
    fail_after: bool = False
    # The stored failure no longer applies (nothing to manage): forget it.
    forget_failure: bool = False
    # Look again after this many seconds even without events (minReadySeconds).
    requeue_after: float | None = None
    # Counts behind the decision, for logs: active pods and desired replicas.
    counts: tuple[int, int] = field(default=(0, 0))


def slow_start_batches(count: int, initial: int = SLOW_START_INITIAL_BATCH) -> tuple[int, ...]:
    """Batch sizes for ``count`` creates: ``initial``, then doubling, the last one cut."""
    batches: list[int] = []
    size = min(count, initial)
    remaining = count
    while size > 0:
        batches.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return tuple(batches)


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _replicas(rs: Mapping[str, Any]) -> int:
    value = (rs.get("spec") or {}).get("replicas")
    return value if isinstance(value, int) else 1


def _owned_active(rs: Mapping[str, Any], pods: Sequence[Obj]) -> list[Obj]:
    """The pods ``rs`` counts as replicas: active, controlled by it, still selected."""
    uid = (rs.get("metadata") or {}).get("uid")
    selector = (rs.get("spec") or {}).get("selector")
    return [p for p in pods if is_active(p) and (ref := controller_of(p)) is not None
            and ref.get("uid") == uid and selector_matches(selector, labels_of(p))]


def plan(o: Observed) -> ReplicaSetPlan:
    """Decide this pass (see the module docstring for the steps)."""
    rs = o.rs
    c = o.census if o.census is not None else census_of(rs, o.pods, o.now)
    if c.adopt or c.release:
        return ReplicaSetPlan("claim", adopt=c.adopt, release=c.release)
    want = _replicas(rs)
    counts = (c.replicas, want)
    if not o.satisfied:
        return ReplicaSetPlan("wait", counts=counts)
    diff = c.replicas - want
    manage = diff != 0 and not is_terminating(rs)
    tally = Counts(c.replicas, c.labelled, c.ready, c.available)
    if o.failure is not None and manage:
        status = status_of(rs, tally, o.failure, o.now)
        if needs_update(rs, status):
            return ReplicaSetPlan("report", status=status, fail_after=True, counts=counts)
    if manage and diff < 0:
        return ReplicaSetPlan("create", create=slow_start_batches(min(-diff, o.burst)),
                              counts=counts)
    if manage:
        victims = _owned_active(rs, o.pods)
        if diff < len(victims):
            victims = deletion_order(victims, o.related, o.now)
        return ReplicaSetPlan("delete", delete=tuple(_name(p) for p in victims[:min(diff,
                                                                                   o.burst)]),
                              counts=counts)
    status = status_of(rs, tally, None, o.now)
    requeue = None
    if c.next_available is not None:
        requeue = max(0.0, (c.next_available - o.now).total_seconds()) + 1.0
    forget = o.failure is not None
    if needs_update(rs, status):
        return ReplicaSetPlan("status", status=status, forget_failure=forget,
                              requeue_after=requeue, counts=counts)
    return ReplicaSetPlan("idle", forget_failure=forget, requeue_after=requeue, counts=counts)
