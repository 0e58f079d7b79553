"""``/openapi/v3``: the OpenAPI documents kubectl and other clients read.

kubectl 1.27–1.33 uses them for three things:

* ``create``/``apply`` with validation on (the default).  kubectl fetches the
  index, then the group-version document of the object's kind.  It looks for a
  PATCH operation with that kind's ``x-kubernetes-group-version-kind`` and a
  ``fieldValidation`` query parameter.  If it finds one, it sends
  ``fieldValidation=Strict`` and lets the server validate.  Custom resources
  not listed fall back to Namespace's PATCH operation in ``api/v1``.
* Client-side ``apply``.  A PATCH operation that accepts
  ``application/strategic-merge-patch+json`` makes kubectl build a strategic
  merge patch from ``components.schemas``.  Custom resources must not offer it,
  so they get JSON merge patches instead.
* ``explain``, which walks ``components.schemas`` from the kind whose
  ``x-kubernetes-group-version-kind`` matches.

kubectl 1.29+ needs nothing else.  kubectl 1.27 and 1.28 still download
``/openapi/v2`` (gnostic protobuf only) before every validated ``create`` or
``apply`` and fail when it is missing, although they only look at the same PATCH
operations there.  :meth:`OpenAPI.v2_document` encodes just those operations.
``explain`` on 1.27/1.28, which would need every definition in protobuf, is
left out.

The schemas come from :class:`SchemaSet` (kubernetes-validate's JSON Schema form).
Each definition is converted back to OpenAPI 3 once: ``$ref`` points into
``#/components/schemas``, nullable type lists become one type, and the strict
``additionalProperties: false`` is dropped.  A ``$ref`` with sibling keys is
wrapped in ``allOf``, as upstream does.  A document carries only the
definitions reachable from its kinds, so ``api/v1`` stays small.  Rendered
bytes are cached per path, and the index ``hash`` is their digest, so clients
cache documents correctly.  When the catalogue changes, only documents whose
resources changed (and those of custom resources) are rendered again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import orjson

from mizzen.apiserver.resources import Catalogue, ResourceInfo
from mizzen.apiserver.schema import SchemaSet

Node = dict[str, Any]
CustomSchema = Callable[[ResourceInfo], Node | None]

COMPONENTS = "#/components/schemas/"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
DELETE_OPTIONS, STATUS, PATCH = META + "DeleteOptions", META + "Status", META + "Patch"
# Clients accept "...spec.v2@v1.0+protobuf"; Go's mime parser rejects "@" in a response.
V2_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
               "application/merge-patch+json", "application/strategic-merge-patch+json")

# name → (in, type, description) of every parameter an operation may carry.
_PARAMETERS: MappingProxyType[str, tuple[str, str, str]] = MappingProxyType({
    "name": ("path", "string", "name of the object"),
    "namespace": ("path", "string", "object name and auth scope, such as for teams and projects"),
    **{name: ("query", typ, description) for name, typ, description in (
        ("pretty", "string", "If 'true', then the output is pretty printed."),
        ("dryRun", "string", "When present, modifications are not persisted (All)."),
        ("fieldManager", "string", "A name associated with the actor making these changes."),
        ("fieldValidation", "string", "How the server handles objects in the request "
         "(POST/PUT/PATCH) containing unknown or duplicate fields: Ignore, Warn or Strict."),
        ("force", "boolean", "Force is going to \"force\" Apply requests."),
        ("gracePeriodSeconds", "integer", "The duration in seconds before deletion."),
        ("orphanDependents", "boolean", "Deprecated: use propagationPolicy."),
        ("propagationPolicy", "string", "Orphan, Background or Foreground."),
        ("allowWatchBookmarks", "boolean", "Request watch events of type BOOKMARK."),
        ("continue", "string", "Set when retrieving more results from the server."),
        ("fieldSelector", "string", "A selector to restrict the list by fields."),
        ("labelSelector", "string", "A selector to restrict the list by labels."),
        ("limit", "integer", "The maximum number of responses to return for a list call."),
        ("resourceVersion", "string", "Which resource versions a request may be served from."),
        ("resourceVersionMatch", "string", "How resourceVersion applies to list calls."),
        ("sendInitialEvents", "boolean", "Start a watch with the current state (watch=true)."),
        ("timeoutSeconds", "integer", "Timeout for the list/watch call."),
        ("watch", "boolean", "Watch for changes to the described resources."))},
})
_WRITE = ("dryRun", "fieldManager", "fieldValidation")
_LIST = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
         "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds",
         "watch")
_DELETE = ("dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy")


def _params(*names: str) -> list[Node]:
    out = []
    for name in names:
        where, typ, description = _PARAMETERS[name]
        param: Node = {"name": name, "in": where, "description": description,
                       "schema": {"type": typ, "uniqueItems": True}}
        out.append(param | {"required": True} if where == "path" else param)
    return out


def _ref(name: str) -> Node:
    return {"$ref": COMPONENTS + name}


def to_openapi3(node: Any, refs: set[str]) -> Any:
    """A JSON-Schema node of kubernetes-validate in OpenAPI 3 form, adding ``$ref`` targets."""
    if isinstance(node, list):
        return [to_openapi3(x, refs) for x in node]
    if not isinstance(node, dict):
        return node
    out: Node = {}
    for key, value in node.items():
        if key == "$ref":
            name = str(value).rsplit("/", 1)[-1]
            refs.add(name)
            out[key] = COMPONENTS + name
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if types:
                out[key] = types[0]
        elif key == "additionalProperties" and value is False:
            continue
        elif key == "properties" and isinstance(value, dict):
            out[key] = {k: to_openapi3(v, refs) for k, v in value.items()}
        elif not key.startswith("x-kubernetes-"):
            out[key] = to_openapi3(value, refs)
        else:
            out[key] = value
    if "$ref" in out and len(out) > 1:
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    return out


def _custom_name(info: ResourceInfo, kind: str) -> str:
    """Upstream's component name for custom resources: reversed group, version, kind."""
    return ".".join([*reversed(info.group.split(".")), info.version, kind])


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _pb(number: int, value: bytes | str | bool) -> bytes:
    """One protobuf field: a varint for booleans, length-delimited for anything else."""
    if isinstance(value, bool):
        return _varint(number << 3) + _varint(int(value))
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _urls(info: ResourceInfo) -> tuple[str, str]:
    """The collection and item URL templates of a resource."""
    base = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    collection = base + ("/namespaces/{namespace}" if info.namespaced else "") + f"/{info.plural}"
    return collection, collection + "/{name}"


def _op_name(info: ResourceInfo) -> tuple[str, str]:
    """(tag, operationId stem) as upstream names them: ``core_v1``, ``CoreV1NamespacedPod``."""
    group = info.group.removesuffix(".k8s.io")
    words = [w for w in group.replace("-", ".").split(".") if w] or ["core"]
    camel = "".join(w[:1].upper() + w[1:] for w in words)
    tag = (words[0] + camel[len(words[0]):]) + "_" + info.version
    scope = "Namespaced" if info.namespaced else ""
    return tag, f"{camel}{info.version[:1].upper()}{info.version[1:]}{scope}{info.kind}"


@dataclass(frozen=True, slots=True)
class _Rendered:
    fingerprint: tuple[Any, ...]
    body: bytes
    digest: str


class OpenAPI:
    """The ``/openapi/v3`` index and per-group-version documents of a catalogue."""

    def __init__(self, cat: Catalogue, schemas: SchemaSet, *,
                 custom_schema: CustomSchema | None = None) -> None:
        """``custom_schema`` gives a custom resource's OpenAPI v3 schema (a CRD's
        ``openAPIV3Schema``); without one, custom kinds accept any fields."""
        self._cat = cat
        self._schemas = schemas
        self._custom_schema = custom_schema
        self._converted: dict[str, tuple[Node, frozenset[str]]] = {}
        self._rendered: dict[str, _Rendered] = {}
        self._dirty = False
        cat.on_change(self._changed)

    def _changed(self) -> None:
        self._dirty = True

    def paths(self) -> list[str]:
        """Every group-version path (``api/v1``, ``apis/apps/v1``) in discovery order."""
        out = []
        for info in self._cat:
            path = f"apis/{info.group}/{info.version}" if info.group else f"api/{info.version}"
            if path not in out:
                out.append(path)
        return sorted(out, key=lambda p: (not p.startswith("api/"), not p.startswith("apis/apps/")))

    def index(self) -> Node:
        """``GET /openapi/v3``."""
        out: Node = {}
        for path in self.paths():
            rendered = self._render(path)
            if rendered is not None:
                out[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={rendered.digest}"}
        return {"paths": out}

    def document(self, path: str) -> bytes | None:
        """``GET /openapi/v3/<path>``: the JSON document, or None if no such group-version."""
        rendered = self._render(path.strip("/").split("?", 1)[0])
        return rendered.body if rendered else None

    def digest(self, path: str) -> str | None:
        """The ``hash`` the index advertises for ``path`` (usable as an ETag)."""
        rendered = self._render(path.strip("/"))
        return rendered.digest if rendered else None

    def v2_document(self) -> bytes:
        """``GET /openapi/v2`` as gnostic protobuf: each kind's PATCH operation, nothing else."""
        param = _pb(1, _pb(2, _pb(3, b"".join((  # ParametersItem > Parameter > NonBody > Query
            _pb(2, "query"), _pb(3, _PARAMETERS["fieldValidation"][2]),
            _pb(4, "fieldValidation"), _pb(6, "string"), _pb(20, True))))))
        paths = []
        for info in self._cat:
            if "patch" not in info.verbs:
                continue
            gvk = orjson.dumps({"group": info.group, "kind": info.kind, "version": info.version})
            extension = _pb(1, "x-kubernetes-group-version-kind") + _pb(2, _pb(2, gvk))
            operation = b"".join((_pb(5, "patch" + _op_name(info)[1]), _pb(8, param),
                                  _pb(13, extension)))
            paths.append(_pb(2, _pb(1, _urls(info)[1]) + _pb(2, _pb(8, operation))))
        info_message = _pb(1, "Kubernetes") + _pb(2, f"v{self._schemas.k8s_version}")
        return _pb(1, "2.0") + _pb(2, info_message) + _pb(8, b"".join(paths))

    def _infos(self, path: str) -> list[ResourceInfo]:
        parts = path.split("/")
        if len(parts) == 2 and parts[0] == "api":
            return self._cat.in_group_version("", parts[1])
        if len(parts) == 3 and parts[0] == "apis" and parts[1]:
            return self._cat.in_group_version(parts[1], parts[2])
        return []

    def _render(self, path: str) -> _Rendered | None:
        if self._dirty:
            # Custom resources may change schema without changing their ResourceInfo.
            self._rendered = {p: r for p, r in self._rendered.items() if (infos := self._infos(p))
                              and not any(i.custom for i in infos)}
            self._dirty = False
        infos = sorted(self._infos(path), key=lambda i: i.plural)
        if not infos:
            return None
        fingerprint = tuple((i.plural, i.kind, i.namespaced, i.verbs, i.has_status, i.has_scale,
                             i.custom) for i in infos)
        cached = self._rendered.get(path)
        if cached is None or cached.fingerprint != fingerprint:
            body = orjson.dumps(self._build(infos))
            digest = hashlib.sha512(body).hexdigest().upper()
            cached = self._rendered[path] = _Rendered(fingerprint, body, digest)
        return cached

    def _definition(self, name: str) -> tuple[Node, frozenset[str]] | None:
        if name not in self._converted:
            raw = self._schemas.definitions.get(name)
            if raw is None:
                return None
            refs: set[str] = set()
            node = to_openapi3(raw, refs)
            for field in ("apiVersion", "kind"):  # kubernetes-validate adds these enums
                prop = node.get("properties", {}).get(field)
                if isinstance(prop, dict):
                    prop.pop("enum", None)
            self._converted[name] = (node, frozenset(refs))
        return self._converted[name]

    def _custom_components(self, info: ResourceInfo) -> dict[str, Node]:
        gvk = {"group": info.group, "kind": info.kind, "version": info.version}
        schema = self._custom_schema(info) if self._custom_schema else None
        node: Node = dict(schema) if schema else {"type": "object",
                                                  "x-kubernetes-preserve-unknown-fields": True}
        node["properties"] = {**(node.get("properties") or {}),
                              "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                              "metadata": {"allOf": [_ref(META + "ObjectMeta")]}}
        node |= {"type": "object", "x-kubernetes-group-version-kind": [gvk]}
        items = {"type": "array", "items": _ref(_custom_name(info, info.kind))}
        listing = {"type": "object", "required": ["items"], "properties": {
            "apiVersion": {"type": "string"}, "items": items, "kind": {"type": "string"},
            "metadata": {"allOf": [_ref(META + "ListMeta")]}},
            "x-kubernetes-group-version-kind": [gvk | {"kind": info.kind + "List"}]}
        return {_custom_name(info, info.kind): node,
                _custom_name(info, info.kind + "List"): listing}

    def _build(self, infos: Sequence[ResourceInfo]) -> Node:
        roots = {DELETE_OPTIONS, STATUS, PATCH}
        components: dict[str, Node] = {}
        paths: dict[str, Node] = {}
        for info in infos:
            kind = self._schemas.definition_name(info.group, info.version, info.kind)
            listing = self._schemas.definition_name(info.group, info.version, info.kind + "List")
            if info.custom or kind is None or listing is None:
                components |= self._custom_components(info)
                roots |= {META + "ObjectMeta", META + "ListMeta"}
                kind = _custom_name(info, info.kind)
                listing = _custom_name(info, info.kind + "List")
            else:
                roots |= {kind, listing}
            scale = self._schemas.definition_name("autoscaling", "v1", "Scale")
            if info.has_scale and scale:
                roots.add(scale)
            paths |= _resource_paths(info, kind, listing, scale)
        pending = list(roots)
        while pending:
            name = pending.pop()
            found = None if name in components else self._definition(name)
            if found is not None:
                components[name] = found[0]
                pending.extend(found[1] - components.keys())
        return {"openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": f"v{self._schemas.k8s_version}"},
                "paths": paths,
                "components": {"schemas": dict(sorted(components.items()))}}


def _operation(info: ResourceInfo, verb: str, action: str, suffix: str, response: str,
               params: Sequence[str] = (), body: Node | None = None,
               gvk: Node | None = None) -> Node:
    tag, stem = _op_name(info)
    op: Node = {"tags": [tag], "operationId": f"{verb}{stem}{suffix}"}
    if params:
        op["parameters"] = _params(*params)
    if body is not None:
        op["requestBody"] = {"content": body, "required": True}
    content = {"application/json": {"schema": _ref(response)}}
    op["responses"] = {"200": {"description": "OK", "content": content},
                       "401": {"description": "Unauthorized"}}
    if verb in ("create", "replace", "patch"):
        op["responses"]["201"] = {"description": "Created", "content": content}
    op["x-kubernetes-action"] = action
    op["x-kubernetes-group-version-kind"] = gvk or {"group": info.group, "kind": info.kind,
                                                     "version": info.version}
    return op


def _item_ops(info: ResourceInfo, ref: str, suffix: str = "", gvk: Node | None = None,
              verbs: Sequence[str] = ("get", "update", "patch")) -> Node:
    """get/put/patch of one object (or of its ``status``/``scale`` view)."""
    patch_types = PATCH_TYPES[:3] if info.custom else PATCH_TYPES
    ops: Node = {}
    if "get" in verbs:
        ops["get"] = _operation(info, "read", "get", suffix, ref, gvk=gvk)
    if "update" in verbs:
        ops["put"] = _operation(info, "replace", "put", suffix, ref, _WRITE,
                                {"*/*": {"schema": _ref(ref)}}, gvk)
    if "patch" in verbs:
        ops["patch"] = _operation(info, "patch", "patch", suffix, ref, (*_WRITE, "force"),
                                  {t: {"schema": _ref(PATCH)} for t in patch_types}, gvk)
    return ops


def _resource_paths(info: ResourceInfo, kind: str, listing: str,
                    scale: str | None) -> dict[str, Node]:
    base = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    scope_params = ("namespace",) if info.namespaced else ()
    collection, item = _urls(info)
    verbs, paths = info.verbs, {}
    ops: Node = {}
    if "list" in verbs:
        ops["get"] = _operation(info, "list", "list", "", listing, _LIST)
    if "create" in verbs:
        ops["post"] = _operation(info, "create", "post", "", kind, _WRITE,
                                 {"*/*": {"schema": _ref(kind)}})
    if "deletecollection" in verbs:
        ops["delete"] = _operation(info, "deleteCollection", "deletecollection", "", STATUS,
                                   (*_DELETE, *_LIST), {"*/*": {"schema": _ref(DELETE_OPTIONS)}})
    paths[collection] = ops | {"parameters": _params(*scope_params, "pretty")}
    ops = _item_ops(info, kind, verbs=verbs)
    if "delete" in verbs:
        ops["delete"] = _operation(info, "delete", "delete", "", STATUS, _DELETE,
                                   {"*/*": {"schema": _ref(DELETE_OPTIONS)}})
    paths[item] = ops | {"parameters": _params("name", *scope_params, "pretty")}
    if info.namespaced and "list" in verbs:
        all_ns = _operation(info, "list", "list", "ForAllNamespaces", listing, _LIST)
        all_ns["operationId"] = all_ns["operationId"].replace("Namespaced", "", 1)
        paths[f"{base}/{info.plural}"] = {"get": all_ns, "parameters": _params("pretty")}
    if info.has_status:
        paths[item + "/status"] = _item_ops(info, kind, "Status") | {
            "parameters": _params("name", *scope_params, "pretty")}
    if info.has_scale and scale:
        scale_gvk = {"group": "autoscaling", "kind": "Scale", "version": "v1"}
        paths[item + "/scale"] = _item_ops(info, scale, "Scale", scale_gvk) | {
            "parameters": _params("name", *scope_params, "pretty")}
    return paths
