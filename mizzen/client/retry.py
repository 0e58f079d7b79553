"""When the client repeats a failed request, and how long it waits first.

Retrying is only safe if repeating the request cannot do something the
caller did not ask for, so failures fall in three classes:

* **unprocessed** — the server certainly did not act: HTTP 429 (rejected by
  flow control), 503 (not serving), or a connection that failed before the
  request was written (refused, DNS, connect timeout).  Every request is
  retried, creates included.
* **ambiguous** — the server may have acted: 500, 502, 504, or a connection
  that dropped or timed out after the request was sent.  Only *replayable*
  requests are retried (below); the others raise, and the caller decides.
* **final** — everything else (4xx verdicts, TLS certificate errors).  Never
  retried; in particular a 409 Conflict or AlreadyExists is a controller's
  business (re-read and requeue), not the transport's.

A request is replayable when doing it twice ends in the same state as once:

* GET, LIST, WATCH (reads), PUT (an update is a full replacement, and one
  carrying a resourceVersion turns a repeat into a 409 Conflict instead of a
  second write), DELETE and DELETE-collection (a repeat finds the object gone
  and answers 404 — callers must treat NotFound on delete as done), merge,
  strategic-merge and apply PATCHes (they set values; applying twice is a
  no-op).
* Not JSON patches (``add`` to ``/-`` or ``remove`` by index would apply
  twice) nor raw POSTs.
* **A create is replayable when the object has a fixed ``metadata.name``**:
  the repeat of a create that did land answers 409 AlreadyExists, which is
  returned to the caller and never duplicates the object.  A create with only
  ``generateName`` is not replayable — a repeat could make a second object —
  so on an ambiguous failure it raises :class:`TransportError` and leaves the
  caller to find out (its expectations, or a list by label).

Waits: ``Retry-After`` (header, or the Status ``details.retryAfterSeconds``)
is honoured exactly, capped at ``max_retry_after``; otherwise exponential
backoff ``base * 2**attempt`` capped at ``cap``, with "equal jitter" — a
uniformly random point in its upper half — so clients that failed together
do not come back together yet each still waits at least half the nominal time.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any

import aiohttp

__all__ = ["Backoff", "Failure", "classify_error", "classify_status", "retry_after"]

JSON_PATCH = "application/json-patch+json"


class Failure(Enum):
    UNPROCESSED = "unprocessed"
    AMBIGUOUS = "ambiguous"


def classify_status(status: int) -> Failure | None:
    """The retry class of an HTTP status; ``None`` when it is a final answer."""
    if status in (429, 503):
        return Failure.UNPROCESSED
    if status in (500, 502, 504):
        return Failure.AMBIGUOUS
    return None


def classify_error(exc: BaseException) -> Failure | None:
    """The retry class of an exception raised while sending or reading a request."""
    if isinstance(exc, aiohttp.ClientSSLError):
        return None  # a bad certificate does not heal by itself
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return Failure.UNPROCESSED  # no connection, so nothing was sent
    if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError
                  | TimeoutError):
        return Failure.AMBIGUOUS
    return None


def replayable(method: str, content_type: str, *, named_create: bool = False) -> bool:
    """Whether sending this request twice is as good as once (see the module docstring)."""
    if method in ("GET", "HEAD", "PUT", "DELETE"):
        return True
    if method == "PATCH":
        return content_type != JSON_PATCH
    if method == "POST":
        return named_create
    return False


def retry_after(header: str | None, body: Any, now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` or the Status body."""
    if header:
        text = header.strip()
        if text.isdigit():
            return float(text)
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    if isinstance(body, dict):
        details = body.get("details")
        if isinstance(details, dict):
            value = details.get("retryAfterSeconds")
            if isinstance(value, int) and value >= 0:
                return float(value)
    return None


class Backoff:
    """Exponential backoff with equal jitter, and the cap on server-requested waits."""

    def __init__(self, base: float = 0.1, cap: float = 10.0, max_retry_after: float = 60.0,
                 rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.max_retry_after = max_retry_after
        self._rng = rng or random.Random()

    def delay(self, attempt: int, server_hint: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
        if server_hint is not None:
            return min(server_hint, self.max_retry_after)
        nominal = min(self.cap, self.base * 2.0 ** min(attempt, 32))
        return nominal / 2 + self._rng.random() * nominal / 2
