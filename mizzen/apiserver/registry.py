"""REST semantics of every resource: the steps each verb goes through.

This is the equivalent of kube-apiserver's generic registry.  A request arrives
as decoded Python values (the HTTP layer did the parsing) and goes through a
fixed sequence: find the current object, check preconditions, build the new
object (patch, metadata rules, defaults), validate, then stage the write in
the :class:`~mizzen.apiserver.store.Store` and wait for its commit.  Every
step before staging runs synchronously on the event loop, so a request either
fails having changed nothing or is staged against exactly the value it read.

Per-kind behaviour that upstream implements as "strategies" is kept to a few
hooks here (pod status on create, service IP allocation, pod grace periods,
namespace rules); the list and delete paths live in
:mod:`mizzen.apiserver.reads` and :mod:`mizzen.apiserver.deletion`.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from typing import Any

from mizzen.apiserver import errors, objectmeta
from mizzen.apiserver.admission import Admission, request_attributes, unchanged_since
from mizzen.apiserver.apply import apply_config, decode_apply_body
from mizzen.apiserver.context import (
    CRD_CLEANUP_FINALIZER,
    CRD_RES,
    NS_RES,
    Context,
    prune,
)
from mizzen.apiserver.conversion import ConvertingHooks
from mizzen.apiserver.defaults import Defaulter
from mizzen.apiserver.fieldpath import SchemaView
from mizzen.apiserver.fieldpath_views import SchemaViews
from mizzen.apiserver.managedfields import reset_fields, set_managed_fields, update_managed_fields
from mizzen.apiserver.objectmeta import Clock
from mizzen.apiserver.patch import APPLY_PATCH, PATCH_TYPES, STRATEGIC_PATCH, apply_patch
from mizzen.apiserver.resources import ResourceInfo
from mizzen.apiserver.scale import scale_of, set_scale_replicas
from mizzen.apiserver.schema import SchemaSet
from mizzen.apiserver.store import Entry, Store
from mizzen.apiserver.validation import Validator, dns1123_subdomain

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")


class Registry:
    """Create, update, patch and read objects of any served resource."""

    def __init__(self, store: Store, schemas: SchemaSet, clock: Clock) -> None:
        self.store = store
        self.schemas = schemas
        self.clock = clock
        self.validator = Validator(schemas)
        self.defaulter = Defaulter(schemas)
        self.views = SchemaViews(schemas)
        # Set by the server once custom resources are served.
        self.custom: ConvertingHooks | None = None
        # Webhook admission; set by the server (None: no webhooks are consulted).
        self.admission: Admission | None = None
        # Extra checks per store key (e.g. CRD rules), returning causes for a 422.
        self.checks: dict[str, Callable[[dict[str, Any]], list[errors.Cause]]] = {}

    # -- reads -----------------------------------------------------------------------

    def get(self, info: ResourceInfo, ns: str, name: str) -> Entry:
        entry = self.store.get(info.store_key, ns, name)
        if entry is None:
            raise errors.not_found(info.plural, info.group, name)
        return entry

    # -- field ownership (server-side apply) -------------------------------------------

    def _view(self, info: ResourceInfo) -> SchemaView:
        if info.custom:
            schema = self.custom.schema(info) if self.custom is not None else None
            return self.views.custom(info.group, info.version, info.kind,
                                     getattr(schema, "raw", None))
        return self.views.builtin(info.group, info.version, info.kind)

    def _track(self, ctx: Context, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        """Maintain ``new``'s managedFields for a create, update or non-apply patch."""
        info = ctx.info
        set_managed_fields(new, update_managed_fields(
            old, new, manager=ctx.field_manager, api_version=info.api_version,
            subresource=ctx.subresource, now=self.clock(), view=self._view(info),
            ignored=reset_fields(ctx.subresource, info.has_status, new)))

    # -- checks shared by writes ------------------------------------------------------

    def check_namespace(self, ctx: Context, name: str) -> None:
        if not ctx.info.namespaced:
            return
        ns = self.store.latest(NS_RES, "", ctx.ns)
        if ns is None:
            raise errors.not_found("namespaces", "", ctx.ns)
        if objectmeta.entry_is_deleting(ns):
            raise errors.forbidden(ctx.info.plural, ctx.info.group, name,
                                   f"unable to create new content in namespace {ctx.ns} "
                                   "because it is being terminated")

    def _validate(self, ctx: Context, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        info = ctx.info
        if info.custom:
            unknown, causes = self._validate_custom(info, obj)
        else:
            verdict = self.validator.validate(info, obj, old)
            unknown, causes = verdict.unknown, list(verdict.causes)
        if unknown:
            if ctx.field_validation == "Strict":
                detail = "strict decoding error: " + ", ".join(
                    f'unknown field "{p}"' for p in unknown)
                if ctx.verb in ("create", "update"):
                    detail = (f'{info.kind} in version "{info.version}" cannot be handled as a '
                              f"{info.kind}: {detail}")
                raise errors.bad_request(detail)
            if ctx.field_validation == "Warn":
                ctx.warnings.extend(f'unknown field "{p}"' for p in unknown)
            if not info.custom:
                prune(obj, unknown)
        check = self.checks.get(info.store_key)
        if check is not None:
            causes.extend(check(obj))
        if causes:
            name = (obj.get("metadata") or {}).get("name") or ""
            raise errors.invalid(info.kind, info.group, name, causes)

    def _validate_custom(self, info: ResourceInfo,
                         obj: dict[str, Any]) -> tuple[list[str], list[errors.Cause]]:
        """Prune, default and validate a custom object against its CRD version's schema."""
        causes = [errors.field_invalid("metadata.name", obj["metadata"].get("name", ""), msg)
                  for msg in dns1123_subdomain(obj["metadata"].get("name", ""))]
        schema = self.custom.schema(info) if self.custom is not None else None
        if schema is None:
            return [], causes
        unknown = schema.prune(obj)
        schema.default(obj)
        causes.extend(schema.validate(obj))
        return unknown, causes

    def _check_type(self, ctx: Context, obj: Any) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request must be a JSON or YAML object")
        info = ctx.info
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if ctx.subresource == "scale":
            return obj
        if kind is not None and kind != info.kind:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({info.api_version})" if api_version != info.api_version else
                f"kind {kind!r} does not match the resource {info.qualified} "
                f"(expected kind {info.kind!r})")
        if api_version is not None and api_version != info.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({info.api_version})")
        meta = obj.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if info.namespaced and meta and meta.get("namespace") and ctx.namespace and \
                meta["namespace"] != ctx.namespace:
            raise errors.bad_request("the namespace of the provided object does not match "
                                     "the namespace sent on the request")
        return obj

    # -- create ------------------------------------------------------------------------

    async def create(self, ctx: Context, body: Any, *, applied: bool = False) -> Entry:
        obj = self._check_type(ctx, body)
        info = ctx.info
        if ctx.subresource:
            raise errors.method_not_allowed("create", f"{info.plural}/{ctx.subresource}")
        attrs = None
        if self.admission is not None and self.admission.active:
            # Webhooks see the defaulted object before system metadata is set, as upstream.
            meta = obj.setdefault("metadata", {})
            if info.namespaced and ctx.namespace:
                meta.setdefault("namespace", ctx.namespace)
            self.defaulter.apply(info, obj)
            attrs = request_attributes(ctx, "CREATE", str(meta.get("name") or ""))
            obj = self._check_type(ctx, await self.admission.mutate(attrs, obj))
        objectmeta.prepare_create(info, obj, ctx.namespace, self.clock())
        name = obj["metadata"].get("name") or ""
        if not name:
            raise errors.invalid(info.kind, info.group, "", [errors.field_required(
                "metadata.name")])
        if info.has_status and info.reset_status_on_create:
            obj.pop("status", None)
        self.defaulter.apply(info, obj)
        self._on_create(ctx, obj)
        self._validate(ctx, obj, None)
        if not applied:
            self._track(ctx, None, obj)
        if self.admission is not None and attrs is not None:
            attrs.name = name  # a generated name is known by now
            await self.admission.validate(attrs, obj, None)
        self.check_namespace(ctx, name)
        prefix = obj["metadata"].get("generateName")
        for _ in range(8 if prefix and name.startswith(prefix) else 0):
            # A generated name that collides is generated again, as kube-apiserver does.
            if self.store.latest(info.store_key, ctx.ns, name) is None:
                break
            name = obj["metadata"]["name"] = objectmeta.generate_name(prefix)
        if self.store.latest(info.store_key, ctx.ns, name) is not None:
            raise errors.already_exists(info.plural, info.group, name)
        if ctx.dry_run:
            return Entry(obj, b"", 0)
        if info.custom and self.custom is not None:
            obj = await self.custom.to_storage_async(info, obj)  # a webhook call may suspend
            if self.store.latest(info.store_key, ctx.ns, name) is not None:
                raise errors.already_exists(info.plural, info.group, name)
        ev = await self.store.write("ADDED", info.store_key, ctx.ns, name, obj)
        return Entry(ev.obj, ev.raw, ev.rv)

    def _on_create(self, ctx: Context, obj: dict[str, Any]) -> None:
        info = ctx.info
        if info.store_key == "/pods":
            obj["status"] = {"phase": "Pending", "qosClass": objectmeta.pod_qos_class(obj)}
        elif info.store_key == "/namespaces":
            obj["status"] = {"phase": "Active"}
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = \
                obj["metadata"]["name"]
        elif info.store_key == "/services":
            self._allocate_cluster_ip(obj)
        elif info.store_key == CRD_RES:
            finalizers = obj["metadata"].setdefault("finalizers", [])
            if CRD_CLEANUP_FINALIZER not in finalizers:
                finalizers.append(CRD_CLEANUP_FINALIZER)
        elif info.store_key in ("apps/deployments", "apps/replicasets", "apps/statefulsets",
                                "apps/daemonsets", "/persistentvolumeclaims", "/services"):
            obj.setdefault("status", {})

    def _allocate_cluster_ip(self, svc: dict[str, Any]) -> None:
        spec = svc.setdefault("spec", {})
        if spec.get("type") == "ExternalName" or spec.get("clusterIP") == "None":
            if spec.get("clusterIP") == "None":
                spec["clusterIPs"] = ["None"]
            return
        if spec.get("clusterIP"):
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            return
        used = {(e.obj.get("spec") or {}).get("clusterIP")
                for e in self.store.list_entries("/services", None)}
        hosts = SERVICE_CIDR.num_addresses - 2
        for _ in range(64):
            ip = str(SERVICE_CIDR.network_address + random.randint(10, hosts))
            if ip not in used:
                spec["clusterIP"] = ip
                spec["clusterIPs"] = [ip]
                return
        raise errors.internal("no cluster IP available")

    async def bind(self, ctx: Context, body: Any) -> None:
        """``POST pods/{name}/binding``: assign an unscheduled pod to a node (the scheduler's
        write); a pod already bound to a node cannot be moved."""
        if not isinstance(body, dict):
            raise errors.bad_request("the body of a binding must be a Binding object")
        name = ctx.name or ""
        target = body.get("target") or {}
        node = target.get("name") if isinstance(target, dict) else None
        if not node:
            raise errors.invalid("Binding", "", name, [errors.field_required("target.name")])
        current = self.store.latest("/pods", ctx.ns, name)
        if current is None:
            raise errors.not_found("pods", "", name)
        if objectmeta.is_deleting(current.obj):
            raise errors.conflict("pods", "", name, "pod is being deleted, cannot be assigned "
                                  "to a host")
        bound = (current.obj.get("spec") or {}).get("nodeName")
        if bound:
            raise errors.conflict("pods", "", name,
                                  f"pod {name} is already assigned to node \"{bound}\"")
        new = objectmeta.deep_copy(current.obj)
        new["spec"]["nodeName"] = node
        conditions = [c for c in (new.get("status") or {}).get("conditions") or ()
                      if c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True",
                           "lastProbeTime": None,
                           "lastTransitionTime": objectmeta.rfc3339(self.clock())})
        new.setdefault("status", {})["conditions"] = conditions
        if not ctx.dry_run:
            await self.store.write("MODIFIED", "/pods", ctx.ns, name, new)

    # -- update and patch -----------------------------------------------------------------

    async def update(self, ctx: Context, body: Any) -> Entry:
        obj = self._check_type(ctx, body)
        name = ctx.name or ""
        body_name = (obj.get("metadata") or {}).get("name")
        if ctx.subresource != "scale" and body_name and body_name != name:
            raise errors.bad_request(f"the name of the object ({body_name}) does not match "
                                     f"the name on the URL ({name})")
        rv = (obj.get("metadata") or {}).get("resourceVersion") or ""
        if not rv and ctx.info.require_rv_on_update:
            raise errors.invalid(ctx.info.kind, ctx.info.group, name, [errors.field_invalid(
                "metadata.resourceVersion", "0x0", "must be specified for an update")])
        current = self.store.latest(ctx.info.store_key, ctx.ns, name)
        if current is None:
            raise errors.not_found(ctx.info.plural, ctx.info.group, name)
        if rv and rv != str(current.rv):
            raise errors.conflict(ctx.info.plural, ctx.info.group, name)
        return await self._replace(ctx, current, obj)

    async def patch(self, ctx: Context, content_type: str, body: bytes) -> Entry:
        info, name = ctx.info, ctx.name or ""
        if content_type == APPLY_PATCH:
            return await self.apply(ctx, body)
        if content_type not in PATCH_TYPES:
            raise errors.unsupported_media_type(content_type)
        current = self.store.latest(info.store_key, ctx.ns, name)
        if current is None:
            raise errors.not_found(info.plural, info.group, name)
        if info.custom and content_type == STRATEGIC_PATCH and ctx.subresource != "scale":
            raise errors.unsupported_media_type(content_type)
        root = None if info.custom else self.schemas.root(info.group, info.version, info.kind)
        if ctx.subresource == "scale":
            original = scale_of(info, current.obj)
            root = self.schemas.root("autoscaling", "v1", "Scale")
        elif info.custom and self.custom is not None:
            original = await self.custom.convert_async(info, current.obj)
        else:
            original = current.obj
        patched = apply_patch(content_type, original, body, self.schemas, root)
        rv = (patched.get("metadata") or {}).get("resourceVersion")
        if rv and rv != str(current.rv):
            raise errors.conflict(info.plural, info.group, name)
        if ctx.subresource != "scale":
            pm = patched.get("metadata") or {}
            for f, label in (("name", "name"), ("namespace", "namespace")):
                if pm.get(f, current.obj["metadata"].get(f)) != current.obj["metadata"].get(f):
                    raise errors.bad_request(f"metadata.{label} cannot be changed by a patch")
        return await self._replace(ctx, current, patched)

    async def apply(self, ctx: Context, body: bytes) -> Entry:
        """``PATCH`` with ``application/apply-patch+yaml``: server-side apply."""
        info, name = ctx.info, ctx.name or ""
        if ctx.subresource not in ("", "status"):
            raise errors.method_not_allowed("patch", f"{info.plural}/{ctx.subresource}")
        config = self._check_type(ctx, decode_apply_body(body))
        current = self.store.latest(info.store_key, ctx.ns, name)
        if current is None and ctx.subresource:
            raise errors.not_found(info.plural, info.group, name)
        live = None
        if current is not None:
            live = await self.custom.convert_async(info, current.obj) \
                if info.custom and self.custom is not None else current.obj
        rv = (config.get("metadata") or {}).get("resourceVersion")
        if rv and (current is None or rv != str(current.rv)):
            raise errors.conflict(info.plural, info.group, name)
        merged = apply_config(live, config, manager=ctx.field_manager,
                              api_version=info.api_version, force=ctx.force,
                              view=self._view(info), now=self.clock(), kind=info.kind,
                              name=name, subresource=ctx.subresource,
                              ignored=reset_fields(ctx.subresource, info.has_status, config))
        if current is None:
            return await self.create(ctx, merged, applied=True)
        return await self._replace(ctx, current, merged, applied=True)

    async def _replace(self, ctx: Context, current: Entry, obj: dict[str, Any], *,
                       applied: bool = False) -> Entry:
        info, old = ctx.info, current.obj
        attrs, old_view = None, old
        if self.admission is not None and self.admission.active:
            if ctx.subresource == "scale":
                old_view = scale_of(info, old)
            else:
                self.defaulter.apply(info, obj)
            attrs = request_attributes(ctx, "UPDATE", old["metadata"]["name"])
            obj = await self.admission.mutate(attrs, obj, old_view)
            if ctx.subresource != "scale":
                obj = self._check_type(ctx, obj)
            unchanged_since(self.store, ctx, current)
        if ctx.subresource == "status":
            new = objectmeta.deep_copy(old)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            objectmeta.carry_status_metadata(info.status_metadata, obj, new)
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            if applied:
                set_managed_fields(new, (obj.get("metadata") or {}).get("managedFields") or [])
        elif ctx.subresource == "scale":
            new = set_scale_replicas(info, old, obj)
        elif ctx.subresource:
            raise errors.method_not_allowed("update", f"{info.plural}/{ctx.subresource}")
        else:
            new = obj
            if info.has_status:
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
        objectmeta.prepare_update(info, new, old)
        self.defaulter.apply(info, new)
        if info.store_key == "/namespaces":
            new["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = \
                new["metadata"]["name"]
        self._validate(ctx, new, old)
        if not applied:
            self._track(ctx, old, new)
        if self.admission is not None and attrs is not None:
            view = scale_of(info, new) if ctx.subresource == "scale" else new
            await self.admission.validate(attrs, view, old_view)
            unchanged_since(self.store, ctx, current)
        if info.custom and self.custom is not None:
            new = await self.custom.to_storage_async(info, new)  # a webhook call may suspend
            unchanged_since(self.store, ctx, current)
        if objectmeta.same_content(new, old):
            return current
        if ctx.dry_run:
            return Entry(new, b"", current.rv)
        name = old["metadata"]["name"]
        if objectmeta.should_delete_now(new):
            ev = await self.store.write("DELETED", info.store_key, ctx.ns, name, new)
        else:
            ev = await self.store.write("MODIFIED", info.store_key, ctx.ns, name, new)
        return Entry(ev.obj, ev.raw, ev.rv)
