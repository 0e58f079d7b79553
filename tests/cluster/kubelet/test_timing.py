"""Timing: failure-injection annotations, pull and start times, crash back-off."""

from __future__ import annotations

import pytest

from mizzen.cluster.config import (
    CRASH_LOOP,
    NEVER_READY,
    READINESS_FLAP,
    RUN_FOR,
    START_DELAY,
    ImageLatency,
    LatencyProfile,
)
from mizzen.cluster.kubelet.timing import Faults, back_off, creation_seconds


@pytest.mark.parametrize(("annotations", "expected"), [
    pytest.param(None, Faults(), id="no annotations: no faults"),
    pytest.param({"other": "x"}, Faults(), id="unrelated annotations: no faults"),
    pytest.param({CRASH_LOOP: "true"}, Faults(crash_after=0.0), id="crash at once"),
    pytest.param({CRASH_LOOP: "2.5"}, Faults(crash_after=2.5), id="crash after running 2.5s"),
    pytest.param({CRASH_LOOP: "false"}, Faults(), id="crash-loop false: none"),
    pytest.param({NEVER_READY: "true"}, Faults(never_ready=True), id="never ready"),
    pytest.param({START_DELAY: "3"}, Faults(start_delay=3.0), id="start delay"),
    pytest.param({START_DELAY: "soon"}, Faults(), id="unreadable value is ignored"),
    pytest.param({START_DELAY: "-1"}, Faults(), id="negative value is ignored"),
    pytest.param({READINESS_FLAP: "1"}, Faults(flap_every=1.0), id="flap every second"),
    pytest.param({READINESS_FLAP: "0"}, Faults(), id="flap every 0s: none"),
    pytest.param({RUN_FOR: "10"}, Faults(run_for=10.0), id="run for 10s"),
])
def test_annotations_parse(annotations: dict[str, str] | None, expected: Faults) -> None:
    assert Faults.of(annotations) == expected


def test_crash_loop_wins_over_run_for() -> None:
    assert Faults.of({CRASH_LOOP: "1", RUN_FOR: "5"}).exit_after() == (1.0, 1)
    assert Faults.of({RUN_FOR: "5"}).exit_after() == (5.0, 0)
    assert Faults().exit_after() is None


LATENCY = LatencyProfile(images=(("registry.local/*", ImageLatency(9.0, 3.0, 2.0)),),
                         default_image=ImageLatency(pull=4.0, pull_cached_layers=1.0, start=0.5))


@pytest.mark.parametrize(("image", "policy", "present", "seconds"), [
    pytest.param("nginx:1.25", "IfNotPresent", set(), 4.5, id="new image: full pull"),
    pytest.param("nginx:1.25", "IfNotPresent", {"nginx:1.25"}, 0.5, id="present: no pull"),
    pytest.param("nginx:1.25", "Always", {"nginx:1.25"}, 1.5, id="Always re-checks"),
    pytest.param("nginx:1.26", "IfNotPresent", {"docker.io/library/nginx:1.25"}, 1.5,
                 id="another tag of the repository: cached layers"),
    pytest.param("registry.local/app:2", "IfNotPresent", set(), 11.0,
                 id="per-image pattern: first match wins"),
])
def test_creation_seconds(image: str, policy: str, present: set[str], seconds: float) -> None:
    assert creation_seconds(image, policy, frozenset(present), LATENCY) == seconds
    assert creation_seconds(image, policy, frozenset(present), LATENCY, 2.0) == seconds + 2


@pytest.mark.parametrize(("current", "ago", "expected"), [
    pytest.param(0.0, None, (0.0, 10.0), id="first exit: restart at once, arm 10s"),
    pytest.param(10.0, 0.0, (10.0, 20.0), id="second exit: wait 10s, then 20s"),
    pytest.param(160.0, 5.0, (160.0, 300.0), id="doubling stops at 300s"),
    pytest.param(300.0, 5.0, (300.0, 300.0), id="and stays there"),
    pytest.param(300.0, 601.0, (0.0, 10.0), id="ten quiet minutes: start over"),
])
def test_back_off(current: float, ago: float | None, expected: tuple[float, float]) -> None:
    assert back_off(current, ago) == expected
