"""Discovery documents, legacy and aggregated, and their content negotiation."""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.apiserver import discovery
from mizzen.apiserver.resources import Catalogue, ResourceInfo, builtin_resources

ACCEPT_1_30 = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
               "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
               "application/json")
ACCEPT_1_27 = ("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
               "application/json")


@pytest.fixture
def cat() -> Catalogue:
    return Catalogue(builtin_resources())


def by_name(resources: list[dict[str, Any]], key: str = "name") -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in resources}


def test_api_versions() -> None:
    assert discovery.api_versions("127.0.0.1:6443") == {
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                        "serverAddress": "127.0.0.1:6443"}]}


def test_api_group_list_puts_apps_first_and_excludes_core(cat: Catalogue) -> None:
    doc = discovery.api_group_list(cat)
    assert (doc["kind"], doc["apiVersion"]) == ("APIGroupList", "v1")
    names = [g["name"] for g in doc["groups"]]
    assert names[0] == "apps"
    assert "" not in names
    assert set(names) == {"apps", "coordination.k8s.io", "apiextensions.k8s.io",
                          "admissionregistration.k8s.io"}
    apps = doc["groups"][0]
    assert apps == {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                    "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}


def test_preferred_version_is_the_first_served(cat: Catalogue) -> None:
    for version in ("v2", "v1"):
        cat.add(ResourceInfo("example.com", version, "widgets", "Widget", "widget", True,
                             custom=True))
    group = discovery.api_group(cat, "example.com")
    assert group is not None
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]
    assert group["preferredVersion"] == {"groupVersion": "example.com/v2", "version": "v2"}
    assert discovery.api_group(cat, "nope.example.com") is None
    assert discovery.api_group(cat, "") is None


def test_core_resource_list(cat: Catalogue) -> None:
    doc = discovery.api_resource_list(cat, "", "v1")
    assert doc is not None
    assert (doc["kind"], doc["groupVersion"]) == ("APIResourceList", "v1")
    names = [r["name"] for r in doc["resources"]]
    assert names == sorted(names)
    res = by_name(doc["resources"])
    assert res["pods"] == {
        "name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update",
                  "watch"],
        "shortNames": ["po"], "categories": ["all"], "storageVersionHash": "xPOwRZ+Yhw8="}
    assert res["pods/status"] == {"name": "pods/status", "singularName": "", "namespaced": True,
                                  "kind": "Pod", "verbs": ["get", "patch", "update"]}
    assert res["nodes"]["namespaced"] is False
    assert "configmaps/status" not in res
    assert "categories" not in res["configmaps"]


def test_apps_resource_list_has_scale_subresources(cat: Catalogue) -> None:
    doc = discovery.api_resource_list(cat, "apps", "v1")
    assert doc is not None
    assert doc["groupVersion"] == "apps/v1"
    res = by_name(doc["resources"])
    assert res["deployments"]["storageVersionHash"] == "8aSe+NMegvE="
    assert res["deployments/scale"] == {
        "name": "deployments/scale", "singularName": "", "namespaced": True,
        "group": "autoscaling", "version": "v1", "kind": "Scale",
        "verbs": ["get", "patch", "update"]}
    assert res["deployments/status"]["kind"] == "Deployment"
    assert "daemonsets/scale" not in res
    assert discovery.api_resource_list(cat, "apps", "v1beta1") is None
    assert discovery.api_resource_list(cat, "nope", "v1") is None


def test_aggregated_core(cat: Catalogue) -> None:
    doc = discovery.aggregated_discovery(cat, True)
    assert (doc["kind"], doc["apiVersion"], doc["metadata"]) == (
        "APIGroupDiscoveryList", "apidiscovery.k8s.io/v2", {})
    assert [g["metadata"]["name"] for g in doc["items"]] == [""]
    (version,) = doc["items"][0]["versions"]
    assert (version["version"], version["freshness"]) == ("v1", "Current")
    pods = by_name(version["resources"], "resource")["pods"]
    assert pods == {
        "resource": "pods", "responseKind": {"group": "", "version": "v1", "kind": "Pod"},
        "scope": "Namespaced", "singularResource": "pod",
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update",
                  "watch"],
        "shortNames": ["po"], "categories": ["all"],
        "subresources": [{"subresource": "status",
                          "responseKind": {"group": "", "version": "v1", "kind": "Pod"},
                          "verbs": ["get", "patch", "update"]},
                         {"subresource": "binding",
                          "responseKind": {"group": "", "version": "v1", "kind": "Binding"},
                          "verbs": ["create"]}]}
    nodes = by_name(version["resources"], "resource")["nodes"]
    assert nodes["scope"] == "Cluster"
    assert "subresources" not in by_name(version["resources"], "resource")["configmaps"]


def test_aggregated_groups(cat: Catalogue) -> None:
    doc = discovery.aggregated_discovery(cat, False)
    names = [g["metadata"]["name"] for g in doc["items"]]
    assert names[0] == "apps" and "" not in names
    deployments = by_name(doc["items"][0]["versions"][0]["resources"], "resource")["deployments"]
    assert deployments["responseKind"] == {"group": "apps", "version": "v1",
                                           "kind": "Deployment"}
    assert deployments["subresources"] == [
        {"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1",
                                                  "kind": "Scale"},
         "verbs": ["get", "patch", "update"]},
        {"subresource": "status", "responseKind": {"group": "apps", "version": "v1",
                                                   "kind": "Deployment"},
         "verbs": ["get", "patch", "update"]}]
    beta = discovery.aggregated_discovery(cat, False, "v2beta1")
    assert beta["apiVersion"] == "apidiscovery.k8s.io/v2beta1"
    assert beta["items"] == doc["items"]


def test_new_custom_resources_show_up_at_once(cat: Catalogue) -> None:
    cat.add(ResourceInfo("example.com", "v1", "widgets", "Widget", "widget", True,
                         short_names=("wd",), has_status=True, custom=True))
    assert "example.com" in [g["name"] for g in discovery.api_group_list(cat)["groups"]]
    doc = discovery.api_resource_list(cat, "example.com", "v1")
    assert doc is not None
    assert [r["name"] for r in doc["resources"]] == ["widgets", "widgets/status"]
    items = discovery.aggregated_discovery(cat, False)["items"]
    assert items[-1]["metadata"]["name"] == "example.com"
    cat.remove("example.com", "v1", "widgets")
    assert discovery.api_resource_list(cat, "example.com", "v1") is None


@pytest.mark.parametrize(("accept", "version"), [
    (ACCEPT_1_30, "v2"),
    (ACCEPT_1_27, "v2beta1"),
    ("application/json", None),
    ("", None),
    ("application/json," + ACCEPT_1_30, None),
    ("application/json;g=apidiscovery.k8s.io;v=v1;as=APIGroupDiscoveryList,application/json",
     None),
    ("application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
     + ACCEPT_1_27, "v2beta1"),
])
def test_aggregated_negotiation(accept: str, version: str | None) -> None:
    assert discovery.aggregated_version(accept) == version
    assert discovery.wants_aggregated(accept) is (version == "v2")


def test_content_types() -> None:
    assert discovery.AGGREGATED_CONTENT_TYPE == discovery.aggregated_content_type("v2") == (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    assert "v=v2beta1" in discovery.aggregated_content_type("v2beta1")


def test_media_ranges_order_by_quality() -> None:
    ranges = list(discovery.media_ranges("text/plain;q=0.2, application/json;as=Table, */*;q=0"))
    assert ranges == [("application/json", {"as": "Table"}), ("text/plain", {})]


def test_versions_are_ordered_kube_aware_so_the_preferred_one_is_the_most_stable() -> None:
    from mizzen.apiserver.resources import version_priority

    given = ["foo10", "v1alpha1", "v3beta1", "v1", "v11alpha2", "v10beta3", "v2", "foo1",
             "v11beta2", "v12alpha1", "v10"]
    assert sorted(given, key=version_priority) == [
        "v10", "v2", "v1", "v11beta2", "v10beta3", "v3beta1", "v12alpha1", "v11alpha2",
        "v1alpha1", "foo1", "foo10"]
