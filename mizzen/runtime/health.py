"""The manager's probe and scrape endpoint: /healthz, /readyz, /livez and /metrics.

``mizzen.runtime`` may not import an HTTP framework (import-linter forbids
``aiohttp`` here: only the client and the API server speak HTTP *as a
library*).  A probe endpoint needs almost none of HTTP, so this module serves
it with ``asyncio.start_server`` and a deliberately small HTTP/1.1 responder:

* one request per connection, answered with ``Connection: close`` — kubelet
  probes and Prometheus scrapes work fine without keep-alive;
* GET and HEAD only; the request line and headers are capped at 16 KiB and
  must arrive within ``read_timeout`` seconds of injected-clock time; the body
  of a request, if any, is ignored;
* the answers follow kube-apiserver's: ``ok`` with 200, or 500 with
  ``[-]name failed: <reason>`` lines; ``?verbose`` lists every check with
  ``[+]``/``[-]``; ``/healthz/<name>`` runs one check.

A check is a function returning ``None`` when healthy or a short reason
when not; checks must be cheap and synchronous (they read state the
manager already has, e.g. "every informer has synced").  The serving logic
(:meth:`HealthServer.respond`) is a pure function of method, path and the
current checks, so it is tested without sockets; :meth:`start` only adds the
socket around it.  The CLI can instead serve :meth:`respond` itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from mizzen.runtime.clock import Clock, with_timeout

__all__ = ["Check", "HealthServer"]

log = logging.getLogger(__name__)

Check = Callable[[], str | None]
MetricsRenderer = Callable[[], tuple[bytes, str]]

_STATUS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error"}
_TEXT = "text/plain; charset=utf-8"
_MAX_HEAD = 16 * 1024


class HealthServer:
    """Named liveness and readiness checks plus a metrics renderer, over minimal HTTP."""

    def __init__(self, clock: Clock, metrics: MetricsRenderer | None = None, *,
                 host: str = "127.0.0.1", port: int = 0, read_timeout: float = 10.0) -> None:
        self._clock = clock
        self._metrics = metrics
        self.host = host
        self.port = port
        self.read_timeout = read_timeout
        self.healthz: dict[str, Check] = {"ping": lambda: None}
        self.readyz: dict[str, Check] = {"ping": lambda: None}
        self._server: asyncio.Server | None = None

    def add_health_check(self, name: str, check: Check) -> None:
        self.healthz[name] = check

    def add_ready_check(self, name: str, check: Check) -> None:
        self.readyz[name] = check

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- the pure part ---------------------------------------------------------------

    def respond(self, method: str, target: str) -> tuple[int, str, bytes]:
        """``(status, content type, body)`` for one request."""
        if method not in ("GET", "HEAD"):
            return 405, _TEXT, b"method not allowed\n"
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        verbose = "verbose" in parse_qs(parts.query, keep_blank_values=True)
        if path == "/metrics" and self._metrics is not None:
            body, content_type = self._metrics()
            return 200, content_type, body
        endpoint, _, single = path.lstrip("/").partition("/")
        checks = {"healthz": self.healthz, "livez": self.healthz,
                  "readyz": self.readyz}.get(endpoint)
        if checks is None:
            return 404, _TEXT, b"not found\n"
        if single:
            if single not in checks:
                return 404, _TEXT, f"no check named {single!r}\n".encode()
            checks = {single: checks[single]}
        return self._run_checks(endpoint, checks, verbose)

    @staticmethod
    def _run_checks(endpoint: str, checks: dict[str, Check],
                    verbose: bool) -> tuple[int, str, bytes]:
        lines: list[str] = []
        failed = False
        for name, check in checks.items():
            try:
                reason = check()
            except Exception as exc:  # a broken check is a failed check
                reason = f"{type(exc).__name__}: {exc}"
            if reason is None:
                lines.append(f"[+]{name} ok")
            else:
                failed = True
                lines.append(f"[-]{name} failed: {reason}")
        if failed:
            text = "\n".join(lines) + f"\n{endpoint} check failed\n"
            return 500, _TEXT, text.encode()
        if verbose:
            return 200, _TEXT, ("\n".join(lines) + f"\n{endpoint} check passed\n").encode()
        return 200, _TEXT, b"ok"

    # -- the socket part -------------------------------------------------------------

    async def start(self) -> None:
        """Listen on ``host:port`` (port 0 picks a free one; :attr:`port` then tells)."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port,
                                                  limit=_MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("health and metrics endpoint on %s", self.url)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await with_timeout(self._clock, reader.readuntil(b"\r\n\r\n"),
                                      self.read_timeout)
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _version = request_line.split(" ", 2)
            status, content_type, body = self.respond(method, target)
        except (ValueError, TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError):
            method, status, content_type, body = "GET", 400, _TEXT, b"bad request\n"
        except ConnectionError:
            writer.close()
            return
        head_out = (f"HTTP/1.1 {status} {_STATUS.get(status, '')}\r\n"
                    f"Content-Type: {content_type}\r\n"
                    f"Content-Length: {len(body)}\r\n"
                    "X-Content-Type-Options: nosniff\r\n"
                    "Connection: close\r\n\r\n").encode()
        try:
            writer.write(head_out if method == "HEAD" else head_out + body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
