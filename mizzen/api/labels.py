"""Label keys, label values and label selectors: validation and matching, on raw dicts.

Why shaped so: workload validation needs the Kubernetes rules (a selector
must be well formed and must match the pod template's labels) in the
lowest layer, where nothing from the API server or the cluster packages may
be imported.  Selectors stay the raw ``{matchLabels, matchExpressions}``
dicts the objects carry; the two functions here are all CloneSet (and the
other workloads) need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mizzen.api.fielderrors import FieldError, forbidden, invalid, not_supported, required

__all__ = [
    "OPERATORS",
    "label_value_errors",
    "qualified_name_errors",
    "selector_errors",
    "selector_is_empty",
    "selector_matches",
]

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def qualified_name_errors(value: str) -> list[str]:
    """Why ``value`` is not a qualified name (``[prefix/]name``, as label keys); [] if it is."""
    prefix, slash, name = value.rpartition("/")
    if slash and not prefix:
        return ["prefix part must be non-empty"]
    errors = []
    if slash and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        errors.append("prefix part must be a lowercase RFC 1123 subdomain")
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    elif not _NAME.match(name):
        errors.append("name part must consist of alphanumeric characters, '-', '_' or '.', "
                      "and must start and end with an alphanumeric character")
    return errors


def label_value_errors(value: str) -> list[str]:
    """Why ``value`` is not a valid label value; [] if it is (empty is valid)."""
    if len(value) > 63:
        return ["must be no more than 63 characters"]
    if value and not _NAME.match(value):
        return ["a valid label must be an empty string or consist of alphanumeric characters, "
                "'-', '_' or '.', and must start and end with an alphanumeric character"]
    return []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def selector_is_empty(selector: Mapping[str, Any] | None) -> bool:
    """True when the selector has no requirement at all (it would select everything)."""
    data = _mapping(selector)
    return not data.get("matchLabels") and not data.get("matchExpressions")


def selector_errors(selector: Mapping[str, Any], at: str) -> list[FieldError]:
    """Problems with a label selector's keys, values and expressions."""
    errors: list[FieldError] = []
    for key, value in _mapping(selector.get("matchLabels")).items():
        errors += [invalid(f"{at}.matchLabels", key, e) for e in qualified_name_errors(str(key))]
        errors += [invalid(f"{at}.matchLabels", value, e)
                   for e in label_value_errors(str(value))]
    expressions = selector.get("matchExpressions")
    for i, expr in enumerate(expressions if isinstance(expressions, list) else []):
        where = f"{at}.matchExpressions[{i}]"
        expr = _mapping(expr)
        key, operator = str(expr.get("key") or ""), expr.get("operator")
        values = expr.get("values") or []
        errors += [invalid(f"{where}.key", key, e) for e in qualified_name_errors(key)]
        if operator in ("In", "NotIn") and not values:
            errors.append(required(f"{where}.values",
                                   "must be specified when `operator` is 'In' or 'NotIn'"))
        elif operator in ("Exists", "DoesNotExist") and values:
            errors.append(forbidden(
                f"{where}.values",
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        elif operator not in OPERATORS:
            errors.append(not_supported(f"{where}.operator", operator, list(OPERATORS)))
    return errors


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy every requirement of ``selector``."""
    for label, value in _mapping(selector.get("matchLabels")).items():
        if labels.get(label) != value:
            return False
    expressions = selector.get("matchExpressions")
    for expr in expressions if isinstance(expressions, list) else []:
        expr = _mapping(expr)
        key, operator = str(expr.get("key")), expr.get("operator")
        values = expr.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator not in OPERATORS:
            return False
    return True
