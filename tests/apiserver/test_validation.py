"""The schema walk of validation: unknown fields, types, formats and required fields.

The helpers and samples here are shared with ``test_validation_rules`` and
``test_validation_names``, which test the hand-written rules through the same
:class:`Validator`.
"""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.apiserver import validation
from mizzen.apiserver.resources import ResourceInfo, builtin_resources
from mizzen.apiserver.schema import SchemaSet
from mizzen.apiserver.validation import Validator, Verdict

Obj = dict[str, Any]


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


def test_public_names_stay_importable_from_validation() -> None:
    assert set(validation.__all__) == {
        "Validator", "Verdict", "check_object", "check_update", "config_key", "dns1035_label",
        "dns1123_label", "dns1123_subdomain", "field_path", "label_value", "not_supported",
        "parse_quantity", "port_name", "qualified_name", "selector_matches", "strict_path"}
    assert all(callable(getattr(validation, name)) for name in validation.__all__)


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


def test_a_spec_seen_clean_is_remembered_but_metadata_is_still_checked() -> None:
    v = Validator(SchemaSet())
    assert check(v, pod()) == Verdict([], [])  # web's spec is now known clean
    second = pod()
    second["metadata"]["labels"]["bad key!"] = "x"
    second["metadata"]["labelz"] = {}
    verdict = check(v, second)
    assert verdict.unknown == ["metadata.labelz"]
    assert fields(verdict) == [("metadata.labels", "FieldValueInvalid")]


def test_an_invalid_spec_is_reported_every_time() -> None:
    v = Validator(SchemaSet())
    bad = pod()
    bad["spec"]["containers"][0]["name"] = "Web_1"
    bad["spec"]["containerz"] = []
    for _ in range(3):
        verdict = check(v, bad)
        assert verdict.unknown == ["spec.containerz"]
        assert fields(verdict) == [("spec.containers[0].name", "FieldValueInvalid")]


def test_a_clean_spec_does_not_excuse_a_different_kind_or_a_changed_spec() -> None:
    v = Validator(SchemaSet())
    deployment = workload("Deployment")
    deployment["spec"]["strategy"] = {"type": "Recreate"}
    assert check(v, deployment) == Verdict([], [])
    same_spec_other_kind = workload("ReplicaSet")
    same_spec_other_kind["spec"] = deployment["spec"]
    assert check(v, same_spec_other_kind).unknown == ["spec.strategy"]
    changed = workload("Deployment")
    changed["spec"]["replicas"] = -1
    assert fields(check(v, changed)) == [("spec.replicas", "FieldValueInvalid")]


def test_an_update_keeping_the_stored_spec_still_checks_what_changed() -> None:
    v = Validator(SchemaSet())
    old = pod()
    new = pod()
    new["metadata"]["labels"]["tier"] = 3
    assert fields(check(v, new, old)) == [("metadata.labels[tier]", "FieldValueTypeInvalid")]
    moved = pod()
    moved["spec"]["restartPolicy"] = "Never"
    assert fields(check(v, moved, old)) == [("spec", "FieldValueForbidden")]


def test_remembered_specs_are_bounded() -> None:
    v = Validator(SchemaSet())
    for i in range(validation.CLEAN_SPECS + 20):
        obj = pod()
        obj["spec"]["containers"][0]["image"] = f"nginx:{i}"
        assert check(v, obj) == Verdict([], [])
    assert len(v._clean) == validation.CLEAN_SPECS


def test_a_status_carried_over_from_the_stored_object_is_not_walked_again() -> None:
    v = Validator(SchemaSet())
    old = pod()
    old["status"] = {"phase": "Running", "podIP": 7}  # as if stored before a stricter check
    carried = pod()
    carried["status"] = old["status"]  # what the registry does on a main-resource update
    assert check(v, carried, old) == Verdict([], [])
    sent = pod()
    sent["status"] = dict(old["status"])  # a status the client sent is checked
    assert fields(check(v, sent, old)) == [("status.podIP", "FieldValueTypeInvalid")]
