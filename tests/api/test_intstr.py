"""Int-or-percent scaling: the general rule and each CloneSet field's rounding."""

from __future__ import annotations

import pytest

from mizzen.api.intstr import (
    is_percent,
    max_surge_value,
    max_unavailable_value,
    parse_percent,
    partition_value,
    scale_max_unavailable_value,
    scaled_value,
)


@pytest.mark.parametrize(("value", "total", "round_up", "expected"), [
    pytest.param(3, 10, True, 3, id="an int is returned as is"),
    pytest.param(30, 10, False, 30, id="an int larger than the total is not clamped"),
    pytest.param("20%", 10, True, 2, id="20% of 10 is exactly 2 either way (up)"),
    pytest.param("20%", 10, False, 2, id="20% of 10 is exactly 2 either way (down)"),
    pytest.param("25%", 5, True, 2, id="25% of 5 = 1.25 rounds up to 2"),
    pytest.param("25%", 5, False, 1, id="25% of 5 = 1.25 rounds down to 1"),
    pytest.param("1%", 1, True, 1, id="1% of 1 rounds up to 1"),
    pytest.param("1%", 1, False, 0, id="1% of 1 rounds down to 0"),
    pytest.param("0%", 7, True, 0, id="0% is 0"),
    pytest.param("100%", 7, False, 7, id="100% is the total"),
    pytest.param("150%", 4, True, 6, id="over 100% scales past the total"),
    pytest.param(None, 10, True, 0, id="unset scales to 0"),
    pytest.param("-10%", 10, False, -1, id="a negative percent scales (validation refuses it)"),
])
def test_scaled_value(value: int | str | None, total: int, round_up: bool, expected: int) -> None:
    assert scaled_value(value, total, round_up=round_up) == expected


@pytest.mark.parametrize("bad", ["20", "abc", "%", "2.5%", "20 %", " 20%", True, 2.5])
def test_scaled_value_rejects_bad_input_naming_it(bad: object) -> None:
    with pytest.raises(ValueError, match="invalid"):
        scaled_value(bad, 10, round_up=True)  # type: ignore[arg-type]


def test_percent_helpers() -> None:
    assert is_percent("20%") and is_percent("0%") and is_percent("100%")
    assert not is_percent("20") and not is_percent(20) and not is_percent(None)
    assert parse_percent("35%") == 35
    with pytest.raises(ValueError, match="'35'"):
        parse_percent("35")


@pytest.mark.parametrize(("partition", "replicas", "expected"), [
    pytest.param(None, 5, 0, id="unset partition keeps no pod back"),
    pytest.param(2, 5, 2, id="int partition 2 of 5 keeps 2"),
    pytest.param(8, 5, 8, id="int partition above replicas is kept as written"),
    pytest.param("40%", 5, 2, id="40% of 5 keeps 2"),
    pytest.param("30%", 5, 2, id="30% of 5 = 1.5 rounds up to 2"),
    pytest.param("99%", 4, 3, id="99% of 4 rounds to 4 but keeps 3 so one pod updates"),
    pytest.param("90%", 5, 4, id="90% of 5 rounds to 5 but keeps 4"),
    pytest.param("100%", 4, 4, id="100% keeps every pod"),
    pytest.param("99%", 1, 1, id="99% of 1 replica keeps the only pod"),
    pytest.param("50%", 0, 0, id="any percent of 0 replicas is 0"),
])
def test_partition_value(partition: int | str | None, replicas: int, expected: int) -> None:
    assert partition_value(partition, replicas) == expected


@pytest.mark.parametrize(("max_unavailable", "replicas", "surge", "expected"), [
    pytest.param(None, 10, False, 2, id="default 20% of 10 is 2"),
    pytest.param(None, 3, False, 1, id="default 20% of 3 rounds up to 1"),
    pytest.param(None, 3, True, 0, id="default 20% of 3 rounds down to 0 with surge"),
    pytest.param("50%", 5, False, 3, id="50% of 5 rounds up to 3"),
    pytest.param("50%", 5, True, 2, id="50% of 5 rounds down to 2 with surge"),
    pytest.param(0, 5, True, 0, id="int 0 stays 0"),
])
def test_max_unavailable_value(
    max_unavailable: int | str | None, replicas: int, surge: bool, expected: int
) -> None:
    assert max_unavailable_value(max_unavailable, replicas, surge) == expected


@pytest.mark.parametrize(("max_surge", "replicas", "expected"), [
    pytest.param(None, 10, 0, id="unset surge is 0"),
    pytest.param("10%", 5, 1, id="10% of 5 rounds up to 1"),
    pytest.param("50%", 3, 2, id="50% of 3 rounds up to 2"),
    pytest.param(2, 3, 2, id="int surge as written"),
])
def test_max_surge_value(max_surge: int | str | None, replicas: int, expected: int) -> None:
    assert max_surge_value(max_surge, replicas) == expected


def test_scale_max_unavailable_value() -> None:
    assert scale_max_unavailable_value(None, 5) is None
    assert scale_max_unavailable_value("10%", 5) == 1
    assert scale_max_unavailable_value(2, 5) == 2
