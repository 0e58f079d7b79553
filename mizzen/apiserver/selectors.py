"""Label and field selectors, parsed once and matched many times.

Lists and watches filter every object (and, for watches, every event) through
the same predicate, so a selector is parsed into a small list of requirement
tuples up front and matching is a tight loop over them.  The grammar is the
one kube-apiserver accepts: labels take ``=``, ``==``, ``!=``, ``in``,
``notin``, ``key`` and ``!key``; fields take ``=``, ``==`` and ``!=`` on the
fields a resource declares (anything else is a 400).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mizzen.apiserver import errors
from mizzen.apiserver.resources import FieldGetter, ResourceInfo

Predicate = Callable[[dict[str, Any]], bool]

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


@dataclass(frozen=True, slots=True)
class LabelRequirement:
    key: str
    op: str  # "in", "notin", "exists", "!", "=", "!="
    values: frozenset[str]

    def matches(self, labels: dict[str, str]) -> bool:
        op = self.op
        if op == "exists":
            return self.key in labels
        if op == "!":
            return self.key not in labels
        if op in ("=", "in"):
            return labels.get(self.key) in self.values
        # "!=" and "notin" match objects without the key too.
        return labels.get(self.key) not in self.values


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside a ``(...)`` value set."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _check_key(key: str, selector: str) -> None:
    if not key or len(key) > 317 or not _LABEL_KEY.match(key):
        raise errors.bad_request(f'unable to parse requirement: invalid label key "{key}" '
                                 f"in selector {selector!r}")


def _check_value(value: str, selector: str) -> None:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise errors.bad_request(f'unable to parse requirement: invalid label value: "{value}" '
                                 f"in selector {selector!r}")


_SET_RE = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$")


def parse_label_selector(text: str) -> list[LabelRequirement]:
    """Parse a label selector string; raises a 400 ``ApiError`` when malformed."""
    reqs: list[LabelRequirement] = []
    for part in _split_top(text):
        m = _SET_RE.match(part)
        if m:
            key, op, raw = m.group(1), m.group(2), m.group(3)
            values = frozenset(v.strip() for v in raw.split(",") if v.strip())
            _check_key(key, text)
            for v in values:
                _check_value(v, text)
            reqs.append(LabelRequirement(key, op, values))
            continue
        for token, op in (("!=", "!="), ("==", "="), ("=", "=")):
            if token in part:
                key, _, value = part.partition(token)
                key, value = key.strip(), value.strip()
                _check_key(key, text)
                _check_value(value, text)
                reqs.append(LabelRequirement(key, op, frozenset((value,))))
                break
        else:
            if part.startswith("!"):
                key = part[1:].strip()
                _check_key(key, text)
                reqs.append(LabelRequirement(key, "!", frozenset()))
            else:
                if " " in part or "(" in part or ")" in part:
                    raise errors.bad_request(f"unable to parse requirement: {part!r}")
                _check_key(part, text)
                reqs.append(LabelRequirement(part, "exists", frozenset()))
    return reqs


def label_selector_from_dict(selector: dict[str, Any]) -> list[LabelRequirement]:
    """Convert a ``metav1.LabelSelector`` (matchLabels/matchExpressions) to requirements."""
    reqs = [LabelRequirement(k, "=", frozenset((str(v),)))
            for k, v in (selector.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in selector.get("matchExpressions") or []:
        op = ops.get(expr.get("operator", ""))
        if op is None:
            raise errors.bad_request(f"invalid label selector operator {expr.get('operator')!r}")
        reqs.append(LabelRequirement(expr.get("key", ""), op,
                                     frozenset(str(v) for v in expr.get("values") or ())))
    return reqs


def labels_match(reqs: list[LabelRequirement], labels: dict[str, str]) -> bool:
    return all(r.matches(labels) for r in reqs)


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    getter: FieldGetter
    value: str
    negate: bool


def parse_field_selector(text: str, info: ResourceInfo) -> list[FieldRequirement]:
    """Parse a field selector against the fields ``info`` supports (400 otherwise)."""
    reqs: list[FieldRequirement] = []
    for part in _split_top(text):
        for token, negate in (("!=", True), ("==", False), ("=", False)):
            if token in part:
                name, _, value = part.partition(token)
                name, value = name.strip(), value.strip()
                getter = info.field_getter(name)
                if getter is None:
                    raise errors.bad_request(
                        f'field label not supported: {name}',
                        [errors.Cause("FieldValueNotSupported",
                                      f'field label not supported: {name}', name)])
                reqs.append(FieldRequirement(getter, value, negate))
                break
        else:
            raise errors.bad_request(f"invalid field selector: {part!r}")
    return reqs


def make_predicate(info: ResourceInfo, label_selector: str | None,
                   field_selector: str | None) -> Predicate | None:
    """One callable for both selectors, or ``None`` when nothing filters."""
    lreqs = parse_label_selector(label_selector) if label_selector else []
    freqs = parse_field_selector(field_selector, info) if field_selector else []
    if not lreqs and not freqs:
        return None

    def predicate(obj: dict[str, Any]) -> bool:
        if lreqs:
            labels = (obj.get("metadata") or {}).get("labels") or {}
            for r in lreqs:
                if not r.matches(labels):
                    return False
        return all((f.getter(obj) == f.value) != f.negate for f in freqs)

    return predicate
