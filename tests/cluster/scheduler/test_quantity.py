"""Quantities into scheduler units: millicores for cpu, base units for the rest, rounded up."""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.cluster.scheduler.quantity import QuantityError, to_units


@pytest.mark.parametrize(("resource", "value", "units"), [
    ("cpu", "2", 2000),
    ("cpu", "250m", 250),
    ("cpu", "0.5", 500),
    ("cpu", "0.1", 100),
    ("cpu", "1.5k", 1_500_000),
    ("cpu", "1e-3", 1),
    ("cpu", "0.1m", 1),  # rounded up, never zero
    ("cpu", "500u", 1),
    ("cpu", 3, 3000),
    ("cpu", 0.25, 250),
    ("memory", "128974848", 128974848),
    ("memory", "129e6", 129_000_000),
    ("memory", "129M", 129_000_000),
    ("memory", "123Mi", 123 * 2**20),
    ("memory", "1Gi", 2**30),
    ("memory", "1.5Gi", 3 * 2**29),
    ("memory", "64Ki", 65536),
    ("memory", "1k", 1000),
    ("memory", "1G", 10**9),
    ("memory", "2E", 2 * 10**18),
    ("memory", "1E3", 1000),
    ("memory", "1Ti", 2**40),
    ("memory", "+1.5", 2),
    ("pods", "110", 110),
    ("nvidia.com/gpu", "1", 1),
], ids=lambda v: str(v))
def test_to_units(resource: str, value: Any, units: int) -> None:
    assert to_units(resource, value) == units


@pytest.mark.parametrize("value", ["", "abc", "1Qi", "1.2.3", "Gi", "1e", True, None, [1]])
def test_malformed_quantities_raise(value: Any) -> None:
    with pytest.raises(QuantityError):
        to_units("memory", value)
