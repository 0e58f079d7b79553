"""Parsing of Kubernetes resource URLs.

One function turns ``/api/v1/namespaces/ns/pods/name/status`` (and every other
shape: cluster-scoped, collections, the namespace object itself, the legacy
``/watch/`` prefix) into a :class:`ResourcePath`.  Routing by hand rather than
with one aiohttp route per resource keeps custom resources, which appear and
disappear at run time, on exactly the same path as built-ins.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ResourcePath:
    group: str
    version: str
    plural: str
    namespace: str | None = None
    name: str | None = None
    subresource: str = ""
    watch_prefix: bool = False


def parse(path: str) -> ResourcePath | None:
    """Parse a resource URL path; ``None`` if it does not name a resource."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    if parts[0] == "api":
        if len(parts) < 3:
            return None
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis":
        if len(parts) < 4:
            return None
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    watch = False
    if rest and rest[0] == "watch":
        watch, rest = True, rest[1:]
        if not rest:
            return None
    if rest[0] == "namespaces" and len(rest) >= 3:
        # /namespaces/{ns}/{plural}[/{name}[/{sub}]]
        ns = rest[1]
        plural = rest[2]
        name = rest[3] if len(rest) >= 4 else None
        sub = rest[4] if len(rest) >= 5 else ""
        if len(rest) > 5:
            return None
        if group == "" and plural in ("status", "finalize") and len(rest) == 3:
            # /api/v1/namespaces/{name}/status is the namespace's own subresource.
            return ResourcePath(group, version, "namespaces", None, ns, plural, watch)
        return ResourcePath(group, version, plural, ns, name, sub, watch)
    plural = rest[0]
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) >= 3 else ""
    if len(rest) > 3:
        return None
    return ResourcePath(group, version, plural, None, name, sub, watch)
