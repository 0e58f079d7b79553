"""Which resource a request is about, and the URL it goes to.

A :class:`Resource` is the client's whole knowledge of a kind: its group,
version, plural, kind and scope.  It is a frozen value, so the built-in ones
below are plain module constants (immutable data, not shared mutable state)
and a controller for a custom resource writes one line::

    CLONESETS = Resource("apps.kruise.io", "v1alpha1", "clonesets", "CloneSet", True)

Discovery is deliberately not consulted: a controller knows at import time
which resources it reconciles, and a request that needs a round trip to
``/apis`` first would double the latency of the first call and make every
call depend on discovery being served.

:meth:`Resource.path` builds URLs by string concatenation rather than through
a URL library because it sits on every request's hot path; names and
namespaces are DNS labels or subdomains, so they never need escaping.
:func:`parse_path` is the inverse, used only to label metrics of raw requests.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CONFIGMAPS",
    "CONTROLLERREVISIONS",
    "CRDS",
    "DAEMONSETS",
    "DEPLOYMENTS",
    "ENDPOINTS",
    "EVENTS",
    "LEASES",
    "NAMESPACES",
    "NODES",
    "PODS",
    "PVCS",
    "REPLICASETS",
    "SECRETS",
    "SERVICEACCOUNTS",
    "SERVICES",
    "STATEFULSETS",
    "Resource",
    "parse_path",
]


@dataclass(frozen=True, slots=True)
class Resource:
    """One group/version/plural served by the API server."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, ``group/version`` otherwise (an object's apiVersion)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def prefix(self) -> str:
        """``/api/v1`` or ``/apis/group/version``."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(self, namespace: str | None = None, name: str | None = None,
             subresource: str = "") -> str:
        """The URL path of a collection, one object, or one object's subresource.

        A namespaced resource with ``namespace=None`` gives the all-namespaces
        collection (for list, watch); naming one object of it needs a namespace.
        A cluster-scoped resource refuses a namespace, so a mix-up fails here
        rather than as a confusing 404 from the server.
        """
        if self.namespaced:
            if namespace:
                base = f"{self.prefix}/namespaces/{namespace}/{self.plural}"
            elif name is not None:
                raise ValueError(f"{self.plural} is namespaced: naming one needs a namespace")
            else:
                base = f"{self.prefix}/{self.plural}"
        else:
            if namespace:
                raise ValueError(f"{self.plural} is cluster-scoped: no namespace expected, "
                                 f"got {namespace!r}")
            base = f"{self.prefix}/{self.plural}"
        if name is None:
            if subresource:
                raise ValueError("a subresource needs an object name")
            return base
        if not name:
            raise ValueError("an object name must not be empty")
        if subresource:
            return f"{base}/{name}/{subresource}"
        return f"{base}/{name}"


def parse_path(path: str) -> tuple[str, bool, str] | None:
    """``(plural, names_one_object, subresource)`` for a resource URL path, else ``None``.

    Only precise enough to label the metrics of :meth:`Client.request` calls:
    ``/api/v1/namespaces/ns/pods/p/status`` gives ``("pods", True, "status")``.
    """
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        rest = parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        rest = parts[3:]
    else:
        return None
    if rest[0] == "watch":
        rest = rest[1:]
        if not rest:
            return None
    if rest[0] == "namespaces" and len(rest) >= 3:
        if len(rest) == 3 and parts[0] == "api" and rest[2] in ("status", "finalize"):
            return "namespaces", True, rest[2]
        rest = rest[2:]
    if len(rest) > 3:
        return None
    return rest[0], len(rest) >= 2, rest[2] if len(rest) == 3 else ""


def _core(plural: str, kind: str, namespaced: bool = True) -> Resource:
    return Resource("", "v1", plural, kind, namespaced)


def _apps(plural: str, kind: str) -> Resource:
    return Resource("apps", "v1", plural, kind, True)


NAMESPACES = _core("namespaces", "Namespace", namespaced=False)
NODES = _core("nodes", "Node", namespaced=False)
PODS = _core("pods", "Pod")
CONFIGMAPS = _core("configmaps", "ConfigMap")
SECRETS = _core("secrets", "Secret")
SERVICES = _core("services", "Service")
SERVICEACCOUNTS = _core("serviceaccounts", "ServiceAccount")
EVENTS = _core("events", "Event")
PVCS = _core("persistentvolumeclaims", "PersistentVolumeClaim")
ENDPOINTS = _core("endpoints", "Endpoints")
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease", True)
DEPLOYMENTS = _apps("deployments", "Deployment")
REPLICASETS = _apps("replicasets", "ReplicaSet")
STATEFULSETS = _apps("statefulsets", "StatefulSet")
DAEMONSETS = _apps("daemonsets", "DaemonSet")
CONTROLLERREVISIONS = _apps("controllerrevisions", "ControllerRevision")
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                "CustomResourceDefinition", False)
