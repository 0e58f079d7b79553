"""Int-or-percent values (Kubernetes ``IntOrString``) and the rounding rule of each field.

Why shaped so: OpenKruise keeps ``partition``, ``maxUnavailable``,
``maxSurge`` and ``scaleStrategy.maxUnavailable`` as written (``3`` or
``"20%"``) and scales them against the replica count only when it plans.
Each field rounds differently, and the differences are the whole point
(a ``"99%"`` partition of 4 pods must still update one pod), so the general
:func:`scaled_value` sits beside one small function per field that spells
out that field's upstream rule.  Everything here is pure arithmetic on
integers: no floats, so ``ceil`` and ``floor`` are exact.

Bad input (a string that is not ``"<int>%"``, a bool, a float) raises
:class:`ValueError` with the offending value in the message; validation
turns those into field errors before a planner ever sees them.
"""

from __future__ import annotations

import re

__all__ = [
    "DEFAULT_MAX_SURGE",
    "DEFAULT_MAX_UNAVAILABLE",
    "IntOrString",
    "is_percent",
    "max_surge_value",
    "max_unavailable_value",
    "parse_percent",
    "partition_value",
    "scale_max_unavailable_value",
    "scaled_value",
]

IntOrString = int | str

# Upstream defaults for the update strategy (applied when a field is unset).
DEFAULT_MAX_UNAVAILABLE: IntOrString = "20%"
DEFAULT_MAX_SURGE: IntOrString = 0

_PERCENT = re.compile(r"^(-?[0-9]+)%$")


def is_percent(value: object) -> bool:
    """True when ``value`` is a string of the form ``"<int>%"`` (e.g. ``"20%"``)."""
    return isinstance(value, str) and _PERCENT.match(value) is not None


def parse_percent(value: str) -> int:
    """``"20%"`` -> ``20``; raises ValueError for anything that is not ``"<int>%"``."""
    if not isinstance(value, str):
        raise ValueError(f"invalid percentage {value!r}: not a string")
    match = _PERCENT.match(value)
    if match is None:
        raise ValueError(f"invalid percentage {value!r}: must be an integer followed by '%'")
    return int(match.group(1))


def _check_int(value: object) -> int:
    # bool is an int subclass in Python but never a valid IntOrString.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"invalid int-or-percent value {value!r}: must be an integer or a string like '20%'"
        )
    return value


def scaled_value(value: IntOrString | None, total: int, *, round_up: bool) -> int:
    """Scale an int-or-percent value against ``total``.

    An int is returned as is; ``"N%"`` becomes ``ceil(N*total/100)`` when
    ``round_up`` else ``floor(N*total/100)``.  ``None`` (field not set) scales
    to 0; callers for which unset means "unlimited" check for None first.
    """
    if value is None:
        return 0
    if isinstance(value, str):
        if not is_percent(value):
            raise ValueError(
                f"invalid int-or-percent value {value!r}: a string must be a percentage like '20%'"
            )
        percent = parse_percent(value)
        product = percent * total
        return -(-product // 100) if round_up else product // 100
    return _check_int(value)


def partition_value(partition: IntOrString | None, replicas: int) -> int:
    """Pods kept on old revisions.

    Rounds up; but a percentage other than ``"100%"`` that comes to all
    ``replicas`` (with more than one replica) keeps ``replicas - 1``, so a
    ``"99%"`` partition still updates one pod.
    """
    value = scaled_value(partition, replicas, round_up=True)
    if (
        isinstance(partition, str)
        and value == replicas
        and replicas > 1
        and parse_percent(partition) != 100
    ):
        return replicas - 1
    return value


def max_surge_value(max_surge: IntOrString | None, replicas: int) -> int:
    """Extra pods allowed above ``replicas`` during an update; rounds up, unset is 0."""
    return scaled_value(DEFAULT_MAX_SURGE if max_surge is None else max_surge, replicas,
                        round_up=True)


def max_unavailable_value(
    max_unavailable: IntOrString | None, replicas: int, max_surge_nonzero: bool
) -> int:
    """Pods that may be unavailable during an update.

    Rounds up, but down when maxSurge is non-zero (surge pods then carry the
    update instead).  Unset means the default ``"20%"``.
    """
    value = DEFAULT_MAX_UNAVAILABLE if max_unavailable is None else max_unavailable
    return scaled_value(value, replicas, round_up=not max_surge_nonzero)


def scale_max_unavailable_value(max_unavailable: IntOrString | None, replicas: int) -> int | None:
    """``scaleStrategy.maxUnavailable``: rounds up; ``None`` (unset) means unlimited."""
    if max_unavailable is None:
        return None
    return scaled_value(max_unavailable, replicas, round_up=True)
