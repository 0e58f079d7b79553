"""CloneSet as the controller sees it: one typed, version-neutral model of the spec.

Why shaped so: CloneSet is served in ``apps.kruise.io/v1alpha1`` and
``v1beta1``, whose update and scale strategies are laid out differently
(v1alpha1 ``updateStrategy.type: ReCreate|InPlaceIfPossible|InPlaceOnly|OnDelete``
vs v1beta1 ``type: RollingUpdate|OnDelete`` + ``rollingUpdate.podUpdatePolicy``;
``disablePVCReuse`` vs ``enablePVCReuse``).  The planner must not care which
one a user wrote, so :func:`mizzen.api.cloneset.parse.parse_spec` reads either
into the frozen :class:`CloneSetSpec` below, with every default applied.
Pod templates, selectors and claim templates stay raw dicts: they are copied
into pods as they are, and typing them would only cost a conversion per pass.

Int-or-percent values (partition, maxUnavailable, maxSurge,
scaleStrategy.maxUnavailable) are kept as written (``int | str``); the
rounding rules, which differ per field, live in :mod:`mizzen.api.intstr`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "GROUP",
    "KIND",
    "PLURAL",
    "SHORT_NAMES",
    "STORAGE_VERSION",
    "VERSIONS",
    "CloneSetSpec",
    "IntOrString",
    "Lifecycle",
    "LifecycleHook",
    "PodUpdatePolicy",
    "PriorityStrategy",
    "ScatterTerm",
    "UpdateType",
    "WeightTerm",
]

Obj = dict[str, Any]
IntOrString = int | str

GROUP = "apps.kruise.io"
KIND = "CloneSet"
PLURAL = "clonesets"
SHORT_NAMES = ("clone",)
# Served versions, oldest first; objects are stored as v1beta1.
VERSIONS = ("v1alpha1", "v1beta1")
STORAGE_VERSION = "v1beta1"


class PodUpdatePolicy(StrEnum):
    """How a pod moves to the update revision (v1alpha1 ``updateStrategy.type`` minus OnDelete)."""

    RECREATE = "ReCreate"
    IN_PLACE_IF_POSSIBLE = "InPlaceIfPossible"
    IN_PLACE_ONLY = "InPlaceOnly"


class UpdateType(StrEnum):
    """Whether the controller updates pods at all (v1beta1 ``updateStrategy.type``)."""

    ROLLING_UPDATE = "RollingUpdate"
    ON_DELETE = "OnDelete"


@dataclass(frozen=True, slots=True)
class LifecycleHook:
    """A hook: the pod is held in a Preparing* state while any of these is present."""

    # Labels that must be present (with these values) to hold the pod.
    labels_handler: Mapping[str, str] = field(default_factory=dict)
    # Finalizers that hold the pod.
    finalizers_handler: tuple[str, ...] = ()
    # Set the pod condition KruisePodReady=False while the hook holds it.
    mark_pod_not_ready: bool = False


@dataclass(frozen=True, slots=True)
class Lifecycle:
    pre_delete: LifecycleHook | None = None
    in_place_update: LifecycleHook | None = None
    pre_normal: LifecycleHook | None = None


@dataclass(frozen=True, slots=True)
class WeightTerm:
    # 1..100; pods matching more weight update first.
    weight: int
    # A label selector (matchLabels/matchExpressions), raw.
    match_selector: Obj


@dataclass(frozen=True, slots=True)
class PriorityStrategy:
    """Exactly one of the two is non-empty (validation refuses both)."""

    weight_priority: tuple[WeightTerm, ...] = ()
    # orderPriority[].orderedKey: label keys whose integer values order pods (higher first).
    order_priority: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScatterTerm:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class CloneSetSpec:
    """A CloneSet's spec with defaults applied, whichever version it was written in."""

    # Desired pods (default 1).
    replicas: int
    # Label selector, raw (matchLabels/matchExpressions).
    selector: Obj
    # Pod template, raw.
    template: Obj
    # PVC templates, raw; one PVC of each per pod instance.
    volume_claim_templates: tuple[Obj, ...] = ()
    # ControllerRevisions kept besides the current and update ones (default 10).
    revision_history_limit: int = 10
    min_ready_seconds: int = 0
    # None: no Progressing deadline.
    progress_deadline_seconds: int | None = None
    lifecycle: Lifecycle | None = None
    # scaleStrategy
    pods_to_delete: tuple[str, ...] = ()
    # Limits scale-up only (rounded up); None: unlimited.
    scale_max_unavailable: IntOrString | None = None
    # Reuse a deleted instance's PVCs for a new pod (v1alpha1 not disablePVCReuse,
    # v1beta1 enablePVCReuse).
    pvc_reuse: bool = True
    # v1beta1 scaleStrategy.excludePreparingDelete: PreparingDelete pods do not count.
    exclude_preparing_delete: bool = False
    # updateStrategy
    update_type: UpdateType = UpdateType.ROLLING_UPDATE
    pod_update_policy: PodUpdatePolicy = PodUpdatePolicy.RECREATE
    # Pods kept on older revisions (int or "N%").
    partition: IntOrString = 0
    max_unavailable: IntOrString = "20%"
    max_surge: IntOrString = 0
    paused: bool = False
    priority: PriorityStrategy | None = None
    scatter: tuple[ScatterTerm, ...] = ()
    # inPlaceUpdateStrategy.gracePeriodSeconds.
    grace_period_seconds: int = 0
