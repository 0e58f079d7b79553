"""Converting custom objects between a CRD's versions: strategy None or a ConversionReview webhook.

Why shaped so: a CRD's objects are stored in one version and served in all of
them.  With ``strategy: None`` conversion is rewriting ``apiVersion`` — cheap
and synchronous, so :mod:`mizzen.apiserver.crds` does it inline.  With
``strategy: Webhook`` it is an HTTPS round trip, so :class:`Converter` is
async and takes *lists*: a LIST (or a chunk of watch events) is converted in
one ``apiextensions.k8s.io/v1 ConversionReview`` carrying every object that is
not yet in the desired version, as kube-apiserver does.

The transport (pooled session, caBundle verification with hostname check,
service resolution, timeout, 10 MiB cap, Go-like error text, no proxies or
redirects) is the admission webhook caller's: :class:`Converter` subclasses
:class:`~mizzen.apiserver.admission_call.Caller` and the webhook's
``clientConfig`` is compiled by the admission code into a
:class:`~mizzen.apiserver.admission_match.Hook`.  Only the review differs.

What a converted object may change follows upstream: it must come back with
the desired ``apiVersion`` and the same ``kind``, name, namespace and uid;
of its metadata only labels and annotations are kept from the webhook's answer,
the rest is restored from the original.  Every failure is an
:class:`~mizzen.apiserver.errors.ApiError` 500 ``InternalError`` reading
``conversion webhook for <group>/<version>, Kind=<kind> failed: <why>``.
Objects are never logged or quoted in messages (they may hold secrets).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson

from mizzen.apiserver import errors
from mizzen.apiserver.admission_call import Caller, PostFailure, _status_reason
from mizzen.apiserver.admission_match import Hook, ServiceResolver, compile_hook, dns_resolver
from mizzen.apiserver.context import CustomHooks
from mizzen.apiserver.resources import ResourceInfo

Obj = dict[str, Any]

REVIEW_API_VERSION = "apiextensions.k8s.io/v1"
Render = Callable[[str, Obj], bytes]  # a watch line of (type, object), e.g. a Table row
TIMEOUT = 30  # seconds; upstream's fixed conversion webhook timeout


class ConvertingHooks(CustomHooks, Protocol):
    """The registry's custom-resource hooks, with the async conversions writes await."""

    async def to_storage_async(self, info: ResourceInfo, obj: Obj) -> Obj: ...

    async def convert_async(self, info: ResourceInfo, obj: Obj) -> Obj: ...


@dataclass(frozen=True, slots=True)
class Strategy:
    """How a CRD converts: ``hook`` is None for ``strategy: None``."""

    hook: Hook | None = None


NONE = Strategy()


def strategy_of(crd: Obj) -> Strategy:
    """Compile ``spec.conversion``; a broken webhook config fails every conversion call."""
    conversion = (crd.get("spec") or {}).get("conversion") or {}
    if not isinstance(conversion, dict) or conversion.get("strategy", "None") != "Webhook":
        return NONE
    webhook = conversion.get("webhook") or {}
    webhook = webhook if isinstance(webhook, dict) else {}
    raw = {"name": (crd.get("metadata") or {}).get("name", ""),
           "clientConfig": webhook.get("clientConfig") or {}, "timeoutSeconds": TIMEOUT}
    hook = compile_hook("", 0, raw, False)
    if not hook.broken and "v1" not in (webhook.get("conversionReviewVersions") or ()):
        hook = replace(hook, broken="webhook does not accept known ConversionReview versions "
                                    "(v1)")
    return Strategy(hook)


def validate_conversion(spec: Obj) -> list[errors.Cause]:
    """What kube-apiserver checks of ``spec.conversion`` (the parts served here)."""
    conversion = spec.get("conversion")
    if conversion is None:
        return []
    if not isinstance(conversion, dict):
        return [errors.field_invalid("spec.conversion", conversion, "must be an object")]
    strategy = conversion.get("strategy", "None")
    if strategy not in ("None", "Webhook"):
        return [errors.Cause("FieldValueNotSupported",
                             f'Unsupported value: "{strategy}": supported values: "None", '
                             '"Webhook"', "spec.conversion.strategy")]
    webhook = conversion.get("webhook")
    if strategy == "None":
        if webhook is not None:
            return [errors.field_forbidden("spec.conversion.webhook",
                                           "should not be set when strategy is not set to "
                                           "Webhook")]
        return []
    if not isinstance(webhook, dict):
        return [errors.field_required("spec.conversion.webhook")]
    causes = []
    versions = webhook.get("conversionReviewVersions")
    if not versions:
        causes.append(errors.field_required("spec.conversion.webhook.conversionReviewVersions"))
    elif "v1" not in versions and "v1beta1" not in versions:
        causes.append(errors.field_invalid(
            "spec.conversion.webhook.conversionReviewVersions", versions,
            "must include at least one of v1, v1beta1"))
    client = webhook.get("clientConfig")
    if not isinstance(client, dict):
        causes.append(errors.field_required("spec.conversion.webhook.clientConfig"))
    elif bool(client.get("url")) == bool(client.get("service")):
        causes.append(errors.field_required(
            "spec.conversion.webhook.clientConfig: exactly one of url or service is required"))
    return causes


def gvk_text(obj: Obj) -> str:
    """Go's ``schema.GroupVersionKind`` string, as upstream's messages print it."""
    return f"{obj.get('apiVersion', '')}, Kind={obj.get('kind', '')}"


def _fail(source: Obj, why: str) -> errors.ApiError:
    return errors.internal(f"conversion webhook for {gvk_text(source)} failed: {why}")


def _restore(index: int, original: Obj, converted: Any, desired: str) -> Obj:
    """Check one converted object and give it back the original's metadata (upstream rules)."""
    where = f"invalid converted object at index {index}"
    if not isinstance(converted, dict):
        raise ValueError(f"{where}: not an object")
    if converted.get("apiVersion") != desired:
        raise ValueError(f'{where}: invalid apiVersion "{converted.get("apiVersion")}", '
                         f'expected "{desired}"')
    if converted.get("kind") != original.get("kind"):
        raise ValueError(f'{where}: invalid kind "{converted.get("kind")}", expected '
                         f'"{original.get("kind")}"')
    meta, old = converted.get("metadata"), original.get("metadata") or {}
    if not isinstance(meta, dict):
        raise ValueError(f"invalid metadata of converted object at index {index}: "
                         "metadata must be an object")
    for key in ("name", "namespace", "uid"):
        if meta.get(key) != old.get(key):
            raise ValueError(f"invalid metadata of converted object at index {index}: "
                             f"must not change metadata.{key}")
    restored = {k: v for k, v in old.items() if k not in ("labels", "annotations")}
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value:
            if not isinstance(value, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
                raise ValueError(f"invalid metadata of converted object at index {index}: "
                                 f"metadata.{key} must map strings to strings")
            restored[key] = value
    return {**converted, "metadata": restored}


def verify(uid: str, body: bytes, originals: list[Obj], desired: str) -> list[Obj]:
    """Parse and check a ConversionReview response; the converted objects, in order."""
    try:
        review = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON in response: {exc}") from None
    if not isinstance(review, dict):
        raise ValueError("response is not a JSON object")
    if (review.get("apiVersion"), review.get("kind")) != (REVIEW_API_VERSION, "ConversionReview"):
        raise ValueError(f"expected webhook response of {REVIEW_API_VERSION}, "
                         f"Kind=ConversionReview, got {str(review.get('apiVersion'))[:64]}, "
                         f"Kind={str(review.get('kind'))[:64]}")
    response = review.get("response")
    if not isinstance(response, dict):
        raise ValueError("no response provided")
    if response.get("uid") != uid:
        raise ValueError(f'expected response.uid="{uid}", got '
                         f'"{str(response.get("uid"))[:64]}"')
    result = response.get("result")
    result = result if isinstance(result, dict) else {}
    if result.get("status") != "Success":
        raise ValueError(f"webhook returned failure: {str(result.get('message', ''))[:256]}")
    converted = response.get("convertedObjects")
    if not isinstance(converted, list) or len(converted) != len(originals):
        got = len(converted) if isinstance(converted, list) else 0
        raise ValueError(f"expected {len(originals)} converted objects, got {got}")
    pairs = zip(originals, converted, strict=True)
    return [_restore(i, o, c, desired) for i, (o, c) in enumerate(pairs)]


class Converter(Caller):
    """Converts custom objects to a desired ``apiVersion``: rewriting, or one webhook call."""

    def __init__(self, resolver: ServiceResolver = dns_resolver) -> None:
        super().__init__(resolver)

    async def convert(self, strategy: Strategy, objects: list[Obj], desired: str) -> list[Obj]:
        """``objects`` as ``desired`` serves them, in order (unchanged ones are the same dicts)."""
        todo = [i for i, o in enumerate(objects) if o.get("apiVersion") != desired]
        if not todo:
            return objects
        out = list(objects)
        if strategy.hook is None:
            for i in todo:
                out[i] = {**objects[i], "apiVersion": desired}
            return out
        originals = [objects[i] for i in todo]
        try:
            converted = await self._review(strategy.hook, originals, desired)
        except ValueError as exc:
            raise _fail(originals[0], str(exc)) from None
        for i, obj in zip(todo, converted, strict=True):
            out[i] = obj
        return out

    async def _review(self, hook: Hook, originals: list[Obj], desired: str) -> list[Obj]:
        if hook.broken:
            raise ValueError(hook.broken)
        uid = str(uuid.uuid4())
        body = orjson.dumps({"apiVersion": REVIEW_API_VERSION, "kind": "ConversionReview",
                             "request": {"uid": uid, "desiredAPIVersion": desired,
                                         "objects": originals}})
        try:
            code, payload = await self.post(hook, body)
        except PostFailure as exc:
            raise ValueError(str(exc)) from None
        if not 200 <= code < 300:
            raise ValueError(_status_reason(code, payload))
        return verify(uid, payload, originals, desired)


async def convert_lines(lines: list[bytes], convert: Callable[[list[Obj]], Awaitable[list[Obj]]],
                        render: Render | None) -> list[bytes]:
    """Watch event lines with their objects converted by one ``convert`` call, then rendered
    by ``render`` (Table rows) or as JSON events; bookmarks and errors pass unchanged."""
    events = [orjson.loads(line) for line in lines]
    picked = [i for i, ev in enumerate(events)
              if ev.get("type") in ("ADDED", "MODIFIED", "DELETED")
              and isinstance(ev.get("object"), dict)]
    objs = await convert([events[i]["object"] for i in picked])
    out = list(lines)
    for i, obj in zip(picked, objs, strict=True):
        typ = events[i]["type"]
        out[i] = render(typ, obj) if render is not None else \
            orjson.dumps({"type": typ, "object": obj}) + b"\n"
    return out
