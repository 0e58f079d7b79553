"""AdmissionReview v1 as frozen values: what a handler is asked and what it answers.

Handlers never see JSON.  :func:`parse_admission` turns the API server's
``admission.k8s.io/v1 AdmissionReview`` into an :class:`AdmissionRequest`
(rejecting anything malformed with :class:`ReviewError`, which the server
answers with a 400), and :func:`admission_review` turns the handler's
:class:`AdmissionResponse` back into the review the API server verifies:

* ``uid`` echoed from the request;
* a denial carries a ``status`` (``code``, ``reason``, ``message``,
  ``details.causes`` of ``{field, reason, message}``) — the API server turns it
  into the 4xx Status its client sees, so field causes reach ``kubectl``;
* a patch is base64 JSON with ``patchType: JSONPatch``.

Objects in requests may be Secrets: they are kept out of ``repr``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonpatch
import orjson

__all__ = [
    "ADMISSION_API_VERSION",
    "AdmissionRequest",
    "AdmissionResponse",
    "Cause",
    "GroupVersionKind",
    "GroupVersionResource",
    "ReviewError",
    "admission_review",
    "parse_admission",
    "review_uid",
    "status_of",
]

Obj = dict[str, Any]
ADMISSION_API_VERSION = "admission.k8s.io/v1"


class ReviewError(ValueError):
    """A review body the server cannot answer (answered with 400, never echoed)."""


@dataclass(frozen=True, slots=True)
class GroupVersionKind:
    group: str  # "" for the core group
    version: str
    kind: str


@dataclass(frozen=True, slots=True)
class GroupVersionResource:
    group: str  # "" for the core group
    version: str
    resource: str  # the plural, e.g. "clonesets"


@dataclass(frozen=True, slots=True)
class Cause:
    """One field-level reason for a denial (a Status ``details.causes`` entry)."""

    field: str  # the JSON path of the offending field, e.g. "spec.replicas"
    reason: str  # a machine-readable reason, e.g. "FieldValueInvalid"
    message: str  # for humans, e.g. "Invalid value: -1: must be >= 0"


@dataclass(frozen=True)
class AdmissionRequest:
    """The ``request`` of an AdmissionReview, as a handler receives it."""

    uid: str  # echoed in the response
    kind: GroupVersionKind  # the kind of ``object`` (e.g. autoscaling/v1 Scale for /scale)
    resource: GroupVersionResource  # the resource the request is on
    sub_resource: str  # e.g. "status", "scale"; "" for the main resource
    request_kind: GroupVersionKind | None  # the kind originally requested, when sent
    operation: str  # CREATE, UPDATE, DELETE or CONNECT
    namespace: str  # "" for cluster-scoped objects
    name: str  # "" for a CREATE with generateName
    object: Obj | None = field(repr=False)  # the new object; None for DELETE
    old_object: Obj | None = field(repr=False)  # the stored object for UPDATE and DELETE
    dry_run: bool  # the request will not be persisted; no side effects allowed
    user_info: Obj  # {username, uid, groups, extra} of the requester
    options: Obj | None = field(repr=False)  # CreateOptions / UpdateOptions / DeleteOptions
    request_resource: GroupVersionResource | None = None  # resource originally requested
    request_sub_resource: str = ""  # subresource originally requested


@dataclass(frozen=True)
class AdmissionResponse:
    """A handler's verdict.  Build with :meth:`allow`, :meth:`deny` or :meth:`patched`."""

    allowed: bool  # False denies the request
    code: int = 0  # HTTP code of a denial; 0 means 403 for denials, none when allowed
    reason: str = ""  # Status reason of a denial, e.g. "Invalid", "Forbidden"
    message: str = ""  # shown to the user after 'admission webhook "<name>" denied...'
    causes: tuple[Cause, ...] = ()  # field-level details of a denial
    warnings: tuple[str, ...] = ()  # Warning headers for the client (kubectl prints them)
    patch: list[Obj] | None = None  # JSON-patch operations (mutating webhooks only)

    @classmethod
    def allow(cls, *warnings: str) -> AdmissionResponse:
        return cls(True, warnings=warnings)

    @classmethod
    def deny(cls, message: str, *causes: Cause, code: int = 0,
             reason: str = "") -> AdmissionResponse:
        """A denial; with causes and no code it is a 422 ``Invalid``, else a 403."""
        if not code:
            code = 422 if causes else 403
        if not reason:
            reason = "Invalid" if code == 422 else "Forbidden" if code == 403 else ""
        return cls(False, code, reason, message, causes)

    @classmethod
    def patched(cls, before: Obj, after: Obj, *warnings: str) -> AdmissionResponse:
        """Allow, with the JSON patch that turns ``before`` into ``after`` (None if equal)."""
        ops = jsonpatch.make_patch(before, after).patch
        return cls(True, warnings=warnings, patch=list(ops) or None)


# --- parsing --------------------------------------------------------------------


def _gvk(raw: Any, what: str) -> GroupVersionKind:
    if not isinstance(raw, Mapping):
        raise ReviewError(f"request.{what} must be an object")
    return GroupVersionKind(str(raw.get("group") or ""), str(raw.get("version") or ""),
                            str(raw.get("kind") or ""))


def _gvr(raw: Any, what: str) -> GroupVersionResource:
    if not isinstance(raw, Mapping):
        raise ReviewError(f"request.{what} must be an object")
    return GroupVersionResource(str(raw.get("group") or ""), str(raw.get("version") or ""),
                                str(raw.get("resource") or ""))


def _optional_obj(req: Mapping[str, Any], key: str) -> Obj | None:
    value = req.get(key)
    if value is not None and not isinstance(value, dict):
        raise ReviewError(f"request.{key} must be an object or null")
    return value


def parse_admission(review: Any) -> AdmissionRequest:
    """The request of a decoded AdmissionReview; :class:`ReviewError` when malformed."""
    if not isinstance(review, dict):
        raise ReviewError("the body is not a JSON object")
    if (review.get("apiVersion"), review.get("kind")) != (ADMISSION_API_VERSION,
                                                          "AdmissionReview"):
        raise ReviewError(f"expected {ADMISSION_API_VERSION} AdmissionReview")
    req = review.get("request")
    if not isinstance(req, dict):
        raise ReviewError("the review has no request")
    uid = req.get("uid")
    if not isinstance(uid, str) or not uid:
        raise ReviewError("request.uid is missing")
    operation = req.get("operation")
    if operation not in ("CREATE", "UPDATE", "DELETE", "CONNECT"):
        raise ReviewError("request.operation must be CREATE, UPDATE, DELETE or CONNECT")
    user = req.get("userInfo") or {}
    if not isinstance(user, dict):
        raise ReviewError("request.userInfo must be an object")
    return AdmissionRequest(
        uid=uid,
        kind=_gvk(req.get("kind"), "kind"),
        resource=_gvr(req.get("resource"), "resource"),
        sub_resource=str(req.get("subResource") or ""),
        request_kind=_gvk(req["requestKind"], "requestKind") if req.get("requestKind") else None,
        operation=operation,
        namespace=str(req.get("namespace") or ""),
        name=str(req.get("name") or ""),
        object=_optional_obj(req, "object"),
        old_object=_optional_obj(req, "oldObject"),
        dry_run=req.get("dryRun") is True,
        user_info=user,
        options=_optional_obj(req, "options"),
        request_resource=_gvr(req["requestResource"], "requestResource")
        if req.get("requestResource") else None,
        request_sub_resource=str(req.get("requestSubResource") or ""),
    )


def review_uid(review: Any) -> str:
    """The request uid of a review that may be malformed ("" when there is none)."""
    req = review.get("request") if isinstance(review, dict) else None
    uid = req.get("uid") if isinstance(req, dict) else None
    return uid if isinstance(uid, str) else ""


# --- answering ------------------------------------------------------------------


def status_of(response: AdmissionResponse, req: AdmissionRequest | None = None) -> Obj:
    """The metav1.Status a response carries.

    Causes come with the request's kind and name in ``details``, as the API server's
    own ``Invalid`` errors do, so kubectl prints ``The Widget "w" is invalid: <causes>``.
    """
    status: Obj = {"metadata": {}, "status": "Success" if response.allowed else "Failure"}
    code = response.code or (200 if response.allowed else 403)
    status["code"] = code
    if response.reason:
        status["reason"] = response.reason
    if response.message:
        status["message"] = response.message
    if response.causes:
        details: Obj = {}
        if req is not None:
            details = {"name": req.name, "group": req.kind.group, "kind": req.kind.kind}
        details["causes"] = [{"field": c.field, "reason": c.reason, "message": c.message}
                             for c in response.causes]
        status["details"] = details
    return status


def admission_review(req: AdmissionRequest | str, response: AdmissionResponse) -> Obj:
    """The AdmissionReview answering ``req`` (or a bare request uid) with ``response``."""
    uid = req if isinstance(req, str) else req.uid
    out: Obj = {"uid": uid, "allowed": response.allowed}
    if not response.allowed or response.message or response.code:
        out["status"] = status_of(response, None if isinstance(req, str) else req)
    if response.warnings:
        out["warnings"] = list(response.warnings)
    if response.patch:
        out["patchType"] = "JSONPatch"
        out["patch"] = base64.b64encode(orjson.dumps(response.patch)).decode("ascii")
    return {"apiVersion": ADMISSION_API_VERSION, "kind": "AdmissionReview", "response": out}
