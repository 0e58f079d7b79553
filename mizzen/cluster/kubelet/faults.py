"""Failure injection: what a pod's ``sim.mizzen.dev/*`` annotations ask of the kubelet.

The annotations are read once per pass into a frozen :class:`Faults`, so the
planner never parses strings.  A value that cannot be read is ignored (the
pod then behaves normally) rather than failing the pod: a typo in a test
annotation should show as "no effect", not as a stuck controller.

==================  ===============  ===============================================
annotation          value            effect
==================  ===============  ===============================================
``crash-loop``      ``"true"`` or    every container exits with code 1 right after
                    seconds          starting (or after running that long), and is
                                     restarted with the kubelet's back-off
``never-ready``     ``"true"``       containers run but never become ready
``start-delay``     seconds          added to every start of a regular container
``readiness-flap``  seconds          ready and unready in turn, this long each
``run-for``         seconds          containers exit 0 after running this long
                                     (job-style pods complete; crash-loop wins)
==================  ===============  ===============================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mizzen.cluster.config import CRASH_LOOP, NEVER_READY, READINESS_FLAP, RUN_FOR, START_DELAY

__all__ = ["Faults"]

_TRUE = ("true", "yes", "1")


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


@dataclass(frozen=True, slots=True)
class Faults:
    """The failures injected into one pod (none by default)."""

    # Seconds a container runs before exiting with code 1; None: it does not crash.
    crash_after: float | None = None
    # Containers never report ready.
    never_ready: bool = False
    # Seconds added before each start of a regular container.
    start_delay: float = 0.0
    # Readiness flips every this many seconds of running; None: steady.
    flap_every: float | None = None
    # Seconds a container runs before exiting 0; None: it runs until stopped.
    run_for: float | None = None

    @classmethod
    def of(cls, annotations: Mapping[str, Any] | None) -> Faults:
        """The faults ``annotations`` (a pod's ``metadata.annotations``) ask for."""
        a = annotations or {}
        if not any(k in a for k in (CRASH_LOOP, NEVER_READY, START_DELAY, READINESS_FLAP,
                                    RUN_FOR)):
            return _NONE
        crash = str(a.get(CRASH_LOOP, "")).strip().lower()
        crash_after = 0.0 if crash in _TRUE else _seconds(crash) if crash else None
        flap = _seconds(a.get(READINESS_FLAP, ""))
        return cls(
            crash_after=crash_after,
            never_ready=str(a.get(NEVER_READY, "")).strip().lower() in _TRUE,
            start_delay=_seconds(a.get(START_DELAY, "")) or 0.0,
            flap_every=flap if flap else None,
            run_for=_seconds(a.get(RUN_FOR, "")),
        )

    def exit_after(self) -> tuple[float, int] | None:
        """(seconds of running, exit code) of a regular container, or None if it keeps
        running."""
        if self.crash_after is not None:
            return self.crash_after, 1
        if self.run_for is not None:
            return self.run_for, 0
        return None


_NONE = Faults()
