"""Validate a CloneSet (either served version) as OpenKruise's admission webhook does.

Why shaped so: the rules are about meaning, not layout, so the object is
first read with :func:`~mizzen.api.cloneset.parse.parse_spec` (a field of the
wrong type or an unknown strategy name is reported from there and stops
validation, as nothing else can be judged) and every rule then runs on the
typed :class:`CloneSetSpec`.  Field paths are reported in the layout the
user wrote: ``spec.updateStrategy.maxSurge`` in v1alpha1,
``spec.updateStrategy.rollingUpdate.maxSurge`` in v1beta1.  Each rule group
is one small function returning a list, so a table test can aim at one rule.

Rules and their upstream source (``pkg/webhook/cloneset/validating``):
replicas, revisionHistoryLimit, minReadySeconds, progressDeadlineSeconds and
gracePeriodSeconds >= 0; selector required, well formed, non-empty and
matching the template labels; template restartPolicy Always (or unset), no
activeDeadlineSeconds, at least one container with unique names;
volumeClaimTemplates named uniquely and not like a template volume;
partition, maxUnavailable, maxSurge and scaleStrategy.maxUnavailable an
integer or a percentage, >= 0 and <= 100%; maxSurge forbidden with
InPlaceOnly; maxUnavailable and maxSurge (scaled, rounded up) not both < 1
when replicas > 0; priority weights 1..100 with a selector, not both weight
and order; scatter terms with key and value, no duplicates; no duplicate
podsToDelete; lifecycle label and finalizer names well formed.  On update:
the selector is immutable, and with InPlaceOnly the template's pod spec may
change only in container images.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jsonpatch

from mizzen.api.cloneset.parse import ParseError, api_version_of, parse_spec
from mizzen.api.cloneset.types import CloneSetSpec, LifecycleHook, PodUpdatePolicy
from mizzen.api.fielderrors import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    not_supported,
    required,
)
from mizzen.api.intstr import is_percent, parse_percent, scaled_value
from mizzen.api.labels import (
    label_value_errors,
    qualified_name_errors,
    selector_errors,
    selector_is_empty,
    selector_matches,
)

__all__ = ["FieldError", "validate"]

Obj = dict[str, Any]
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_IMAGE_PATH = re.compile(r"^/containers/[0-9]+/image$")


def validate(obj: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> list[FieldError]:
    """Everything wrong with ``obj``; ``old`` is the stored object on update. [] means valid."""
    try:
        version = api_version_of(obj)
        spec = parse_spec(obj)
    except ParseError as err:
        return [FieldError(err.field, err.reason, err.detail)]
    rolling = "spec.updateStrategy" if version == "v1alpha1" else \
        "spec.updateStrategy.rollingUpdate"
    errors = (_counts(spec, rolling) + _selector(spec) + _template(spec) + _claims(spec)
              + _scale_strategy(spec) + _update_strategy(spec, version, rolling)
              + _lifecycle(spec))
    if old is not None:
        errors += _update(spec, old)
    return errors


def _counts(spec: CloneSetSpec, rolling: str) -> list[FieldError]:
    checks = [("spec.replicas", spec.replicas),
              ("spec.revisionHistoryLimit", spec.revision_history_limit),
              ("spec.minReadySeconds", spec.min_ready_seconds),
              ("spec.progressDeadlineSeconds", spec.progress_deadline_seconds),
              (f"{rolling}.inPlaceUpdateStrategy.gracePeriodSeconds", spec.grace_period_seconds)]
    return [invalid(path, value, "must be greater than or equal to 0")
            for path, value in checks if value is not None and value < 0]


def _selector(spec: CloneSetSpec) -> list[FieldError]:
    if selector_is_empty(spec.selector):
        if not spec.selector:
            return [required("spec.selector")]
        return [invalid("spec.selector", spec.selector, "empty selector is invalid for cloneset")]
    errors = selector_errors(spec.selector, "spec.selector")
    if not errors and not selector_matches(spec.selector, _labels(spec.template)):
        errors.append(invalid("spec.template.metadata.labels", _labels(spec.template),
                              "`selector` does not match template `labels`"))
    return errors


def _labels(template: Mapping[str, Any]) -> dict[str, str]:
    meta = template.get("metadata")
    labels = meta.get("labels") if isinstance(meta, Mapping) else None
    return dict(labels) if isinstance(labels, Mapping) else {}


def _pod_spec(template: Mapping[str, Any]) -> Mapping[str, Any]:
    pod = template.get("spec")
    return pod if isinstance(pod, Mapping) else {}


def _template(spec: CloneSetSpec) -> list[FieldError]:
    errors: list[FieldError] = []
    pod = _pod_spec(spec.template)
    policy = pod.get("restartPolicy")
    if policy not in (None, "", "Always"):
        errors.append(not_supported("spec.template.spec.restartPolicy", policy, ["Always"]))
    if pod.get("activeDeadlineSeconds") is not None:
        errors.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                                "activeDeadlineSeconds in cloneset is not Supported"))
    containers = pod.get("containers")
    if not isinstance(containers, list) or not containers:
        return errors + [required("spec.template.spec.containers")]
    seen: set[str] = set()
    for i, container in enumerate(containers):
        where = f"spec.template.spec.containers[{i}].name"
        name = container.get("name") if isinstance(container, Mapping) else None
        if not isinstance(name, str) or not name:
            errors.append(required(where))
        elif not _DNS_LABEL.match(name) or len(name) > 63:
            errors.append(invalid(where, name, "a lowercase RFC 1123 label must consist of "
                                               "lower case alphanumeric characters or '-'"))
        elif name in seen:
            errors.append(duplicate(where, name))
        else:
            seen.add(name)
    return errors


def _claims(spec: CloneSetSpec) -> list[FieldError]:
    errors: list[FieldError] = []
    volumes = _pod_spec(spec.template).get("volumes")
    taken = {v.get("name") for v in volumes if isinstance(v, Mapping)} \
        if isinstance(volumes, list) else set()
    seen: set[str] = set()
    for i, claim in enumerate(spec.volume_claim_templates):
        where = f"spec.volumeClaimTemplates[{i}].metadata.name"
        meta = claim.get("metadata")
        name = meta.get("name") if isinstance(meta, Mapping) else None
        if not isinstance(name, str) or not name:
            errors.append(required(where))
        elif name in seen or name in taken:
            errors.append(duplicate(where, name))
        else:
            seen.add(name)
    return errors


def _int_or_percent(path: str, value: int | str | None) -> list[FieldError]:
    if value is None:
        return []
    if isinstance(value, str):
        if not is_percent(value):
            return [invalid(path, value, "must be an integer or a percentage (e.g. 5 or '10%')")]
        if parse_percent(value) > 100:
            return [invalid(path, value, "must not be greater than 100%")]
        number = parse_percent(value)
    else:
        number = value
    if number < 0:
        return [invalid(path, value, "must be greater than or equal to 0")]
    return []


def _scale_strategy(spec: CloneSetSpec) -> list[FieldError]:
    at = "spec.scaleStrategy"
    errors = _int_or_percent(f"{at}.maxUnavailable", spec.scale_max_unavailable)
    seen: set[str] = set()
    for i, name in enumerate(spec.pods_to_delete):
        if name in seen:
            errors.append(duplicate(f"{at}.podsToDelete[{i}]", name))
        seen.add(name)
    return errors


def _update_strategy(spec: CloneSetSpec, version: str, at: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for name, value in (("partition", spec.partition), ("maxUnavailable", spec.max_unavailable),
                        ("maxSurge", spec.max_surge)):
        errors += _int_or_percent(f"{at}.{name}", value)
    if errors:
        return errors + _priority(spec, at) + _scatter(spec, at)
    policy_path = "spec.updateStrategy.type" if version == "v1alpha1" else \
        f"{at}.podUpdatePolicy"
    if spec.pod_update_policy is PodUpdatePolicy.IN_PLACE_ONLY and \
            scaled_value(spec.max_surge, 100, round_up=True) > 0:
        errors.append(forbidden(f"{at}.maxSurge",
                                f"can not use maxSurge with {policy_path} InPlaceOnly"))
    surge = scaled_value(spec.max_surge, spec.replicas, round_up=True)
    unavailable = scaled_value(spec.max_unavailable, spec.replicas, round_up=True)
    if spec.replicas > 0 and unavailable < 1 and surge < 1:
        errors.append(invalid(f"{at}.maxUnavailable", spec.max_unavailable,
                              "maxUnavailable and maxSurge should not both be less than 1"))
    return errors + _priority(spec, at) + _scatter(spec, at)


def _priority(spec: CloneSetSpec, at: str) -> list[FieldError]:
    priority = spec.priority
    if priority is None:
        return []
    at = f"{at}.priorityStrategy"
    errors: list[FieldError] = []
    if priority.weight_priority and priority.order_priority:
        errors.append(forbidden(at, "only one of weightPriority and orderPriority can be used"))
    for i, term in enumerate(priority.weight_priority):
        where = f"{at}.weightPriority[{i}]"
        if not 1 <= term.weight <= 100:
            errors.append(invalid(f"{where}.weight", term.weight,
                                  "weight must be valid number in the range 1-100"))
        if selector_is_empty(term.match_selector):
            errors.append(required(f"{where}.matchSelector", "selector can not be empty"))
        else:
            errors += selector_errors(term.match_selector, f"{where}.matchSelector")
    for i, key in enumerate(priority.order_priority):
        where = f"{at}.orderPriority[{i}].orderedKey"
        if not key:
            errors.append(required(where, "order key can not be empty"))
        else:
            errors += [invalid(where, key, e) for e in qualified_name_errors(key)]
    return errors


def _scatter(spec: CloneSetSpec, at: str) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, term in enumerate(spec.scatter):
        where = f"{at}.scatterStrategy[{i}]"
        if not term.key:
            errors.append(required(f"{where}.key", "key should not be empty"))
        if not term.value:
            errors.append(required(f"{where}.value", "value should not be empty"))
        if (term.key, term.value) in seen:
            errors.append(duplicate(where, f"{term.key}={term.value}"))
        seen.add((term.key, term.value))
    return errors


def _lifecycle(spec: CloneSetSpec) -> list[FieldError]:
    if spec.lifecycle is None:
        return []
    errors: list[FieldError] = []
    hooks: tuple[tuple[str, LifecycleHook | None], ...] = (
        ("preDelete", spec.lifecycle.pre_delete),
        ("inPlaceUpdate", spec.lifecycle.in_place_update),
        ("preNormal", spec.lifecycle.pre_normal))
    for name, hook in hooks:
        if hook is None:
            continue
        at = f"spec.lifecycle.{name}"
        for key, value in hook.labels_handler.items():
            errors += [invalid(f"{at}.labelsHandler", key, e) for e in qualified_name_errors(key)]
            errors += [invalid(f"{at}.labelsHandler[{key}]", value, e)
                       for e in label_value_errors(value)]
        seen: set[str] = set()
        for i, finalizer in enumerate(hook.finalizers_handler):
            where = f"{at}.finalizersHandler[{i}]"
            errors += [invalid(where, finalizer, e) for e in qualified_name_errors(finalizer)]
            if finalizer in seen:
                errors.append(duplicate(where, finalizer))
            seen.add(finalizer)
    return errors


def _update(spec: CloneSetSpec, old: Mapping[str, Any]) -> list[FieldError]:
    try:
        previous = parse_spec(old)
    except ParseError:
        return []  # the stored object cannot be read; judge the new one on its own
    errors: list[FieldError] = []
    if spec.selector != previous.selector:
        errors.append(forbidden("spec.selector", "field is immutable"))
    if spec.pod_update_policy is PodUpdatePolicy.IN_PLACE_ONLY:
        patch = jsonpatch.make_patch(dict(_pod_spec(previous.template)),
                                     dict(_pod_spec(spec.template)))
        for op in patch.patch:
            if op["op"] != "replace" or not _IMAGE_PATH.match(op["path"]):
                errors.append(forbidden(
                    "spec.template.spec",
                    f"only allowed to update images in spec for InPlaceOnly, but found "
                    f"{op['op']} {op['path']}"))
                break
    return errors
