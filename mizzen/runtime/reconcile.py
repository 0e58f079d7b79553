"""The reconcile contract: a key in, a :class:`Result` out, and who decides retries.

Reconciliation is level-based.  A :class:`Request` carries only the namespace and
name of the object to bring into line — never the event that caused it — so a
reconciler reads the current state from the cache and acts on that; ten events
for one object collapse into one request in the work queue and one pass.

A reconciler is any ``async`` callable ``(Request) -> Result``; a bound method
(``MyReconciler(...).reconcile``) is the usual shape, and it receives its
dependencies (client, cache, clock, recorder) through its own constructor.

The runtime, not the reconciler, owns retry policy (see ``controller.py``):

==========================  ==================================================
the reconciler ...          the controller then ...
==========================  ==================================================
returns ``Result()``        forgets the key's backoff; done until the next event
returns ``Result(requeue_   forgets the backoff and re-adds the key after that
after=s)``                  many seconds (a poll, e.g. waiting for a deadline)
raises ``TerminalError``    forgets the key and does not retry: retrying cannot
                            help (invalid spec); a new event will try again
raises anything else        re-adds the key with the rate limiter's delay
                            (per-key exponential backoff, global bucket)
==========================  ==================================================

This module is deliberately free of I/O: it is the vocabulary every controller
and every test shares, and it imports nothing but the standard library.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Reconciler", "Request", "Result", "TerminalError"]


@dataclass(frozen=True, order=True, slots=True)
class Request:
    """The identity of one object to reconcile; ``namespace`` is ``""`` if cluster-scoped."""

    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Request:
        """The request for an API object (a dict with ``metadata``)."""
        meta = obj.get("metadata") or {}
        return cls(str(meta.get("namespace") or ""), str(meta.get("name") or ""))

    @classmethod
    def parse(cls, key: str) -> Request:
        """The inverse of ``str(request)``: ``"ns/name"`` or ``"name"``."""
        namespace, sep, name = key.partition("/")
        if not sep:
            return cls("", namespace)
        return cls(namespace, name)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class Result:
    """What a successful pass asks of the controller.

    ``requeue_after`` (seconds, > 0) re-adds the request after that delay,
    independently of any event; ``None`` means "done until something changes".
    """

    requeue_after: float | None = None

    def __post_init__(self) -> None:
        if self.requeue_after is not None and self.requeue_after < 0:
            raise ValueError(f"requeue_after must be >= 0, got {self.requeue_after}")

    @classmethod
    def soonest(cls, *results: Result) -> Result:
        """One result for a pass made of steps: requeue after the shortest positive delay.

        A reconciler written as a flat list of ``reconcile_x()`` steps lets each
        step say when it wants another look (a rollout pause ending, a deadline)
        and returns ``Result.soonest(*step_results)``; steps with no opinion
        return ``Result()``, which does not shorten anything.
        """
        delays = [r.requeue_after for r in results if r.requeue_after]
        return cls(min(delays)) if delays else cls()


class TerminalError(Exception):
    """A failure that retrying cannot fix; the controller drops the request.

    Raise it (or ``raise TerminalError(...) from exc``) for invalid input the
    reconciler will never be able to act on.  The controller counts it
    separately from ordinary errors and does not back off or retry.
    """


Reconciler = Callable[[Request], Awaitable[Result]]
"""Any ``async def reconcile(request: Request) -> Result`` (function or bound method)."""
