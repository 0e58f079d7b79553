"""The Deployment planner's input and output: what a pass knows and what it will write.

Kept apart from ``plan.py`` because the planner's parts (``newrs.py``, the
strategies in ``plan.py``) all build the same :class:`DeploymentPlan`; a module
of plain frozen values that imports nothing of theirs avoids import cycles.

A plan carries **at most one kind of write** — the executor does exactly the
non-empty one, records the plan's events after it succeeded, and returns:
the write's own watch event brings the Deployment back for the next step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["DeploymentPlan", "Event", "Observed", "ReplicaSetUpdate"]

Obj = dict[str, Any]


@dataclass(frozen=True)
class Observed:
    """Everything one pass plans from; objects are read-only cache entries."""

    # The Deployment.
    deployment: Obj
    # Every ReplicaSet of its namespace: claim candidates, and hash-collision checks.
    replica_sets: Sequence[Obj]
    # Pods controlled by the Deployment's ReplicaSets (Recreate waits for old ones to go).
    pods: Sequence[Obj]
    # The controller's (injected) clock.
    now: datetime
    # The ReplicaSet this controller created in its previous pass, if any: the next
    # pass records Progressing=NewReplicaSetCreated for it (upstream does it in the
    # same pass as the create).
    created: str | None = None
    # The error of the previous pass's failed ReplicaSet create, if it failed.
    create_failure: str | None = None


@dataclass(frozen=True)
class ReplicaSetUpdate:
    """One ReplicaSet written in full (PUT, with the resourceVersion the plan saw)."""

    # The ReplicaSet's name.
    name: str
    # spec.replicas now, and after the write.
    old_replicas: int
    replicas: int
    # Its complete metadata.annotations after the write.
    annotations: Mapping[str, str]
    # spec.minReadySeconds to set (the Deployment's); None leaves it alone.
    min_ready_seconds: int | None = None


@dataclass(frozen=True)
class Event:
    """A core/v1 Event on the Deployment, recorded once the write succeeded."""

    # "Normal" or "Warning".
    type: str
    # e.g. "ScalingReplicaSet".
    reason: str
    # e.g. "Scaled up replica set web-5d9f8c7b6 from 0 to 3".
    message: str


@dataclass(frozen=True)
class DeploymentPlan:
    """This pass's decision.  At most one of the write fields is non-empty."""

    # The step of upstream's sync that decided (for logs and tests), e.g.
    # "rolling: scale up new replica set".
    step: str
    # Orphan ReplicaSets the selector matches: adopt (controller ownerReference).
    adopt: tuple[str, ...] = ()
    # Owned ReplicaSets the selector no longer matches: drop our ownerReference.
    release: tuple[str, ...] = ()
    # The new ReplicaSet to create (a complete object).
    create: Obj | None = None
    # ReplicaSets to rewrite: replicas, annotations, minReadySeconds.
    updates: tuple[ReplicaSetUpdate, ...] = ()
    # Old ReplicaSets to delete (beyond revisionHistoryLimit, already at zero).
    delete: tuple[str, ...] = ()
    # Annotations to merge into the Deployment's metadata (its revision).
    annotations: Mapping[str, str] | None = None
    # The complete status to write, when it differs from the stored one.
    status: Obj | None = None
    # Events to record after the write.
    events: tuple[Event, ...] = ()
    # Look again after this many seconds even without events (the progress deadline).
    requeue_after: float | None = None
    # The "created in the previous pass" note has served its purpose: forget it.
    clear_created: bool = False
    # After writing the status, fail the pass with the remembered create error, so
    # the runtime's backoff keeps growing while creates fail.
    fail_after: bool = False
    # Numbers behind the decision, for logs: (desired, total, available).
    counts: tuple[int, int, int] = field(default=(0, 0, 0))

    @property
    def writes(self) -> bool:
        """Whether the plan makes any API write."""
        return bool(self.adopt or self.release or self.create is not None or self.updates
                    or self.delete or self.annotations is not None or self.status is not None)
