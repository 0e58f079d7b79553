"""How long things take for one pod: injected faults, image pulls, crash back-off.

Everything time-related that the runtime's transitions need, as pure
arithmetic, so the rules read in one place and are tested directly.

**Failure injection.**  A pod's ``sim.mizzen.dev/*`` annotations are read
once per pass into a frozen :class:`Faults`.  A value that cannot be read is
ignored (the pod then behaves normally) rather than failing the pod: a typo
in a test annotation should show as "no effect", not as a stuck controller.

==================  ===============  ===============================================
annotation          value            effect
==================  ===============  ===============================================
``crash-loop``      ``"true"`` or    every regular container exits with code 1
                    seconds          right after starting (or after running that
                                     long), and restarts with the kubelet's back-off
``never-ready``     ``"true"``       containers run but never become ready
``start-delay``     seconds          added to every start of a regular container
``readiness-flap``  seconds          ready and unready in turn, this long each
``run-for``         seconds          regular containers exit 0 after running this
                                     long (job-style pods complete; crash-loop wins)
==================  ===============  ===============================================

**Pulls** (:func:`creation_seconds`): an image the node has never seen costs
``pull``; another tag of a repository the node has costs ``pull_cached_layers``
(most layers are shared: the in-place update case), as does re-checking a
present image under ``imagePullPolicy: Always``; a present image costs
nothing.  Then ``start``, and ``start-delay`` for regular containers.

**Back-off** (:func:`back_off`), upstream ``flowcontrol.Backoff`` as the kubelet
uses it: the first restart is immediate and arms a 10 s back-off; each later
exit waits the current back-off and doubles it, up to 300 s; an exit more
than 600 s after the back-off was last raised starts over.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mizzen.cluster.config import (
    CRASH_LOOP,
    NEVER_READY,
    READINESS_FLAP,
    RUN_FOR,
    START_DELAY,
    LatencyProfile,
)
from mizzen.cluster.kubelet.identity import repository

__all__ = ["BACKOFF_INITIAL", "BACKOFF_MAX", "Faults", "back_off", "creation_seconds"]

BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 300.0
BACKOFF_RESET = 2 * BACKOFF_MAX
_TRUE = ("true", "yes")  # a number for crash-loop means seconds


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


def creation_seconds(image: str, pull_policy: str, present: frozenset[str],
                     latency: LatencyProfile, start_delay: float = 0.0) -> float:
    """Seconds from "start this container" to running: pull + start + ``start_delay``."""
    lat = latency.image(image)
    if image in present:
        pull = lat.pull_cached_layers if pull_policy == "Always" else 0.0
    elif repository(image) in {repository(i) for i in present}:
        pull = lat.pull_cached_layers
    else:
        pull = lat.pull
    return pull + lat.start + start_delay


def back_off(current: float, raised_ago: float | None) -> tuple[float, float]:
    """(seconds to wait before restarting, the back-off after that restart) for a
    container exiting now, whose back-off is ``current`` (0: none yet), last raised
    ``raised_ago`` seconds ago."""
    if current <= 0 or raised_ago is None or raised_ago > BACKOFF_RESET:
        return 0.0, BACKOFF_INITIAL
    return current, min(current * 2, BACKOFF_MAX)
