"""Calling one admission webhook: an AdmissionReview v1 POST over verified HTTPS.

Everything that can go wrong between sending the review and holding a
well-formed answer — no route, refused connection, TLS that does not verify
against the hook's ``caBundle`` (hostname checked too), the timeout, a non-2xx
status, a body that is not an ``admission.k8s.io/v1 AdmissionReview``, a
wrong ``response.uid``, inconsistent ``patch``/``patchType``, an undecodable
patch — raises :class:`CallFailure`, which the dispatcher in
:mod:`mizzen.apiserver.admission` weighs against the hook's ``failurePolicy``.
Reasons read like kube-apiserver's (``failed to call webhook: Post "<url>":
context deadline exceeded``).  A decision by the webhook (``allowed: false``)
is not a failure: it is returned in a :class:`Verdict`.

Security: only https; no proxies from the environment; no redirects; the
response is read up to 10 MiB as upstream; request and response bodies (which
hold whole objects, perhaps Secrets) are never logged or put in messages.
Service references are dialled where the injected resolver says, but the
certificate is always checked against ``<name>.<namespace>.svc``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import ssl
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from mizzen.apiserver.admission_match import Attributes, Hook, ServiceResolver, tls_context

Obj = dict[str, Any]

REVIEW_API_VERSION = "admission.k8s.io/v1"
MAX_RESPONSE = 10 << 20


class CallFailure(Exception):
    """Calling a webhook failed; ``failurePolicy`` decides whether the request fails."""

    def __init__(self, webhook: str, reason: str) -> None:
        super().__init__(f'failed calling webhook "{webhook}": {reason}')
        self.webhook = webhook
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Verdict:
    """A well-formed webhook response."""

    allowed: bool
    status: Obj | None
    patch: bytes  # the decoded base64 of response.patch; b"" when none
    patch_type: str
    warnings: tuple[str, ...]
    audit_annotations: tuple[tuple[str, str], ...]


def review_request(uid: str, attrs: Attributes, obj: Obj | None, old: Obj | None) -> Obj:
    """The ``request`` of an AdmissionReview, field for field as kube-apiserver fills it."""
    req: Obj = {"uid": uid, "kind": attrs.gvk(), "resource": attrs.gvr()}
    if attrs.subresource:
        req["subResource"] = attrs.subresource
    req["requestKind"] = attrs.gvk()  # matchPolicy Equivalent is served as Exact
    req["requestResource"] = attrs.gvr()
    if attrs.subresource:
        req["requestSubResource"] = attrs.subresource
    if attrs.name:
        req["name"] = attrs.name
    if attrs.effective_namespace:
        req["namespace"] = attrs.effective_namespace
    req.update(operation=attrs.operation, userInfo=attrs.user, object=obj, oldObject=old,
               dryRun=attrs.dry_run, options=attrs.options)
    return req


def _short(value: Any) -> str:
    """A value from a response, cut short for an error message."""
    text = str(value)
    return text if len(text) <= 64 else text[:64] + "..."


def _invalid(webhook: str, why: str) -> CallFailure:
    return CallFailure(webhook, f"received invalid webhook response: {why}")


def verify(webhook: str, uid: str, body: bytes, mutating: bool) -> Verdict:
    """Parse and check a response body (upstream ``VerifyAdmissionResponse``)."""
    try:
        review = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise CallFailure(webhook, f"failed to call webhook: invalid JSON in response: {exc}"
                          ) from None
    if not isinstance(review, dict):
        raise CallFailure(webhook, "failed to call webhook: response is not a JSON object")
    response = review.get("response")
    if not isinstance(response, dict):
        raise _invalid(webhook, "webhook response was absent")
    if response.get("uid") != uid:
        got = _short(response.get("uid"))
        raise _invalid(webhook, f'expected response.uid="{uid}", got "{got}"')
    if (review.get("apiVersion"), review.get("kind")) != (REVIEW_API_VERSION, "AdmissionReview"):
        raise _invalid(webhook, f"expected webhook response of {REVIEW_API_VERSION}, "
                       f"Kind=AdmissionReview, got {_short(review.get('apiVersion'))}, "
                       f"Kind={_short(review.get('kind'))}")
    allowed = response.get("allowed", False)  # absent means false, as Go decodes it
    if not isinstance(allowed, bool):
        raise _invalid(webhook, "response.allowed must be a boolean")
    raw_patch, patch_type = response.get("patch") or "", response.get("patchType") or ""
    if not isinstance(raw_patch, str) or not isinstance(patch_type, str):
        raise _invalid(webhook, "response.patch and response.patchType must be strings")
    try:
        patch = base64.b64decode(raw_patch, validate=True)
    except (binascii.Error, ValueError):
        raise CallFailure(webhook, "failed to call webhook: response.patch is not valid base64"
                          ) from None
    if mutating and patch and not patch_type:
        raise _invalid(webhook, "webhook returned response.patch but not response.patchType")
    if mutating and patch_type and not patch:
        raise _invalid(webhook, "webhook returned response.patchType but not response.patch")
    if not mutating and patch:
        raise _invalid(webhook, "validating webhook may not return response.patch")
    if not mutating and patch_type:
        raise _invalid(webhook, "validating webhook may not return response.patchType")
    status = response.get("status")
    warnings = response.get("warnings") or []
    audit = response.get("auditAnnotations") or {}
    if not isinstance(warnings, list) or not isinstance(audit, dict) or \
            (status is not None and not isinstance(status, dict)):
        raise _invalid(webhook, "response.status, warnings or auditAnnotations is malformed")
    return Verdict(allowed, status, patch, patch_type,
                   tuple(w for w in warnings if isinstance(w, str)),
                   tuple((str(k), str(v)) for k, v in audit.items()))


def decode_patch(webhook: str, verdict: Verdict) -> list[Obj]:
    """The JSONPatch operations of a verdict; undecodable patches are call failures."""
    if not verdict.patch:
        return []
    try:
        ops = orjson.loads(verdict.patch)
    except orjson.JSONDecodeError as exc:
        raise CallFailure(webhook, f"received undecodable patch in webhook response: {exc}"
                          ) from None
    if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
        raise CallFailure(webhook, "received undecodable patch in webhook response: "
                          "a JSON patch must be an array of operation objects")
    if ops and verdict.patch_type != "JSONPatch":
        raise CallFailure(webhook, f'unsupported patch type "{verdict.patch_type}"')
    return ops


def _describe(exc: BaseException) -> str:
    """A Go-like account of a transport error (never includes request data)."""
    if isinstance(exc, TimeoutError):
        return "context deadline exceeded"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error = exc.certificate_error
        detail = getattr(cert_error, "verify_message", "") or str(cert_error)
        return f"tls: failed to verify certificate: x509: {detail}"
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"tls: handshake failed: {exc.os_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        errno = exc.os_error.errno
        why = (os.strerror(errno) if errno else str(exc.os_error)).lower()
        return f"dial tcp {exc.host}:{exc.port}: connect: {why}"
    return str(exc) or type(exc).__name__


def _status_reason(status: int, body: bytes) -> str:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("kind") == "Status" and parsed.get("message"):
        return str(parsed["message"])[:256]
    if body:
        text = body[:256].decode("utf-8", "replace")
        return f'an error on the server ("{text}") has prevented the request from succeeding'
    return f"the server responded with the status code {status} but did not return more " \
           "information"


async def _read_limited(resp: aiohttp.ClientResponse) -> bytes:
    if resp.content_length is not None and resp.content_length > MAX_RESPONSE:
        raise ValueError(f"response body is larger than {MAX_RESPONSE} bytes")
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > MAX_RESPONSE:
            raise ValueError(f"response body is larger than {MAX_RESPONSE} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class PostFailure(Exception):
    """A webhook POST that did not complete (``resolving``: the service did not resolve)."""

    def __init__(self, message: str, resolving: bool = False) -> None:
        super().__init__(message)
        self.resolving = resolving


class Caller:
    """Posts reviews to webhooks over one pooled HTTPS session (created on first use)."""

    def __init__(self, resolver: ServiceResolver) -> None:
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None
        self._system_tls: ssl.SSLContext | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=256), trust_env=False,
                timeout=aiohttp.ClientTimeout(total=None))
        return self._session

    def _tls(self, hook: Hook) -> ssl.SSLContext:
        if hook.tls is not None:
            return hook.tls
        if self._system_tls is None:
            self._system_tls = tls_context("")
        return self._system_tls

    def _target(self, hook: Hook) -> tuple[str, str | None]:
        """The URL to POST to and the name the certificate must carry (None: the URL's)."""
        if hook.service is None:
            return hook.url, None
        namespace, name, path, port = hook.service
        host, dial_port = self._resolver(namespace, name, port)
        shown = f"[{host}]" if ":" in host else host
        return f"https://{shown}:{dial_port}{path}", f"{name}.{namespace}.svc"

    async def post(self, hook: Hook, body: bytes) -> tuple[int, Any]:
        """POST a review to ``hook`` over verified TLS; (status code, decoded body).

        Shared by admission and CRD conversion; raises :class:`PostFailure` with upstream's
        wording when the service cannot be resolved or the request does not complete.
        """
        try:
            url, server_hostname = self._target(hook)
        except (LookupError, ValueError, OSError) as exc:  # from an injected resolver
            raise PostFailure(f"failed to resolve the webhook service: {exc}",
                              resolving=True) from None
        url = f"{url}?timeout={hook.timeout}s"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        try:
            async with asyncio.timeout(hook.timeout):
                async with self._client().post(
                        url, data=body, headers=headers, ssl=self._tls(hook),
                        server_hostname=server_hostname, allow_redirects=False) as resp:
                    payload = await _read_limited(resp)
                    return resp.status, payload
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            raise PostFailure(f'Post "{url}": {_describe(exc)}') from None

    async def call(self, hook: Hook, attrs: Attributes, obj: Obj | None, old: Obj | None,
                   mutating: bool) -> Verdict:
        if hook.broken:
            raise CallFailure(hook.name, f"could not get REST client: {hook.broken}")
        uid = str(uuid.uuid4())
        body = orjson.dumps({"apiVersion": REVIEW_API_VERSION, "kind": "AdmissionReview",
                             "request": review_request(uid, attrs, obj, old)})
        try:
            code, payload = await self.post(hook, body)
        except PostFailure as exc:
            what = "" if exc.resolving else "failed to call webhook: "
            raise CallFailure(hook.name, f"{what}{exc}") from None
        if not 200 <= code < 300:
            raise CallFailure(hook.name, f"failed to call webhook: {_status_reason(code, payload)}")
        return verify(hook.name, uid, payload, mutating)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
