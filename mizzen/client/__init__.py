"""Mizzen's only HTTP client for Kubernetes API servers — the embedded one or any cluster's.

Everything a controller needs is importable from here::

    from mizzen.client import Client, load_default, PODS

    async with Client(load_default()) as client:
        items, rv = await client.list_all(PODS, "default")
        async for event in client.watch(PODS, "default", resource_version=rv):
            ...

Modules, one concept each: :mod:`~mizzen.client.resources` (what a request is
about), :mod:`~mizzen.client.config` and :mod:`~mizzen.client.auth` (where the
server is and who we are), :mod:`~mizzen.client.client` (verbs),
:mod:`~mizzen.client.transport` (sending: throttle, auth, retries, metrics),
:mod:`~mizzen.client.retry`, :mod:`~mizzen.client.throttle`,
:mod:`~mizzen.client.watch`, :mod:`~mizzen.client.metrics` and
:mod:`~mizzen.client.errors`.
"""

from mizzen.client.client import PATCH_TYPES, Client
from mizzen.client.config import ClientConfig, load_default, load_in_cluster, load_kubeconfig
from mizzen.client.errors import ApiError, ConfigError, TransportError
from mizzen.client.metrics import ClientMetrics
from mizzen.client.resources import (
    CONFIGMAPS,
    CONTROLLERREVISIONS,
    CRDS,
    DAEMONSETS,
    DEPLOYMENTS,
    ENDPOINTS,
    EVENTS,
    LEASES,
    NAMESPACES,
    NODES,
    PODS,
    PVCS,
    REPLICASETS,
    SECRETS,
    SERVICEACCOUNTS,
    SERVICES,
    STATEFULSETS,
    Resource,
)
from mizzen.client.watch import WatchEvent

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
    "PATCH_TYPES",
    "PODS",
    "PVCS",
    "REPLICASETS",
    "SECRETS",
    "SERVICEACCOUNTS",
    "SERVICES",
    "STATEFULSETS",
    "ApiError",
    "Client",
    "ClientConfig",
    "ClientMetrics",
    "ConfigError",
    "Resource",
    "TransportError",
    "WatchEvent",
    "load_default",
    "load_in_cluster",
    "load_kubeconfig",
]
