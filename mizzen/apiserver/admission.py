"""Dynamic admission: MutatingWebhookConfiguration and ValidatingWebhookConfiguration.

kube-apiserver lets webhooks change (mutating) and veto (validating) every
create, update, delete and connect; controllers, policy engines and sidecar
injectors depend on it.  :class:`Admission` does the same for the embedded
server.  The registry calls :meth:`Admission.mutate` once the request's
object is built and defaulted, and :meth:`Admission.validate` once it passed
the built-in validation, and only then stages the write — so a webhook that is
down, slow or wrong can fail a request but never corrupt stored state.

Semantics follow upstream's generic webhook dispatchers:

* Configurations are read from the store on every request (a change applies to
  the next request), sorted by name, webhooks in their listed order; matching is
  in :mod:`mizzen.apiserver.admission_match`, calling in
  :mod:`mizzen.apiserver.admission_call`.  Requests on webhook configurations
  themselves are exempt, so a broken webhook can always be deleted.
* Mutating webhooks run one after another; a ``JSONPatch`` response is applied
  to the object.  When a webhook changes the object, every earlier webhook with
  ``reinvocationPolicy: IfNeeded`` is called once more, in a second round.
* Validating webhooks run concurrently; any denial fails the request (the first
  in configuration order is reported).
* ``allowed: false`` becomes the webhook's ``status`` with the message
  ``admission webhook "<name>" denied the request: <message>``; a code below 400
  becomes 400 (upstream ``ToStatusErr``).
* A failed call (transport, TLS, timeout, non-2xx, malformed review, wrong uid,
  undecodable patch) is skipped under ``failurePolicy: Ignore`` (with a
  ``failed-open`` audit annotation) and is a 500 ``failed calling webhook
  "<name>": <reason>`` under ``Fail``.  As upstream, a patch that decodes but
  does not apply, or a patch on a DELETE, is a 500 whatever the policy.
* On dry-run requests a webhook whose ``sideEffects`` is not ``None`` or
  ``NoneOnDryRun`` fails the request with 400 ``does not support dry run``.

Not supported: ``matchPolicy: Equivalent`` acts as ``Exact``; ``matchConditions``
(CEL) are not evaluated and count as matching.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, overload

import jsonpatch

from mizzen.apiserver import errors
from mizzen.apiserver.admission_call import Caller, CallFailure, Verdict, decode_patch
from mizzen.apiserver.admission_match import (
    MUTATING_RES,
    VALIDATING_RES,
    Attributes,
    Hook,
    HookIndex,
    Matcher,
    ServiceResolver,
    default_user,
    dns_resolver,
    is_exempt,
)
from mizzen.apiserver.context import Context
from mizzen.apiserver.objectmeta import Clock
from mizzen.apiserver.store import Entry, Store

__all__ = [
    "Admission",
    "Attributes",
    "ServiceResolver",
    "create_options",
    "default_user",
    "delete_options",
    "dns_resolver",
    "update_options",
]

log = logging.getLogger(__name__)

Obj = dict[str, Any]

MUTATION_FAILED_OPEN = "failed-open.mutation.webhook.admission.k8s.io/round_{}_index_{}"
VALIDATION_FAILED_OPEN = "failed-open.validating.webhook.admission.k8s.io/round_0_index_{}"


def _options(kind: str, dry_run: bool, fields: Obj) -> Obj:
    out: Obj = {"kind": kind, "apiVersion": "meta.k8s.io/v1"}
    if dry_run:
        out["dryRun"] = ["All"]
    out.update({k: v for k, v in fields.items() if v not in (None, "", {})})
    return out


def create_options(*, dry_run: bool = False, field_manager: str = "",
                   field_validation: str = "") -> Obj:
    """The ``CreateOptions`` a CREATE review carries."""
    return _options("CreateOptions", dry_run, {"fieldManager": field_manager,
                                               "fieldValidation": field_validation})


def update_options(*, dry_run: bool = False, field_manager: str = "",
                   field_validation: str = "") -> Obj:
    """The ``UpdateOptions`` an UPDATE review carries (patches are UPDATEs too)."""
    return _options("UpdateOptions", dry_run, {"fieldManager": field_manager,
                                               "fieldValidation": field_validation})


def delete_options(*, dry_run: bool = False, grace_period: int | None = None,
                   propagation: str = "", precondition_uid: str = "",
                   precondition_rv: str = "") -> Obj:
    """The ``DeleteOptions`` a DELETE review carries."""
    pre = {k: v for k, v in (("uid", precondition_uid), ("resourceVersion", precondition_rv))
           if v}
    return _options("DeleteOptions", dry_run, {"gracePeriodSeconds": grace_period,
                                               "propagationPolicy": propagation,
                                               "preconditions": pre})


def rejection(webhook: str, status: Obj | None) -> errors.ApiError:
    """An ``allowed: false`` response as the error the client sees (upstream ToStatusErr)."""
    status = status or {}
    code = status.get("code")
    code = code if isinstance(code, int) and 400 <= code <= 599 else \
        500 if isinstance(code, int) and code > 599 else 400
    message, reason = str(status.get("message") or ""), str(status.get("reason") or "")
    denied = f'admission webhook "{webhook}" denied the request'
    text = f"{denied}: {message}" if message else f"{denied}: {reason}" if reason else \
        f"{denied} without explanation"
    details = status.get("details")
    details = details if isinstance(details, dict) else {}
    causes = [errors.Cause(str(c.get("reason") or ""), str(c.get("message") or ""),
                           str(c.get("field") or ""))
              for c in details.get("causes") or () if isinstance(c, dict)]
    retry = details.get("retryAfterSeconds")
    return errors.ApiError(code, reason, text, name=str(details.get("name") or ""),
                           group=str(details.get("group") or ""),
                           kind=str(details.get("kind") or ""), causes=causes,
                           retry_after=retry if isinstance(retry, int) else None)


def _check_dry_run(hook: Hook, attrs: Attributes) -> None:
    if not attrs.dry_run:
        return
    if not hook.side_effects:
        raise CallFailure(hook.name, "Webhook SideEffects is nil")
    if hook.side_effects not in ("None", "NoneOnDryRun"):
        raise errors.bad_request(f'admission webhook "{hook.name}" does not support dry run')


def _patch_failure(obj: Obj, ops: list[Obj]) -> str:
    """Which operation of a patch fails and how, without the object's content.

    jsonpatch's own messages quote the document (perhaps a Secret), so they are not used.
    """
    doc: Any = obj
    for i, op in enumerate(ops):
        try:
            doc = jsonpatch.apply_patch(doc, [op], in_place=False)
        except Exception as exc:
            how = {"JsonPointerException": "path not found",
                   "JsonPatchTestFailed": "test failed",
                   "JsonPatchConflict": "conflicting path",
                   "InvalidJsonPatch": "invalid operation"}.get(type(exc).__name__, "error")
            return f'operation {i} ({str(op.get("op"))[:16]} {str(op.get("path"))[:256]}): {how}'
    return "the result is not an object"


def _collect(attrs: Attributes, hook: Hook, verdict: Verdict) -> None:
    attrs.warnings.extend(verdict.warnings)
    for key, value in verdict.audit_annotations:
        attrs.annotations[f"{hook.name}/{key}"] = value


class Admission:
    """Runs the stored admission webhooks for requests (one per API server)."""

    def __init__(self, store: Store, clock: Clock, *,
                 resolver: ServiceResolver = dns_resolver) -> None:
        self._store = store
        self._clock = clock
        self._mutating = HookIndex(store, MUTATING_RES, mutating=True)
        self._validating = HookIndex(store, VALIDATING_RES, mutating=False)
        self._caller = Caller(resolver)

    @property
    def active(self) -> bool:
        """Whether any webhook is configured at all (the common answer, no, costs little)."""
        return bool(self._mutating.hooks() or self._validating.hooks())

    async def close(self) -> None:
        """Close pooled webhook connections (call when the server stops)."""
        await self._caller.close()

    # -- mutating ------------------------------------------------------------------------

    @overload
    async def mutate(self, attrs: Attributes, obj: Obj, old: Obj | None = None) -> Obj: ...

    @overload
    async def mutate(self, attrs: Attributes, obj: None, old: Obj | None = None) -> None: ...

    async def mutate(self, attrs: Attributes, obj: Obj | None,
                     old: Obj | None = None) -> Obj | None:
        """Run matching mutating webhooks; returns ``obj`` itself or a patched copy.

        ``old`` is the stored object for UPDATE and DELETE (``obj`` is None for DELETE).
        Never suspends when no webhook matches, so callers keep read-then-stage atomicity.
        """
        hooks = self._mutating.hooks()
        if not hooks or is_exempt(attrs):
            return obj
        matcher = Matcher(self._store, attrs)
        invoked: set[tuple[str, int]] = set()  # IfNeeded hooks called since the last change
        again: set[tuple[str, int]] = set()
        changed_any = False
        for round_ in (0, 1):
            if round_ == 1 and not (changed_any and again):
                break
            for index, hook in enumerate(hooks):
                if not matcher.should_call(hook, obj, old):
                    continue
                if round_ == 1 and hook.uid not in again:
                    continue
                changed, obj = await self._mutate_one(hook, attrs, obj, old, round_, index)
                if changed:
                    again |= invoked
                    invoked.clear()
                    changed_any = True
                if hook.reinvoke:
                    invoked.add(hook.uid)
        return obj

    async def _mutate_one(self, hook: Hook, attrs: Attributes, obj: Obj | None,
                          old: Obj | None, round_: int, index: int) -> tuple[bool, Obj | None]:
        started = self._clock()
        try:
            _check_dry_run(hook, attrs)
            verdict = await self._caller.call(hook, attrs, obj, old, mutating=True)
            _collect(attrs, hook, verdict)
            if not verdict.allowed:
                raise rejection(hook.name, verdict.status)
            ops = decode_patch(hook.name, verdict)
        except CallFailure as failure:
            self._failed(hook, failure, MUTATION_FAILED_OPEN.format(round_, index), attrs)
            return False, obj
        finally:
            log.debug("mutating webhook %s took %s", hook.name, self._clock() - started)
        if not ops:
            return False, obj
        if obj is None:
            raise errors.internal(f'admission webhook "{hook.name}" attempted to modify the '
                                  "object, which is not supported for this operation")
        try:
            patched = jsonpatch.apply_patch(obj, ops, in_place=False)
        except Exception:  # untrusted input: any failure to apply is the webhook's
            raise errors.internal(f'admission webhook "{hook.name}" returned a patch that '
                                  f"does not apply: {_patch_failure(obj, ops)}") from None
        if not isinstance(patched, dict) or (patched.get("apiVersion"), patched.get("kind")) \
                != (obj.get("apiVersion"), obj.get("kind")):
            raise errors.internal(f'admission webhook "{hook.name}" returned a patch that '
                                  "changes the object's apiVersion or kind")
        return patched != obj, patched

    # -- validating ----------------------------------------------------------------------

    async def validate(self, attrs: Attributes, obj: Obj | None, old: Obj | None) -> None:
        """Run matching validating webhooks concurrently; raise if any denies or fails closed.

        ``obj`` is the object to be stored (None for DELETE), ``old`` the stored one (None for
        CREATE).  Never suspends when no webhook matches.
        """
        hooks = self._validating.hooks()
        if not hooks or is_exempt(attrs):
            return
        matcher = Matcher(self._store, attrs)
        chosen = [(i, h) for i, h in enumerate(hooks) if matcher.should_call(h, obj, old)]
        if not chosen:
            return
        results = await asyncio.gather(
            *(self._validate_one(h, attrs, obj, old, i) for i, h in chosen),
            return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _validate_one(self, hook: Hook, attrs: Attributes, obj: Obj | None,
                            old: Obj | None, index: int) -> None:
        try:
            _check_dry_run(hook, attrs)
            verdict = await self._caller.call(hook, attrs, obj, old, mutating=False)
        except CallFailure as failure:
            self._failed(hook, failure, VALIDATION_FAILED_OPEN.format(index), attrs)
            return
        _collect(attrs, hook, verdict)
        if not verdict.allowed:
            raise rejection(hook.name, verdict.status)

    # -- failures ------------------------------------------------------------------------

    def _failed(self, hook: Hook, failure: CallFailure, annotation: str,
                attrs: Attributes) -> None:
        """Fail open (log, annotate) or closed (raise the 500 upstream raises)."""
        if hook.fail_open:
            log.warning("Failed calling webhook, failing open %s: %s", hook.name, failure.reason)
            attrs.annotations[annotation] = hook.name
            return
        log.warning("Failed calling webhook, failing closed %s: %s", hook.name, failure.reason)
        raise errors.internal(str(failure))


def request_attributes(ctx: Context, operation: str, name: str) -> Attributes:
    """The admission attributes of a create or update request."""
    make = create_options if operation == "CREATE" else update_options
    return Attributes.of(ctx.info, operation, namespace=ctx.namespace, name=name,
                         subresource=ctx.subresource, dry_run=ctx.dry_run,
                         options=make(dry_run=ctx.dry_run, field_manager=ctx.field_manager,
                                      field_validation=ctx.field_validation),
                         warnings=ctx.warnings)


def unchanged_since(store: Store, ctx: Context, current: Entry) -> None:
    """After awaiting webhooks: refuse to stage against a value that moved meanwhile."""
    name = current.obj["metadata"]["name"]
    latest = store.latest(ctx.info.store_key, ctx.ns, name)
    if latest is None:
        raise errors.not_found(ctx.info.plural, ctx.info.group, name)
    if latest.rv != current.rv:
        raise errors.conflict(ctx.info.plural, ctx.info.group, name)
