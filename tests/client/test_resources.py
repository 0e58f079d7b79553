"""Resource URLs, metric labels of raw paths, and the public surface of the package."""

from __future__ import annotations

import pytest

import mizzen.client
from mizzen.client import (
    CRDS,
    DEPLOYMENTS,
    LEASES,
    NAMESPACES,
    NODES,
    PODS,
    PVCS,
    ApiError,
    Resource,
)
from mizzen.client.resources import parse_path


def test_paths_of_namespaced_resources() -> None:
    assert PODS.path() == "/api/v1/pods"
    assert PODS.path("ns") == "/api/v1/namespaces/ns/pods"
    assert PODS.path("ns", "web") == "/api/v1/namespaces/ns/pods/web"
    assert PODS.path("ns", "web", "status") == "/api/v1/namespaces/ns/pods/web/status"
    assert DEPLOYMENTS.path("ns", "d", "scale") == \
        "/apis/apps/v1/namespaces/ns/deployments/d/scale"
    assert LEASES.path("kube-system") == \
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
    assert PVCS.plural == "persistentvolumeclaims"


def test_paths_of_cluster_scoped_resources() -> None:
    assert NODES.path(name="n1") == "/api/v1/nodes/n1"
    assert NAMESPACES.path(name="ns", subresource="finalize") == "/api/v1/namespaces/ns/finalize"
    assert CRDS.path() == "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def test_api_version_and_custom_resources() -> None:
    assert PODS.api_version == "v1"
    assert DEPLOYMENTS.api_version == "apps/v1"
    clonesets = Resource("apps.kruise.io", "v1alpha1", "clonesets", "CloneSet", True)
    assert clonesets.path("ns", "c") == "/apis/apps.kruise.io/v1alpha1/namespaces/ns/clonesets/c"
    assert clonesets == Resource("apps.kruise.io", "v1alpha1", "clonesets", "CloneSet", True)


def test_scope_mistakes_fail_before_any_request() -> None:
    with pytest.raises(ValueError, match="namespaced"):
        PODS.path(name="web")
    with pytest.raises(ValueError, match="cluster-scoped"):
        NODES.path("default", "n1")
    with pytest.raises(ValueError, match="subresource"):
        PODS.path("ns", subresource="status")
    with pytest.raises(ValueError, match="empty"):
        PODS.path("ns", "")


@pytest.mark.parametrize(("path", "expected"), [
    ("/api/v1/pods", ("pods", False, "")),
    ("/api/v1/namespaces/ns/pods?limit=1", ("pods", False, "")),
    ("/api/v1/namespaces/ns/pods/web/status", ("pods", True, "status")),
    ("/api/v1/namespaces/ns", ("namespaces", True, "")),
    ("/api/v1/namespaces/ns/finalize", ("namespaces", True, "finalize")),
    ("/apis/apps/v1/namespaces/ns/deployments/d/scale", ("deployments", True, "scale")),
    ("/api/v1/watch/namespaces/ns/pods", ("pods", False, "")),
    ("/apis/apps/v1", None),
    ("/healthz", None),
])
def test_parse_path(path: str, expected: tuple[str, bool, str] | None) -> None:
    assert parse_path(path) == expected


def test_api_error_predicates_follow_reason_then_code() -> None:
    exists = ApiError.from_status({"kind": "Status", "code": 409, "reason": "AlreadyExists",
                                   "message": "x"})
    assert exists.already_exists and not exists.conflict
    expired = ApiError.from_status({"kind": "Status", "code": 410, "reason": "Expired",
                                    "message": "too old"})
    assert expired.gone and expired.status == 410 and expired.message == "too old"
    bare = ApiError.from_response(404, None, "page not found")
    assert bare.not_found and bare.reason == "NotFound" and bare.body is None
    assert ApiError.from_response(409, "nope").conflict
    assert ApiError.from_response(422, {}).invalid
    throttled = ApiError.from_status({"kind": "Status", "code": 429, "reason": "TooManyRequests",
                                      "details": {"retryAfterSeconds": 3}})
    assert throttled.too_many_requests and throttled.retry_after_seconds == 3
    assert "409 AlreadyExists: x" in str(exists)


def test_public_surface() -> None:
    assert set(mizzen.client.__all__) >= {
        "Client", "ClientConfig", "ClientMetrics", "ApiError", "TransportError", "ConfigError",
        "Resource", "WatchEvent", "load_kubeconfig", "load_in_cluster", "load_default",
        "PODS", "NODES", "NAMESPACES", "CONFIGMAPS", "SECRETS", "SERVICES", "SERVICEACCOUNTS",
        "EVENTS", "PVCS", "ENDPOINTS", "LEASES", "DEPLOYMENTS", "REPLICASETS", "STATEFULSETS",
        "DAEMONSETS", "CONTROLLERREVISIONS", "CRDS"}
    for name in mizzen.client.__all__:
        assert hasattr(mizzen.client, name), name
