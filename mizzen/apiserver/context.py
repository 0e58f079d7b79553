"""The request context and the hooks the registry is given.

Split from :mod:`mizzen.apiserver.registry` so that the modules the registry
calls into — admission, deletion, custom resources, apply — can name the
request (:class:`Context`) without importing the registry itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from mizzen.apiserver import errors
from mizzen.apiserver.resources import ResourceInfo

NS_RES = "/namespaces"
CRD_RES = "apiextensions.k8s.io/customresourcedefinitions"
CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


class CustomSchema(Protocol):
    """What the registry needs of a custom resource version's compiled schema."""

    def validate(self, obj: dict[str, Any]) -> list[errors.Cause]: ...

    def prune(self, obj: dict[str, Any]) -> list[str]: ...

    def default(self, obj: dict[str, Any]) -> None: ...


class CustomHooks(Protocol):
    """Custom-resource support the registry calls into (see :mod:`mizzen.apiserver.crds`)."""

    def schema(self, info: ResourceInfo) -> CustomSchema | None: ...

    def to_storage(self, info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]: ...

    def convert(self, info: ResourceInfo, obj: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(slots=True)
class Context:
    """What a request says beyond its body: where, who, and how strictly."""

    info: ResourceInfo
    namespace: str | None
    name: str | None = None
    subresource: str = ""
    field_manager: str = "kube-apiserver"  # the server's own writes (GC, namespaces, CRDs)
    field_validation: str = "Warn"  # Strict, Warn or Ignore
    dry_run: bool = False
    force: bool = False
    warnings: list[str] = field(default_factory=list)
    # "create" and "update" decode a whole object; their strict errors name the kind.
    verb: str = ""

    @property
    def ns(self) -> str:
        return self.namespace or ""


def prune(obj: dict[str, Any], paths: list[str]) -> None:
    """Remove unknown fields (``a.b[2].c``) the decoder of a typed server would drop."""
    for path in paths:
        parts: list[str | int] = []
        for seg in path.split("."):
            name, _, rest = seg.partition("[")
            if name:
                parts.append(name)
            while rest:
                idx, _, rest = rest.partition("]")
                parts.append(int(idx))
                rest = rest[1:] if rest.startswith("[") else rest
        cur: Any = obj
        for p in parts[:-1]:
            try:
                cur = cur[p]
            except (KeyError, IndexError, TypeError):
                cur = None
                break
        if isinstance(cur, dict):
            cur.pop(parts[-1], None)
