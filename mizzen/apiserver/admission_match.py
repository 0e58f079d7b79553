"""Which admission webhooks a request must call: attributes, compiled hooks, matching.

Matching runs on every write the server takes, so a webhook configuration is
compiled once (rules into frozensets, selectors into requirement lists, the
TLS context from ``caBundle``) and the compiled :class:`Hook` list is reused
until a configuration's resourceVersion changes (:class:`HookIndex`).  With no
configuration stored the check is one dictionary lookup.

The rules follow kube-apiserver's ``rules.Matcher`` and generic webhook
``ShouldCallHook``: a hook is called when one of its rules matches (operation,
group, version, ``resource/subresource`` with ``*`` and ``*/*``, scope), its
``objectSelector`` matches the new or the old object's labels, and its
``namespaceSelector`` matches the labels of the request's namespace (never
consulted for cluster-scoped objects other than a Namespace, which is matched
by its own labels).  A missing namespace is a 404 as upstream.

Not implemented, and documented as such: ``matchPolicy: Equivalent`` is
treated as ``Exact`` (no equivalent-resource conversion), and
``matchConditions`` (CEL) are not evaluated — a hook that has them is treated
as if every condition matched.
"""

from __future__ import annotations

import base64
import binascii
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from mizzen.apiserver import errors
from mizzen.apiserver.resources import ResourceInfo
from mizzen.apiserver.selectors import LabelRequirement, label_selector_from_dict, labels_match
from mizzen.apiserver.store import Store

Obj = dict[str, Any]

MUTATING_RES = "admissionregistration.k8s.io/mutatingwebhookconfigurations"
VALIDATING_RES = "admissionregistration.k8s.io/validatingwebhookconfigurations"
NAMESPACES_RES = "/namespaces"

# Requests on these never go through webhooks, so a broken webhook can always be removed.
EXEMPT = frozenset(("mutatingwebhookconfigurations", "validatingwebhookconfigurations",
                    "validatingadmissionpolicies", "validatingadmissionpolicybindings",
                    "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"))

# Subresources whose body is not the parent's kind (group, version, kind).
SUBRESOURCE_KINDS: Mapping[str, tuple[str, str, str]] = MappingProxyType({
    "scale": ("autoscaling", "v1", "Scale"),
    "binding": ("", "v1", "Binding"),
    "eviction": ("policy", "v1", "Eviction"),
    "exec": ("", "v1", "PodExecOptions"),
    "attach": ("", "v1", "PodAttachOptions"),
    "portforward": ("", "v1", "PodPortForwardOptions"),
})


def default_user() -> dict[str, Any]:
    """The identity every request has until the server authenticates users."""
    return {"username": "mizzen-admin", "groups": ["system:masters", "system:authenticated"]}


@dataclass(slots=True)
class Attributes:
    """What admission knows about one request; also collects warnings and annotations.

    ``group``/``version``/``resource`` name the resource requested; ``kind`` (with
    ``kind_group``/``kind_version`` when they differ, e.g. ``autoscaling/v1 Scale`` for
    ``deployments/scale``) names the object sent.  ``options`` is the CreateOptions,
    UpdateOptions or DeleteOptions object upstream sends (see :mod:`.admission`).
    """

    operation: str  # CREATE, UPDATE, DELETE or CONNECT
    group: str
    version: str
    kind: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    dry_run: bool = False
    options: Obj | None = None
    user: dict[str, Any] = field(default_factory=default_user)
    kind_group: str | None = None
    kind_version: str | None = None
    # Filled in by admission: Warning headers and audit annotations of the webhooks called.
    warnings: list[str] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, info: ResourceInfo, operation: str, *, namespace: str | None, name: str,
           subresource: str = "", dry_run: bool = False, options: Obj | None = None,
           warnings: list[str] | None = None) -> Attributes:
        """Attributes for a request on ``info`` (pass the request's warnings list to share it)."""
        kg, kv, kind = SUBRESOURCE_KINDS.get(subresource, (info.group, info.version, info.kind))
        return cls(operation, info.group, info.version, kind, info.plural, subresource,
                   namespace or "", name, dry_run, options, kind_group=kg, kind_version=kv,
                   warnings=warnings if warnings is not None else [])

    @property
    def is_namespace(self) -> bool:
        return self.group == "" and self.resource == "namespaces"

    @property
    def effective_namespace(self) -> str:
        """The request's namespace; a Namespace object's own name, as upstream sets it."""
        if self.is_namespace and not self.namespace:
            return self.name
        return self.namespace

    def gvk(self) -> dict[str, str]:
        group = self.group if self.kind_group is None else self.kind_group
        version = self.version if self.kind_version is None else self.kind_version
        return {"group": group, "version": version, "kind": self.kind}

    def gvr(self) -> dict[str, str]:
        return {"group": self.group, "version": self.version, "resource": self.resource}


@dataclass(frozen=True, slots=True)
class Rule:
    operations: frozenset[str]
    groups: frozenset[str]
    versions: frozenset[str]
    resources: tuple[tuple[str, str], ...]  # (resource, subresource), each may be "*"
    scope: str  # Cluster, Namespaced or *

    def matches(self, attrs: Attributes) -> bool:
        if "*" not in self.operations and attrs.operation not in self.operations:
            return False
        if "*" not in self.groups and attrs.group not in self.groups:
            return False
        if "*" not in self.versions and attrs.version not in self.versions:
            return False
        if not any((res in ("*", attrs.resource)) and (sub in ("*", attrs.subresource))
                   for res, sub in self.resources):
            return False
        if self.scope == "Namespaced":
            return not attrs.is_namespace and attrs.namespace != ""
        if self.scope == "Cluster":
            return attrs.is_namespace or attrs.namespace == ""
        return True


@dataclass(frozen=True, slots=True, eq=False)
class Hook:
    """One webhook of one configuration, ready to match and call."""

    configuration: str
    index: int  # position within its configuration
    name: str
    rules: tuple[Rule, ...]
    namespace_selector: tuple[LabelRequirement, ...]  # empty: every namespace
    object_selector: tuple[LabelRequirement, ...]  # empty: every object
    fail_open: bool  # failurePolicy: Ignore
    timeout: int  # seconds, 1..30
    side_effects: str
    reinvoke: bool  # reinvocationPolicy: IfNeeded (mutating only)
    url: str  # clientConfig.url, or "" for a service
    service: tuple[str, str, str, int] | None  # namespace, name, path, port
    tls: ssl.SSLContext | None  # None: the system trust roots
    # A non-empty reason makes every call fail (under failurePolicy): bad URL, caBundle...
    broken: str = ""
    # A bad selector is an internal error for requests the hook's rules match.
    selector_error: str = ""

    @property
    def uid(self) -> tuple[str, int]:
        return (self.configuration, self.index)


def _strings(value: Any) -> frozenset[str]:
    return frozenset(str(v) for v in value) if isinstance(value, list) else frozenset()


def _rule(raw: Any) -> Rule:
    raw = raw if isinstance(raw, dict) else {}
    resources = tuple((r.partition("/")[0], r.partition("/")[2])
                      for r in (str(x) for x in raw.get("resources") or ()))
    return Rule(_strings(raw.get("operations")), _strings(raw.get("apiGroups")),
                _strings(raw.get("apiVersions")), resources, str(raw.get("scope") or "*"))


def _selector(raw: Any) -> tuple[LabelRequirement, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise errors.bad_request("a label selector must be an object")
    return tuple(label_selector_from_dict(raw))


def tls_context(ca_bundle: str) -> ssl.SSLContext:
    """A client context trusting only ``ca_bundle`` (base64 PEM), or system roots if empty."""
    if ca_bundle:
        try:
            pem = base64.b64decode(ca_bundle, validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError("unable to load root certificates: caBundle is not base64 PEM"
                             ) from None
        try:
            ctx = ssl.create_default_context(cadata=pem)
        except (ssl.SSLError, ValueError):
            raise ValueError("unable to load root certificates: no valid PEM certificate in "
                             "caBundle") from None
    else:
        ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _check_url(url: str) -> str:
    """Why a webhook URL cannot be used ("" when it can); never echoes the URL itself."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when the port is not a number
    except ValueError:
        return "webhook URL is not a valid URL"
    if parts.scheme != "https":
        return "'https' is the only allowed URL scheme"
    if not parts.hostname:
        return "webhook URL must have a host"
    if parts.username is not None or parts.password is not None:
        return "webhook URL may not contain user info"
    if parts.query or parts.fragment:
        return "webhook URL may not contain query parameters or a fragment"
    return ""


def compile_hook(configuration: str, index: int, raw: Obj, mutating: bool) -> Hook:
    """Compile one ``webhooks[i]`` entry; problems are recorded, never raised."""
    name = str(raw.get("name") or "")
    client = raw.get("clientConfig")
    client = client if isinstance(client, dict) else {}
    broken = selector_error = ""
    url, service = str(client.get("url") or ""), client.get("service")
    svc: tuple[str, str, str, int] | None = None
    if bool(url) == isinstance(service, dict):
        broken = "exactly one of clientConfig.url or clientConfig.service is required"
    elif url:
        broken = _check_url(url)
    elif isinstance(service, dict):
        path = str(service.get("path") or "/")
        port = service.get("port") or 443
        svc = (str(service.get("namespace") or ""), str(service.get("name") or ""),
               path if path.startswith("/") else "/" + path, port if isinstance(port, int) else 0)
        if not (0 < svc[3] < 65536 and svc[0] and svc[1]):
            broken = "clientConfig.service needs a namespace, a name and a port in 1-65535"
    if "v1" not in (raw.get("admissionReviewVersions") or ["v1"]):
        broken = broken or "webhook does not accept known AdmissionReview versions"
    tls: ssl.SSLContext | None = None
    try:
        tls = tls_context(str(client.get("caBundle") or "")) if client.get("caBundle") else None
    except ValueError as exc:
        broken = broken or str(exc)
    try:
        ns_sel, obj_sel = _selector(raw.get("namespaceSelector")), _selector(
            raw.get("objectSelector"))
    except errors.ApiError as exc:
        ns_sel, obj_sel, selector_error = (), (), exc.message
    except (AttributeError, TypeError):  # matchLabels or matchExpressions of the wrong type
        ns_sel, obj_sel, selector_error = (), (), f'webhook "{name}" has an invalid selector'
    timeout = raw.get("timeoutSeconds")
    timeout = min(max(timeout, 1), 30) if isinstance(timeout, int) else 10
    return Hook(configuration, index, name, tuple(_rule(r) for r in raw.get("rules") or ()),
                ns_sel, obj_sel, raw.get("failurePolicy") == "Ignore", timeout,
                str(raw.get("sideEffects") or ""),
                mutating and raw.get("reinvocationPolicy") == "IfNeeded",
                url, svc, tls, broken, selector_error)


class HookIndex:
    """The compiled webhooks of one configuration kind, in call order.

    Configurations are read from the store (committed state) on every request, so a
    change takes effect for the next one; compiled hooks are reused while a
    configuration's resourceVersion is unchanged.
    """

    def __init__(self, store: Store, res: str, mutating: bool) -> None:
        self._store = store
        self._res = res
        self._mutating = mutating
        self._by_config: dict[str, tuple[int, list[Hook]]] = {}
        self._stamp: tuple[tuple[str, int], ...] = ()
        self._hooks: tuple[Hook, ...] = ()

    def hooks(self) -> tuple[Hook, ...]:
        # The common case, nothing configured, costs one lookup.  (count() includes staged
        # writes: a configuration whose deletion is being committed is already ignored.)
        if not self._store.count(self._res):
            return ()
        entries = self._store.list_entries(self._res, None)  # sorted by name, as upstream
        stamp = tuple((e.obj["metadata"]["name"], e.rv) for e in entries)
        if stamp == self._stamp:
            return self._hooks
        compiled: dict[str, tuple[int, list[Hook]]] = {}
        for entry in entries:
            name = entry.obj["metadata"]["name"]
            cached = self._by_config.get(name)
            if cached is None or cached[0] != entry.rv:
                raws = entry.obj.get("webhooks") or []
                cached = (entry.rv, [compile_hook(name, i, w, self._mutating)
                                     for i, w in enumerate(raws) if isinstance(w, dict)])
            compiled[name] = cached
        self._by_config, self._stamp = compiled, stamp
        self._hooks = tuple(h for _, hooks in compiled.values() for h in hooks)
        return self._hooks


def _labels(obj: Obj | None) -> dict[str, str] | None:
    if not isinstance(obj, dict):
        return None
    meta = obj.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return labels if isinstance(labels, dict) else {}


class Matcher:
    """Decides, for one request, which hooks to call; looks the namespace up at most once."""

    def __init__(self, store: Store, attrs: Attributes) -> None:
        self._store = store
        self._attrs = attrs
        self._ns_labels: dict[str, str] | None = None

    def namespace_labels(self, obj: Obj | None) -> dict[str, str]:
        attrs = self._attrs
        if attrs.is_namespace and not attrs.subresource and \
                attrs.operation in ("CREATE", "UPDATE"):
            return _labels(obj) or {}
        if self._ns_labels is None:
            name = attrs.effective_namespace
            entry = self._store.get(NAMESPACES_RES, "", name)
            if entry is None:
                raise errors.not_found("namespaces", "", name)
            self._ns_labels = _labels(entry.obj) or {}
        return self._ns_labels

    def should_call(self, hook: Hook, obj: Obj | None, old: Obj | None) -> bool:
        """Whether ``hook`` applies; raises the 404/500 upstream raises for matched hooks."""
        attrs = self._attrs
        if not any(rule.matches(attrs) for rule in hook.rules):
            return False
        if hook.selector_error:
            raise errors.internal(hook.selector_error)
        if hook.object_selector:
            reqs = list(hook.object_selector)
            if not any(labels is not None and labels_match(reqs, labels)
                       for labels in (_labels(obj), _labels(old))):
                return False
        if hook.namespace_selector:
            if not attrs.effective_namespace and not attrs.is_namespace:
                return True  # cluster-scoped: namespaceSelector does not apply
            return labels_match(list(hook.namespace_selector), self.namespace_labels(obj))
        return True


def is_exempt(attrs: Attributes) -> bool:
    return attrs.group == "admissionregistration.k8s.io" and attrs.resource in EXEMPT


ServiceResolver = Callable[[str, str, int], tuple[str, int]]


def dns_resolver(namespace: str, name: str, port: int) -> tuple[str, int]:
    """Where a service reference is dialled by default: ``<name>.<namespace>.svc:<port>``."""
    return f"{name}.{namespace}.svc", port
