"""Server-side defaults of built-in kinds, against the values kube-apiserver 1.32 sets."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mizzen.apiserver import defaults
from mizzen.apiserver.defaults import Defaulter
from mizzen.apiserver.resources import ResourceInfo, builtin_resources
from mizzen.apiserver.schema import SchemaSet
from mizzen.apiserver.validation import Validator, Verdict

Obj = dict[str, Any]

CONTAINER_DEFAULTS: Obj = {"terminationMessagePath": "/dev/termination-log",
                           "terminationMessagePolicy": "File", "resources": {}}
TEMPLATE_SPEC_DEFAULTS: Obj = {"dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
                               "terminationGracePeriodSeconds": 30, "securityContext": {},
                               "schedulerName": "default-scheduler"}
POD_ONLY_DEFAULTS: Obj = {"enableServiceLinks": True, "serviceAccountName": "default",
                          "serviceAccount": "default", "priority": 0,
                          "preemptionPolicy": "PreemptLowerPriority"}


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return SchemaSet()


@pytest.fixture(scope="module")
def defaulter(schemas: SchemaSet) -> Defaulter:
    return Defaulter(schemas)


def info_of(obj: Obj) -> ResourceInfo:
    group = obj["apiVersion"].rpartition("/")[0]
    return next(i for i in builtin_resources() if i.kind == obj["kind"] and i.group == group)


def defaulted(defaulter: Defaulter, obj: Obj) -> Obj:
    defaulter.apply(info_of(obj), obj)
    return obj


def pod_spec() -> Obj:
    return {"containers": [{"name": "web", "image": "nginx:1.27"}]}


def pod() -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, "spec": pod_spec()}


def workload(kind: str) -> Obj:
    spec: Obj = {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec()}}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "web"}, "spec": spec}


def samples() -> list[Obj]:
    meta = {"name": "sample", "namespace": "default"}
    return [
        pod(), *(workload(k) for k in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")),
        {"apiVersion": "v1", "kind": "Service", "metadata": meta,
         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": {"a": "b"}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"a": "b"}},
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta,
         "subsets": [{"addresses": [{"ip": "10.1.0.1"}], "ports": [{"port": 80}]}]},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
         "metadata": {"name": "hooks"}, "webhooks": [{
             "name": "hook.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
             "clientConfig": {"service": {"name": "hook", "namespace": "default"}},
             "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                        "resources": ["pods"]}]}]},
    ]


def test_pod_defaults(defaulter: Defaulter) -> None:
    obj = defaulted(defaulter, pod())
    assert obj["spec"] == {
        "containers": [{"name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                        **CONTAINER_DEFAULTS}],
        **TEMPLATE_SPEC_DEFAULTS, **POD_ONLY_DEFAULTS}
    assert obj["metadata"] == {"name": "web"}


@pytest.mark.parametrize(("image", "policy"), [
    ("nginx", "Always"),
    ("nginx:latest", "Always"),
    ("nginx:1.27", "IfNotPresent"),
    ("localhost:5000/team/nginx", "Always"),
    ("localhost:5000/team/nginx:v2", "IfNotPresent"),
    ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
    ("nginx:latest@sha256:" + "a" * 64, "Always"),
])
def test_image_pull_policy(defaulter: Defaulter, image: str, policy: str) -> None:
    obj = pod()
    obj["spec"]["containers"][0]["image"] = image
    obj["spec"]["initContainers"] = [{"name": "init", "image": image}]
    spec = defaulted(defaulter, obj)["spec"]
    assert spec["containers"][0]["imagePullPolicy"] == policy
    assert spec["initContainers"][0]["imagePullPolicy"] == policy


def test_explicit_values_are_kept(defaulter: Defaulter) -> None:
    obj = pod()
    obj["spec"].update(restartPolicy="Never", terminationGracePeriodSeconds=0,
                       enableServiceLinks=False, priorityClassName="system-node-critical",
                       serviceAccountName="builder")
    obj["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    spec = defaulted(defaulter, obj)["spec"]
    assert (spec["restartPolicy"], spec["terminationGracePeriodSeconds"],
            spec["enableServiceLinks"]) == ("Never", 0, False)
    assert (spec["priority"], spec["serviceAccount"]) == (2000001000, "builder")
    assert spec["containers"][0]["imagePullPolicy"] == "Never"
    deployment = workload("Deployment")
    deployment["spec"]["replicas"] = 0
    assert defaulted(defaulter, deployment)["spec"]["replicas"] == 0


def test_container_parts(defaulter: Defaulter) -> None:
    obj = pod()
    obj["spec"]["containers"][0].update(
        ports=[{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
        livenessProbe={"httpGet": {"port": 80}},
        readinessProbe={"tcpSocket": {"port": 80}, "periodSeconds": 5},
        startupProbe={"grpc": {"port": 9000}},
        lifecycle={"preStop": {"httpGet": {"port": 80, "path": "/quit"}}},
        env=[{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        resources={"limits": {"cpu": "1"}, "requests": {"memory": "1Gi"}})
    ctr = defaulted(defaulter, obj)["spec"]["containers"][0]
    assert ctr["ports"] == [{"containerPort": 80, "protocol": "TCP"},
                            {"containerPort": 53, "protocol": "UDP"}]
    probe = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert ctr["livenessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, **probe}
    assert ctr["readinessProbe"] == {"tcpSocket": {"port": 80}, **probe, "periodSeconds": 5}
    assert ctr["startupProbe"] == {"grpc": {"port": 9000, "service": ""}, **probe}
    assert ctr["lifecycle"] == {"preStop": {"httpGet": {"port": 80, "path": "/quit",
                                                        "scheme": "HTTP"}}}
    assert ctr["env"][0]["valueFrom"]["fieldRef"] == {"fieldPath": "metadata.name",
                                                      "apiVersion": "v1"}
    assert ctr["resources"] == {"limits": {"cpu": "1"}, "requests": {"memory": "1Gi", "cpu": "1"}}


def test_volumes(defaulter: Defaulter) -> None:
    obj = pod()
    obj["spec"]["volumes"] = [
        {"name": "scratch"}, {"name": "cfg", "configMap": {"name": "c"}},
        {"name": "creds", "secret": {"secretName": "s", "defaultMode": 256}},
        {"name": "host", "hostPath": {"path": "/var/log"}},
        {"name": "info", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
        {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}]
    assert defaulted(defaulter, obj)["spec"]["volumes"] == [
        {"name": "scratch", "emptyDir": {}},
        {"name": "cfg", "configMap": {"name": "c", "defaultMode": 420}},
        {"name": "creds", "secret": {"secretName": "s", "defaultMode": 256}},
        {"name": "host", "hostPath": {"path": "/var/log", "type": ""}},
        {"name": "info", "downwardAPI": {"defaultMode": 420, "items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels", "apiVersion": "v1"}}]}},
        {"name": "token", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"path": "t", "expirationSeconds": 3600}}]}}]


def test_host_network_pods_default_host_ports(defaulter: Defaulter) -> None:
    obj = pod()
    obj["spec"]["hostNetwork"] = True
    obj["spec"]["containers"][0]["ports"] = [{"containerPort": 8080}]
    assert defaulted(defaulter, obj)["spec"]["containers"][0]["ports"] == [
        {"containerPort": 8080, "hostPort": 8080, "protocol": "TCP"}]


def template_spec() -> Obj:
    return {"containers": [{"name": "web", "image": "nginx:1.27",
                            "imagePullPolicy": "IfNotPresent", **CONTAINER_DEFAULTS}],
            **TEMPLATE_SPEC_DEFAULTS}


@pytest.mark.parametrize(("kind", "expected"), [
    ("Deployment", {"replicas": 1, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                    "strategy": {"type": "RollingUpdate",
                                 "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}}),
    ("ReplicaSet", {"replicas": 1}),
    ("StatefulSet", {"replicas": 1, "revisionHistoryLimit": 10,
                     "podManagementPolicy": "OrderedReady",
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                     "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain",
                                                              "whenScaled": "Retain"}}),
    ("DaemonSet", {"revisionHistoryLimit": 10,
                   "updateStrategy": {"type": "RollingUpdate",
                                      "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}}),
])
def test_workload_defaults(defaulter: Defaulter, kind: str, expected: Obj) -> None:
    spec = defaulted(defaulter, workload(kind))["spec"]
    assert spec == {"selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}}, "spec": template_spec()},
                    **expected}


def test_strategies_given_without_details(defaulter: Defaulter) -> None:
    sts = workload("StatefulSet")
    sts["spec"]["updateStrategy"] = {"type": "RollingUpdate"}
    assert defaulted(defaulter, sts)["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
    deployment = workload("Deployment")
    deployment["spec"]["strategy"] = {"type": "Recreate"}
    assert defaulted(defaulter, deployment)["spec"]["strategy"] == {"type": "Recreate"}
    daemon = workload("DaemonSet")
    daemon["spec"]["updateStrategy"] = {"type": "OnDelete"}
    assert defaulted(defaulter, daemon)["spec"]["updateStrategy"] == {"type": "OnDelete"}


def test_statefulset_claim_templates(defaulter: Defaulter) -> None:
    sts = workload("StatefulSet")
    sts["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    (claim,) = defaulted(defaulter, sts)["spec"]["volumeClaimTemplates"]
    assert claim == {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"name": "data"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
                              "resources": {"requests": {"storage": "1Gi"}}},
                     "status": {"phase": "Pending"}}


@pytest.mark.parametrize(("spec", "expected"), [
    ({"selector": {"app": "web"}, "ports": [{"port": 80}, {"port": 53, "protocol": "UDP",
                                                           "targetPort": "dns"}]},
     {"type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
      "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"],
      "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80},
                {"port": 53, "protocol": "UDP", "targetPort": "dns"}]}),
    ({"clusterIP": "None"},
     {"type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
      "clusterIPs": ["None"], "ipFamilyPolicy": "RequireDualStack",
      "ipFamilies": ["IPv4", "IPv6"]}),
    ({"type": "LoadBalancer", "sessionAffinity": "ClientIP"},
     {"type": "LoadBalancer", "sessionAffinity": "ClientIP", "internalTrafficPolicy": "Cluster",
      "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
      "externalTrafficPolicy": "Cluster", "allocateLoadBalancerNodePorts": True,
      "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]}),
    ({"type": "ExternalName", "externalName": "example.com"},
     {"type": "ExternalName", "sessionAffinity": "None"}),
])
def test_service_defaults(defaulter: Defaulter, spec: Obj, expected: Obj) -> None:
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": spec}
    defaulted(defaulter, obj)
    assert obj["spec"] == {**spec, **expected}
    assert obj["status"] == {"loadBalancer": {}}


def test_secret_claim_and_namespace(defaulter: Defaulter) -> None:
    secret = defaulted(defaulter, {"apiVersion": "v1", "kind": "Secret",
                                   "metadata": {"name": "s"}, "stringData": {"user": "admin"},
                                   "data": {"password": "aHVudGVyMg=="}})
    assert secret == {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                      "type": "Opaque", "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}}
    claim = defaulted(defaulter, {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                  "metadata": {"name": "c"}, "spec": {}})
    assert (claim["spec"], claim["status"]) == ({"volumeMode": "Filesystem"}, {"phase": "Pending"})
    namespace = defaulted(defaulter, {"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": "team-a", "labels": {"x": "y"}},
                                      "spec": {"finalizers": ["example.com/cleanup"]}})
    assert namespace == {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "team-a",
                     "labels": {"x": "y", "kubernetes.io/metadata.name": "team-a"}},
        "spec": {"finalizers": ["example.com/cleanup", "kubernetes"]},
        "status": {"phase": "Active"}}


def test_terminating_namespace_keeps_its_finalizers(defaulter: Defaulter) -> None:
    obj = {"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": "gone", "deletionTimestamp": "2025-01-01T00:00:00Z"},
           "spec": {"finalizers": []}, "status": {"phase": "Terminating"}}
    assert defaulted(defaulter, obj)["spec"] == {"finalizers": []}


def test_webhook_defaults(defaulter: Defaulter) -> None:
    (hook,) = defaulted(defaulter, samples()[-1])["webhooks"]
    assert {k: hook[k] for k in ("failurePolicy", "matchPolicy", "namespaceSelector",
                                 "objectSelector", "timeoutSeconds", "reinvocationPolicy")} == {
        "failurePolicy": "Fail", "matchPolicy": "Equivalent", "namespaceSelector": {},
        "objectSelector": {}, "timeoutSeconds": 10, "reinvocationPolicy": "Never"}
    assert hook["rules"][0]["scope"] == "*"
    assert hook["clientConfig"]["service"]["port"] == 443


def test_wrong_types_are_left_for_validation(defaulter: Defaulter) -> None:
    obj = workload("Deployment")
    obj["spec"]["strategy"] = "fast"
    obj["spec"]["template"]["spec"]["containers"] = {"name": "web"}
    defaulted(defaulter, obj)
    assert obj["spec"]["strategy"] == "fast"
    assert obj["spec"]["template"]["spec"]["containers"] == {"name": "web"}


def test_custom_resources_are_untouched(defaulter: Defaulter) -> None:
    widget = ResourceInfo("example.com", "v1", "widgets", "Widget", "widget", True, custom=True)
    obj: Obj = {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {}}
    defaulter.apply(widget, obj)
    assert obj == {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {}}


@pytest.mark.parametrize("obj", samples(), ids=lambda o: o["kind"])
def test_defaults_are_idempotent_and_valid(defaulter: Defaulter, schemas: SchemaSet,
                                           obj: Obj) -> None:
    once = defaulted(defaulter, obj)
    twice = defaulted(defaulter, copy.deepcopy(once))
    assert twice == once
    assert Validator(schemas).validate(info_of(once), once) == Verdict([], [])


@pytest.mark.parametrize("make", [pod, lambda: workload("Deployment"),
                                  lambda: workload("StatefulSet")],
                         ids=["pod", "deployment", "statefulset"])
def test_a_repeated_spec_gets_the_same_defaults_in_a_fresh_spec(make: Any) -> None:
    defaulter = Defaulter(SchemaSet())
    first, second, third = (defaulted(defaulter, make()) for _ in range(3))
    assert first == second == third
    assert second["spec"] is not third["spec"]
    first["spec"].clear()  # nothing is shared: changing one object leaves the others alone
    assert second == third and second["spec"]


def test_an_already_defaulted_spec_is_left_as_it_is() -> None:
    defaulter = Defaulter(SchemaSet())
    once = defaulted(defaulter, pod())
    spec = once["spec"]
    for _ in range(2):
        assert defaulted(defaulter, once)["spec"] is spec


def test_remembered_specs_are_bounded() -> None:
    defaulter = Defaulter(SchemaSet())
    for i in range(defaults.REMEMBERED_SPECS + 10):
        obj = pod()
        obj["spec"]["containers"][0]["image"] = f"nginx:{i}"
        assert defaulted(defaulter, obj)["spec"]["containers"][0]["imagePullPolicy"] == \
            "IfNotPresent"
    assert len(defaulter._specs) == defaults.REMEMBERED_SPECS
