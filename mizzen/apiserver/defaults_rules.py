"""The defaulting rules of built-in kinds, one function per kind, as kube-apiserver 1.32.

The values come from upstream's ``pkg/apis/*/v1/defaults.go`` plus the few things a
real cluster adds on the way in that clients see just as well: the Priority and
ServiceAccount admission plugins (``priority``, ``preemptionPolicy``,
``serviceAccountName``), the registry's Namespace rules (``kubernetes`` finalizer,
``kubernetes.io/metadata.name`` label) and Service IP-family fields, and the Secret
``stringData`` → ``data`` conversion.  Cluster IPs, node ports and the token volume are
the caller's business.

Defaulting is plain code over raw dicts, because upstream's defaults are code too
(``if obj.Spec.Replicas == nil``), not schema data.  Go's two notions of "unset" are
kept apart: pointer fields are defaulted only when absent or null (:func:`_unset`),
value fields also when empty (:func:`_empty`).  A field of the wrong type is left alone
so that validation still reports it.  Every rule only fills what is missing, so
applying twice changes nothing.  :class:`~mizzen.apiserver.defaults.Defaulter` applies
them; :data:`SPEC_ONLY` names the kinds whose rule reads and writes ``spec`` alone.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from types import MappingProxyType
from typing import Any

__all__ = ["BY_KIND", "SPEC_ONLY"]

Obj = dict[str, Any]

_SYSTEM_PRIORITIES = MappingProxyType({"system-node-critical": 2000001000,
                                       "system-cluster-critical": 2000000000})


def _unset(d: Obj, key: str, value: Any) -> None:
    """Default a pointer field: only when absent or null."""
    if d.get(key) is None:
        d[key] = value


def _empty(d: Obj, key: str, value: Any) -> None:
    """Default a value field: also when it holds Go's zero value ("" or 0)."""
    got = d.get(key)
    if got is None or got == "" or (type(got) is int and got == 0):
        d[key] = value


def _child(d: Obj, key: str) -> Obj | None:
    """The object at ``key``, created when absent; ``None`` if it is not an object."""
    if d.get(key) is None:
        d[key] = {}
    got = d[key]
    return got if isinstance(got, dict) else None


def _dicts(d: Any, *keys: str) -> Iterator[Obj]:
    """The object elements of the list at ``d[keys[0]][keys[1]]...``."""
    for key in keys:
        d = d.get(key) if isinstance(d, dict) else None
    for item in d if isinstance(d, list) else ():
        if isinstance(item, dict):
            yield item


def _obj(d: Any, *keys: str) -> Obj | None:
    """The existing object at ``d[keys[0]][keys[1]]...`` (nothing is created)."""
    for key in keys:
        d = d.get(key) if isinstance(d, dict) else None
    return d if isinstance(d, dict) else None


# -- pods and pod templates -----------------------------------------------------------


def _pod(obj: Obj) -> None:
    spec = _child(obj, "spec")
    if spec is None:
        return
    _pod_spec(spec)
    _unset(spec, "enableServiceLinks", True)
    _empty(spec, "serviceAccountName", "default")
    spec["serviceAccount"] = spec["serviceAccountName"]
    cls = spec.get("priorityClassName")
    _unset(spec, "priority", _SYSTEM_PRIORITIES.get(cls, 0) if isinstance(cls, str) else 0)
    _unset(spec, "preemptionPolicy", "PreemptLowerPriority")
    for group in ("containers", "initContainers"):
        for ctr in _dicts(spec, group):   # requests default to limits, on pods only
            limits = _obj(ctr, "resources", "limits")
            requests = _child(ctr["resources"], "requests") if limits else None
            if limits and requests is not None:
                for key, value in limits.items():
                    requests.setdefault(key, value)
            if spec.get("hostNetwork") is True:
                for port in _dicts(ctr, "ports"):
                    _empty(port, "hostPort", port.get("containerPort"))


def _pod_spec(spec: Obj) -> None:
    """``SetDefaults_PodSpec`` and what hangs below it (pods and templates alike)."""
    _empty(spec, "dnsPolicy", "ClusterFirst")
    _empty(spec, "restartPolicy", "Always")
    _unset(spec, "terminationGracePeriodSeconds", 30)
    _unset(spec, "securityContext", {})
    _empty(spec, "schedulerName", "default-scheduler")
    if spec.get("serviceAccountName"):   # v1 keeps the deprecated alias in step
        spec["serviceAccount"] = spec["serviceAccountName"]
    elif spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    for group in ("containers", "initContainers", "ephemeralContainers"):
        for ctr in _dicts(spec, group):
            _container(ctr)
    for volume in _dicts(spec, "volumes"):
        _volume(volume)


def _pulls_latest(image: Any) -> bool:
    """Whether the image reference resolves to the ``latest`` tag (no tag, no digest)."""
    if not isinstance(image, str) or not image:
        return False
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2] if ":" in last else ("" if digest else "latest")
    return tag == "latest"


def _container(ctr: Obj) -> None:
    if not ctr.get("imagePullPolicy"):
        ctr["imagePullPolicy"] = "Always" if _pulls_latest(ctr.get("image")) else "IfNotPresent"
    _empty(ctr, "terminationMessagePath", "/dev/termination-log")
    _empty(ctr, "terminationMessagePolicy", "File")
    _unset(ctr, "resources", {})
    for port in _dicts(ctr, "ports"):
        _empty(port, "protocol", "TCP")
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        if (probe := _obj(ctr, name)) is not None:
            _empty(probe, "timeoutSeconds", 1)
            _empty(probe, "periodSeconds", 10)
            _empty(probe, "successThreshold", 1)
            _empty(probe, "failureThreshold", 3)
            _handler(probe)
    for name in ("postStart", "preStop"):
        if (handler := _obj(ctr, "lifecycle", name)) is not None:
            _handler(handler)
    for env in _dicts(ctr, "env"):
        _field_ref(_obj(env, "valueFrom", "fieldRef"))


def _handler(handler: Obj) -> None:
    if (http := _obj(handler, "httpGet")) is not None:
        _empty(http, "path", "/")
        _empty(http, "scheme", "HTTP")
    if (grpc := _obj(handler, "grpc")) is not None:
        _unset(grpc, "service", "")


def _field_ref(ref: Obj | None) -> None:
    if ref is not None:
        _empty(ref, "apiVersion", "v1")


def _volume(volume: Obj) -> None:
    if not any(v is not None for k, v in volume.items() if k != "name"):
        volume["emptyDir"] = {}
    for name in ("configMap", "secret", "downwardAPI", "projected"):
        if (source := _obj(volume, name)) is not None:
            _unset(source, "defaultMode", 420)
    if (host_path := _obj(volume, "hostPath")) is not None:
        _unset(host_path, "type", "")
    for item in _dicts(volume, "downwardAPI", "items"):
        _field_ref(_obj(item, "fieldRef"))
    for source in _dicts(volume, "projected", "sources"):
        for item in _dicts(source, "downwardAPI", "items"):
            _field_ref(_obj(item, "fieldRef"))
        if (token := _obj(source, "serviceAccountToken")) is not None:
            _unset(token, "expirationSeconds", 3600)
    if (claim := _obj(volume, "ephemeral", "volumeClaimTemplate", "spec")) is not None:
        _unset(claim, "volumeMode", "Filesystem")


def _template(spec: Obj) -> None:
    if (pod_spec := _obj(spec, "template", "spec")) is not None:
        _pod_spec(pod_spec)


# -- workloads ------------------------------------------------------------------------


def _deployment(obj: Obj) -> None:
    spec = _child(obj, "spec")
    if spec is None:
        return
    _unset(spec, "replicas", 1)
    strategy = _child(spec, "strategy")
    if strategy is not None:
        _empty(strategy, "type", "RollingUpdate")
        rolling = _child(strategy, "rollingUpdate") if strategy["type"] == "RollingUpdate" else None
        if rolling is not None:
            _unset(rolling, "maxUnavailable", "25%")
            _unset(rolling, "maxSurge", "25%")
    _unset(spec, "revisionHistoryLimit", 10)
    _unset(spec, "progressDeadlineSeconds", 600)
    _template(spec)


def _replica_set(obj: Obj) -> None:
    spec = _child(obj, "spec")
    if spec is not None:
        _unset(spec, "replicas", 1)
        _template(spec)


def _stateful_set(obj: Obj) -> None:
    spec = _child(obj, "spec")
    if spec is None:
        return
    _empty(spec, "podManagementPolicy", "OrderedReady")
    strategy = _child(spec, "updateStrategy")
    if strategy is not None:
        if not strategy.get("type"):   # only a defaulted type brings a defaulted rollingUpdate
            strategy["type"] = "RollingUpdate"
            _child(strategy, "rollingUpdate")
        rolling = _obj(strategy, "rollingUpdate")
        if strategy["type"] == "RollingUpdate" and rolling is not None:
            _unset(rolling, "partition", 0)
    retention = _child(spec, "persistentVolumeClaimRetentionPolicy")
    if retention is not None:
        _empty(retention, "whenDeleted", "Retain")
        _empty(retention, "whenScaled", "Retain")
    _unset(spec, "replicas", 1)
    _unset(spec, "revisionHistoryLimit", 10)
    for claim in _dicts(spec, "volumeClaimTemplates"):
        _empty(claim, "apiVersion", "v1")
        _empty(claim, "kind", "PersistentVolumeClaim")
        _claim(claim)
    _template(spec)


def _daemon_set(obj: Obj) -> None:
    spec = _child(obj, "spec")
    if spec is None:
        return
    strategy = _child(spec, "updateStrategy")
    if strategy is not None:
        _empty(strategy, "type", "RollingUpdate")
        rolling = _child(strategy, "rollingUpdate") if strategy["type"] == "RollingUpdate" else None
        if rolling is not None:
            _unset(rolling, "maxUnavailable", 1)
            _unset(rolling, "maxSurge", 0)
    _unset(spec, "revisionHistoryLimit", 10)
    _template(spec)


# -- core kinds -----------------------------------------------------------------------


def _service(obj: Obj) -> None:
    spec = _child(obj, "spec")
    if spec is None:
        return
    _empty(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        client = _obj(spec, "sessionAffinityConfig", "clientIP")
        if client is None or client.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    _empty(spec, "type", "ClusterIP")
    kind = spec["type"]
    for port in _dicts(spec, "ports"):
        _empty(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and type(port.get("port")) is int:
            port["targetPort"] = port["port"]
    if kind in ("NodePort", "LoadBalancer") or (kind == "ClusterIP" and spec.get("externalIPs")):
        _empty(spec, "externalTrafficPolicy", "Cluster")
    if kind in ("NodePort", "LoadBalancer", "ClusterIP"):
        _unset(spec, "internalTrafficPolicy", "Cluster")
    if kind == "LoadBalancer":
        _unset(spec, "allocateLoadBalancerNodePorts", True)
    if kind != "ExternalName":
        if spec.get("clusterIP") and not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]
        elif isinstance(spec.get("clusterIPs"), list) and spec["clusterIPs"]:
            _empty(spec, "clusterIP", spec["clusterIPs"][0])
        selectorless_headless = spec.get("clusterIP") == "None" and not spec.get("selector")
        _unset(spec, "ipFamilyPolicy",
               "RequireDualStack" if selectorless_headless else "SingleStack")
        if not spec.get("ipFamilies"):
            dual = spec["ipFamilyPolicy"] == "RequireDualStack"
            spec["ipFamilies"] = ["IPv4", "IPv6"] if dual else ["IPv4"]
    status = _child(obj, "status")
    if status is not None:
        _unset(status, "loadBalancer", {})


def _secret(obj: Obj) -> None:
    _empty(obj, "type", "Opaque")
    string_data = obj.get("stringData")
    data = _child(obj, "data") if isinstance(string_data, dict) else None
    if data is not None and isinstance(string_data, dict):
        for key, value in string_data.items():
            if isinstance(value, str):
                data[key] = base64.b64encode(value.encode()).decode()
        del obj["stringData"]


def _claim(obj: Obj) -> None:
    spec = _child(obj, "spec")
    if spec is not None:
        _unset(spec, "volumeMode", "Filesystem")
    status = _child(obj, "status")
    if status is not None:
        _empty(status, "phase", "Pending")


def _namespace(obj: Obj) -> None:
    meta = _child(obj, "metadata")
    if meta is not None and isinstance(meta.get("name"), str) and meta["name"]:
        labels = _child(meta, "labels")
        if labels is not None:
            labels["kubernetes.io/metadata.name"] = meta["name"]
    spec = _child(obj, "spec")
    deleting = meta is not None and meta.get("deletionTimestamp") is not None
    if spec is not None and not deleting:   # the namespace controller removes it on delete
        finalizers = spec.get("finalizers")
        if finalizers is None:
            spec["finalizers"] = finalizers = []
        if isinstance(finalizers, list) and "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
    status = _child(obj, "status")
    if status is not None:
        _empty(status, "phase", "Active")


def _node(obj: Obj) -> None:
    status = _obj(obj, "status")
    if status is not None and isinstance(status.get("capacity"), dict):
        _unset(status, "allocatable", dict(status["capacity"]))


def _endpoints(obj: Obj) -> None:
    for subset in _dicts(obj, "subsets"):
        for port in _dicts(subset, "ports"):
            _empty(port, "protocol", "TCP")


def _crd(obj: Obj) -> None:
    if (spec := _obj(obj, "spec")) is not None:
        _unset(spec, "conversion", {"strategy": "None"})


def _webhooks(mutating: bool) -> Callable[[Obj], None]:
    def apply(obj: Obj) -> None:
        for hook in _dicts(obj, "webhooks"):
            _unset(hook, "failurePolicy", "Fail")
            _unset(hook, "matchPolicy", "Equivalent")
            _unset(hook, "namespaceSelector", {})
            _unset(hook, "objectSelector", {})
            _unset(hook, "timeoutSeconds", 10)
            if mutating:
                _unset(hook, "reinvocationPolicy", "Never")
            for rule in _dicts(hook, "rules"):
                _unset(rule, "scope", "*")
            if (service := _obj(hook, "clientConfig", "service")) is not None:
                _unset(service, "port", 443)
    return apply


# Kinds whose rule reads and writes nothing but ``spec`` (so a spec's defaults can be reused).
SPEC_ONLY = frozenset({("", "Pod"), ("apps", "Deployment"), ("apps", "ReplicaSet"),
                        ("apps", "StatefulSet"), ("apps", "DaemonSet")})
BY_KIND: MappingProxyType[tuple[str, str], Callable[[Obj], None]] = MappingProxyType({
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("", "Secret"): _secret,
    ("", "PersistentVolumeClaim"): _claim,
    ("", "Namespace"): _namespace,
    ("", "Node"): _node,
    ("", "Endpoints"): _endpoints,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replica_set,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): _webhooks(True),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): _webhooks(False),
})
