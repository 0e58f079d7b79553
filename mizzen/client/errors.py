"""What can go wrong talking to an API server, as three exceptions.

::

    Exception
     ├── ApiError        the server answered with a failure (a Status body, or at
     │                   least an HTTP error code); .status, .reason, .message, .body
     ├── TransportError  no usable answer arrived: connection refused or dropped, TLS
     │                   failure, timeout (after the client's retries, if any)
     └── ConfigError     a kubeconfig, in-cluster setup or exec plugin is unusable

They are separate because callers act on them differently: an
:class:`ApiError` is a verdict about the request (``not_found`` → nothing to
do, ``conflict`` → re-read and requeue, ``invalid`` → a bug or bad input),
while a :class:`TransportError` says nothing about the object and is only
worth retrying later.  Layers above the client may not import ``aiohttp``, so
the client never lets an ``aiohttp`` exception escape: it wraps it in
:class:`TransportError` with the original as ``__cause__``.

The predicates mirror client-go's ``apierrors.IsNotFound`` and friends: they
look at the Status ``reason`` first and fall back to the HTTP code only when
the server gave no reason it recognises, so a 409 ``AlreadyExists`` is not a
``conflict`` and a 410 ``Expired`` is ``gone``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "ConfigError", "TransportError"]

# HTTP code → the reason kube-apiserver uses when it has nothing more specific.
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Gone",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ApiError(Exception):
    """The API server refused or failed a request."""

    def __init__(self, status: int, reason: str, message: str,
                 body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.body = body

    @classmethod
    def from_status(cls, body: dict[str, Any], http_status: int | None = None) -> ApiError:
        """Build from a ``Status`` object (a response body or a watch ERROR event)."""
        code = body.get("code")
        status = code if isinstance(code, int) and code else (http_status or 500)
        reason = body.get("reason") or _REASONS.get(status, "Unknown")
        message = body.get("message") or reason
        return cls(status, str(reason), str(message), body)

    @classmethod
    def from_response(cls, http_status: int, body: Any, text: str = "") -> ApiError:
        """Build from any failed response: a Status body if there is one, else the code."""
        if isinstance(body, dict) and body.get("kind") == "Status":
            return cls.from_status(body, http_status)
        reason = _REASONS.get(http_status, "Unknown")
        message = text.strip()[:500] or f"the server responded with status {http_status}"
        return cls(http_status, reason, message, body if isinstance(body, dict) else None)

    @property
    def not_found(self) -> bool:
        return self.reason == "NotFound" or (self.status == 404 and self._generic)

    @property
    def already_exists(self) -> bool:
        return self.reason == "AlreadyExists"

    @property
    def conflict(self) -> bool:
        """A write lost an optimistic-concurrency race (stale resourceVersion)."""
        return self.reason == "Conflict" or (self.status == 409 and self._generic)

    @property
    def gone(self) -> bool:
        """The requested resourceVersion is too old (410 Gone or Expired): re-list."""
        return self.reason in ("Gone", "Expired") or (self.status == 410 and self._generic)

    @property
    def invalid(self) -> bool:
        return self.reason == "Invalid" or (self.status == 422 and self._generic)

    @property
    def too_many_requests(self) -> bool:
        return self.status == 429 or self.reason == "TooManyRequests"

    @property
    def causes(self) -> list[dict[str, Any]]:
        """``details.causes`` of the Status (field paths and messages of an Invalid)."""
        details = (self.body or {}).get("details") or {}
        causes = details.get("causes") or []
        return [c for c in causes if isinstance(c, dict)]

    @property
    def retry_after_seconds(self) -> int | None:
        details = (self.body or {}).get("details") or {}
        value = details.get("retryAfterSeconds")
        return value if isinstance(value, int) else None

    @property
    def _generic(self) -> bool:
        return self.reason in ("", "Unknown", _REASONS.get(self.status, ""))


class TransportError(Exception):
    """No usable HTTP answer: the request may or may not have reached the server."""

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(f"{method} {path}: {message}" if method else message)
        self.method = method
        self.path = path


class ConfigError(Exception):
    """Client configuration could not be loaded (kubeconfig, in-cluster, exec plugin)."""
