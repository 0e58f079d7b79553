"""Resource quantities as the scheduler counts them: integers in fixed units.

The scheduler adds and compares requests thousands of times per second, so
every quantity is converted once, when a pod or node is compiled, into an
``int`` in the unit upstream's ``resource.Quantity`` uses for that resource:

* ``cpu`` in **millicores** (``MilliValue``): ``"2"`` → 2000, ``"250m"`` → 250,
  ``"0.5"`` → 500;
* everything else (``memory``, ``ephemeral-storage``, ``pods``, extended
  resources such as ``nvidia.com/gpu``) in **base units** (``Value``):
  ``"1Gi"`` → 1073741824, ``"1G"`` → 10**9, ``"1e3"`` → 1000.

Both round **up**, as upstream does, so a request of ``"0.1m"`` still counts
as 1 millicore and never slips through a full node as zero.

The grammar is the API's: a signed decimal number followed by a binary suffix
(``Ki Mi Gi Ti Pi Ei``), a decimal suffix (``n u m k M G T P E``) or a decimal
exponent (``e3``, ``E-2``).  JSON numbers are accepted too.  Arithmetic is
exact (:class:`~decimal.Decimal`): ``"0.1"`` CPU is 100 millicores, not
100.00000000000001.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

__all__ = ["CPU", "MEMORY", "PODS", "QuantityError", "parse", "to_units"]

CPU = "cpu"
MEMORY = "memory"
PODS = "pods"

_NUMBER = re.compile(r"^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(.*)$")
_EXPONENT = re.compile(r"^[eE][+-]?[0-9]+$")
_SUFFIXES = MappingProxyType({
    "": Decimal(1),
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"),
    "T": Decimal("1e12"), "P": Decimal("1e15"), "E": Decimal("1e18"),
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
})


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse(value: Any) -> Decimal:
    """The exact value of a quantity (``"1.5Gi"``, ``"100m"``, ``"2e3"``, ``4``)."""
    if isinstance(value, bool):
        raise QuantityError(f"not a quantity: {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if not isinstance(value, str):
        raise QuantityError(f"not a quantity: {value!r}")
    match = _NUMBER.match(value.strip())
    if match is None:
        raise QuantityError(f"not a quantity: {value!r}")
    number, suffix = match.groups()
    try:
        if suffix in _SUFFIXES:
            return Decimal(number) * _SUFFIXES[suffix]
        if _EXPONENT.match(suffix):
            return Decimal(number + suffix)
    except InvalidOperation:
        pass
    raise QuantityError(f"not a quantity: {value!r}")


def to_units(resource: str, value: Any) -> int:
    """``value`` in the scheduler's unit for ``resource`` (millicores for cpu), rounded up."""
    exact = parse(value)
    if resource == CPU:
        exact *= 1000
    return math.ceil(exact)
