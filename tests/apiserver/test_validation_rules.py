"""Object-level and update rules of built-in kinds (``validation_rules``), via the Validator."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mizzen.apiserver.errors import Cause
from mizzen.apiserver.schema import SchemaSet
from mizzen.apiserver.validation import Validator, Verdict
from tests.apiserver.test_validation import (
    Obj,
    check,
    container,
    fields,
    pod,
    sample,
    service,
    workload,
)


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(SchemaSet())


# -- data keys -----------------------------------------------------------------------


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


def test_deployment_strategy_rules() -> None:
    from mizzen.apiserver.resources import builtin_resources
    from mizzen.apiserver.schema import SchemaSet
    from mizzen.apiserver.validation import Validator

    info = next(i for i in builtin_resources() if i.plural == "deployments")
    labels = {"app": "web"}
    deploy: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "Deployment",
                              "metadata": {"name": "web"},
              "spec": {"selector": {"matchLabels": labels},
                       "strategy": {"type": "RollingUpdate",
                                    "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}},
                       "template": {"metadata": {"labels": labels},
                                    "spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    causes = Validator(SchemaSet()).validate(info, deploy).causes
    assert [c.field for c in causes] == ["spec.strategy.rollingUpdate.maxUnavailable"]
    deploy["spec"]["strategy"] = {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}
    causes = Validator(SchemaSet()).validate(info, deploy).causes
    assert [c.field for c in causes] == ["spec.strategy.rollingUpdate"]
