"""Discovery documents: how clients learn which resources this server has.

Every client starts here.  kubectl and client-go ask ``/api`` and ``/apis`` for
aggregated discovery (``apidiscovery.k8s.io``, one request for everything).
kopf, kr8s and the Python DynamicClient use the legacy documents: a group list,
then one ``APIResourceList`` per group-version.  Both forms are built here from
the same :class:`Catalogue`, on every request.  A new custom resource is
therefore visible at once, and clients refetch discovery when a lookup misses.

Shapes follow kube-apiserver 1.32.  The core group comes first, then ``apps``,
then the rest in registration order.  A group's versions are in preference
order, so the first one is ``preferredVersion``.  Subresources appear in legacy
lists as ``pods/status`` or ``deployments/scale`` (kind ``autoscaling/v1``
``Scale``), and in aggregated lists under their parent resource.

Content negotiation is here as well, because ``/api`` is where clients first
negotiate.  client-go 1.27–1.29 accept only ``v2beta1`` and 1.30+ prefer
``v2``.  Answering a client in a version it did not ask for would make it parse
the body as legacy, so :func:`aggregated_version` says exactly which one to
serve.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

from mizzen.apiserver.resources import Catalogue, ResourceInfo

Doc = dict[str, Any]

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
JSON_MEDIA = frozenset({"application/json", "application/*", "*/*"})
SUBRESOURCE_VERBS = ("get", "patch", "update")


def media_ranges(accept: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The media ranges of an Accept header, most preferred first (``q=0`` dropped)."""
    ranges: list[tuple[float, int, str, dict[str, str]]] = []
    for i, part in enumerate(accept.split(",")):
        mime, *raw = (p.strip() for p in part.split(";"))
        params = {k.strip().lower(): v.strip().strip('"')
                  for k, _, v in (p.partition("=") for p in raw) if k.strip()}
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 1.0
        if mime and q > 0:
            ranges.append((-q, i, mime.lower(), params))
    for _, _, mime, params in sorted(ranges, key=lambda r: (r[0], r[1])):
        yield mime, params


def aggregated_version(accept: str) -> str | None:
    """``"v2"``/``"v2beta1"`` if the first acceptable range is aggregated discovery, else None."""
    for mime, params in media_ranges(accept):
        if mime not in JSON_MEDIA:
            continue
        if "as" not in params:
            return None
        if (params.get("as") == "APIGroupDiscoveryList"
                and params.get("g") == "apidiscovery.k8s.io"
                and params.get("v") in ("v2", "v2beta1")):
            return params["v"]
    return None


def wants_aggregated(accept: str) -> bool:
    """Whether to answer ``/api``/``/apis`` with v2 aggregated discovery."""
    return aggregated_version(accept) == "v2"


def aggregated_content_type(version: str = "v2") -> str:
    return f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """What kube-apiserver reports as ``storageVersionHash``: 8 bytes of SHA-256, base64."""
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _groups(cat: Catalogue) -> list[tuple[str, list[str]]]:
    """Group → versions, core first, then apps, then the rest in registration order."""
    by_group = cat.group_versions()
    order = sorted(by_group, key=lambda g: 0 if g == "" else 1 if g == "apps" else 2)
    return [(g, by_group[g]) for g in order]


def _sub_verbs(sub: str) -> list[str]:
    return ["create"] if sub == "binding" else list(SUBRESOURCE_VERBS)


def _subresources(info: ResourceInfo) -> list[tuple[str, str, str, str]]:
    """(subresource, group, version, kind) of the subresources ``info`` serves."""
    subs = []
    if info.has_scale:
        subs.append(("scale", "autoscaling", "v1", "Scale"))
    if info.has_status:
        subs.append(("status", info.group, info.version, info.kind))
    if info.store_key == "/pods":
        subs.append(("binding", "", "v1", "Binding"))
    return subs


def _gv(group: str, version: str) -> Doc:
    return {"groupVersion": f"{group}/{version}" if group else version, "version": version}


def api_versions(server_address: str) -> Doc:
    """``GET /api``: the legacy ``APIVersions`` document."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def api_group(cat: Catalogue, group: str) -> Doc | None:
    """``GET /apis/<group>``: one ``APIGroup``, or None if the group is not served."""
    versions = cat.group_versions().get(group)
    if not group or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group,
            "versions": [_gv(group, v) for v in versions],
            "preferredVersion": _gv(group, versions[0])}


def api_group_list(cat: Catalogue) -> Doc:
    """``GET /apis``: the legacy ``APIGroupList`` (every group except core)."""
    groups = [api_group(cat, g) for g, _ in _groups(cat) if g]
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [{k: v for k, v in g.items() if k not in ("kind", "apiVersion")}
                       for g in groups if g is not None]}


def _legacy_resources(info: ResourceInfo) -> list[Doc]:
    main: Doc = {"name": info.plural, "singularName": info.singular,
                 "namespaced": info.namespaced, "kind": info.kind, "verbs": list(info.verbs)}
    if info.short_names:
        main["shortNames"] = list(info.short_names)
    if info.categories:
        main["categories"] = list(info.categories)
    main["storageVersionHash"] = storage_version_hash(info.group, info.version, info.kind)
    out = [main]
    for sub, group, version, kind in _subresources(info):
        entry: Doc = {"name": f"{info.plural}/{sub}", "singularName": "",
                      "namespaced": info.namespaced}
        if (group, version) != (info.group, info.version):
            entry |= {"group": group, "version": version}
        out.append(entry | {"kind": kind, "verbs": _sub_verbs(sub)})
    return out


def api_resource_list(cat: Catalogue, group: str, version: str) -> Doc | None:
    """``GET /api/v1`` or ``/apis/<g>/<v>``: an ``APIResourceList``, None if not served."""
    infos = cat.in_group_version(group, version)
    if not infos:
        return None
    resources = [r for info in infos for r in _legacy_resources(info)]
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": sorted(resources, key=lambda r: str(r["name"]))}


def _aggregated_resource(info: ResourceInfo) -> Doc:
    out: Doc = {"resource": info.plural,
                "responseKind": {"group": info.group, "version": info.version,
                                 "kind": info.kind},
                "scope": "Namespaced" if info.namespaced else "Cluster",
                "singularResource": info.singular, "verbs": list(info.verbs)}
    if info.short_names:
        out["shortNames"] = list(info.short_names)
    if info.categories:
        out["categories"] = list(info.categories)
    subs = [{"subresource": sub, "responseKind": {"group": g, "version": v, "kind": k},
             "verbs": _sub_verbs(sub)} for sub, g, v, k in _subresources(info)]
    if subs:
        out["subresources"] = subs
    return out


def aggregated_discovery(cat: Catalogue, legacy_core: bool, version: str = "v2") -> Doc:
    """An ``APIGroupDiscoveryList``: the core group for ``/api``, all others for ``/apis``."""
    items = []
    for group, versions in _groups(cat):
        if (group == "") != legacy_core:
            continue
        items.append({"metadata": {"name": group}, "versions": [
            {"version": v, "freshness": "Current",
             "resources": [_aggregated_resource(i) for i in
                           sorted(cat.in_group_version(group, v), key=lambda i: i.plural)]}
            for v in versions]})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": items}
