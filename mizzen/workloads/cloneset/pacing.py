"""How often a big CloneSet is planned: at most a set share of the event loop, per CloneSet.

Why: every event of a CloneSet's pods enqueues the CloneSet, and a pass plans
from all its pods.  During a rollout of thousands of pods the kubelet's
status writes arrive one by one, so back-to-back passes would each find a
handful of new statuses, write for those, and run again at once — the
number of passes grows with the pods, each costs time proportional to the
pods, and the planner crowds the API server and the kubelets out of the one
event loop they share with it.  Waiting a little between passes lets one
pass take in everything that arrived meanwhile: the writes come out in
batches, and the planner's share of the loop stays bounded.

The rule (:class:`Pacer`): after a pass of a CloneSet that took ``cost``
seconds (observing and planning — the pure CPU part, measured on the
controller's clock), the next pass of that CloneSet waits ``cost × (1/share
- 1)`` seconds, capped at ``max_delay``, so planning it uses at most
``share`` of the time.  A pass cheaper than ``threshold`` sets no wait: a
small CloneSet (tens or hundreds of pods, well under a millisecond a pass)
reacts to every event at once, exactly as without pacing.  Events that come
during the wait do not shorten it; the runtime's queue keeps the earliest
requeue, so the pass runs once the wait is over, with everything seen.

The trade-off is latency for throughput on big CloneSets only: at 10,000
pods a pass costs tens of milliseconds, so a write decided from a kubelet
status waits up to about three times that before it is sent, in exchange for
one pass per batch of statuses instead of one per few statuses.  Tests with
a fake clock measure no cost and so are never paced.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

__all__ = ["Pacer", "PacingOptions"]


@dataclass(frozen=True)
class PacingOptions:
    """The pacing rule's knobs (see the module docstring)."""

    # Most of the time one CloneSet's passes may take (0 < share <= 1; 1: no pacing).
    share: float = 0.25
    # Passes cheaper than this (seconds) set no wait.
    threshold: float = 0.002
    # The longest wait between two passes (seconds).
    max_delay: float = 1.0


class Pacer:
    """When each key may be planned again, from what its last pass cost."""

    def __init__(self, options: PacingOptions | None = None) -> None:
        self.options = options if options is not None else PacingOptions()
        if not 0 < self.options.share <= 1:
            raise ValueError(f"pacing share must be in (0, 1], got {self.options.share}")
        self._next: dict[Hashable, float] = {}

    def wait(self, key: Hashable, now: float) -> float:
        """Seconds until ``key`` may be planned again (0: now)."""
        due = self._next.get(key)
        if due is None:
            return 0.0
        if due <= now:
            del self._next[key]
            return 0.0
        return due - now

    def record(self, key: Hashable, started: float, ended: float) -> float:
        """A pass of ``key`` ran from ``started`` to ``ended``; returns the wait it sets."""
        cost = max(ended - started, 0.0)
        opts = self.options
        if cost < opts.threshold or opts.share >= 1:
            self._next.pop(key, None)
            return 0.0
        delay = min(cost * (1 / opts.share - 1), opts.max_delay)
        self._next[key] = ended + delay
        return delay

    def forget(self, key: Hashable) -> None:
        """Drop what is known of ``key`` (it was deleted)."""
        self._next.pop(key, None)
