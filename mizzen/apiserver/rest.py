"""HTTP handlers for resource URLs: decode, call the registry, encode.

Everything Kubernetes-specific about a request's *shape* is here: which verb a
method and path mean, query parameters, body decoding (JSON or YAML), Table
negotiation, list and watch encoding.  The semantics live in the registry,
deleter and list modules; the handlers stay thin.

Responses are assembled from the stored JSON bytes of each object (a LIST is
a join, a watch line is shared by all watchers), so serving a large list or a
busy watch costs no re-encoding.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from aiohttp import web

from mizzen.apiserver import errors, protobuf, tablerows, tables
from mizzen.apiserver.apply import check_patch_options
from mizzen.apiserver.context import Context
from mizzen.apiserver.crds import CustomResources
from mizzen.apiserver.deletion import DeleteOptions, Deleter, success_status
from mizzen.apiserver.patch import APPLY_PATCH
from mizzen.apiserver.paths import ResourcePath
from mizzen.apiserver.reads import ListOptions, list_objects, wait_for_rv
from mizzen.apiserver.registry import Registry
from mizzen.apiserver.resources import Catalogue, ResourceInfo
from mizzen.apiserver.scale import scale_of
from mizzen.apiserver.selectors import make_predicate
from mizzen.apiserver.store import Entry
from mizzen.apiserver.watch import WatchHub, bookmark_line, error_line

JSON = "application/json"


def json_response(body: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    resp = web.Response(body=raw, status=status, content_type=JSON)
    for w in warnings or ():
        resp.headers.add("Warning", '299 - "' + w.replace('"', '\\"') + '"')
    return resp


def decode_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        raise errors.bad_request("the request body is empty")
    if protobuf.is_protobuf(content_type):
        return protobuf.decode_object(raw)
    if "cbor" in content_type:
        raise errors.unsupported_media_type(content_type)
    try:
        if "yaml" in content_type:
            return yaml.safe_load(raw)
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        try:
            return yaml.safe_load(raw) if "json" in content_type or not content_type else None
        except yaml.YAMLError:
            pass
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from None


@dataclass(frozen=True, slots=True)
class Query:
    values: dict[str, str]

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)

    def flag(self, key: str) -> bool:
        return self.values.get(key, "").lower() in ("true", "1")

    def int(self, key: str, default: int = 0) -> int:
        text = self.values.get(key)
        if text is None or text == "":
            return default
        try:
            return int(text)
        except ValueError:
            raise errors.bad_request(f"invalid value for {key}: {text!r}") from None


class ResourceHandler:
    """Serves every resource URL of one API server."""

    def __init__(self, catalogue: Catalogue, registry: Registry, deleter: Deleter,
                 hub: WatchHub, bookmark_interval: float = 60.0,
                 min_request_timeout: float = 1800.0) -> None:
        self.catalogue = catalogue
        self.registry = registry
        self.deleter = deleter
        self.hub = hub
        self.bookmark_interval = bookmark_interval
        self.min_request_timeout = min_request_timeout
        self.on_watch: Callable[[str, int], None] | None = None
        # Custom resources (served versions, conversion, printer columns); set by the server.
        self.custom: CustomResources | None = None

    def _raw(self, info: ResourceInfo, entry: Entry) -> bytes:
        """The object's JSON as the requested version serves it."""
        if info.custom and self.custom is not None:
            return self.custom.present(info, entry)
        return entry.raw

    async def _served(self, info: ResourceInfo, entries: list[Entry]) -> list[Entry]:
        """Entries of a webhook-converted kind converted (one call); others as they are."""
        if info.custom and self.custom is not None and self.custom.webhook(info):
            return await self.custom.served(info, entries)
        return entries

    def _obj(self, info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
        if info.custom and self.custom is not None:
            return self.custom.convert(info, obj)
        return obj

    def resolve(self, rp: ResourcePath) -> ResourceInfo:
        info = self.catalogue.get(rp.group, rp.version, rp.plural)
        if info is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested "
                                  "resource")
        if info.namespaced and rp.namespace is None and rp.name is not None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested "
                                  "resource")
        if not info.namespaced and rp.namespace is not None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested "
                                  "resource")
        if rp.subresource and not (
                (rp.subresource == "status" and info.has_status)
                or (rp.subresource == "scale" and info.has_scale)
                or (rp.subresource == "finalize" and info.store_key == "/namespaces")
                or (rp.subresource == "binding" and info.store_key == "/pods")):
            raise errors.ApiError(404, "NotFound", "the server could not find the requested "
                                  "resource")
        return info

    @staticmethod
    def verb(method: str, rp: ResourcePath, watch_param: str) -> str:
        if method == "GET":
            if rp.watch_prefix or watch_param.lower() in ("true", "1"):
                return "watch"
            return "get" if rp.name is not None else "list"
        if method == "POST":
            return "create"
        if method == "PUT":
            return "update"
        if method == "PATCH":
            return "patch"
        if method == "DELETE":
            return "delete" if rp.name is not None else "deletecollection"
        raise errors.method_not_allowed(method, rp.plural)

    def context(self, info: ResourceInfo, rp: ResourcePath, query: Query,
                request: web.BaseRequest, verb: str) -> Context:
        fv = query.get("fieldValidation") or "Warn"
        if fv not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request(f"fieldValidation must be one of Strict, Warn, Ignore; "
                                     f"got {fv!r}")
        dry_run = query.get("dryRun")
        if dry_run not in ("", "All"):
            raise errors.bad_request(f'Invalid dry run value "{dry_run}"')
        manager = query.get("fieldManager") or \
            request.headers.get("User-Agent", "unknown").split("/", 1)[0]
        ns = rp.namespace if info.namespaced else None
        return Context(info, ns, rp.name, rp.subresource, manager, fv, bool(dry_run),
                       query.flag("force"), verb=verb)

    async def handle(self, request: web.BaseRequest, rp: ResourcePath,
                     verb: str) -> web.StreamResponse:
        query = Query(dict(request.query))
        info = self.resolve(rp)
        if verb not in info.verbs and not rp.subresource:
            raise errors.method_not_allowed(verb, info.plural)
        ctx = self.context(info, rp, query, request, verb)
        handler: Callable[[web.BaseRequest, Context, Query], Awaitable[web.StreamResponse]] = {
            "get": self._get, "list": self._list, "watch": self._watch,
            "create": self._create, "update": self._update, "patch": self._patch,
            "delete": self._delete, "deletecollection": self._delete_collection,
        }[verb]
        return await handler(request, ctx, query)

    # -- reads ----------------------------------------------------------------------------

    def _render_one(self, request: web.BaseRequest, ctx: Context, entry: Entry) -> web.Response:
        if ctx.subresource == "scale":
            return json_response(scale_of(ctx.info, entry.obj))
        mode = tablerows.parse_accept(request.headers.get("Accept", ""))
        if mode == "table":
            return json_response(self._table(request, ctx.info, [entry], str(entry.rv)))
        return json_response(self._raw(ctx.info, entry))

    def _table(self, request: web.BaseRequest, info: ResourceInfo, entries: list[Entry], rv: str,
               continue_token: str = "", remaining: int | None = None) -> dict[str, Any]:
        include = request.query.get("includeObject", "Metadata")
        return tablerows.to_table(info, [self._obj(info, e.obj) for e in entries],
                                  resource_version=rv, continue_token=continue_token,
                                  remaining=remaining, include_object=include,
                                  now=self.registry.clock(), printer=self._printer(info))

    def _table_list(self, request: web.BaseRequest, info: ResourceInfo, entries: list[Entry],
                    rv: str, continue_token: str, remaining: int | None) -> bytes:
        """A LIST as a Table, from rows cached per stored version (``tablerows``)."""
        custom = info.custom and self.custom is not None
        return tablerows.encode_table(
            info, entries, resource_version=rv, continue_token=continue_token,
            remaining=remaining, include_object=request.query.get("includeObject", "Metadata"),
            now=self.registry.clock(), printer=self._printer(info),
            convert=(lambda obj: self._obj(info, obj)) if custom else None,
            present=(lambda entry: self._raw(info, entry)) if custom else None)

    def _printer(self, info: ResourceInfo) -> tables.Printer | None:
        if info.custom and self.custom is not None:
            return self.custom.printer(info)
        return None

    def _version_renderer(
            self, info: ResourceInfo) -> Callable[[str, dict[str, Any]], bytes] | None:
        custom = self.custom
        if not info.custom or custom is None or not custom.needs_conversion(info):
            return None

        def render(typ: str, obj: dict[str, Any]) -> bytes:
            return orjson.dumps({"type": typ, "object": custom.convert(info, obj)}) + b"\n"

        return render

    def _table_renderer(self, request: web.BaseRequest,
                        info: ResourceInfo) -> Callable[[str, dict[str, Any]], bytes]:
        include = request.query.get("includeObject", "Metadata")

        def render(typ: str, obj: dict[str, Any]) -> bytes:
            rv = (obj.get("metadata") or {}).get("resourceVersion", "")
            table = tablerows.to_table(info, [self._obj(info, obj)], resource_version=rv,
                                       include_object=include, now=self.registry.clock(),
                                       printer=self._printer(info))
            return orjson.dumps({"type": typ, "object": table}) + b"\n"

        return render

    async def _get(self, request: web.BaseRequest, ctx: Context, query: Query) -> web.Response:
        entry = self.registry.get(ctx.info, ctx.ns, ctx.name or "")
        entry, = await self._served(ctx.info, [entry])
        return self._render_one(request, ctx, entry)

    async def _list(self, request: web.BaseRequest, ctx: Context, query: Query) -> web.Response:
        info = ctx.info
        predicate = make_predicate(info, query.get("labelSelector"), query.get("fieldSelector"))
        opts = ListOptions(query.get("resourceVersion"), query.get("resourceVersionMatch"),
                           query.int("limit"), query.get("continue"))
        result = await list_objects(self.registry.store, info, ctx.namespace, opts, predicate)
        entries = await self._served(info, result.entries)
        if tablerows.parse_accept(request.headers.get("Accept", "")) == "table":
            return json_response(self._table_list(request, info, entries, str(result.rv),
                                                  result.continue_token, result.remaining))
        meta = b'{"resourceVersion":"' + str(result.rv).encode() + b'"'
        if result.continue_token:
            meta += b',"continue":"' + result.continue_token.encode() + b'"'
        if result.remaining is not None:
            meta += b',"remainingItemCount":' + str(result.remaining).encode()
        meta += b"}"
        body = b"".join((b'{"kind":"', info.kind.encode(), b'List","apiVersion":"',
                         info.api_version.encode(), b'","metadata":', meta, b',"items":[',
                         b",".join(self._raw(info, e) for e in entries), b"]}"))
        return json_response(body)

    async def _watch(self, request: web.BaseRequest, ctx: Context,
                     query: Query) -> web.StreamResponse:
        info, store = ctx.info, self.registry.store
        predicate = make_predicate(info, query.get("labelSelector"), query.get("fieldSelector"))
        rv_text = query.get("resourceVersion")
        send_initial = query.get("sendInitialEvents")
        bookmarks = query.flag("allowWatchBookmarks")
        timeout = query.int("timeoutSeconds", 0)
        if timeout <= 0:
            timeout = int(self.min_request_timeout * (1 + random.random()))
        if send_initial == "true" and query.get("resourceVersionMatch") != "NotOlderThan":
            raise errors.invalid("ListOptions", "meta.k8s.io", "", [errors.field_forbidden(
                "resourceVersionMatch", "sendInitialEvents requires setting "
                "resourceVersionMatch to NotOlderThan")])
        table = tablerows.parse_accept(request.headers.get("Accept", "")) == "table"
        resp = web.StreamResponse(status=200)
        resp.content_type = JSON
        resp.enable_chunked_encoding()
        replay = initial = None
        expired_status: dict[str, Any] | None = None
        initial_mode = send_initial == "true" or (send_initial == "" and rv_text in ("", "0"))
        if rv_text not in ("", "0"):
            try:
                rv = int(rv_text)
            except ValueError:
                raise errors.bad_request(f'invalid resource version "{rv_text}"') from None
            if rv > store.committed_rv:
                await wait_for_rv(store, rv)
        if initial_mode:
            initial = store.list_entries(info.store_key, ctx.namespace)
        else:
            try:
                replay = store.events_since(int(rv_text))
            except errors.ApiError as exc:
                expired_status = exc.status()
        start_rv = store.committed_rv
        await resp.prepare(request)
        if expired_status is not None:
            await resp.write(error_line(expired_status))
            return resp
        render = self._table_renderer(request, info) if table else self._version_renderer(info)
        # Webhook conversion is async: queue stored lines, convert each chunk before writing.
        webhook = info.custom and self.custom is not None and self.custom.webhook(info)
        convert_render, render = (render if table else None, None) if webhook else (None, render)
        watcher = self.hub.open(info.store_key, ctx.namespace, predicate, replay, initial, render)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            if initial is not None and send_initial == "true":
                # Initial ADDED events are queued; the end-of-initial bookmark follows them.
                watcher.queue.put_nowait(bookmark_line(info.api_version, info.kind, start_rv,
                                                       initial_end=True))
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                wait = min(remaining, self.bookmark_interval) if bookmarks else remaining
                try:
                    line = await asyncio.wait_for(watcher.queue.get(), wait)
                except TimeoutError:
                    if bookmarks and loop.time() < deadline:
                        await resp.write(bookmark_line(info.api_version, info.kind,
                                                       store.committed_rv))
                    continue
                if line is None:
                    break
                chunk = [line]
                while not watcher.queue.empty() and len(chunk) < 256:
                    nxt = watcher.queue.get_nowait()
                    if nxt is None:
                        watcher.queue.put_nowait(None)
                        break
                    chunk.append(nxt)
                if webhook and self.custom is not None:
                    try:
                        chunk = await self.custom.convert_lines(info, chunk, convert_render)
                    except errors.ApiError as exc:
                        await resp.write(error_line(exc.status()))
                        break
                await resp.write(b"".join(chunk))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.hub.close(watcher)
        return resp

    # -- writes ---------------------------------------------------------------------------

    async def _body(self, request: web.BaseRequest) -> Any:
        return decode_body(await request.read(), request.content_type)

    async def _create(self, request: web.BaseRequest, ctx: Context, query: Query) -> web.Response:
        if ctx.subresource == "binding":
            await self.registry.bind(ctx, await self._body(request))
            return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                  "status": "Success", "code": 201}, 201)
        if ctx.name is not None:
            raise errors.method_not_allowed("create", ctx.info.plural)
        entry = await self.registry.create(ctx, await self._body(request))
        entry, = await self._served(ctx.info, [entry])
        return json_response(self._raw(ctx.info, entry) if entry.raw else entry.obj, 201,
                             ctx.warnings)

    async def _update(self, request: web.BaseRequest, ctx: Context, query: Query) -> web.Response:
        entry = await self.registry.update(ctx, await self._body(request))
        entry, = await self._served(ctx.info, [entry])
        return self._write_result(ctx, entry)

    async def _patch(self, request: web.BaseRequest, ctx: Context, query: Query) -> web.Response:
        content_type = request.content_type
        is_apply = content_type == APPLY_PATCH
        check_patch_options(apply=is_apply, field_manager=query.get("fieldManager"),
                            force_given="force" in request.query)
        existed = self.registry.store.latest(ctx.info.store_key, ctx.ns, ctx.name or "")
        entry = await self.registry.patch(ctx, content_type, await request.read())
        entry, = await self._served(ctx.info, [entry])
        if is_apply and existed is None and not ctx.subresource:
            return json_response(self._raw(ctx.info, entry) if entry.raw else entry.obj, 201,
                                 ctx.warnings)
        return self._write_result(ctx, entry)

    def _write_result(self, ctx: Context, entry: Entry) -> web.Response:
        if ctx.subresource == "scale":
            return json_response(scale_of(ctx.info, entry.obj), 200, ctx.warnings)
        return json_response(self._raw(ctx.info, entry) if entry.raw else entry.obj, 200,
                             ctx.warnings)

    async def _delete(self, request: web.BaseRequest, ctx: Context, query: Query) -> web.Response:
        raw = await request.read()
        body = decode_body(raw, request.content_type) if raw else None
        opts = DeleteOptions.from_body(body, query.values)
        obj, removed = await self.deleter.delete(ctx, opts)
        if removed and ctx.info.store_key not in ("/pods", "/namespaces"):
            m = obj["metadata"]
            return json_response(success_status(ctx.info.plural, ctx.info.group, m["name"],
                                                m.get("uid", "")))
        served, = await self._served(ctx.info, [Entry(obj, b"", 0)])
        return json_response(self._obj(ctx.info, served.obj))

    async def _delete_collection(self, request: web.BaseRequest, ctx: Context,
                                 query: Query) -> web.Response:
        info = ctx.info
        raw = await request.read()
        body = decode_body(raw, request.content_type) if raw else None
        opts = DeleteOptions.from_body(body, query.values)
        predicate = make_predicate(info, query.get("labelSelector"), query.get("fieldSelector"))
        entries = self.registry.store.list_entries(info.store_key, ctx.namespace)
        if predicate is not None:
            entries = [e for e in entries if predicate(e.obj)]
        deleted = await self.deleter.delete_collection(ctx, entries, opts)
        return json_response({"kind": f"{info.kind}List", "apiVersion": info.api_version,
                              "metadata": {"resourceVersion": str(
                                  self.registry.store.committed_rv)}, "items": deleted})
