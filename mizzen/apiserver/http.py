"""The HTTP front: authentication, errors, metrics, and URL dispatch.

Every request goes through :meth:`App.handle`, which owns the cross-cutting
rules, so no handler can forget them: bearer-token authentication (public-info
endpoints excepted, as with kube-apiserver's ``system:public-info-viewer``), the
3 MiB body limit, ``Expect: 100-continue``, turning every
:class:`~mizzen.apiserver.errors.ApiError` — and any unexpected exception — into
a ``Status`` body, and request metrics.  :meth:`App.dispatch` then answers the
non-resource endpoints (version, health, metrics, discovery, OpenAPI) and hands
resource URLs to :class:`~mizzen.apiserver.rest.ResourceHandler`.

It runs on aiohttp's low-level :class:`~aiohttp.web.Server`, not a
``web.Application``: URLs are parsed here (:mod:`~mizzen.apiserver.paths`, so
custom resources that come and go need no routes), which leaves the
application's router, middleware chain and signals as pure per-request cost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http import HttpVersion11, RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from mizzen.apiserver import discovery, errors, paths
from mizzen.apiserver.metrics import ApiMetrics
from mizzen.apiserver.openapi import V2_CONTENT_TYPE, OpenAPI
from mizzen.apiserver.resources import Catalogue
from mizzen.apiserver.rest import ResourceHandler, json_response
from mizzen.apiserver.security import check_bearer

log = logging.getLogger(__name__)

MAX_BODY = 3 * 1024 * 1024
PUBLIC_PATHS = frozenset(("/version", "/healthz", "/livez", "/readyz"))


@dataclass(frozen=True, slots=True)
class VersionInfo:
    major: str = "1"
    minor: str = "32"
    git_version: str = "v1.32.0-mizzen"

    def to_dict(self) -> dict[str, str]:
        return {"major": self.major, "minor": self.minor, "gitVersion": self.git_version,
                "gitCommit": "mizzen", "gitTreeState": "clean",
                "buildDate": "2026-11-01T00:00:00Z", "goVersion": "go1.23.0",
                "compiler": "gc", "platform": "linux/amd64"}


class App:
    """Builds the aiohttp application for one API server."""

    def __init__(self, catalogue: Catalogue, resources: ResourceHandler, openapi: OpenAPI,
                 metrics: ApiMetrics, token: str, server_address: str,
                 ready: Callable[[], bool], version: VersionInfo | None = None) -> None:
        self.catalogue = catalogue
        self.resources = resources
        self.openapi = openapi
        self.metrics = metrics
        self.token = token
        self.server_address = server_address
        self.ready = ready
        self.version = version or VersionInfo()

    def build(self) -> web.Server:
        """The aiohttp server that serves this application (call on the running loop)."""
        loop = asyncio.get_running_loop()

        def make_request(message: RawRequestMessage, payload: StreamReader,
                         protocol: RequestHandler, writer: AbstractStreamWriter,
                         task: asyncio.Task[None]) -> web.BaseRequest:
            return web.BaseRequest(message, payload, protocol, writer, task, loop,
                                   client_max_size=MAX_BODY)

        return web.Server(self.handle, request_factory=make_request, loop=loop)

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        start = time.perf_counter()
        verb, resource, sub = request.method.lower(), "", ""
        route: tuple[paths.ResourcePath, str] | None = None
        try:
            if request.path not in PUBLIC_PATHS and \
                    not check_bearer(request.headers.get("Authorization"), self.token):
                raise errors.unauthorized()
            length = request.content_length
            if length is not None and length > MAX_BODY:
                raise errors.too_large(MAX_BODY)
            rp = paths.parse(request.path)
            if rp is not None:
                # Metric labels come from the catalogue only, never raw URL text.
                known = self.catalogue.get(rp.group, rp.version, rp.plural) is not None
                resource = rp.plural if known else "unknown"
                sub = rp.subresource if rp.subresource in ("status", "scale", "finalize",
                                                           "binding") else ""
                verb = ResourceHandler.verb(request.method, rp, request.query.get("watch", ""))
                route = (rp, verb)
            if request.headers.get("Expect"):
                await _expect(request)
            resp = await self.dispatch(request, route)
        except errors.ApiError as exc:
            resp = json_response(exc.status(), exc.code)
        except web.HTTPRequestEntityTooLarge:
            resp = json_response(errors.too_large(MAX_BODY).status(), 413)
        except web.HTTPException as exc:
            err = errors.ApiError(exc.status, exc.reason.replace(" ", ""), exc.text or exc.reason)
            resp = json_response(err.status(), exc.status)
        except Exception as exc:
            log.exception("unhandled error serving %s %s", request.method, request.path)
            err = errors.internal(type(exc).__name__)
            resp = json_response(err.status(), 500)
        if verb != "watch":
            self.metrics.observe_request(verb.upper() if not resource else verb, resource, sub,
                                         resp.status, time.perf_counter() - start)
        return resp

    async def dispatch(self, request: web.BaseRequest,
                       route: tuple[paths.ResourcePath, str] | None) -> web.StreamResponse:
        if route is not None:
            rp, verb = route
            if verb == "watch":
                self.metrics.watch_started(rp.plural)
                try:
                    return await self.resources.handle(request, rp, verb)
                finally:
                    self.metrics.watch_stopped(rp.plural)
            return await self.resources.handle(request, rp, verb)
        if request.method != "GET":
            raise errors.method_not_allowed(request.method, request.path)
        return await self._non_resource(request)

    async def _non_resource(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        accept = request.headers.get("Accept", "")
        if path == "/version":
            return json_response(self.version.to_dict())
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/",
                                                                          "/livez/",
                                                                          "/readyz/")):
            if path.startswith("/readyz") and not self.ready():
                return web.Response(text="[-]ready failed\nreadyz check failed", status=500)
            return web.Response(text="ok", content_type="text/plain")
        if path == "/metrics":
            body, content_type = self.metrics.render()
            return web.Response(body=body, headers={"Content-Type": content_type})
        if path in ("/api", "/apis"):
            core = path == "/api"
            version = discovery.aggregated_version(accept)
            if version is not None:
                resp = json_response(discovery.aggregated_discovery(self.catalogue, core, version))
                resp.headers["Content-Type"] = discovery.aggregated_content_type(version)
                return resp
            if core:
                return json_response(discovery.api_versions(self.server_address))
            return json_response(discovery.api_group_list(self.catalogue))
        if path == "/openapi/v2":
            return web.Response(body=self.openapi.v2_document(),
                                headers={"Content-Type": V2_CONTENT_TYPE})
        if path.startswith("/api/") or path.startswith("/apis/"):
            parts = [p for p in path.split("/") if p]
            group, version = ("", parts[1]) if parts[0] == "api" and len(parts) == 2 else \
                (parts[1], parts[2]) if len(parts) == 3 else ("", "")
            if version:
                listing = discovery.api_resource_list(self.catalogue, group, version)
                if listing is not None:
                    return json_response(listing)
            if parts[0] == "apis" and len(parts) == 2:
                group_doc = discovery.api_group(self.catalogue, parts[1])
                if group_doc is not None:
                    return json_response(group_doc)
        if path == "/openapi/v3":
            return json_response(self.openapi.index())
        if path.startswith("/openapi/v3/"):
            doc = self.openapi.document(path[len("/openapi/v3/"):])
            if doc is not None:
                return web.Response(body=doc, content_type="application/json")
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")


async def _expect(request: web.BaseRequest) -> None:
    """``Expect: 100-continue``: tell the client to send its body, as aiohttp's router did."""
    expect = request.headers.get("Expect", "")
    if request.version == HttpVersion11:
        if expect.lower() != "100-continue":
            raise web.HTTPExpectationFailed(text=f"Unknown Expect: {expect}")
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0
    await request.writer.drain()
