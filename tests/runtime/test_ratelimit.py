"""Rate limiters: per-item exponential backoff, the global bucket, and their max."""

from __future__ import annotations

import pytest

from mizzen.runtime.clock import FakeClock
from mizzen.runtime.ratelimit import (
    ItemExponentialBackoff,
    MaxOf,
    TokenBucket,
    default_controller_rate_limiter,
)


def test_backoff_doubles_per_item_up_to_the_cap_and_forget_resets() -> None:
    backoff = ItemExponentialBackoff(base=0.1, cap=1.0)
    assert [backoff.when("a") for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff.when("b") == 0.1  # items are independent
    assert backoff.retries("a") == 6
    backoff.forget("a")
    assert backoff.retries("a") == 0
    assert backoff.when("a") == 0.1


def test_backoff_survives_very_many_failures() -> None:
    backoff = ItemExponentialBackoff(base=0.005, cap=1000.0)
    for _ in range(200):
        delay = backoff.when("x")
    assert delay == 1000.0


def test_token_bucket_spends_burst_then_queues_reservations_and_refills() -> None:
    clock = FakeClock()
    bucket = TokenBucket(qps=10, burst=2, clock=clock)
    assert bucket.when("a") == 0
    assert bucket.when("b") == 0
    assert bucket.when("c") == pytest.approx(0.1)
    assert bucket.when("d") == pytest.approx(0.2)  # queued behind c
    clock.advance(1.0)  # refills 10 tokens but holds at most the burst
    assert bucket.tokens == pytest.approx(2.0)


def test_max_of_takes_the_longest_delay_and_forgets_everywhere() -> None:
    clock = FakeClock()
    limiter = MaxOf(ItemExponentialBackoff(0.01, 100), TokenBucket(1, 1, clock))
    assert limiter.when("a") == 0.01  # bucket has a token
    assert limiter.when("a") == pytest.approx(1.0)  # bucket empty: 1 s beats 0.02 s
    assert limiter.retries("a") == 2
    limiter.forget("a")
    assert limiter.retries("a") == 0
    with pytest.raises(ValueError):
        MaxOf()


def test_default_controller_limiter_matches_controller_runtime() -> None:
    limiter = default_controller_rate_limiter(FakeClock())
    assert [limiter.when("k") for _ in range(3)] == [0.005, 0.01, 0.02]


@pytest.mark.parametrize(("base", "cap"), [(0, 1), (1, 0.5)])
def test_backoff_rejects_bad_parameters(base: float, cap: float) -> None:
    with pytest.raises(ValueError):
        ItemExponentialBackoff(base, cap)
