"""Answering an ``apiextensions.k8s.io/v1 ConversionReview`` with a per-object converter.

A CRD served in several versions (CloneSet v1alpha1 and its successor) stores
one and converts on every read and write through this webhook.  The API
server sends every object of a LIST or watch chunk in one review, so a
converter is written for *one* object — ``fn(obj, desired_api_version) ->
obj`` — and :func:`convert_review` applies it to each in order.  Objects
already in the desired version pass through untouched.

Failures are answers, not errors: a converter that raises, returns something
that is not an object, or returns the wrong ``apiVersion`` or ``kind`` turns
the whole review into ``result: {status: Failure, message}``.  The message
names the object (kind, namespace/name), the target version and the error, so
it is useful in the API server's 500 — but no stack trace, and the object
itself is never logged or quoted.  Only a review that cannot be read at all
(no ``request``, no ``uid``) is a :class:`~mizzen.webhook.review.ReviewError`,
which the server answers with 400.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mizzen.webhook.review import ReviewError

__all__ = ["CONVERSION_API_VERSION", "ConversionFailed", "Converter", "convert_review"]

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Converter = Callable[[Obj, str], Obj | Awaitable[Obj]]

CONVERSION_API_VERSION = "apiextensions.k8s.io/v1"
MAX_MESSAGE = 512


class ConversionFailed(Exception):
    """Raised (by converters too) to fail a review with exactly this message."""


def _review(uid: str, result: Obj, converted: list[Obj]) -> Obj:
    response: Obj = {"uid": uid, "result": result, "convertedObjects": converted}
    return {"apiVersion": CONVERSION_API_VERSION, "kind": "ConversionReview",
            "response": response}


def failure(uid: str, message: str) -> Obj:
    """A review answering ``uid`` with a Failure result."""
    return _review(uid, {"status": "Failure", "message": message[:MAX_MESSAGE]}, [])


def _describe(obj: Any) -> str:
    if not isinstance(obj, dict):
        return "a non-object"
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name = "/".join(str(p) for p in (meta.get("namespace"), meta.get("name")) if p)
    return f"{obj.get('kind') or 'object'} {name or '<unnamed>'}"


def _parse(review: Any) -> tuple[str, str, list[Any]]:
    if not isinstance(review, dict):
        raise ReviewError("the body is not a JSON object")
    if (review.get("apiVersion"), review.get("kind")) != (CONVERSION_API_VERSION,
                                                          "ConversionReview"):
        raise ReviewError(f"expected {CONVERSION_API_VERSION} ConversionReview")
    req = review.get("request")
    if not isinstance(req, dict):
        raise ReviewError("the review has no request")
    uid = req.get("uid")
    if not isinstance(uid, str) or not uid:
        raise ReviewError("request.uid is missing")
    desired = req.get("desiredAPIVersion")
    objects = req.get("objects")
    return uid, desired if isinstance(desired, str) else "", \
        objects if isinstance(objects, list) else []


async def _convert_one(fn: Converter, obj: Any, desired: str) -> Obj:
    if not isinstance(obj, dict):
        raise ConversionFailed("an object in the review is not a JSON object")
    if obj.get("apiVersion") == desired:
        return obj
    result = fn(obj, desired)
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, dict):
        raise ConversionFailed(f"converting {_describe(obj)} to {desired}: the converter "
                               "returned a non-object")
    if result.get("apiVersion") != desired or result.get("kind") != obj.get("kind"):
        raise ConversionFailed(f"converting {_describe(obj)} to {desired}: the converter "
                               f"returned apiVersion {str(result.get('apiVersion'))[:64]!r}, "
                               f"kind {str(result.get('kind'))[:64]!r}")
    return result


async def convert_review(review: Any, fn: Converter) -> tuple[Obj, bool]:
    """(the ConversionReview answering ``review``, whether it succeeded).

    Raises :class:`ReviewError` only when the review has no readable uid.
    """
    uid, desired, objects = _parse(review)
    if not desired:
        return failure(uid, "request.desiredAPIVersion is missing"), False
    converted: list[Obj] = []
    for obj in objects:
        try:
            converted.append(await _convert_one(fn, obj, desired))
        except ConversionFailed as exc:
            return failure(uid, str(exc)), False
        except Exception as exc:  # a converter's bug is the review's failure, not a 500
            log.info("converter failed for %s to %s: %s", _describe(obj), desired,
                     type(exc).__name__)
            detail = str(exc) or type(exc).__name__
            return failure(uid, f"converting {_describe(obj)} to {desired}: {detail}"), False
    return _review(uid, {"status": "Success"}, converted), True
