"""Custom resources: serving what CustomResourceDefinitions define.

A CRD write is committed like any object; this module then, synchronously in
the store's commit listener (so the new resource is served before the CRD
write is even acknowledged), registers one :class:`ResourceInfo` per served
version in the :class:`Catalogue` — which is all discovery, OpenAPI, the
registry and the watch machinery need to serve it — and remembers each
version's compiled schema and printer columns.  A background loop then writes
the CRD's status (``NamesAccepted``, ``Established``, ``acceptedNames``,
``storedVersions``) and, when a CRD is deleted, deletes every custom object
before letting the CRD go (the ``customresourcecleanup`` finalizer).

Objects are stored in the CRD's storage version.  With the ``None``
conversion strategy converting is rewriting ``apiVersion``, done on write
(:meth:`to_storage`) and on read (:meth:`present`), synchronously.  With the
``Webhook`` strategy converting is an HTTPS call (:mod:`mizzen.apiserver.conversion`),
so the registry and the REST layer await the ``*_async``/:meth:`served`/
:meth:`convert_lines` counterparts, which fall back to the synchronous path —
never suspending — for every other CRD; the sync hooks refuse (500) rather than
serve a webhook-converted kind unconverted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson

from mizzen.apiserver import conversion, errors, objectmeta
from mizzen.apiserver.context import Context
from mizzen.apiserver.crdschema import CrdSchema, structural_errors
from mizzen.apiserver.deletion import DeleteOptions, Deleter
from mizzen.apiserver.jsonpath import JsonPath, JsonPathError
from mizzen.apiserver.keyloop import KeyLoop
from mizzen.apiserver.resources import Catalogue, ResourceInfo
from mizzen.apiserver.store import Entry, Event, Store
from mizzen.apiserver.tables import Column, Printer, since

log = logging.getLogger(__name__)

CRD_RES = "apiextensions.k8s.io/customresourcedefinitions"
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


@dataclass(frozen=True, slots=True)
class CustomVersion:
    """One served version of a custom resource."""

    info: ResourceInfo
    schema: CrdSchema | None
    printer: Printer | None
    storage_version: str
    crd_name: str
    raw_schema: dict[str, Any] | None = None
    strategy: conversion.Strategy = conversion.NONE


def _printer(columns: list[dict[str, Any]]) -> Printer | None:
    if not columns:
        return None
    compiled: list[tuple[Column, JsonPath | None]] = [(Column("Name", "string", "name"), None)]
    for col in columns:
        try:
            path = JsonPath(col.get("jsonPath", ""))
        except JsonPathError:
            continue
        compiled.append((Column(col.get("name", ""), col.get("type", "string"),
                                col.get("format", ""), col.get("description", ""),
                                int(col.get("priority", 0) or 0)), path))
    has_age = any(c.get("jsonPath") == ".metadata.creationTimestamp" for c in columns)
    if not has_age:
        compiled.append((Column("Age", "date"), JsonPath(".metadata.creationTimestamp")))

    def cells(obj: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for column, path in compiled:
            if path is None:
                out.append(obj["metadata"].get("name", ""))
                continue
            value = path.first(obj)
            if column.type == "date" and isinstance(value, str):
                out.append(since(value))
            elif isinstance(value, (dict, list)):
                out.append(orjson.dumps(value).decode())
            else:
                out.append(value)
        return out

    return Printer(tuple(c for c, _ in compiled), cells)


def versions_of(crd: dict[str, Any]) -> list[CustomVersion]:
    """The served versions a CRD object defines (it has passed validation)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    storage = next((v["name"] for v in spec.get("versions") or () if v.get("storage")), "")
    out, strategy = [], conversion.strategy_of(crd)
    for v in spec.get("versions") or ():
        if not v.get("served", True):
            continue
        subs = v.get("subresources") or {}
        scale = subs.get("scale") if isinstance(subs.get("scale"), dict) else None
        info = ResourceInfo(
            group, v["name"], names.get("plural", ""), names.get("kind", ""),
            names.get("singular") or names.get("kind", "").lower(),
            spec.get("scope", "Namespaced") == "Namespaced",
            tuple(names.get("shortNames") or ()), tuple(names.get("categories") or ()),
            has_status="status" in subs, has_scale=scale is not None,
            scale_spec_path=(scale or {}).get("specReplicasPath", ".spec.replicas"),
            scale_status_path=(scale or {}).get("statusReplicasPath", ".status.replicas"),
            scale_selector_path=(scale or {}).get("labelSelectorPath", ""),
            generation="all", require_rv_on_update=True, custom=True)
        raw_schema = (v.get("schema") or {}).get("openAPIV3Schema")
        schema = CrdSchema(raw_schema) if isinstance(raw_schema, dict) else None
        out.append(CustomVersion(info, schema, _printer(v.get("additionalPrinterColumns") or []),
                                 storage, crd["metadata"]["name"],
                                 raw_schema if isinstance(raw_schema, dict) else None,
                                 strategy))
    return out


def validate_crd(crd: dict[str, Any]) -> list[errors.Cause]:
    """What kube-apiserver checks on a CRD beyond its OpenAPI schema."""
    causes: list[errors.Cause] = []
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural = spec.get("group", ""), names.get("plural", "")
    if not group:
        causes.append(errors.field_required("spec.group"))
    if not plural:
        causes.append(errors.field_required("spec.names.plural"))
    if not names.get("kind"):
        causes.append(errors.field_required("spec.names.kind"))
    name = (crd.get("metadata") or {}).get("name", "")
    if group and plural and name != f"{plural}.{group}":
        causes.append(errors.field_invalid("metadata.name", name,
                                           "must be spec.names.plural+\".\"+spec.group"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(errors.Cause("FieldValueNotSupported",
                                   f'Unsupported value: "{spec.get("scope")}": supported values: '
                                   '"Cluster", "Namespaced"', "spec.scope"))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(errors.field_required("spec.versions"))
    storage = [v for v in versions if v.get("storage")]
    if versions and len(storage) != 1:
        causes.append(errors.field_invalid("spec.versions", len(storage),
                                           "must have exactly one version marked as storage "
                                           "version"))
    for i, v in enumerate(versions):
        raw = (v.get("schema") or {}).get("openAPIV3Schema")
        if isinstance(raw, dict):
            causes.extend(structural_errors(raw, f"spec.versions[{i}].schema.openAPIV3Schema"))
    return causes + conversion.validate_conversion(spec)


class CustomResources:
    """Registers custom resources from CRDs and converts objects between versions."""

    def __init__(self, catalogue: Catalogue, deleter: Deleter) -> None:
        self._catalogue = catalogue
        self._deleter = deleter
        self._versions: dict[tuple[str, str, str], CustomVersion] = {}
        self._by_crd: dict[str, list[CustomVersion]] = {}
        self._loop: KeyLoop[str] = KeyLoop("crd-controller", self._reconcile, log)
        # Calls conversion webhooks; a server with its own service resolver may replace it.
        self.converter = conversion.Converter()

    @property
    def _store(self) -> Store:
        return self._deleter.registry.store

    # -- lookups used by the registry and the REST layer ---------------------------------

    def version(self, info: ResourceInfo) -> CustomVersion | None:
        return self._versions.get((info.group, info.version, info.plural))

    def schema(self, info: ResourceInfo) -> CrdSchema | None:
        cv = self.version(info)
        return cv.schema if cv is not None else None

    def openapi_schema(self, info: ResourceInfo) -> dict[str, Any] | None:
        """The CRD's OpenAPI v3 schema of this version, for ``/openapi/v3``."""
        cv = self.version(info)
        return cv.raw_schema if cv is not None else None

    def needs_conversion(self, info: ResourceInfo) -> bool:
        """Whether objects of this resource may be stored in another version than ``info``'s."""
        cv = self.version(info)
        return cv is not None and len(self._by_crd.get(cv.crd_name, ())) > 1 or (
            cv is not None and cv.storage_version != info.version)

    def to_storage(self, info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
        cv = self.version(info)
        if cv is not None and cv.storage_version and cv.storage_version != info.version:
            obj["apiVersion"] = f"{info.group}/{cv.storage_version}"
        return obj

    def convert(self, info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
        """``obj`` as the version ``info`` serves (a new dict when it must change)."""
        if not info.custom or obj.get("apiVersion") == info.api_version:
            return obj
        if self.webhook(info):
            raise errors.internal(f"conversion webhook for {info.group}/{info.version}, "
                                  f"Kind={info.kind} failed: not converted before serving")
        return {**obj, "apiVersion": info.api_version}

    # -- webhook conversion: the async counterparts -------------------------------------------

    def webhook(self, info: ResourceInfo) -> bool:
        """Whether converting objects of ``info`` calls a webhook (and must be awaited)."""
        cv = self.version(info)
        return cv is not None and cv.strategy.hook is not None

    async def to_storage_async(self, info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
        cv = self.version(info)
        if cv is None or cv.strategy.hook is None or cv.storage_version in ("", info.version):
            return self.to_storage(info, obj)
        obj = {**obj, "apiVersion": obj.get("apiVersion") or info.api_version,
               "kind": obj.get("kind") or info.kind}
        desired = f"{info.group}/{cv.storage_version}"
        return (await self.converter.convert(cv.strategy, [obj], desired))[0]

    async def convert_async(self, info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]:
        return (await self.convert_many(info, [obj]))[0]

    async def convert_many(self, info: ResourceInfo,
                           objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every object as ``info`` serves it, in one webhook call at most."""
        cv = self.version(info)
        if cv is None or cv.strategy.hook is None:
            return [self.convert(info, o) for o in objs]
        return await self.converter.convert(cv.strategy, objs, info.api_version)

    async def served(self, info: ResourceInfo, entries: list[Entry]) -> list[Entry]:
        """Entries as ``info`` serves them; converted ones re-encoded, so :meth:`present`
        and :meth:`convert` pass them through."""
        if not self.webhook(info):
            return entries
        objs = await self.convert_many(info, [e.obj for e in entries])
        return [e if o is e.obj and e.raw else Entry(o, orjson.dumps(o), e.rv)
                for e, o in zip(entries, objs, strict=True)]

    async def convert_lines(self, info: ResourceInfo, lines: list[bytes],
                            render: conversion.Render | None) -> list[bytes]:
        """Watch lines of stored objects as ``info`` serves them (one webhook call)."""
        return await conversion.convert_lines(
            lines, lambda objs: self.convert_many(info, objs), render)

    def present(self, info: ResourceInfo, entry: Entry) -> bytes:
        if not info.custom or entry.obj.get("apiVersion") == info.api_version:
            return entry.raw
        return orjson.dumps(self.convert(info, entry.obj))

    def printer(self, info: ResourceInfo) -> Printer | None:
        cv = self.version(info)
        return cv.printer if cv is not None else None

    # -- registration ----------------------------------------------------------------------

    def _register(self, crd: dict[str, Any]) -> None:
        name = crd["metadata"]["name"]
        # Terminating CRDs stay registered (their objects are being deleted) until gone.
        self._unregister(name)
        versions = versions_of(crd)
        self._by_crd[name] = versions
        for cv in versions:
            self._versions[(cv.info.group, cv.info.version, cv.info.plural)] = cv
            self._catalogue.add(cv.info)

    def _unregister(self, name: str) -> None:
        for cv in self._by_crd.pop(name, ()):
            self._versions.pop((cv.info.group, cv.info.version, cv.info.plural), None)
            self._catalogue.remove(cv.info.group, cv.info.version, cv.info.plural)

    def start(self) -> None:
        self._loop.start()
        for entry in self._store.list_entries(CRD_RES, None):
            self._register(entry.obj)
            self._loop.mark(entry.obj["metadata"]["name"])

    async def stop(self) -> None:
        await self._loop.stop()
        await self.converter.close()

    def on_events(self, batch: list[Event]) -> None:
        for ev in batch:
            if ev.res == CRD_RES:
                if ev.type == "DELETED":
                    self._unregister(ev.name)
                    continue
                if not objectmeta.is_deleting(ev.obj):
                    self._register(ev.obj)
                self._loop.mark(ev.name)
            elif ev.type == "DELETED":
                self._custom_object_deleted(ev)

    def _custom_object_deleted(self, ev: Event) -> None:
        """A terminating CRD waits for its objects: each deletion may let it go."""
        for crd_name, versions in self._by_crd.items():
            if versions and versions[0].info.store_key == ev.res:
                crd = self._store.get(CRD_RES, "", crd_name)
                if crd is not None and objectmeta.is_deleting(crd.obj):
                    self._loop.mark(crd_name)
                return

    # -- status and cleanup ------------------------------------------------------------------

    async def _reconcile(self, name: str) -> None:
        store = self._store
        entry = store.latest(CRD_RES, "", name)
        if entry is None:
            return
        crd = entry.obj
        if objectmeta.is_deleting(crd):
            await self._cleanup(crd)
            return
        status = self._status(crd)
        if status != crd.get("status"):
            new = {**crd, "status": status, "metadata": dict(crd["metadata"])}
            await store.write("MODIFIED", CRD_RES, "", name, new)

    def _status(self, crd: dict[str, Any]) -> dict[str, Any]:
        spec = crd.get("spec") or {}
        old = crd.get("status") or {}
        now = objectmeta.rfc3339(self._deleter.registry.clock())
        old_conditions = {c.get("type"): c for c in old.get("conditions") or ()}

        def condition(typ: str, reason: str, message: str) -> dict[str, Any]:
            prev = old_conditions.get(typ)
            if prev and prev.get("status") == "True" and prev.get("reason") == reason:
                return dict(prev)
            return {"type": typ, "status": "True", "lastTransitionTime": now,
                    "reason": reason, "message": message}

        stored = list(old.get("storedVersions") or ())
        storage = next((v["name"] for v in spec.get("versions") or () if v.get("storage")), "")
        if storage and storage not in stored:
            stored.append(storage)
        names = dict(spec.get("names") or {})
        names.setdefault("singular", names.get("kind", "").lower())
        names.setdefault("listKind", names.get("kind", "") + "List")
        return {"conditions": [condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                               condition("Established", "InitialNamesAccepted",
                                         "the initial names have been accepted")],
                "acceptedNames": names, "storedVersions": stored}

    async def _cleanup(self, crd: dict[str, Any]) -> None:
        name = crd["metadata"]["name"]
        versions = self._by_crd.get(name) or versions_of(crd)
        if versions:
            info = versions[0].info
            entries = self._store.list_entries(info.store_key, None)
            live = [e for e in entries if not objectmeta.is_deleting(e.obj)]
            ctx = Context(info, None)
            if live:
                await self._deleter.delete_collection(ctx, live, DeleteOptions())
            if self._store.list_entries(info.store_key, None):
                return  # finalizers on custom objects still hold some; events bring us back
        latest = self._store.latest(CRD_RES, "", name)
        if latest is None:
            return
        new = objectmeta.deep_copy(latest.obj)
        finalizers = [f for f in new["metadata"].get("finalizers") or ()
                      if f != CLEANUP_FINALIZER]
        if finalizers:
            new["metadata"]["finalizers"] = finalizers
        else:
            new["metadata"].pop("finalizers", None)
        typ = "DELETED" if objectmeta.should_delete_now(new) else "MODIFIED"
        await self._store.write(typ, CRD_RES, "", name, new)
