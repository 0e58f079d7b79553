"""Checks of scalar keywords (string, number and enum) for the compiled validator.

These are the leaves of :mod:`~mizzen.apiserver.crdschema_validate`'s walk, kept
apart because they need no recursion: each ``*_step`` compiles one node's
keywords into a closure (``None`` when the node has none) that reports with
kube-openapi's wording.  Upstream quirks kept on purpose: the string checks
stop at the first failure (maxLength, then minLength, then pattern), the number
checks do not (multipleOf, minimum, maximum); for an integer value the bounds
and the factor are truncated to int64 first, as go-openapi converts them; an
enum matches after converting the value to the enum member's type (so ``1.0``
matches ``1``) and ``null`` never matches.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from re import Pattern
from re import error as re_error
from typing import Any

from mizzen.apiserver.crdschema_formats import compile_pattern
from mizzen.apiserver.crdschema_values import (
    Path,
    Sink,
    go_float,
    go_json,
    invalid,
    not_supported,
    openapi_name,
    too_long,
)

Check = Callable[[Any, Path, Sink], None]


def number(node: dict[str, Any], key: str) -> int | float | None:
    """A numeric keyword's value; ``None`` when absent or not a number (never in a CRD)."""
    value = node.get(key)
    return value if type(value) in (int, float) else None


def count(node: dict[str, Any], key: str) -> int | None:
    """A length or count keyword's value (``maxLength``, ``minItems``...), if an integer."""
    value = number(node, key)
    return int(value) if value is not None and math.isfinite(value) and value == int(value) \
        else None


def _json_integer(f: float) -> bool:
    """go-openapi's ``IsFloat64AJSONInteger`` (with its relative tolerance)."""
    if math.isnan(f) or math.isinf(f) or abs(f) > 2.0**53:
        return False
    g = float(int(f))
    return f == g or abs(f - g) / (abs(f) + abs(g)) < 1e-9


def _enum_match(value: Any, allowed: Any) -> bool:
    """Go's reflect-based enum check: convert ``value`` to the enum value's type, compare."""
    tv, ta = type(value), type(allowed)
    if ta is float and tv is int:
        return bool(float(value) == allowed)
    if ta is int and tv is float:
        return bool(int(value) == allowed)
    return tv is ta and bool(value == allowed)


def string_step(node: dict[str, Any]) -> Check | None:
    """``maxLength``, ``minLength`` and ``pattern`` (in RE2 syntax, searched)."""
    max_len, min_len, pattern = count(node, "maxLength"), count(node, "minLength"), \
        node.get("pattern")
    rx: Pattern[str] | None = None
    broken = ""
    if isinstance(pattern, str) and pattern:
        try:
            rx = compile_pattern(pattern)
        except re_error as exc:
            broken = f"{pattern}, but pattern is invalid: {exc}"
    else:
        pattern = None
    if max_len is None and min_len is None and pattern is None:
        return None

    def check(value: str, path: Path, sink: Sink) -> None:
        n = len(value)
        if max_len is not None and n > max_len:
            sink.causes.append(too_long(sink.field(openapi_name(path)), max_len))
        elif min_len is not None and n < min_len:
            name = openapi_name(path)
            sink.causes.append(invalid(sink.field(name), value,
                                       f"{name} in body should be at least {min_len} chars long"))
        elif pattern is not None and (rx is None or rx.search(value) is None):
            name = openapi_name(path)
            sink.causes.append(invalid(sink.field(name), value,
                                       f"{name} in body should match '{broken or pattern}'"))
    return check


def _bound(value: int | float, limit: float, exclusive: bool, upper: bool) -> str | None:
    """The failed bound as upstream prints it, or ``None`` when ``value`` is within it."""
    if type(value) is int:
        limit = int(limit)  # int64(float64(bound)), truncating like Go
    over = (value >= limit if exclusive else value > limit) if upper else \
        (value <= limit if exclusive else value < limit)
    if not over:
        return None
    shown = str(limit) if type(limit) is int else go_float(float(limit))
    word = "less" if upper else "greater"
    return f"should be {word} than {shown}" if exclusive else \
        f"should be {word} than or equal to {shown}"


def number_step(node: dict[str, Any]) -> Check | None:
    """``multipleOf``, ``minimum``/``exclusiveMinimum``, ``maximum``/``exclusiveMaximum``."""
    factor, low, high = number(node, "multipleOf"), number(node, "minimum"), \
        number(node, "maximum")
    low_x, high_x = node.get("exclusiveMinimum") is True, node.get("exclusiveMaximum") is True
    if factor is None and low is None and high is None:
        return None

    def check(value: int | float, path: Path, sink: Sink) -> None:
        details = []
        if factor is not None:
            if factor < 0:
                details.append(f"factor MultipleOf declared for {{}} must be positive: {factor}")
            elif type(value) is int and int(factor) != 0:
                if value % int(factor):
                    details.append(f"{{}} in body should be a multiple of {int(factor)}")
            elif factor and not _json_integer(value / factor if factor >= 1
                                              else (1 / factor) * value):
                details.append(f"{{}} in body should be a multiple of {go_float(float(factor))}")
        for limit, exclusive, upper in ((low, low_x, False), (high, high_x, True)):
            if limit is not None and (why := _bound(value, limit, exclusive, upper)):
                details.append("{} in body " + why)
        if details:
            name = openapi_name(path)
            sink.causes.extend(invalid(sink.field(name), value, d.format(name)) for d in details)
    return check


def enum_step(node: dict[str, Any]) -> Check | None:
    """``enum``: a non-member is ``Unsupported value`` listing the members."""
    allowed = node.get("enum")
    if not isinstance(allowed, list) or not allowed:
        return None
    shown = [v if type(v) is str else go_json(v) for v in allowed]
    strings = frozenset(v for v in allowed if type(v) is str)
    candidates = [v for v in allowed if v is not None]

    def check(value: Any, path: Path, sink: Sink) -> None:
        if type(value) is str and value in strings:
            return
        if value is not None and any(_enum_match(value, a) for a in candidates):
            return
        sink.causes.append(not_supported(sink.field(openapi_name(path)), value, shown))
    return check
