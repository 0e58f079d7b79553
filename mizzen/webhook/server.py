"""The webhook server: HTTPS endpoints answering AdmissionReview and ConversionReview.

One aiohttp application serves every webhook of the process — CloneSet
validation, CRD conversion, later SidecarSet injection — each at its own path,
with handlers registered as plain functions (sync or async):

* ``add_validator(path, fn)`` / ``add_mutator(path, fn)``: ``fn(AdmissionRequest)
  -> AdmissionResponse``;
* ``add_converter(path, fn)``: ``fn(obj, desired_api_version) -> obj``, applied
  to each object of a review (:mod:`mizzen.webhook.conversion`).

``path`` may be a :class:`~mizzen.webhook.spec.WebhookSpec` /
:class:`~mizzen.webhook.spec.ConversionSpec`; the server then keeps the spec
(:attr:`WebhookServer.validating`, ...) so registration is derived from what is
actually served.  Handlers can be added before or after :meth:`start`
(dispatch is a dictionary lookup, not a frozen router).

What callers can rely on, because the API server is on the other end and a
webhook that misbehaves blocks writes cluster-wide:

* TLS only, loopback by default, TLS 1.2+; :meth:`update_certs` rotates the
  serving pair for new connections without a restart;
* malformed input is a 400 with a JSON Status (unreadable JSON, the wrong
  review kind, no uid), a body over ``max_body`` a 413, an unknown path a 404,
  any other method than POST a 405 — never a 500 with a stack trace;
* a handler that raises is answered, not crashed on: admission denies with 500
  ``InternalError`` and a message naming only the exception type; conversion
  answers ``Failure`` with the converter's message;
* request and response bodies are never logged (they may hold Secrets); log
  lines carry the uid, operation, kind and namespace/name only.

``GET /healthz`` answers ``ok`` for probes.  Sync handlers run on the event
loop, so they must be quick; use ``async def`` for anything that waits.
"""

from __future__ import annotations

import inspect
import ipaddress
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web

from mizzen.webhook.certs import WebhookCerts, load_chain
from mizzen.webhook.conversion import Converter, convert_review
from mizzen.webhook.metrics import WebhookMetrics
from mizzen.webhook.review import (
    AdmissionRequest,
    AdmissionResponse,
    ReviewError,
    admission_review,
    parse_admission,
    review_uid,
)
from mizzen.webhook.spec import ConversionSpec, WebhookSpec, check_path

__all__ = ["MAX_BODY", "AdmissionHandler", "WebhookServer"]

log = logging.getLogger(__name__)

AdmissionHandler = Callable[[AdmissionRequest], AdmissionResponse | Awaitable[AdmissionResponse]]
MAX_BODY = 10 << 20  # the API server's own limit on a review

VALIDATING, MUTATING, CONVERSION = "validating", "mutating", "conversion"


@dataclass(frozen=True, slots=True)
class _Route:
    type: str  # VALIDATING, MUTATING or CONVERSION
    handler: Callable[..., Any]  # an AdmissionHandler or a Converter
    spec: WebhookSpec | ConversionSpec | None  # kept for registration; None for a bare path


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    return web.Response(status=code, body=orjson.dumps(body), content_type="application/json")


def _json(body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json")


class WebhookServer:
    """An HTTPS server for admission and conversion webhooks."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, certs: WebhookCerts,
                 max_body: int = MAX_BODY, metrics: WebhookMetrics | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self._port = port
        self._certs = certs
        self._tls = certs.server_context()
        self._max_body = max_body
        self.metrics = metrics if metrics is not None else WebhookMetrics()
        self._clock = clock
        self._routes: dict[str, _Route] = {}
        self._runner: web.AppRunner | None = None

    # -- registering handlers ------------------------------------------------------------

    def add_validator(self, path: str | WebhookSpec, fn: AdmissionHandler) -> None:
        """Serve a validating webhook: ``fn`` may allow or deny, never patch."""
        self._add(path, _Route(VALIDATING, fn, path if isinstance(path, WebhookSpec) else None))

    def add_mutator(self, path: str | WebhookSpec, fn: AdmissionHandler) -> None:
        """Serve a mutating webhook: ``fn`` may return a JSON patch."""
        self._add(path, _Route(MUTATING, fn, path if isinstance(path, WebhookSpec) else None))

    def add_converter(self, path: str | ConversionSpec, fn: Converter) -> None:
        """Serve a ConversionReview webhook converting each object with ``fn``."""
        spec = path if isinstance(path, ConversionSpec) else None
        self._add(path, _Route(CONVERSION, fn, spec))

    def _add(self, path: str | WebhookSpec | ConversionSpec, route: _Route) -> None:
        where = path if isinstance(path, str) else path.path
        check_path(where)
        if where in self._routes:
            raise ValueError(f"a webhook is already served at {where}")
        self._routes[where] = route

    def _specs(self, kind: str) -> tuple[Any, ...]:
        return tuple(r.spec for r in self._routes.values() if r.type == kind and r.spec)

    @property
    def validating(self) -> tuple[WebhookSpec, ...]:
        """The specs given to :meth:`add_validator` (bare paths are not listed)."""
        return self._specs(VALIDATING)

    @property
    def mutating(self) -> tuple[WebhookSpec, ...]:
        return self._specs(MUTATING)

    @property
    def conversions(self) -> tuple[ConversionSpec, ...]:
        return self._specs(CONVERSION)

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The listening port (the chosen one once started with ``port=0``)."""
        return self._port

    @property
    def url(self) -> str:
        """``https://host:port``: prefix a webhook path to get its clientConfig URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self._port}"

    @property
    def ca_pem(self) -> bytes:
        """The CA that signed the serving certificate: the caBundle to register."""
        return self._certs.ca_pem

    def update_certs(self, certs: WebhookCerts) -> None:
        """Serve a new pair from now on (existing connections keep the old one)."""
        load_chain(self._tls, certs)
        self._certs = certs

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the webhook server is already started")
        app = web.Application(client_max_size=self._max_body)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            sock = _listen(self.host, self._port)
            self._port = sock.getsockname()[1]
            await web.SockSite(runner, sock, ssl_context=self._tls).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("webhook server listening on %s (%d webhooks)", self.url, len(self._routes))

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> WebhookServer:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    # -- serving -------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/healthz":
            if request.method not in ("GET", "HEAD"):
                return _status(405, "MethodNotAllowed", "use GET")
            return web.Response(text="ok")
        route = self._routes.get(request.path)
        if route is None:
            return _status(404, "NotFound", "no webhook is served at this path")
        if request.method != "POST":
            return _status(405, "MethodNotAllowed", "webhooks take POST")
        started = self._clock()
        outcome, response = await self._answer(request, route)
        self.metrics.observe(request.path, route.type, outcome, self._clock() - started)
        return response

    async def _answer(self, request: web.Request, route: _Route) -> tuple[str, web.Response]:
        ctype = request.content_type
        if ctype not in ("application/json", "application/octet-stream") and \
                not ctype.endswith("+json"):
            return "bad_request", _status(415, "UnsupportedMediaType",
                                          "the body must be application/json")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return "bad_request", _status(413, "RequestEntityTooLarge",
                                          f"the body is larger than {self._max_body} bytes")
        try:
            review = orjson.loads(body)
        except orjson.JSONDecodeError:
            return "bad_request", _status(400, "BadRequest", "the body is not valid JSON")
        try:
            if route.type == CONVERSION:
                answer, ok = await convert_review(review, route.handler)
                return ("converted" if ok else "failed"), _json(answer)
            req = parse_admission(review)
        except ReviewError as exc:
            log.debug("bad review at %s (uid %r): %s", request.path, review_uid(review), exc)
            return "bad_request", _status(400, "BadRequest", str(exc))
        verdict = await self._admit(route, req)
        outcome = "patched" if verdict.patch else "allowed" if verdict.allowed else "denied"
        if verdict.code >= 500:
            outcome = "failed"
        log.debug("%s %s: %s %s %s/%s uid=%s -> %s", route.type, request.path, req.operation,
                  req.kind.kind, req.namespace, req.name, req.uid, outcome)
        return outcome, _json(admission_review(req, verdict))

    async def _admit(self, route: _Route, req: AdmissionRequest) -> AdmissionResponse:
        try:
            verdict = route.handler(req)
            if inspect.isawaitable(verdict):
                verdict = await verdict
        except Exception as exc:
            # The message may quote the object, so only the type is logged and answered.
            log.error("%s webhook handler for %s %s/%s (uid %s) raised %s", route.type,
                      req.kind.kind, req.namespace, req.name, req.uid, type(exc).__name__)
            log.debug("handler traceback", exc_info=True)
            return AdmissionResponse.deny(f"internal error in the webhook: "
                                          f"{type(exc).__name__}", code=500,
                                          reason="InternalError")
        if not isinstance(verdict, AdmissionResponse):
            return AdmissionResponse.deny("internal error in the webhook: the handler did not "
                                          "return an AdmissionResponse", code=500,
                                          reason="InternalError")
        if verdict.patch and route.type == VALIDATING:
            return AdmissionResponse.deny("internal error in the webhook: a validating "
                                          "webhook may not patch", code=500,
                                          reason="InternalError")
        return verdict


def _listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket (so ``port=0`` resolves before the site starts)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
