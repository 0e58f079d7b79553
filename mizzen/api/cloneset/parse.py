"""Read a raw CloneSet of either served version into the typed :class:`CloneSetSpec`.

Why shaped so: the planner works on one version-neutral model, so the
version split ends here.  Each version has a small reader for the parts
that differ (update strategy, PVC reuse); everything else is shared.  Every
upstream default is applied here even though the CRD schema also carries
them, because objects reach us from places where no API server defaulted
them (files, tests, a v1alpha1 object converted on the fly).

Parsing is not validation.  A field of the wrong JSON type or an unknown
strategy name raises :class:`ParseError` (a ValueError) naming the field,
since a planner cannot act on it; values of the right type that break a
rule (negative replicas, a selector that misses the template) are kept as
they are for :mod:`mizzen.api.cloneset.validation` to report.  ``paused`` forces
nothing here; the planner decides what it means for surge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from mizzen.api.cloneset.types import (
    GROUP,
    KIND,
    VERSIONS,
    CloneSetSpec,
    IntOrString,
    Lifecycle,
    LifecycleHook,
    PodUpdatePolicy,
    PriorityStrategy,
    ScatterTerm,
    UpdateType,
    WeightTerm,
)
from mizzen.api.intstr import DEFAULT_MAX_SURGE, DEFAULT_MAX_UNAVAILABLE

__all__ = ["EXCLUDE_PREPARING_DELETE_LABEL", "ParseError", "api_version_of", "parse_spec"]

Obj = dict[str, Any]
T = TypeVar("T")

# v1alpha1 has no spec field for excludePreparingDelete; this label on the
# CloneSet (value "true") turns it on.
EXCLUDE_PREPARING_DELETE_LABEL = "apps.kruise.io/cloneset-scaling-exclude-preparing-delete"

TYPE_INVALID = "FieldValueTypeInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"


class ParseError(ValueError):
    """A field the model cannot hold; ``field`` is its path, ``reason`` a cause reason."""

    def __init__(self, field: str, detail: str, reason: str = TYPE_INVALID) -> None:
        super().__init__(f"{field}: {detail}")
        # Dotted path of the offending field, e.g. "spec.updateStrategy.type".
        self.field = field
        # What is wrong, without the path.
        self.detail = detail
        # FieldValueTypeInvalid (wrong JSON type) or FieldValueNotSupported (unknown enum value).
        self.reason = reason


DEFAULT_REPLICAS = 1
DEFAULT_REVISION_HISTORY_LIMIT = 10
DEFAULT_PARTITION: IntOrString = 0


def api_version_of(obj: Mapping[str, Any]) -> str:
    """The version part of a CloneSet's apiVersion; ValueError if it is not a served one."""
    api_version = obj.get("apiVersion")
    group, _, version = str(api_version).partition("/")
    if group != GROUP or version not in VERSIONS:
        served = ", ".join(f"{GROUP}/{v}" for v in VERSIONS)
        raise ParseError("apiVersion", f"{api_version!r} is not a served CloneSet version "
                         f"({served})", NOT_SUPPORTED)
    kind = obj.get("kind", KIND)
    if kind != KIND:
        raise ParseError("kind", f"{kind!r} is not {KIND}", NOT_SUPPORTED)
    return version


def parse_spec(obj: Mapping[str, Any]) -> CloneSetSpec:
    """A raw CloneSet (v1alpha1 or v1beta1) as a :class:`CloneSetSpec` with defaults applied."""
    version = api_version_of(obj)
    spec = _mapping(obj.get("spec"), "spec")
    scale = _mapping(spec.get("scaleStrategy"), "spec.scaleStrategy")
    if version == "v1alpha1":
        strategy = _v1alpha1_update(spec)
        pvc_reuse = not _get(scale, "disablePVCReuse", bool, False, "spec.scaleStrategy")
        labels = _mapping(_mapping(obj.get("metadata"), "metadata").get("labels"),
                          "metadata.labels")
        exclude_preparing_delete = labels.get(EXCLUDE_PREPARING_DELETE_LABEL) == "true"
    else:
        strategy = _v1beta1_update(spec)
        pvc_reuse = _get(scale, "enablePVCReuse", bool, False, "spec.scaleStrategy")
        exclude_preparing_delete = _get(scale, "excludePreparingDelete", bool, False,
                                        "spec.scaleStrategy")
    update_type, policy, rolling, where = strategy
    in_place = _mapping(rolling.get("inPlaceUpdateStrategy"), f"{where}.inPlaceUpdateStrategy")
    return CloneSetSpec(
        replicas=_get(spec, "replicas", int, DEFAULT_REPLICAS, "spec"),
        selector=dict(_mapping(spec.get("selector"), "spec.selector")),
        template=dict(_mapping(spec.get("template"), "spec.template")),
        volume_claim_templates=tuple(
            dict(_mapping(item, f"spec.volumeClaimTemplates[{i}]"))
            for i, item in enumerate(_list(spec.get("volumeClaimTemplates"),
                                           "spec.volumeClaimTemplates"))
        ),
        revision_history_limit=_get(spec, "revisionHistoryLimit", int,
                                    DEFAULT_REVISION_HISTORY_LIMIT, "spec"),
        min_ready_seconds=_get(spec, "minReadySeconds", int, 0, "spec"),
        progress_deadline_seconds=_optional_int(spec, "progressDeadlineSeconds", "spec"),
        lifecycle=_lifecycle(spec.get("lifecycle")),
        pods_to_delete=tuple(
            _str(name, f"spec.scaleStrategy.podsToDelete[{i}]")
            for i, name in enumerate(_list(scale.get("podsToDelete"),
                                           "spec.scaleStrategy.podsToDelete"))
        ),
        scale_max_unavailable=_int_or_string(scale, "maxUnavailable", None,
                                             "spec.scaleStrategy"),
        pvc_reuse=pvc_reuse,
        exclude_preparing_delete=exclude_preparing_delete,
        update_type=update_type,
        pod_update_policy=policy,
        partition=_required_int_or_string(rolling, "partition", DEFAULT_PARTITION, where),
        max_unavailable=_required_int_or_string(rolling, "maxUnavailable",
                                                DEFAULT_MAX_UNAVAILABLE, where),
        max_surge=_required_int_or_string(rolling, "maxSurge", DEFAULT_MAX_SURGE, where),
        paused=_get(rolling, "paused", bool, False, where),
        priority=_priority(rolling.get("priorityStrategy"), f"{where}.priorityStrategy"),
        scatter=_scatter(rolling.get("scatterStrategy"), f"{where}.scatterStrategy"),
        grace_period_seconds=_get(in_place, "gracePeriodSeconds", int, 0,
                                  f"{where}.inPlaceUpdateStrategy"),
    )


_Strategy = tuple[UpdateType, PodUpdatePolicy, Mapping[str, Any], str]


def _v1alpha1_update(spec: Mapping[str, Any]) -> _Strategy:
    # v1alpha1: one ``type`` mixes "update at all" (OnDelete) with "how"; the
    # rolling-update knobs sit beside it.
    where = "spec.updateStrategy"
    strategy = _mapping(spec.get("updateStrategy"), where)
    kind = _get(strategy, "type", str, PodUpdatePolicy.RECREATE.value, where)
    if kind == UpdateType.ON_DELETE.value:
        return UpdateType.ON_DELETE, PodUpdatePolicy.RECREATE, strategy, where
    return UpdateType.ROLLING_UPDATE, _policy(kind, f"{where}.type"), strategy, where


def _v1beta1_update(spec: Mapping[str, Any]) -> _Strategy:
    # v1beta1: ``type`` says whether the controller updates pods; the rest,
    # including the pod update policy, is under ``rollingUpdate`` (kept even
    # for OnDelete, so a later switch back to RollingUpdate finds it).
    where = "spec.updateStrategy"
    strategy = _mapping(spec.get("updateStrategy"), where)
    kind = _get(strategy, "type", str, UpdateType.ROLLING_UPDATE.value, where)
    try:
        update_type = UpdateType(kind)
    except ValueError:
        raise ParseError(f"{where}.type", f"unsupported value {kind!r}: must be one of "
                         f"{', '.join(t.value for t in UpdateType)}", NOT_SUPPORTED) from None
    rolling_where = f"{where}.rollingUpdate"
    rolling = _mapping(strategy.get("rollingUpdate"), rolling_where)
    policy = _get(rolling, "podUpdatePolicy", str, PodUpdatePolicy.RECREATE.value, rolling_where)
    return update_type, _policy(policy, f"{rolling_where}.podUpdatePolicy"), rolling, rolling_where


def _policy(value: str, where: str) -> PodUpdatePolicy:
    try:
        return PodUpdatePolicy(value)
    except ValueError:
        raise ParseError(where, f"unsupported value {value!r}: must be one of "
                         f"{', '.join(p.value for p in PodUpdatePolicy)}", NOT_SUPPORTED) from None


def _lifecycle(raw: object) -> Lifecycle | None:
    if raw is None:
        return None
    data = _mapping(raw, "spec.lifecycle")
    return Lifecycle(
        pre_delete=_hook(data.get("preDelete"), "spec.lifecycle.preDelete"),
        in_place_update=_hook(data.get("inPlaceUpdate"), "spec.lifecycle.inPlaceUpdate"),
        pre_normal=_hook(data.get("preNormal"), "spec.lifecycle.preNormal"),
    )


def _hook(raw: object, where: str) -> LifecycleHook | None:
    if raw is None:
        return None
    data = _mapping(raw, where)
    labels = _mapping(data.get("labelsHandler"), f"{where}.labelsHandler")
    return LifecycleHook(
        labels_handler={
            _str(k, f"{where}.labelsHandler"): _str(v, f"{where}.labelsHandler[{k}]")
            for k, v in labels.items()
        },
        finalizers_handler=tuple(
            _str(f, f"{where}.finalizersHandler[{i}]")
            for i, f in enumerate(_list(data.get("finalizersHandler"),
                                        f"{where}.finalizersHandler"))
        ),
        mark_pod_not_ready=_get(data, "markPodNotReady", bool, False, where),
    )


def _priority(raw: object, where: str) -> PriorityStrategy | None:
    if raw is None:
        return None
    data = _mapping(raw, where)
    weights = []
    for i, term in enumerate(_list(data.get("weightPriority"), f"{where}.weightPriority")):
        term_where = f"{where}.weightPriority[{i}]"
        item = _mapping(term, term_where)
        weights.append(WeightTerm(
            weight=_get(item, "weight", int, 0, term_where),
            match_selector=dict(_mapping(item.get("matchSelector"),
                                         f"{term_where}.matchSelector")),
        ))
    orders = []
    for i, term in enumerate(_list(data.get("orderPriority"), f"{where}.orderPriority")):
        term_where = f"{where}.orderPriority[{i}]"
        orders.append(_get(_mapping(term, term_where), "orderedKey", str, "", term_where))
    return PriorityStrategy(weight_priority=tuple(weights), order_priority=tuple(orders))


def _scatter(raw: object, where: str) -> tuple[ScatterTerm, ...]:
    terms = []
    for i, term in enumerate(_list(raw, where)):
        term_where = f"{where}[{i}]"
        item = _mapping(term, term_where)
        terms.append(ScatterTerm(key=_get(item, "key", str, "", term_where),
                                 value=_get(item, "value", str, "", term_where)))
    return tuple(terms)


# --- typed access to raw JSON ------------------------------------------------


def _mapping(raw: object, where: str) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ParseError(where, f"expected an object, got {type(raw).__name__}")
    return raw


def _list(raw: object, where: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ParseError(where, f"expected a list, got {type(raw).__name__}")
    return raw


def _str(raw: object, where: str) -> str:
    if not isinstance(raw, str):
        raise ParseError(where, f"expected a string, got {type(raw).__name__}")
    return raw


def _get(data: Mapping[str, Any], key: str, kind: type[T], default: T, where: str) -> T:
    value = data.get(key)
    if value is None:
        return default
    # bool is an int in Python; an int field must not accept true/false.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ParseError(f"{where}.{key}",
                         f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


def _optional_int(data: Mapping[str, Any], key: str, where: str) -> int | None:
    if data.get(key) is None:
        return None
    return _get(data, key, int, 0, where)


def _int_or_string(
    data: Mapping[str, Any], key: str, default: IntOrString | None, where: str
) -> IntOrString | None:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ParseError(f"{where}.{key}",
                         f"expected an integer or a percentage string, got {value!r}")
    return value


def _required_int_or_string(
    data: Mapping[str, Any], key: str, default: IntOrString, where: str
) -> IntOrString:
    value = _int_or_string(data, key, default, where)
    return default if value is None else value
