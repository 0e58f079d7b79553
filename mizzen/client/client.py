"""The Kubernetes API as async methods on raw dicts.

:class:`Client` maps each verb to a URL, query parameters and a body, and
leaves everything about *sending* to :class:`~mizzen.client.transport.Transport`
(throttling, auth, retries, metrics).  It is deliberately thin and untyped in
what it carries: objects go in and come out as the ``dict`` orjson makes of
the wire JSON, with no model classes to build or validate on the hot path —
an informer relisting ten thousand pods pays for one ``orjson.loads``.

Conventions every method shares:

* ``res`` is a :class:`~mizzen.client.resources.Resource`; ``namespace`` is
  required to name one object of a namespaced resource and means "all
  namespaces" when omitted from ``list``/``watch``;
* writes send ``fieldManager`` (the client's ``field_manager`` unless a call
  overrides it), so managedFields on a real cluster name this controller;
* failures raise :class:`~mizzen.client.errors.ApiError` (the server's
  verdict) or :class:`~mizzen.client.errors.TransportError` (no verdict);
  which failures are retried first is documented in :mod:`mizzen.client.retry`.

Use one client per API server for the life of the process (it pools
connections) and close it, or use it as ``async with Client(cfg) as c``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from types import TracebackType
from typing import Any

import orjson

from mizzen.client.config import ClientConfig
from mizzen.client.errors import ApiError
from mizzen.client.metrics import ClientMetrics
from mizzen.client.resources import Resource, parse_path
from mizzen.client.retry import Backoff, replayable
from mizzen.client.throttle import Clock, SystemClock, TokenBucket
from mizzen.client.transport import Request, Transport
from mizzen.client.watch import WatchEvent, events, watch_params

__all__ = ["PATCH_TYPES", "Client"]

Obj = dict[str, Any]
Items = list[Obj]  # spelled here: inside Client, ``list`` is the method

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}
JSON = "application/json"


class Client:
    """An async client for one Kubernetes API server."""

    def __init__(self, config: ClientConfig, *, qps: float | None = None, burst: int = 10,
                 retries: int = 5, metrics: ClientMetrics | None = None,
                 user_agent: str = "mizzen", field_manager: str = "mizzen",
                 clock: Clock | None = None, backoff: Backoff | None = None,
                 request_timeout: float = 60.0) -> None:
        self.config = config
        self.metrics = metrics if metrics is not None else ClientMetrics()
        self.field_manager = field_manager
        clock = clock if clock is not None else SystemClock()
        # The QPS limiter; None (the default) sends every request at once.
        self.limiter = TokenBucket(qps, burst, clock) if qps is not None else None
        self._transport = Transport(config, clock=clock, metrics=self.metrics,
                                    retries=retries, backoff=backoff or Backoff(),
                                    bucket=self.limiter, user_agent=user_agent,
                                    request_timeout=request_timeout)

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    # -- reads ----------------------------------------------------------------------------

    async def get(self, res: Resource, name: str, namespace: str | None = None, *,
                  subresource: str = "") -> Obj:
        return await self._json(Request("GET", res.path(namespace, name, subresource), "get",
                                        _label(res, subresource)))

    async def list(self, res: Resource, namespace: str | None = None, *,
                   label_selector: str | None = None, field_selector: str | None = None,
                   limit: int | None = None, continue_token: str | None = None,
                   resource_version: str | None = None,
                   resource_version_match: str | None = None) -> Obj:
        """One LIST request; the raw ``<Kind>List`` dict (``metadata.continue`` for more)."""
        params = _params(labelSelector=label_selector, fieldSelector=field_selector,
                         limit=str(limit) if limit else None, resourceVersion=resource_version,
                         resourceVersionMatch=resource_version_match)
        if continue_token:
            params["continue"] = continue_token
        return await self._json(Request("GET", res.path(namespace), "list", res.plural,
                                        params))

    async def list_all(self, res: Resource, namespace: str | None = None, *,
                       label_selector: str | None = None, field_selector: str | None = None,
                       limit: int | None = 500, resource_version: str | None = None,
                       resource_version_match: str | None = None) -> tuple[Items, str]:
        """Every matching object, following ``continue`` in pages of ``limit``.

        Returns the items and the list's resourceVersion (the snapshot all
        pages come from — where a watch should start).  If the snapshot
        expires between pages (410), it falls back to one unpaginated list, as
        client-go's pager does.
        """
        items: Items = []
        token: str | None = None
        while True:
            try:
                page = await self.list(
                    res, namespace, label_selector=label_selector,
                    field_selector=field_selector, limit=limit, continue_token=token,
                    resource_version=None if token else resource_version,
                    resource_version_match=None if token else resource_version_match)
            except ApiError as exc:
                if not (token and exc.gone):
                    raise
                items, token = [], None
                page = await self.list(res, namespace, label_selector=label_selector,
                                       field_selector=field_selector,
                                       resource_version=resource_version,
                                       resource_version_match=resource_version_match)
            items.extend(page.get("items") or ())
            meta = page.get("metadata") or {}
            token = meta.get("continue") or None
            if not token:
                return items, str(meta.get("resourceVersion") or "")

    async def watch(self, res: Resource, namespace: str | None = None, *,
                    resource_version: str | None = None, label_selector: str | None = None,
                    field_selector: str | None = None, allow_bookmarks: bool = True,
                    timeout_seconds: int | None = None,
                    send_initial_events: bool = False) -> AsyncGenerator[WatchEvent, None]:
        """Events from ``resource_version`` on, until the server ends the stream.

        Raises ``ApiError`` with ``gone`` when that resourceVersion is too old
        (re-list, then watch from the new one).  ``send_initial_events`` asks
        for the current objects as ADDED events first, closed by a bookmark
        annotated ``k8s.io/initial-events-end``.  The request is sent on the
        first iteration.  Leaving the loop early releases the connection when
        the generator is closed: wrap it in ``contextlib.aclosing`` to make
        that immediate.
        """
        params = watch_params(resource_version=resource_version,
                              label_selector=label_selector, field_selector=field_selector,
                              allow_bookmarks=allow_bookmarks, timeout_seconds=timeout_seconds,
                              send_initial_events=send_initial_events)
        resp = await self._transport.stream(Request("GET", res.path(namespace), "watch",
                                                    res.plural, params))
        async with aclosing(events(resp)) as stream:
            async for event in stream:
                yield event

    # -- writes ---------------------------------------------------------------------------

    async def create(self, res: Resource, obj: Obj, namespace: str | None = None, *,
                     subresource: str = "", dry_run: bool = False) -> Obj:
        """POST ``obj``.  With ``subresource`` (``binding``, ``eviction``) the object's
        name is the parent's.  Retried after an ambiguous failure only when the object
        has a ``metadata.name`` (see :mod:`mizzen.client.retry`)."""
        meta = obj.get("metadata") or {}
        ns = (namespace or meta.get("namespace")) if res.namespaced else None
        name = meta.get("name") or None
        path = res.path(ns, name, subresource) if subresource else _collection(res, ns)
        params = {"fieldManager": self.field_manager}
        if dry_run:
            params["dryRun"] = "All"
        return await self._json(Request("POST", path, "create", _label(res, subresource),
                                        params, orjson.dumps(obj), JSON,
                                        replayable=name is not None))

    async def update(self, res: Resource, obj: Obj, *, subresource: str = "") -> Obj:
        """PUT ``obj`` (its namespace and name from its metadata).  A stale
        ``metadata.resourceVersion`` raises ``ApiError`` with ``conflict``."""
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") if res.namespaced else None
        path = res.path(ns, _name(meta), subresource)
        return await self._json(Request("PUT", path, "update", _label(res, subresource),
                                        {"fieldManager": self.field_manager},
                                        orjson.dumps(obj), JSON))

    async def patch(self, res: Resource, name: str, body: Any, namespace: str | None = None,
                    *, patch_type: str = "merge", subresource: str = "", force: bool = False,
                    field_manager: str | None = None) -> Obj:
        """PATCH with ``patch_type`` ``merge`` | ``json`` | ``strategic`` | ``apply``.

        ``body`` is a dict (a list for ``json``), or already-encoded ``str``/``bytes``
        (YAML works for ``apply``).  ``force`` takes ownership of conflicting fields
        and exists only for server-side apply.
        """
        content_type = PATCH_TYPES.get(patch_type)
        if content_type is None:
            raise ValueError(f"unknown patch type {patch_type!r}; expected one of "
                             f"{', '.join(PATCH_TYPES)}")
        if force and patch_type != "apply":
            raise ValueError("force applies only to server-side apply (patch_type='apply')")
        params = {"fieldManager": field_manager or self.field_manager}
        if force:
            params["force"] = "true"
        return await self._json(Request(
            "PATCH", res.path(namespace, name, subresource), "patch", _label(res, subresource),
            params, _encode(body), content_type, replayable=replayable("PATCH", content_type)))

    async def delete(self, res: Resource, name: str, namespace: str | None = None, *,
                     grace_period_seconds: int | None = None,
                     propagation_policy: str | None = None,
                     preconditions: dict[str, str] | None = None) -> Obj:
        """DELETE one object; returns the object (still terminating, e.g. a pod with a
        grace period or finalizers) or a success ``Status``.  NotFound raises, also when a
        retry finds that the first attempt already deleted it."""
        options: Obj = {}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy is not None:
            options["propagationPolicy"] = propagation_policy
        if preconditions:
            options["preconditions"] = preconditions
        body = None
        if options:
            body = orjson.dumps({"kind": "DeleteOptions", "apiVersion": "v1", **options})
        return await self._json(Request("DELETE", res.path(namespace, name), "delete",
                                        res.plural, None, body, JSON))

    async def delete_collection(self, res: Resource, namespace: str | None = None, *,
                                label_selector: str | None = None) -> Obj:
        return await self._json(Request("DELETE", res.path(namespace), "deletecollection",
                                        res.plural, _params(labelSelector=label_selector)))

    # -- escape hatch ---------------------------------------------------------------------

    async def request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                      body: Any = None, content_type: str = JSON) -> Any:
        """Any request: ``body`` is JSON-encoded unless ``bytes``/``str``; the answer is
        decoded JSON, or text for other content types, or ``None`` when empty.  A POST
        or a JSON patch is not retried after an ambiguous failure."""
        method = method.upper()
        parsed = parse_path(path)
        if parsed is None:
            verb, label = method.lower(), ""
        else:
            plural, named, sub = parsed
            verb = _verb(method, named, params)
            label = f"{plural}/{sub}" if sub else plural
        data = None if body is None else _encode(body)
        _, payload, ctype = await self._transport.call(Request(
            method, path, verb, label, params, data, content_type,
            replayable=replayable(method, content_type)))
        if not payload:
            return None
        if "json" in ctype:
            return orjson.loads(payload)
        return payload.decode("utf-8", "replace")

    async def _json(self, req: Request) -> Obj:
        _, payload, _ = await self._transport.call(req)
        result = orjson.loads(payload) if payload else {}
        if not isinstance(result, dict):
            raise ApiError(500, "InternalError", f"expected a JSON object from {req.path}")
        return result


def _label(res: Resource, subresource: str) -> str:
    return f"{res.plural}/{subresource}" if subresource else res.plural


def _collection(res: Resource, namespace: str | None) -> str:
    if res.namespaced and not namespace:
        raise ValueError(f"creating {res.plural} needs a namespace (argument or "
                         f"metadata.namespace)")
    return res.path(namespace)


def _name(meta: Obj) -> str:
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("the object has no metadata.name")
    return name


def _params(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v}


def _encode(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return orjson.dumps(body)


def _verb(method: str, named: bool, params: dict[str, str] | None) -> str:
    if method == "GET":
        if params and params.get("watch") in ("true", "1"):
            return "watch"
        return "get" if named else "list"
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())
