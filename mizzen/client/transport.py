"""The one place that sends HTTP: session, TLS, auth, throttling, retries, metrics.

Every request of a :class:`~mizzen.client.client.Client` — verbs, raw
requests and watches — goes through :meth:`Transport.send`, so the policies
hold everywhere and are written once:

1. wait for a token if a QPS limit is set (:mod:`mizzen.client.throttle`);
2. add the bearer token — static, or asked of the ``token_provider`` per
   request (providers cache; see :mod:`mizzen.client.auth`);
3. send on the client's single ``aiohttp.ClientSession`` (pooled keep-alive
   connections, TLS from the config, made lazily inside the running loop);
4. record the attempt in :class:`~mizzen.client.metrics.ClientMetrics`;
5. on failure, retry as :mod:`mizzen.client.retry` decides, at most
   ``retries`` times; on a 401 with a refreshable token, refresh it and try
   once more.  What is left becomes :class:`ApiError` or :class:`TransportError`.

Ordinary requests have a connect timeout and a read timeout (no response
bytes for ``request_timeout`` seconds); their body is read inside the retry
loop, so a connection dropped mid-body is retried like one dropped before
the headers.  Streams (watches) have no read timeout — the server ends them
(``timeoutSeconds``) — and are returned open once the status line says 200.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from mizzen.client.auth import ssl_context
from mizzen.client.config import ClientConfig
from mizzen.client.errors import ApiError, TransportError
from mizzen.client.metrics import ClientMetrics
from mizzen.client.retry import Backoff, Failure, classify_error, classify_status, retry_after
from mizzen.client.throttle import Clock, TokenBucket

__all__ = ["Request", "Transport"]

CONNECT_TIMEOUT = 10.0
# Connections kept per client.  Each open watch holds one, so the limit is well above
# what a controller's informers need, while still bounding a burst of parallel writes.
MAX_CONNECTIONS = 256


@dataclass(frozen=True, slots=True)
class Request:
    """One API call, ready to send (the body already encoded)."""

    method: str
    path: str
    verb: str  # Kubernetes verb, for metrics
    resource: str  # plural[/subresource], for metrics
    params: Mapping[str, str] | None = None
    body: bytes | None = None
    content_type: str = "application/json"
    replayable: bool = True  # safe to repeat after an ambiguous failure (see retry)


class Transport:
    """HTTP for one API server; owned by a Client."""

    def __init__(self, config: ClientConfig, *, clock: Clock, metrics: ClientMetrics,
                 retries: int, backoff: Backoff, bucket: TokenBucket | None,
                 user_agent: str, request_timeout: float) -> None:
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.config = config
        self._clock = clock
        self._metrics = metrics
        self._retries = retries
        self._backoff = backoff
        self._bucket = bucket
        self._ssl = ssl_context(config)
        self._base = config.server.rstrip("/")
        self._headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if config.token and config.token_provider is None:
            self._headers["Authorization"] = f"Bearer {config.token}"
        self._provider = config.token_provider
        self._timeout = aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT,
                                              sock_read=request_timeout)
        self._stream_timeout = aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the client is closed")
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self._ssl, limit=MAX_CONNECTIONS)
            self._session = aiohttp.ClientSession(connector=connector, headers=self._headers,
                                                  skip_auto_headers=("Content-Type",))
        return self._session

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, req: Request) -> tuple[int, bytes, str]:
        """Send ``req``; return status, body and content type of the successful answer."""
        resp, payload = await self._send(req, stream=False)
        return resp.status, payload, resp.content_type

    async def stream(self, req: Request) -> aiohttp.ClientResponse:
        """Send ``req`` and return the open 2xx response; the caller must ``release()`` it."""
        resp, _ = await self._send(req, stream=True)
        return resp

    async def _send(self, req: Request, *, stream: bool) -> tuple[aiohttp.ClientResponse, bytes]:
        session = self._get_session()
        url = self._base + req.path
        attempt = 0
        reauthenticated = False
        while True:
            if self._bucket is not None:
                waited = await self._bucket.acquire()
                if waited:
                    self._metrics.throttled(waited)
            headers = await self._request_headers(req)
            start = self._clock.monotonic()
            payload = b""
            try:
                resp = await session.request(
                    req.method, url, params=req.params, data=req.body, headers=headers,
                    timeout=self._stream_timeout if stream else self._timeout)
                if stream and resp.status < 400:
                    self._observe(req, resp.status, start)
                    return resp, b""
                try:
                    payload = await resp.read()
                finally:
                    resp.release()
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._observe(req, "<error>", start)
                failure = classify_error(exc)
                if self._may_retry(req, failure, attempt):
                    await self._pause(req, "error", self._backoff.delay(attempt))
                    attempt += 1
                    continue
                raise TransportError(f"{type(exc).__name__}: {exc}", method=req.method,
                                     path=req.path) from exc
            self._observe(req, resp.status, start)
            if resp.status < 400:
                return resp, payload
            body = _decode_error_body(payload)
            if resp.status == 401 and not reauthenticated and _invalidate(self._provider):
                reauthenticated = True
                continue
            error = ApiError.from_response(resp.status, body,
                                           payload.decode("utf-8", "replace"))
            if self._may_retry(req, classify_status(resp.status), attempt):
                hint = retry_after(resp.headers.get("Retry-After"), body)
                await self._pause(req, str(resp.status), self._backoff.delay(attempt, hint))
                attempt += 1
                continue
            raise error

    def _may_retry(self, req: Request, failure: Failure | None, attempt: int) -> bool:
        if failure is None or attempt >= self._retries:
            return False
        return failure is Failure.UNPROCESSED or req.replayable

    async def _pause(self, req: Request, reason: str, seconds: float) -> None:
        self._metrics.retried(req.verb, req.resource, reason)
        await self._clock.sleep(seconds)

    async def _request_headers(self, req: Request) -> dict[str, str] | None:
        headers: dict[str, str] = {}
        if self._provider is not None:
            headers["Authorization"] = f"Bearer {await self._provider()}"
        if req.body is not None:
            headers["Content-Type"] = req.content_type
        return headers or None

    def _observe(self, req: Request, code: int | str, start: float) -> None:
        self._metrics.observe(req.verb, req.resource, code, self._clock.monotonic() - start)


def _decode_error_body(payload: bytes) -> Any:
    if not payload:
        return None
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None


def _invalidate(provider: Callable[[], Awaitable[str]] | None) -> bool:
    """Tell a refreshable token provider its token was refused; False if it cannot refresh."""
    invalidate = getattr(provider, "invalidate", None)
    if provider is None or not callable(invalidate):
        return False
    invalidate()
    return True
