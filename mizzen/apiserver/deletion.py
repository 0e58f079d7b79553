"""Deletion: preconditions, graceful deletion, finalizers, delete-collection.

An object with finalizers, or a pod that a kubelet must stop, is not removed
at once: it gets ``deletionTimestamp`` (and ``deletionGracePeriodSeconds``),
its generation is bumped once, and watchers see MODIFIED.  Whoever holds the
finalizer removes it with an update, and the registry then deletes the object
(:func:`objectmeta.should_delete_now`).  A pod with a grace period waits for
its kubelet's final delete with ``gracePeriodSeconds=0``.

``propagationPolicy`` Foreground and Orphan put the ``foregroundDeletion`` and
``orphan`` finalizers on the owner when a garbage collector is running to
honour them (``gc_enabled``); without one, every policy behaves as Background.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mizzen.apiserver import errors, objectmeta
from mizzen.apiserver.admission import Attributes, delete_options, unchanged_since
from mizzen.apiserver.context import Context
from mizzen.apiserver.registry import Registry
from mizzen.apiserver.store import Entry

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    grace_period: int | None = None
    propagation: str = ""  # Background, Foreground, Orphan or "" (the resource's default)
    precondition_uid: str = ""
    precondition_rv: str = ""

    @classmethod
    def from_body(cls, body: Any, query: dict[str, str]) -> DeleteOptions:
        body = body if isinstance(body, dict) else {}
        grace = body.get("gracePeriodSeconds", query.get("gracePeriodSeconds"))
        propagation = body.get("propagationPolicy") or query.get("propagationPolicy") or ""
        if body.get("orphanDependents") is True or query.get("orphanDependents") == "true":
            propagation = propagation or "Orphan"
        if propagation not in ("", "Background", "Foreground", "Orphan"):
            raise errors.invalid("DeleteOptions", "", "", [errors.Cause(
                "FieldValueNotSupported",
                f'Unsupported value: "{propagation}": supported values: "Foreground", '
                '"Background", "Orphan"', "propagationPolicy")])
        pre = body.get("preconditions") or {}
        try:
            grace_int = None if grace is None else int(grace)
        except (TypeError, ValueError):
            raise errors.bad_request(f"invalid gracePeriodSeconds {grace!r}") from None
        if grace_int is not None and grace_int < 0:
            grace_int = 0
        return cls(grace_int, propagation, pre.get("uid") or "", pre.get("resourceVersion") or "")


def _pod_grace(pod: dict[str, Any], requested: int | None) -> int:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return requested
    return int(spec.get("terminationGracePeriodSeconds", 30) or 0)


class Deleter:
    """DELETE on one object and on collections."""

    def __init__(self, registry: Registry, gc_enabled: bool = False) -> None:
        self.registry = registry
        self.gc_enabled = gc_enabled

    async def delete(self, ctx: Context, opts: DeleteOptions) -> tuple[dict[str, Any], bool]:
        """Delete or start deleting; returns (object or Status, removed now)."""
        info, name = ctx.info, ctx.name or ""
        store = self.registry.store
        current = store.latest(info.store_key, ctx.ns, name)
        if current is None:
            raise errors.not_found(info.plural, info.group, name)
        old = current.obj
        om = old["metadata"]
        if opts.precondition_uid and opts.precondition_uid != om.get("uid"):
            raise errors.conflict(info.plural, info.group, name,
                                  f"Precondition failed: UID in precondition: "
                                  f"{opts.precondition_uid}, UID in object meta: {om.get('uid')}")
        if opts.precondition_rv and opts.precondition_rv != om.get("resourceVersion"):
            raise errors.conflict(info.plural, info.group, name,
                                  f"Precondition failed: ResourceVersion in precondition: "
                                  f"{opts.precondition_rv}, ResourceVersion in object meta: "
                                  f"{om.get('resourceVersion')}")
        if (admission := self.registry.admission) is not None and admission.active:
            attrs = Attributes.of(info, "DELETE", namespace=ctx.namespace, name=name,
                                  dry_run=ctx.dry_run, warnings=ctx.warnings,
                                  options=delete_options(
                                      dry_run=ctx.dry_run, grace_period=opts.grace_period,
                                      propagation=opts.propagation,
                                      precondition_uid=opts.precondition_uid,
                                      precondition_rv=opts.precondition_rv))
            await admission.mutate(attrs, None, old)  # mutating hooks may deny deletes too
            await admission.validate(attrs, None, old)
            unchanged_since(store, ctx, current)
        if info.store_key == "/namespaces":
            return await self._delete_namespace(ctx, current)
        grace = _pod_grace(old, opts.grace_period) if info.store_key == "/pods" else 0
        finalizers = list(om.get("finalizers") or ())
        if self.gc_enabled and not om.get("deletionTimestamp"):
            wanted = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}.get(
                opts.propagation)
            if wanted and wanted not in finalizers:
                finalizers.append(wanted)
        if not finalizers and grace == 0:
            return await self._remove(ctx, current)
        if om.get("deletionTimestamp"):
            # Already terminating: only a shorter grace period changes anything.
            current_grace = om.get("deletionGracePeriodSeconds")
            if current_grace is None or grace >= current_grace:
                if grace == 0 and not finalizers:
                    return await self._remove(ctx, current)
                return old, False
        new = objectmeta.deep_copy(old)
        nm = new["metadata"]
        now = self.registry.clock()
        nm["deletionTimestamp"] = objectmeta.rfc3339(now + timedelta(seconds=grace))
        nm["deletionGracePeriodSeconds"] = grace
        if finalizers:
            nm["finalizers"] = finalizers
        if not om.get("deletionTimestamp") and info.generation and "generation" in nm:
            nm["generation"] = int(nm["generation"]) + 1
        if ctx.dry_run:
            return new, False
        ev = await store.write("MODIFIED", info.store_key, ctx.ns, name, new)
        return ev.obj, False

    async def _remove(self, ctx: Context, current: Entry) -> tuple[dict[str, Any], bool]:
        info = ctx.info
        obj = objectmeta.deep_copy(current.obj)
        if ctx.dry_run:
            return obj, True
        ev = await self.registry.store.write("DELETED", info.store_key, ctx.ns,
                                             obj["metadata"]["name"], obj)
        return ev.obj, True

    async def _delete_namespace(self, ctx: Context, current: Entry) -> tuple[dict[str, Any], bool]:
        name = ctx.name or ""
        if name in PROTECTED_NAMESPACES:
            raise errors.forbidden("namespaces", "", name, "this namespace may not be deleted")
        old = current.obj
        if old["metadata"].get("deletionTimestamp"):
            return old, False
        new = objectmeta.deep_copy(old)
        new["metadata"]["deletionTimestamp"] = objectmeta.rfc3339(self.registry.clock())
        new["metadata"]["deletionGracePeriodSeconds"] = 0
        new.setdefault("status", {})["phase"] = "Terminating"
        if ctx.dry_run:
            return new, False
        ev = await self.registry.store.write("MODIFIED", "/namespaces", "", name, new)
        return ev.obj, False

    async def delete_collection(self, ctx: Context, entries: list[Entry],
                                opts: DeleteOptions) -> list[dict[str, Any]]:
        """Delete every listed object (already filtered by the caller's selectors)."""
        out: list[dict[str, Any]] = []
        for entry in entries:
            m = entry.obj["metadata"]
            one = Context(ctx.info, m.get("namespace") or None, m["name"], dry_run=ctx.dry_run)
            try:
                obj, _ = await self.delete(one, opts)
            except errors.ApiError as exc:
                if exc.code == 404:
                    continue
                raise
            out.append(obj)
        return out


def success_status(info_kind: str, group: str, name: str, uid: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": name, "group": group, "kind": info_kind, "uid": uid}}
