"""The one-walk FieldsV1 of a create (mizzen.apiserver.fieldpath_created) against the long way.

The long way is the general field manager: compare the object with its zero value,
subtract reset and identity fields, build a trie, encode it.  Both must give the same
FieldsV1, key order included, for every object; the rows are realistic creates and
then a few hundred seeded mutations of them that reach the odd corners (empty and null
containers, atomic maps and lists, set lists, unkeyable and duplicate list items).
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from mizzen.apiserver.fieldpath import FieldSet, SchemaView
from mizzen.apiserver.fieldpath_created import created_fields_v1
from mizzen.apiserver.fieldpath_views import CrdView, SchemaViews
from mizzen.apiserver.managedfields import (
    UPDATE,
    ManagerKey,
    encode,
    record_update,
    reset_fields,
    update_managed_fields,
)
from mizzen.apiserver.schema import SchemaSet

Obj = dict[str, Any]
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
VIEWS = SchemaViews(SchemaSet())

CRD_SCHEMA: Obj = {"type": "object", "properties": {
    "spec": {"type": "object", "properties": {
        "replicas": {"type": "integer"},
        "ports": {"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["port", "protocol"],
                  "items": {"type": "object", "properties": {
                      "port": {"type": "integer"},
                      "protocol": {"type": "string", "default": "TCP"}}}},
        "tags": {"type": "array", "x-kubernetes-list-type": "set",
                 "items": {"type": "string"}},
        "selector": {"type": "object", "x-kubernetes-map-type": "atomic"},
        "config": {"type": "object", "additionalProperties": {"type": "string"}}}}}}


def long_way(new: Obj, view: SchemaView, ignored: FieldSet | None) -> Any:
    key = ManagerKey("m", UPDATE, "v1")
    return encode(record_update(None, new, {}, key, view, T0, ignored))


def pod() -> Obj:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "default", "uid": "u",
                     "creationTimestamp": "2024-05-01T12:00:00Z", "generateName": "web-",
                     "labels": {"app": "web", "tier": "fe"},
                     "annotations": {"a": "1"}, "finalizers": ["x/y", "a/b"],
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                          "name": "web", "uid": "r", "controller": True}]},
        "spec": {
            "containers": [
                {"name": "app", "image": "nginx:1",
                 "ports": [{"containerPort": 8080, "protocol": "TCP"},
                           {"containerPort": 53, "protocol": "UDP"},
                           {"containerPort": 53, "protocol": "TCP"}],
                 "env": [{"name": "B", "value": "1"}, {"name": "A",
                          "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                 "resources": {"requests": {"cpu": "1"}, "limits": {}},
                 "command": ["sh", "-c"], "securityContext": {}},
                {"name": "side", "image": "busybox", "resources": {}},
            ],
            "volumes": [{"name": "v", "configMap": {"name": "c"}}],
            "nodeSelector": {"disk": "ssd"}, "securityContext": {},
            "terminationGracePeriodSeconds": 30, "tolerations": [{"key": "k"}],
        },
        "status": {"phase": "Pending", "qosClass": "Burstable"},
    }


def deployment() -> Obj:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "generation": 1,
                     "resourceVersion": "4", "labels": {"app": "web"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxSurge": "25%"}},
                 "template": {"metadata": {"creationTimestamp": None,
                                           "labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "n", "image": "nginx"}]}}},
        "status": {},
    }


def service() -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "namespace": "default"},
            "spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 80.0},
                               {"port": 443, "protocol": "TCP"}],
                     "selector": {"app": "web"}, "clusterIP": "10.96.0.9",
                     "clusterIPs": ["10.96.0.9"]},
            "status": {"loadBalancer": {}}}


def custom() -> Obj:
    return {"apiVersion": "ex.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "default", "labels": {"a": "b"}},
            "spec": {"replicas": 2, "ports": [{"port": 1}, {"port": 1, "protocol": "UDP"},
                                              {"port": 1}, {"protocol": "TCP"}],
                     "tags": ["b", "a", "b", 3, True, None], "selector": {"x": {"y": 1}},
                     "config": {"k": "v"}, "extra": {"deep": [1, {"a": 2}]}},
            "status": {"ok": True}}


CASES = [
    ("pod", pod, lambda: VIEWS.builtin("", "v1", "Pod")),
    ("deployment", deployment, lambda: VIEWS.builtin("apps", "v1", "Deployment")),
    ("service", service, lambda: VIEWS.builtin("", "v1", "Service")),
    ("custom resource", custom, lambda: CrdView.root(CRD_SCHEMA, SchemaSet())),
]
ODD_VALUES: list[Any] = [None, {}, [], "", 0, 1.0, True, "x", {"n": None}, [None], [{}],
                         [{"name": "a"}, {"name": "a"}], [1, 1], {"a": {}}]


def mutate(obj: Obj, rng: random.Random) -> None:
    """Replace, drop or add a few values anywhere in ``obj`` (in place)."""
    for _ in range(rng.randint(1, 4)):
        node: Any = obj
        while True:
            kids = list(node.items()) if type(node) is dict else list(enumerate(node))
            if not kids:
                break
            k, v = rng.choice(kids)
            if type(v) in (dict, list) and rng.random() < 0.7:
                node = v
                continue
            roll = rng.random()
            if roll < 0.3 and type(node) is dict:
                del node[k]
            elif roll < 0.5 and type(node) is dict:
                node["new" + str(rng.randint(0, 3))] = copy.deepcopy(rng.choice(ODD_VALUES))
            else:
                node[k] = copy.deepcopy(rng.choice(ODD_VALUES))
            break


@pytest.mark.parametrize("name, make, view", CASES, ids=[c[0] for c in CASES])
def test_create_of_a_realistic_object_matches_the_general_field_manager(
        name: str, make: Any, view: Any) -> None:
    v = view()
    for ignored in (None, reset_fields("", True)):
        obj = make()
        fast = created_fields_v1(obj, v, ignored)
        slow = long_way(obj, v, ignored)
        assert slow and fast is not None
        assert orjson.dumps(fast) == orjson.dumps(slow[0]["fieldsV1"])


@pytest.mark.parametrize("name, make, view", CASES, ids=[c[0] for c in CASES])
def test_create_of_mutated_objects_matches_the_general_field_manager(
        name: str, make: Any, view: Any) -> None:
    rng = random.Random(name)
    v = view()
    for _ in range(300):
        obj = make()
        mutate(obj, rng)
        if type(obj.get("metadata")) is not dict:
            obj["metadata"] = {"name": "n"}
        ignored = rng.choice([None, reset_fields("", True), FieldSet.of("spec", "status")])
        fast = created_fields_v1(obj, v, ignored)
        slow = long_way(obj, v, ignored)
        assert fast is not None
        assert orjson.dumps(fast or None) == orjson.dumps(
            slow[0]["fieldsV1"] if slow else None), orjson.dumps(obj).decode()


def test_create_owns_nothing_when_only_identity_metadata_is_set() -> None:
    v = VIEWS.builtin("", "v1", "ConfigMap")
    obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "c", "namespace": "d", "uid": "u", "managedFields": "junk"}}
    assert created_fields_v1(obj, v, None) == {}
    assert update_managed_fields(None, obj, manager="m", api_version="v1", now=T0,
                                 view=v) == []


def test_nested_reset_fields_take_the_general_path() -> None:
    v = VIEWS.builtin("apps", "v1", "Deployment")
    assert created_fields_v1(deployment(), v, FieldSet.of("spec.replicas")) is None
    entries = update_managed_fields(None, deployment(), manager="m", api_version="apps/v1",
                                    now=T0, view=v, ignored=FieldSet.of("spec.replicas"))
    assert "f:replicas" not in entries[0]["fieldsV1"]["f:spec"]


def test_pods_of_one_template_reuse_the_spec_fields_and_still_match() -> None:
    v = SchemaViews(SchemaSet()).builtin("", "v1", "Pod")
    ignored = reset_fields("", True)
    results = []
    for name in ("web-a", "web-b", "web-c"):
        obj = pod()
        obj["metadata"]["name"] = name
        obj["metadata"]["labels"]["pod"] = name
        fast = created_fields_v1(obj, v, ignored)
        assert fast is not None
        assert orjson.dumps(fast) == orjson.dumps(long_way(obj, v, ignored)[0]["fieldsV1"])
        results.append(fast)
    assert results[1]["f:spec"] is results[2]["f:spec"]  # one shared, immutable subtree
    assert results[1]["f:metadata"] is not results[2]["f:metadata"]  # walked every time
