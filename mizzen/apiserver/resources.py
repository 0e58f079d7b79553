"""The catalogue of resources the server serves.

A :class:`ResourceInfo` says everything generic code needs to know about one
resource: where it lives in the URL space, its kind, scope, verbs,
subresources, which field selectors it accepts and how its ``generation`` and
status behave.  Built-in resources are listed here as data; custom resources
(part 2) will add entries to the same :class:`Catalogue` at run time, so every
other module (registry, discovery, tables, watch) handles both alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

FieldGetter = Callable[[dict[str, Any]], str]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


def _path(*keys: str) -> FieldGetter:
    def get(obj: dict[str, Any]) -> str:
        cur: Any = obj
        for k in keys:
            if not isinstance(cur, dict):
                return ""
            cur = cur.get(k)
        if cur is None:
            return ""
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return str(cur)
    return get


META_FIELDS: dict[str, FieldGetter] = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """Static facts about one served resource (one group/version/plural)."""

    group: str
    version: str
    plural: str
    kind: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    has_status: bool = False
    has_scale: bool = False
    # JSON paths (dotted, under the object) of the scale subresource.
    scale_spec_path: str = "spec.replicas"
    scale_status_path: str = "status.replicas"
    scale_selector_path: str = "status.selector"
    # Extra field selectors beyond metadata.name / metadata.namespace.
    field_getters: dict[str, FieldGetter] = field(default_factory=dict)
    # generation: "spec" (bump on spec change), "spec+annotations" (Deployment),
    # "all" (custom resources: anything outside metadata and status), "" (not tracked).
    generation: str = ""
    # Whether status written on create is dropped (types with a status subresource).
    reset_status_on_create: bool = True
    # Whether PUT without metadata.resourceVersion is refused (custom resources).
    require_rv_on_update: bool = False
    # Metadata a status write may change, as the kind's upstream status strategy allows
    # (pods: labels, annotations and finalizers; spec, ownerReferences and
    # deletionTimestamp stay as stored).  Empty: a status write keeps all metadata.
    status_metadata: tuple[str, ...] = ()
    # Whether this is a custom resource (served from a CRD).
    custom: bool = False

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def store_key(self) -> str:
        """Storage identity: one collection per group and plural, whatever the version."""
        return f"{self.group}/{self.plural}"

    def field_getter(self, name: str) -> FieldGetter | None:
        return META_FIELDS.get(name) or self.field_getters.get(name)

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


class Catalogue:
    """All served resources, indexed the ways the server looks them up."""

    def __init__(self, infos: Iterable[ResourceInfo] = ()) -> None:
        self._by_gvr: dict[tuple[str, str, str], ResourceInfo] = {}
        self._listeners: list[Callable[[], None]] = []
        for info in infos:
            self._by_gvr[(info.group, info.version, info.plural)] = info

    def add(self, info: ResourceInfo) -> None:
        self._by_gvr[(info.group, info.version, info.plural)] = info
        self._changed()

    def remove(self, group: str, version: str, plural: str) -> None:
        if self._by_gvr.pop((group, version, plural), None) is not None:
            self._changed()

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def get(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        return self._by_gvr.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> ResourceInfo | None:
        for info in self._by_gvr.values():
            if info.group == group and info.version == version and info.kind == kind:
                return info
        return None

    def versions_of(self, group: str, plural: str) -> list[ResourceInfo]:
        return [i for i in self._by_gvr.values() if i.group == group and i.plural == plural]

    def group_versions(self) -> dict[str, list[str]]:
        """Group name → served versions, highest priority (the preferred one) first."""
        out: dict[str, list[str]] = {}
        for info in self._by_gvr.values():
            versions = out.setdefault(info.group, [])
            if info.version not in versions:
                versions.append(info.version)
        for versions in out.values():
            versions.sort(key=version_priority)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceInfo]:
        return [i for i in self._by_gvr.values() if i.group == group and i.version == version]

    def __iter__(self) -> Iterator[ResourceInfo]:
        return iter(list(self._by_gvr.values()))


_KUBE_VERSION = re.compile(r"v(\d+)(?:(alpha|beta)(\d+))?")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key of kube-aware version ordering, as discovery's preferred version uses:
    GA before beta before alpha, higher numbers first, then anything else by name
    (``v2 < v1 < v1beta2 < v1beta1 < v1alpha1 < foo``)."""
    m = _KUBE_VERSION.fullmatch(version)
    if m is None:
        return (3, 0, 0, version)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0), "")


_POD_FIELDS: dict[str, FieldGetter] = {
    "spec.nodeName": _path("spec", "nodeName"),
    "spec.restartPolicy": _path("spec", "restartPolicy"),
    "spec.schedulerName": _path("spec", "schedulerName"),
    "spec.serviceAccountName": _path("spec", "serviceAccountName"),
    "spec.hostNetwork": lambda o: "true" if (o.get("spec") or {}).get("hostNetwork") else "false",
    "status.phase": _path("status", "phase"),
    "status.podIP": _path("status", "podIP"),
    "status.nominatedNodeName": _path("status", "nominatedNodeName"),
}

_EVENT_FIELDS: dict[str, FieldGetter] = {
    **{f"involvedObject.{k}": _path("involvedObject", k)
       for k in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reason": _path("reason"),
    "reportingComponent": _path("reportingComponent"),
    "source": _path("source", "component"),
    "type": _path("type"),
}


def builtin_resources() -> list[ResourceInfo]:
    """The built-in resources of part 1, as kube-apiserver 1.32 describes them."""
    r = ResourceInfo
    return [
        r("", "v1", "namespaces", "Namespace", "namespace", False, ("ns",),
          verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
          has_status=True, reset_status_on_create=True,
          field_getters={"status.phase": _path("status", "phase")}),
        r("", "v1", "pods", "Pod", "pod", True, ("po",), ("all",), has_status=True,
          field_getters=_POD_FIELDS, status_metadata=("labels", "annotations", "finalizers")),
        r("", "v1", "nodes", "Node", "node", False, ("no",), has_status=True,
          reset_status_on_create=False,
          field_getters={"spec.unschedulable": lambda o: "true" if (o.get("spec") or {}).get(
              "unschedulable") else "false"}),
        r("", "v1", "configmaps", "ConfigMap", "configmap", True, ("cm",)),
        r("", "v1", "secrets", "Secret", "secret", True,
          field_getters={"type": _path("type")}),
        r("", "v1", "services", "Service", "service", True, ("svc",), ("all",), has_status=True),
        r("", "v1", "serviceaccounts", "ServiceAccount", "serviceaccount", True, ("sa",)),
        r("", "v1", "events", "Event", "event", True, ("ev",), field_getters=_EVENT_FIELDS),
        r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", "persistentvolumeclaim",
          True, ("pvc",), has_status=True),
        r("", "v1", "endpoints", "Endpoints", "endpoints", True, ("ep",)),
        r("coordination.k8s.io", "v1", "leases", "Lease", "lease", True),
        r("apps", "v1", "deployments", "Deployment", "deployment", True, ("deploy",), ("all",),
          has_status=True, has_scale=True, generation="spec+annotations"),
        r("apps", "v1", "replicasets", "ReplicaSet", "replicaset", True, ("rs",), ("all",),
          has_status=True, has_scale=True, generation="spec",
          field_getters={"status.replicas": _path("status", "replicas")}),
        r("apps", "v1", "statefulsets", "StatefulSet", "statefulset", True, ("sts",), ("all",),
          has_status=True, has_scale=True, generation="spec"),
        r("apps", "v1", "daemonsets", "DaemonSet", "daemonset", True, ("ds",), ("all",),
          has_status=True, generation="spec"),
        r("apps", "v1", "controllerrevisions", "ControllerRevision", "controllerrevision", True),
        r("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
          "customresourcedefinition", False, ("crd", "crds"), ("api-extensions",),
          has_status=True, generation="spec"),
        r("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
          "MutatingWebhookConfiguration", "mutatingwebhookconfiguration", False,
          categories=("api-extensions",), generation="all"),
        r("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
          "ValidatingWebhookConfiguration", "validatingwebhookconfiguration", False,
          categories=("api-extensions",), generation="all"),
    ]
