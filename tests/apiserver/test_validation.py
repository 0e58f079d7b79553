"""Validation of built-in objects: schema walk, object rules and update rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mizzen.apiserver.errors import Cause
from mizzen.apiserver.resources import ResourceInfo, builtin_resources
from mizzen.apiserver.schema import SchemaSet
from mizzen.apiserver.validation import Validator, Verdict

Obj = dict[str, Any]
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    r"used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(SchemaSet())


def info(kind: str, group: str = "") -> ResourceInfo:
    return next(i for i in builtin_resources() if i.kind == kind and i.group == group)


def kind_group(obj: Obj) -> tuple[str, str]:
    api_version = obj["apiVersion"]
    return obj["kind"], api_version.split("/")[0] if "/" in api_version else ""


def check(v: Validator, obj: Obj, old: Obj | None = None) -> Verdict:
    return v.validate(info(*kind_group(obj)), obj, old)


def fields(verdict: Verdict) -> list[tuple[str, str]]:
    return [(c.field, c.type) for c in verdict.causes]


def container(name: str = "web", image: str = "nginx:1.27") -> Obj:
    return {"name": name, "image": image, "ports": [{"containerPort": 80, "name": "http"}]}


def pod() -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [container()], "restartPolicy": "Always"}}


def workload(kind: str) -> Obj:
    spec: Obj = {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [container()]}}}
    if kind == "DaemonSet":
        del spec["replicas"]
    if kind == "StatefulSet":
        spec["serviceName"] = "web"
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "web"}, "spec": spec}


def service() -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "clusterIP": "10.0.0.1",
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def samples() -> list[Obj]:
    meta = {"name": "sample", "namespace": "default"}
    return [
        pod(), service(), *(workload(k) for k in ("Deployment", "ReplicaSet", "StatefulSet",
                                                  "DaemonSet")),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
         "data": {"app.conf": "x=1", "KEY_2": "y"}, "binaryData": {"blob": "AAEC"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
         "data": {"password": "aHVudGVyMg=="}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
         "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                  "renewTime": "2025-01-02T03:04:05.123456Z"}},
        {"apiVersion": "v1", "kind": "Event",
         "metadata": {"name": "web.17a1", "namespace": "default"},
         "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
         "reason": "Started", "type": "Normal", "firstTimestamp": "2025-01-02T03:04:05Z"},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta, "revision": 1,
         "data": {"spec": {"template": {"anything": ["goes"]}}}},
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "metadata": {"name": "widgets.example.com"},
         "spec": {"group": "example.com", "scope": "Namespaced",
                  "names": {"plural": "widgets", "kind": "Widget"},
                  "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                      "openAPIV3Schema": {"type": "object", "properties": {
                          "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                                   "default": {"size": 1}}}}}}]}},
    ]


def sample(kind: str) -> Obj:
    return next(o for o in samples() if o["kind"] == kind)


@pytest.mark.parametrize("obj", samples(), ids=lambda o: o["kind"])
def test_valid_objects_give_an_empty_verdict(validator: Validator, obj: Obj) -> None:
    assert check(validator, obj) == Verdict([], [])


def test_unknown_kinds_give_an_empty_verdict(validator: Validator) -> None:
    widget = ResourceInfo("example.com", "v1", "widgets", "Widget", "widget", True, custom=True)
    assert validator.validate(widget, {"metadata": {}, "spec": 3, "bogus": True}) == Verdict()


# -- unknown fields -------------------------------------------------------------------


def test_unknown_fields_are_spelled_like_the_strict_decoder(validator: Validator) -> None:
    obj = pod()
    obj["spec"]["containers"][0]["imagee"] = "nginx"
    obj["spec"]["containers"].append({**container("side"), "resources": {"limitz": {}}})
    obj["metadata"]["labelz"] = {}
    obj["spec"]["volumes"] = [{"name": "cfg", "configMap": {"name": "c", "itemz": []}}]
    obj["extra"] = 1
    verdict = check(validator, obj)
    assert sorted(verdict.unknown) == sorted([
        "spec.containers[0].imagee", "spec.containers[1].resources.limitz", "metadata.labelz",
        "spec.volumes[0].configMap.itemz", "extra"])
    assert verdict.causes == []


def test_unknown_fields_inside_templates_and_typed_maps(validator: Validator) -> None:
    deployment = workload("Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagee"] = "x"
    assert check(validator, deployment).unknown == ["spec.template.spec.containers[0].imagee"]
    crd = sample("CustomResourceDefinition")
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    props["spec"]["typo"] = True
    assert check(validator, crd).unknown == [
        "spec.versions[0].schema.openAPIV3Schema.properties.spec.typo"]


# -- schema types and formats ---------------------------------------------------------


@pytest.mark.parametrize(("path", "value", "field", "kind"), [
    (("spec", "replicas"), "three", "spec.replicas", "FieldValueTypeInvalid"),
    (("spec", "replicas"), True, "spec.replicas", "FieldValueTypeInvalid"),
    (("spec", "replicas"), 1.5, "spec.replicas", "FieldValueTypeInvalid"),
    (("spec", "replicas"), 2**31, "spec.replicas", "FieldValueInvalid"),
    (("spec", "paused"), "yes", "spec.paused", "FieldValueTypeInvalid"),
    (("spec", "template", "spec", "containers"), {"name": "x"},
     "spec.template.spec.containers", "FieldValueTypeInvalid"),
    (("metadata", "labels"), ["app"], "metadata.labels", "FieldValueTypeInvalid"),
    (("metadata", "creationTimestamp"), "yesterday", "metadata.creationTimestamp",
     "FieldValueInvalid"),
    (("spec", "strategy", "rollingUpdate", "maxSurge"), False,
     "spec.strategy.rollingUpdate.maxSurge", "FieldValueTypeInvalid"),
])
def test_schema_type_and_format_errors(validator: Validator, path: tuple[str, ...], value: Any,
                                       field: str, kind: str) -> None:
    obj = workload("Deployment")
    target = obj
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
    assert fields(check(validator, obj)) == [(field, kind)]


def test_type_error_message_names_both_types(validator: Validator) -> None:
    obj = workload("Deployment")
    obj["spec"]["replicas"] = "three"
    (cause,) = check(validator, obj).causes
    assert cause.message == ('Invalid value: "string": spec.replicas in body must be of type '
                             'integer: "string"')


def test_typed_map_values_use_bracketed_paths(validator: Validator) -> None:
    obj = pod()
    obj["metadata"]["labels"]["tier"] = 3
    obj["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "lots", "memory": "1Gi"}}
    assert fields(check(validator, obj)) == [
        ("metadata.labels[tier]", "FieldValueTypeInvalid"),
        ("spec.containers[0].resources.limits[cpu]", "FieldValueInvalid")]


def test_secret_data_must_be_base64(validator: Validator) -> None:
    secret = sample("Secret")
    secret["data"]["password"] = "not base64!"
    assert fields(check(validator, secret)) == [("data[password]", "FieldValueInvalid")]


def test_enum_of_embedded_kinds(validator: Validator) -> None:
    sts = workload("StatefulSet")
    sts["spec"]["volumeClaimTemplates"] = [{"kind": "Pod", "metadata": {"name": "data"}}]
    (cause,) = check(validator, sts).causes
    assert (cause.field, cause.type) == ("spec.volumeClaimTemplates[0].kind",
                                         "FieldValueNotSupported")
    assert cause.message == 'Unsupported value: "Pod": supported values: "PersistentVolumeClaim"'


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda o: o["spec"]["containers"][0].pop("name"), "spec.containers[0].name"),
    (lambda o: o["spec"]["containers"][0].update(name=""), "spec.containers[0].name"),
    (lambda o: o["spec"].pop("containers"), "spec.containers"),
    (lambda o: o["spec"]["containers"][0].update(env=[{"value": "1"}]),
     "spec.containers[0].env[0].name"),
    (lambda o: o["metadata"].update(ownerReferences=[
        {"apiVersion": "v1", "kind": "Pod", "name": "x"}]), "metadata.ownerReferences[0].uid"),
])
def test_required_fields(validator: Validator, mutate: Any, field: str) -> None:
    obj = pod()
    mutate(obj)
    verdict = check(validator, obj)
    assert fields(verdict) == [(field, "FieldValueRequired")]
    assert verdict.causes[0].message == "Required value"


def test_status_is_not_held_to_required_fields(validator: Validator) -> None:
    obj = pod()
    obj["status"] = {"phase": "Running", "containerStatuses": [{"name": "web"}],
                     "conditions": [{"type": "Ready"}]}
    assert check(validator, obj) == Verdict([], [])


# -- names, labels, annotations, data keys --------------------------------------------


@pytest.mark.parametrize(("kind", "name", "fragment"), [
    ("ConfigMap", "Foo_Bar", SUBDOMAIN_MSG),
    ("ConfigMap", "a" * 254, "must be no more than 253 characters"),
    ("Namespace", "team.a", "a lowercase RFC 1123 label must consist of lower case alphanumeric"
                            " characters or '-', and must start and end with an alphanumeric "
                            "character (e.g. 'my-name',  or '123-abc', regex used"),
    ("Namespace", "a" * 64, "must be no more than 63 characters"),
    ("Service", "1web", "a DNS-1035 label must consist of lower case alphanumeric characters"),
    ("Pod", "Web", "a lowercase RFC 1123 subdomain"),
])
def test_name_rules(validator: Validator, kind: str, name: str, fragment: str) -> None:
    obj = sample(kind)
    obj["metadata"]["name"] = name
    verdict = check(validator, obj)
    assert [c.field for c in verdict.causes] == ["metadata.name"]
    assert verdict.causes[0].message.startswith(f'Invalid value: "{name}": ')
    assert fragment in verdict.causes[0].message


def test_exact_subdomain_message(validator: Validator) -> None:
    obj = sample("ConfigMap")
    obj["metadata"]["name"] = "Foo_Bar"
    assert check(validator, obj).causes == [
        Cause("FieldValueInvalid", f'Invalid value: "Foo_Bar": {SUBDOMAIN_MSG}', "metadata.name")]


def test_name_is_required(validator: Validator) -> None:
    obj = pod()
    del obj["metadata"]["name"]
    assert check(validator, obj).causes == [Cause(
        "FieldValueRequired", "Required value: name or generateName is required", "metadata.name")]


@pytest.mark.parametrize(("labels", "shown"), [
    ({"bad key": "x"}, "bad key"),
    ({"Example.com/app": "x"}, "Example.com/app"),
    ({"a/b/c": "x"}, "a/b/c"),
    ({"app": "-web"}, "-web"),
    ({"app": "v" * 64}, "v" * 64),
])
def test_label_rules(validator: Validator, labels: Obj, shown: str) -> None:
    obj = pod()
    obj["metadata"]["labels"] = labels
    verdict = check(validator, obj)
    assert {c.field for c in verdict.causes} == {"metadata.labels"}
    assert all(c.message.startswith(f'Invalid value: "{shown}": ') for c in verdict.causes)


def test_annotation_rules(validator: Validator) -> None:
    obj = pod()
    obj["metadata"]["annotations"] = {"bad key": "x"}
    assert fields(check(validator, obj)) == [("metadata.annotations", "FieldValueInvalid")]
    obj["metadata"]["annotations"] = {"big": "x" * (256 * 1024)}
    assert check(validator, obj).causes == [Cause(
        "FieldValueTooLong", "Too long: may not be more than 262144 bytes", "metadata.annotations")]


def test_data_keys(validator: Validator) -> None:
    config_map, secret = sample("ConfigMap"), sample("Secret")
    config_map["data"]["bad key"] = "x"
    config_map["binaryData"]["app.conf"] = "AA=="
    secret["data"][".."] = "AA=="
    assert fields(check(validator, config_map)) == [
        ("data[bad key]", "FieldValueInvalid"), ("binaryData[app.conf]", "FieldValueInvalid")]
    assert [c.message for c in check(validator, secret).causes] == [
        'Invalid value: "..": must not be \'..\'']


# -- pods -----------------------------------------------------------------------------


@pytest.mark.parametrize(("mutate", "field", "kind"), [
    (lambda s: s.update(containers=[]), "spec.containers", "FieldValueRequired"),
    (lambda s: s["containers"][0].update(name="Web_1"), "spec.containers[0].name",
     "FieldValueInvalid"),
    (lambda s: s["containers"].append(container()), "spec.containers[1].name",
     "FieldValueDuplicate"),
    (lambda s: s.update(initContainers=[container()]), "spec.initContainers[0].name",
     "FieldValueDuplicate"),
    (lambda s: s["containers"][0].pop("image"), "spec.containers[0].image", "FieldValueRequired"),
    (lambda s: s.update(initContainers=[container("init", "")]), "spec.initContainers[0].image",
     "FieldValueRequired"),
    (lambda s: s.update(restartPolicy="Sometimes"), "spec.restartPolicy",
     "FieldValueNotSupported"),
    (lambda s: s["containers"][0].update(imagePullPolicy="Maybe"),
     "spec.containers[0].imagePullPolicy", "FieldValueNotSupported"),
    (lambda s: s["containers"][0]["ports"][0].update(containerPort=70000),
     "spec.containers[0].ports[0].containerPort", "FieldValueInvalid"),
    (lambda s: s["containers"][0]["ports"][0].update(protocol="HTTP"),
     "spec.containers[0].ports[0].protocol", "FieldValueNotSupported"),
])
def test_pod_rules(validator: Validator, mutate: Any, field: str, kind: str) -> None:
    obj = pod()
    mutate(obj["spec"])
    assert fields(check(validator, obj)) == [(field, kind)]


def test_pod_rule_messages(validator: Validator) -> None:
    obj = pod()
    obj["spec"]["restartPolicy"] = "Sometimes"
    obj["spec"]["containers"].append(container())
    assert [c.message for c in check(validator, obj).causes] == [
        'Duplicate value: "web"',
        'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"']


# -- workloads ------------------------------------------------------------------------

WORKLOADS = ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"]


@pytest.mark.parametrize("kind", WORKLOADS)
def test_workload_selector_rules(validator: Validator, kind: str) -> None:
    obj = workload(kind)
    del obj["spec"]["selector"]
    assert fields(check(validator, obj)) == [("spec.selector", "FieldValueRequired")]
    obj = workload(kind)
    obj["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    assert check(validator, obj).causes == [Cause(
        "FieldValueInvalid", 'Invalid value: map[string]string{"app":"other"}: `selector` does '
        "not match template `labels`", "spec.template.metadata.labels")]
    obj["spec"]["selector"] = {}
    assert check(validator, obj).causes == [Cause(
        "FieldValueInvalid", "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil)"
        ", MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for "
        f"{kind.lower()}", "spec.selector")]


@pytest.mark.parametrize("kind", WORKLOADS)
def test_workload_template_is_checked_as_a_pod(validator: Validator, kind: str) -> None:
    obj = workload(kind)
    template = obj["spec"]["template"]
    template["spec"]["containers"][0].pop("image")
    template["spec"]["restartPolicy"] = "Never"
    assert fields(check(validator, obj)) == [
        ("spec.template.spec.containers[0].image", "FieldValueRequired"),
        ("spec.template.spec.restartPolicy", "FieldValueNotSupported")]
    del obj["spec"]["template"]
    assert fields(check(validator, obj)) == [
        ("spec.template.metadata.labels", "FieldValueInvalid"),
        ("spec.template.spec.containers", "FieldValueRequired")]


def test_selector_expressions(validator: Validator) -> None:
    obj = workload("ReplicaSet")
    obj["spec"]["selector"] = {"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["web", "api"]},
        {"key": "tier", "operator": "DoesNotExist"}]}
    assert check(validator, obj) == Verdict([], [])
    obj["spec"]["selector"]["matchExpressions"] = [
        {"key": "app", "operator": "In"}, {"key": "app", "operator": "Exists", "values": ["x"]},
        {"key": "app", "operator": "Near"}]
    assert fields(check(validator, obj))[:3] == [
        ("spec.selector.matchExpressions[0].values", "FieldValueRequired"),
        ("spec.selector.matchExpressions[1].values", "FieldValueForbidden"),
        ("spec.selector.matchExpressions[2].operator", "FieldValueInvalid")]


def test_negative_replicas(validator: Validator) -> None:
    obj = workload("Deployment")
    obj["spec"]["replicas"] = -1
    assert check(validator, obj).causes == [Cause(
        "FieldValueInvalid", "Invalid value: -1: must be greater than or equal to 0",
        "spec.replicas")]


def test_statefulset_without_service_name_is_valid(validator: Validator) -> None:
    obj = workload("StatefulSet")
    del obj["spec"]["serviceName"]
    assert check(validator, obj) == Verdict([], [])


# -- services, leases, events ---------------------------------------------------------


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda s: s["ports"][0].update(port=0), [("spec.ports[0].port", "FieldValueInvalid")]),
    (lambda s: s["ports"][0].update(port=65536), [("spec.ports[0].port", "FieldValueInvalid")]),
    (lambda s: s["ports"][0].update(targetPort=0), []),
    (lambda s: s["ports"][0].update(targetPort=99999),
     [("spec.ports[0].targetPort", "FieldValueInvalid")]),
    (lambda s: s["ports"][0].update(targetPort="http--x"),
     [("spec.ports[0].targetPort", "FieldValueInvalid")]),
    (lambda s: s.update(ports=[]), [("spec.ports", "FieldValueRequired")]),
    (lambda s: s.update(ports=[], clusterIP="None"), []),
    (lambda s: s["ports"].append({"port": 443}), [("spec.ports[1].name", "FieldValueRequired")]),
    (lambda s: s["ports"].append({"name": "http", "port": 443}),
     [("spec.ports[1].name", "FieldValueDuplicate")]),
    (lambda s: s.update(type="Magic"), [("spec.type", "FieldValueNotSupported")]),
])
def test_service_rules(validator: Validator, mutate: Any, expected: list[tuple[str, str]]) -> None:
    obj = service()
    mutate(obj["spec"])
    assert fields(check(validator, obj)) == expected


def test_service_port_message(validator: Validator) -> None:
    obj = service()
    obj["spec"]["ports"][0]["port"] = 70000
    assert [c.message for c in check(validator, obj).causes] == [
        "Invalid value: 70000: must be between 1 and 65535, inclusive"]


def test_leases_and_events_are_schema_only(validator: Validator) -> None:
    lease, event = sample("Lease"), sample("Event")
    lease["spec"]["holderIdentity"] = 7
    lease["spec"]["leaseTransitions"] = -3
    assert fields(check(validator, lease)) == [("spec.holderIdentity", "FieldValueTypeInvalid")]
    event["reason"] = ""
    event["count"] = -1
    assert check(validator, event) == Verdict([], [])


# -- updates --------------------------------------------------------------------------


def updated(obj: Obj, mutate: Any) -> Obj:
    new = copy.deepcopy(obj)
    mutate(new)
    return new


@pytest.mark.parametrize("kind", WORKLOADS)
def test_workload_selector_is_immutable(validator: Validator, kind: str) -> None:
    old = workload(kind)
    new = updated(old, lambda o: o["spec"].update(
        selector={"matchLabels": {"app": "web", "v": "2"}},
        template={**o["spec"]["template"], "metadata": {"labels": {"app": "web", "v": "2"}}}))
    causes = check(validator, new, old).causes
    assert causes[0] == Cause(
        "FieldValueInvalid", 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app"'
        ':"web", "v":"2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is '
        "immutable", "spec.selector")
    scaled = updated(old, lambda o: o["spec"].update(minReadySeconds=5))
    assert check(validator, scaled, old) == Verdict([], [])


def test_statefulset_spec_is_mostly_immutable(validator: Validator) -> None:
    old = workload("StatefulSet")
    new = updated(old, lambda o: o["spec"].update(serviceName="other"))
    assert fields(check(validator, new, old)) == [("spec", "FieldValueForbidden")]
    new = updated(old, lambda o: o["spec"].update(replicas=5, updateStrategy={"type": "OnDelete"}))
    assert check(validator, new, old) == Verdict([], [])


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda s: s["containers"][0].update(image="nginx:1.28"), []),
    (lambda s: s.update(activeDeadlineSeconds=60), []),
    (lambda s: s.update(tolerations=[{"key": "a", "operator": "Exists"},
                                     {"key": "b", "operator": "Exists"}]), []),
    (lambda s: s.update(tolerations=[]), [("spec.tolerations[0]", "FieldValueForbidden")]),
    (lambda s: s.update(restartPolicy="Never"), [("spec", "FieldValueForbidden")]),
    (lambda s: s.update(terminationGracePeriodSeconds=10), [("spec", "FieldValueForbidden")]),
    (lambda s: s["containers"].append(container("side")), [("spec", "FieldValueForbidden")]),
    (lambda s: s["containers"][0]["ports"][0].update(containerPort=81),
     [("spec", "FieldValueForbidden")]),
])
def test_pod_spec_updates(validator: Validator, mutate: Any,
                          expected: list[tuple[str, str]]) -> None:
    old = pod()
    old["spec"].update(terminationGracePeriodSeconds=30,
                       tolerations=[{"key": "a", "operator": "Exists"}])
    new = updated(old, lambda o: mutate(o["spec"]))
    assert fields(check(validator, new, old)) == expected


def test_pod_update_message_and_metadata(validator: Validator) -> None:
    old = pod()
    new = updated(old, lambda o: o["spec"].update(restartPolicy="Never"))
    (cause,) = check(validator, new, old).causes
    assert cause.message.startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
        "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to "
        "be set to 1 if it was previously negative)\n")
    assert "spec.restartPolicy" in cause.message
    relabelled = updated(old, lambda o: o["metadata"]["labels"].update(tier="x"))
    relabelled["status"] = {"phase": "Running"}
    assert check(validator, relabelled, old) == Verdict([], [])
    negative = updated(old, lambda o: o["spec"].update(terminationGracePeriodSeconds=-1))
    assert check(validator, updated(negative, lambda o: o["spec"].update(
        terminationGracePeriodSeconds=1)), negative) == Verdict([], [])


@pytest.mark.parametrize("kind", ["ConfigMap", "Secret"])
def test_immutable_data(validator: Validator, kind: str) -> None:
    old = sample(kind)
    old["immutable"] = True
    new = updated(old, lambda o: o["data"].update(extra="QQ=="))
    assert check(validator, new, old).causes == [Cause(
        "FieldValueForbidden", "Forbidden: field is immutable when `immutable` is set", "data")]
    new = updated(old, lambda o: o.update(immutable=False))
    assert fields(check(validator, new, old)) == [("immutable", "FieldValueForbidden")]
    new = updated(old, lambda o: o["metadata"].update(labels={"a": "b"}))
    assert check(validator, new, old) == Verdict([], [])
    mutable = updated(old, lambda o: o.pop("immutable"))
    assert check(validator, updated(mutable, lambda o: o["data"].clear()), mutable) == Verdict()


def test_secret_type_is_immutable(validator: Validator) -> None:
    old = sample("Secret")
    new = updated(old, lambda o: o.update(type="example.com/other"))
    assert fields(check(validator, new, old)) == [("type", "FieldValueInvalid")]


def test_service_cluster_ip_is_immutable(validator: Validator) -> None:
    old = service()
    new = updated(old, lambda o: o["spec"].update(clusterIP="10.0.0.2"))
    assert check(validator, new, old).causes == [Cause(
        "FieldValueInvalid", 'Invalid value: []string{"10.0.0.2"}: may not change once set',
        "spec.clusterIPs[0]")]
    for same in (lambda o: o["spec"].pop("clusterIP"),
                 lambda o: o["spec"].update(type="ExternalName", externalName="example.com",
                                            clusterIP="")):
        assert check(validator, updated(old, same), old) == Verdict([], [])
    unset = updated(old, lambda o: o["spec"].pop("clusterIP"))
    assert check(validator, new, unset) == Verdict([], [])
    listed = updated(old, lambda o: o["spec"].update(clusterIPs=["10.0.0.1"]))
    stale = updated(listed, lambda o: o["spec"].update(clusterIP="10.0.0.9"))
    assert fields(check(validator, stale, listed)) == [("spec.clusterIPs[0]", "FieldValueInvalid")]


def test_pvc_spec_is_immutable_except_requests(validator: Validator) -> None:
    old = sample("PersistentVolumeClaim")
    grown = updated(old, lambda o: o["spec"]["resources"]["requests"].update(storage="2Gi"))
    assert check(validator, grown, old) == Verdict([], [])
    bound = updated(old, lambda o: o["spec"].update(volumeName="pv-1"))
    assert check(validator, bound, old) == Verdict([], [])
    moved = updated(bound, lambda o: o["spec"].update(volumeName="pv-2"))
    assert fields(check(validator, moved, bound)) == [("spec", "FieldValueForbidden")]
    classed = updated(old, lambda o: o["spec"].update(storageClassName="fast"))
    (cause,) = check(validator, classed, old).causes
    assert cause.message.startswith(
        "Forbidden: spec is immutable after creation except resources.requests and "
        "volumeAttributesClassName for bound claims")
    old["status"] = {"phase": "Bound", "capacity": {"storage": "1Gi"}}
    shrunk = updated(old, lambda o: o["spec"]["resources"]["requests"].update(storage="512Mi"))
    assert fields(check(validator, shrunk, old)) == [
        ("spec.resources.requests.storage", "FieldValueForbidden")]
