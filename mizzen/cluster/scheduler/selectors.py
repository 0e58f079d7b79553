"""The matching rules the scheduler's filters are made of, compiled once per pod.

Four small value types, each with the one question the filters ask of it:

* :class:`Requirement` — one ``matchExpressions`` entry (``In``, ``NotIn``,
  ``Exists``, ``DoesNotExist``, and for node selectors ``Gt``/``Lt``, which
  compare the label as an integer): *does this label set satisfy it?*
* :class:`NodeSelector` — ``requiredDuringSchedulingIgnoredDuringExecution``:
  terms are ORed, the expressions and fields inside a term ANDed;
  ``matchFields`` understands ``metadata.name``.  As upstream, a term with no
  expressions and no fields matches nothing, and so does a selector with no
  terms.
* :class:`LabelSelector` — a ``metav1.LabelSelector`` (topology spread
  constraints select the pods they count with one).  ``{}`` selects every
  pod; an absent selector is ``None`` at the call sites and selects none.
* :class:`Toleration` / :class:`Taint` — ``tolerates(taint)`` with upstream's
  rules: an empty toleration key with ``Exists`` tolerates every taint, an
  empty effect every effect, ``Equal`` (the default operator) compares values.

Everything is a frozen, hashable dataclass so a compiled pod can be compared,
used as a dict key (the state indexes pods by :class:`LabelSelector`) and
shared between passes without copying.  Invalid input (an unknown operator, a
``Gt`` value that is not an integer) never raises: it simply does not match,
which is what upstream's scheduler does after its own parse fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "NO_EXECUTE",
    "NO_SCHEDULE",
    "PREFER_NO_SCHEDULE",
    "LabelSelector",
    "NodeSelector",
    "NodeSelectorTerm",
    "Requirement",
    "Taint",
    "Toleration",
    "tolerated",
]

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"

Labels = Mapping[str, str]


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Requirement:
    """``key <operator> values``, as in a ``matchExpressions`` list."""

    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist | Gt | Lt
    values: frozenset[str] = frozenset()
    bound: int | None = None  # the integer of Gt/Lt (None: malformed, never matches)

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Requirement:
        values = [str(v) for v in raw.get("values") or ()]
        operator = str(raw.get("operator") or "")
        bound = _int(values[0]) if operator in ("Gt", "Lt") and len(values) == 1 else None
        return cls(str(raw.get("key") or ""), operator, frozenset(values), bound)

    def matches(self, labels: Labels) -> bool:
        op = self.operator
        value = labels.get(self.key)
        if op == "In":
            return value is not None and value in self.values
        if op == "NotIn":
            return value is None or value not in self.values
        if op == "Exists":
            return value is not None
        if op == "DoesNotExist":
            return value is None
        if op in ("Gt", "Lt") and value is not None and self.bound is not None:
            number = _int(value)
            if number is None:
                return False
            return number > self.bound if op == "Gt" else number < self.bound
        return False


def _requirements(raw: Iterable[Any] | None) -> tuple[Requirement, ...]:
    return tuple(Requirement.of(r) for r in raw or () if isinstance(r, Mapping))


@dataclass(frozen=True, slots=True)
class NodeSelectorTerm:
    """One term: every expression (on labels) and every field (on ``metadata.name``)."""

    expressions: tuple[Requirement, ...] = ()
    fields: tuple[Requirement, ...] = ()

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> NodeSelectorTerm:
        return cls(_requirements(raw.get("matchExpressions")),
                   _requirements(raw.get("matchFields")))

    def matches(self, labels: Labels, node_name: str) -> bool:
        if not self.expressions and not self.fields:
            return False
        for req in self.expressions:
            if not req.matches(labels):
                return False
        if self.fields:
            fields = {"metadata.name": node_name}
            for req in self.fields:
                if req.key != "metadata.name" or req.operator not in ("In", "NotIn"):
                    return False
                if not req.matches(fields):
                    return False
        return True


@dataclass(frozen=True, slots=True)
class NodeSelector:
    """``nodeSelectorTerms``: a node matches if any term does."""

    terms: tuple[NodeSelectorTerm, ...]

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> NodeSelector:
        return cls(tuple(NodeSelectorTerm.of(t) for t in raw.get("nodeSelectorTerms") or ()
                         if isinstance(t, Mapping)))

    def matches(self, labels: Labels, node_name: str) -> bool:
        return any(term.matches(labels, node_name) for term in self.terms)


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """``matchLabels`` plus ``matchExpressions``; the empty selector matches everything."""

    match_labels: tuple[tuple[str, str], ...] = ()
    expressions: tuple[Requirement, ...] = ()

    @classmethod
    def of(cls, raw: Mapping[str, Any], extra: Iterable[tuple[str, str]] = ()) -> LabelSelector:
        """Compile ``raw``; ``extra`` pairs are added to ``matchLabels`` (``matchLabelKeys``)."""
        pairs = {str(k): str(v) for k, v in (raw.get("matchLabels") or {}).items()}
        pairs.update(extra)
        return cls(tuple(sorted(pairs.items())), _requirements(raw.get("matchExpressions")))

    def matches(self, labels: Labels) -> bool:
        for key, value in self.match_labels:
            if labels.get(key) != value:
                return False
        return all(req.matches(labels) for req in self.expressions)


@dataclass(frozen=True, slots=True)
class Taint:
    """A node taint; only its key, value and effect matter for scheduling."""

    key: str
    value: str
    effect: str

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Taint:
        return cls(str(raw.get("key") or ""), str(raw.get("value") or ""),
                   str(raw.get("effect") or ""))

    def describe(self) -> str:
        """``{key: value}``, as upstream names an untolerated taint in its message."""
        return f"{{{self.key}: {self.value}}}"


@dataclass(frozen=True, slots=True)
class Toleration:
    """A pod toleration (``tolerationSeconds`` does not affect scheduling)."""

    key: str
    operator: str  # Equal (also when empty) | Exists
    value: str
    effect: str  # empty: every effect

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Toleration:
        return cls(str(raw.get("key") or ""), str(raw.get("operator") or "Equal"),
                   str(raw.get("value") or ""), str(raw.get("effect") or ""))

    def tolerates(self, taint: Taint) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.operator == "Equal" and self.value == taint.value


def tolerated(tolerations: Iterable[Toleration], taint: Taint) -> bool:
    """Some toleration tolerates ``taint``."""
    return any(t.tolerates(taint) for t in tolerations)
