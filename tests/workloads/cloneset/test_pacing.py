"""Pacing of a big CloneSet's passes: the wait a pass's cost sets, and who is never paced."""

from __future__ import annotations

import pytest

from mizzen.workloads.cloneset.pacing import Pacer, PacingOptions

KEY = ("default", "web")


def test_a_cheap_pass_sets_no_wait() -> None:
    pacer = Pacer()
    assert pacer.record(KEY, 10.0, 10.001) == 0.0  # 1 ms: under the 2 ms threshold
    assert pacer.wait(KEY, 10.001) == 0.0


def test_an_expensive_pass_waits_three_times_its_cost_at_a_quarter_share() -> None:
    pacer = Pacer(PacingOptions(share=0.25))
    assert pacer.record(KEY, 10.0, 10.040) == pytest.approx(0.120)
    assert pacer.wait(KEY, 10.040) == pytest.approx(0.120)
    assert pacer.wait(KEY, 10.100) == pytest.approx(0.060)  # counts down
    assert pacer.wait(KEY, 10.161) == 0.0
    assert pacer.wait(KEY, 10.100) == 0.0  # over once passed: the entry is gone


def test_the_wait_is_capped_and_a_later_cheap_pass_clears_it() -> None:
    pacer = Pacer(PacingOptions(share=0.1, max_delay=0.5))
    assert pacer.record(KEY, 0.0, 2.0) == 0.5
    assert pacer.record(KEY, 2.5, 2.5005) == 0.0
    assert pacer.wait(KEY, 2.5005) == 0.0


def test_keys_are_paced_apart_and_forgotten() -> None:
    pacer = Pacer()
    other = ("default", "api")
    pacer.record(KEY, 0.0, 0.1)
    assert pacer.wait(other, 0.1) == 0.0
    pacer.forget(KEY)
    assert pacer.wait(KEY, 0.1) == 0.0


def test_a_full_share_never_paces() -> None:
    pacer = Pacer(PacingOptions(share=1.0))
    assert pacer.record(KEY, 0.0, 5.0) == 0.0


@pytest.mark.parametrize("share", [0.0, -0.5, 1.5])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        Pacer(PacingOptions(share=share))
