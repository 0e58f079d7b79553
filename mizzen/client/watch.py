"""Watch streams: newline-delimited JSON events, decoded as they arrive.

A watch response is one long chunked body with one JSON object per line,
``{"type": ..., "object": {...}}``.  :func:`events` splits lines itself
instead of using ``StreamReader.readline``: aiohttp caps a line at twice its
read buffer (128 KiB), and one event carries a whole object — up to the
server's 3 MiB limit.  Each chunk is scanned once for newlines and each line
decoded once by orjson; no intermediate copies per event.

Event types are passed through as the server names them — ``ADDED``,
``MODIFIED``, ``DELETED``, ``BOOKMARK`` (only ``metadata.resourceVersion``
and annotations are meaningful) — except ``ERROR``, whose object is a
``Status``: it is raised as :class:`ApiError`, so a resourceVersion that fell
out of the server's window surfaces as ``ApiError.gone`` and the informer
re-lists.

The iterator ends when the server ends the stream (``timeoutSeconds``
elapsed, or the server dropped a slow watcher); a connection that breaks
mid-stream raises :class:`TransportError`.  Either way the caller resumes
from the last resourceVersion it saw.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from mizzen.client.errors import ApiError, TransportError

__all__ = ["WatchEvent", "decode_line", "events", "watch_params"]


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One watch event: its type and the object (a raw dict)."""

    type: str
    object: dict[str, Any]

    @property
    def resource_version(self) -> str:
        """The object's resourceVersion (a bookmark's position in the stream)."""
        meta = self.object.get("metadata") or {}
        return str(meta.get("resourceVersion") or "")


def watch_params(*, resource_version: str | None, label_selector: str | None,
                 field_selector: str | None, allow_bookmarks: bool,
                 timeout_seconds: int | None, send_initial_events: bool) -> dict[str, str]:
    """The query of a watch request.

    ``send_initial_events`` needs ``resourceVersionMatch=NotOlderThan`` (the
    server refuses it otherwise) and an explicit, possibly empty,
    ``resourceVersion``: empty means "the current state, from a consistent read".
    """
    params = {"watch": "true"}
    if resource_version:
        params["resourceVersion"] = resource_version
    if label_selector:
        params["labelSelector"] = label_selector
    if field_selector:
        params["fieldSelector"] = field_selector
    if timeout_seconds:
        params["timeoutSeconds"] = str(timeout_seconds)
    if allow_bookmarks:
        params["allowWatchBookmarks"] = "true"
    if send_initial_events:
        params["sendInitialEvents"] = "true"
        params["resourceVersionMatch"] = "NotOlderThan"
        params.setdefault("resourceVersion", "")
    return params


def decode_line(line: bytes | memoryview) -> WatchEvent:
    """Decode one event line; raise :class:`ApiError` for an ``ERROR`` event."""
    try:
        raw = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise TransportError(f"undecodable watch event: {exc}") from exc
    if not isinstance(raw, dict):
        raise TransportError(f"watch event is not an object: {bytes(line[:200])!r}")
    typ = raw.get("type")
    obj = raw.get("object")
    if not isinstance(typ, str) or not isinstance(obj, dict):
        raise TransportError(f"malformed watch event: {bytes(line[:200])!r}")
    if typ == "ERROR":
        raise ApiError.from_status(obj)
    return WatchEvent(typ, obj)


async def events(resp: aiohttp.ClientResponse) -> AsyncGenerator[WatchEvent, None]:
    """Yield the events of an open watch response, releasing it when done."""
    pending: list[bytes] = []  # pieces of a line split across chunks
    try:
        try:
            async for chunk in resp.content.iter_any():
                view = memoryview(chunk)
                start = 0
                while True:
                    end = chunk.find(b"\n", start)
                    if end < 0:
                        break
                    if pending:
                        pending.append(chunk[start:end])
                        line: bytes | memoryview = b"".join(pending)
                        pending.clear()
                    else:
                        line = view[start:end]
                    if len(line):
                        yield decode_line(line)
                    start = end + 1
                if start < len(chunk):
                    pending.append(chunk[start:])
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransportError(f"watch stream broke: {type(exc).__name__}: {exc}",
                                 method="GET", path=resp.url.path) from exc
        rest = b"".join(pending)
        if rest.strip():
            yield decode_line(rest)
    finally:
        resp.release()
