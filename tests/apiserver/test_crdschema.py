"""Custom-resource schemas: validation wording, pruning, defaulting, structural checks.

Mostly tables of (schema, value, causes as kube-apiserver spells them), built with
the ``t``/``o`` schema helpers; the CloneSet at the end is the realistic round trip.
"""

from __future__ import annotations

import copy
import timeit
from typing import Any

import orjson
import pytest

from mizzen.apiserver.crdschema import CrdSchema, structural_errors
from mizzen.apiserver.crdschema_formats import translate_pattern
from mizzen.apiserver.crdschema_values import go_float

Causes = list[tuple[str, str, str]]
INV, TYPE, REQ = "FieldValueInvalid", "FieldValueTypeInvalid", "FieldValueRequired"
P = "spec.versions[0].schema.openAPIV3Schema"
IOS: dict[str, Any] = {"x-kubernetes-int-or-string": True,
                       "anyOf": [{"type": "integer"}, {"type": "string"}]}


def wrap(prop: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"spec": {"type": "object", "properties": {"x": prop}}}}


def causes(schema: CrdSchema, obj: dict[str, Any]) -> Causes:
    return [(c.type, c.message, c.field) for c in schema.validate(obj)]


def check(prop: dict[str, Any], value: Any) -> Causes:  # validates spec.x
    return causes(CrdSchema(wrap(prop)), {"spec": {"x": value}})


def bad_type(actual: str, expected: str) -> Causes:
    return [(TYPE, f'Invalid value: "{actual}": spec.x in body must be of type {expected}: '
             f'"{actual}"', "spec.x")]


def invalid(shown: str, detail: str, field: str = "spec.x") -> Causes:
    return [(INV, f"Invalid value: {shown}: {detail}", field)]


def body(shown: str, detail: str) -> Causes:
    return invalid(shown, f"spec.x in body {detail}")


def combo(detail: str) -> Causes:  # kube-openapi's combinator errors sit on the root path
    return invalid('""', f'"spec.x" must {detail}', "")


def t(typ: str, **keywords: Any) -> dict[str, Any]:
    return {"type": typ, **keywords}


def o(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


S, Z, N = t("string"), t("integer"), t("number")
TOO_MANY = [("FieldValueTooMany", "Too many: 2: must have at most 1 item", "spec.x")]
REQ_A = {"required": ["a"]}
KEYWORDS: list[tuple[dict[str, Any], Any, Causes]] = [
    (S, "a", []), (S, 1, bad_type("integer", "string")), (Z, 3, []), (Z, 3.0, []),
    (Z, "string", bad_type("string", "integer")), (Z, 1.5, bad_type("number", "integer")),
    (Z, True, bad_type("boolean", "integer")), (N, 1, []), (N, "1", bad_type("string", "number")),
    (t("boolean"), "true", bad_type("string", "boolean")),
    (t("object"), [], bad_type("array", "object")),
    (t("array", items=S), {}, bad_type("object", "array")),
    (S, None, bad_type("null", "string")), (t("string", nullable=True), None, []),
    (t("string", enum=["a", "b"]), "b", []),
    (t("string", enum=["a", "b"]), "x", [(
        "FieldValueNotSupported", 'Unsupported value: "x": supported values: "a", "b"', "spec.x")]),
    (t("integer", enum=[1, 2]), 3, [(
        "FieldValueNotSupported", 'Unsupported value: 3: supported values: "1", "2"', "spec.x")]),
    (t("integer", minimum=1), 0, body("0", "should be greater than or equal to 1")),
    (t("integer", minimum=1, exclusiveMinimum=True), 1, body("1", "should be greater than 1")),
    (t("integer", maximum=10), 11, body("11", "should be less than or equal to 10")),
    (t("integer", maximum=10, exclusiveMaximum=True), 10, body("10", "should be less than 10")),
    (t("number", minimum=0.5), 0.25, body("0.25", "should be greater than or equal to 0.5")),
    (t("integer", multipleOf=5), 15, []),
    (t("integer", multipleOf=5), 12, body("12", "should be a multiple of 5")),
    (t("number", multipleOf=0.1), 0.3, []),
    (t("number", multipleOf=0.1), 0.35, body("0.35", "should be a multiple of 0.1")),
    (t("string", pattern="^[a-z]+$"), "abc", []),
    (t("string", pattern="^[a-z]+$"), "ABC", body('"ABC"', "should match '^[a-z]+$'")),
    (t("string", pattern="^[a-z]+$"), "abc\n",  # Go's $ is the end of the text
     body('"abc\\n"', "should match '^[a-z]+$'")),
    (t("string", pattern="b"), "abc", []),  # patterns search, as RE2 matches
    (t("string", minLength=3), "ab", body('"ab"', "should be at least 3 chars long")),
    (t("string", maxLength=3), "äöü", []),
    (t("string", maxLength=3), "abcd",
     [("FieldValueTooLong", "Too long: may not be more than 3 bytes", "spec.x")]),
    (t("array", items=Z, minItems=2), [1], body("1", "should have at least 2 items")),
    (t("array", items=Z, maxItems=1), [1, 2], TOO_MANY),
    (t("array", items=Z, uniqueItems=True), [1, 1], body('""', "shouldn't contain duplicates")),
    (t("object", minProperties=2), {"a": 1}, body("1", "should have at least 2 properties")),
    (t("object", maxProperties=1), {"a": 1, "b": 2}, TOO_MANY),
    (t("array", items=Z), [1, "a"], [(TYPE, 'Invalid value: "string": spec.x[1] in body must be '
                                      'of type integer: "string"', "spec.x[1]")]),
    (t("object", properties={"a": S}, **REQ_A), {}, [(REQ, "Required value", "spec.x.a")]),
    (t("object", additionalProperties=S), {"k": 1}, [(
        TYPE, 'Invalid value: "integer": spec.x.k in body must be of type string: "integer"',
        "spec.x.k")]),
    (t("object", additionalProperties=False), {"k": 1}, invalid(
        '"k"', "spec.x.k in body is a forbidden property")),
    (IOS, 1, []), (IOS, "10%", []),
    (IOS, True, bad_type("boolean", "integer,string") + combo(
        "validate at least one schema (anyOf)") + bad_type("boolean", "integer")),
    (t("object", **{"x-kubernetes-preserve-unknown-fields": True}), {"a": [1, {}]}, []),
    (t("integer", allOf=[{"minimum": 1}, {"maximum": 5}]), 7,
     body("7", "should be less than or equal to 5") + combo("validate all the schemas (allOf)")),
    (t("object", oneOf=[REQ_A, {"required": ["b"]}]), {"a": 1, "b": 2},
     combo("validate one and only one schema (oneOf). Found 2 valid alternatives")),
    (t("object", anyOf=[REQ_A, {"required": ["b"]}]), {},
     combo("validate at least one schema (anyOf)") + [(REQ, "Required value", "spec.x.a")]),
    (t("object", **{"not": REQ_A}), {"a": 1}, combo("not validate the schema (not)")),
    (t("integer", format="int32"), 2**40, []), (t("string", format="color"), "x", []),  # ignored
    (t("string", format="date-time"), 5, bad_type("int64", "date-time")),
]


@pytest.mark.parametrize(("prop", "value", "expected"), KEYWORDS)
def test_keywords(prop: dict[str, Any], value: Any, expected: Causes) -> None:
    assert check(prop, value) == expected


FORMATS = [("date-time", "2024-05-01T10:00:00Z", "2024-02-30T10:00:00Z"),
           ("date", "2024-02-29", "2023-02-29"),
           ("uuid", "0e9b5a1c-3f4e-4c1a-9d2b-7a6f5e4d3c2b", "not-a-uuid"),
           ("ipv4", "10.0.0.1", "10.0.0.256"), ("ipv6", "fe80::1", "10.0.0.1"),
           ("cidr", "10.0.0.0/8", "10.0.0.0"), ("byte", "aGVsbG8=", "hello!"),
           ("email", "a@example.com", "a.example.com"), ("duration", "1h30m", "soon"),
           ("mac", "00:1b:63:84:45:e6", "00:1b:63"), ("hostname", "my-host.example.com", "-x")]


@pytest.mark.parametrize(("fmt", "good", "bad"), FORMATS)
def test_formats_checked_like_upstream(fmt: str, good: str, bad: str) -> None:
    prop = {"type": "string", "format": fmt}
    assert check(prop, good) == []
    assert check(prop, bad) == [(TYPE, f'Invalid value: "{bad}": spec.x in body must be of type '
                                 f'{fmt}: "{bad}"', "spec.x")]


def test_list_type_set_and_map_report_duplicates() -> None:
    keyed, lt, keys = o(name=S, protocol=S), "x-kubernetes-list-type", "x-kubernetes-list-map-keys"
    schema = CrdSchema(wrap(o(
        tags=t("array", items=S, **{lt: "set"}),
        ports=t("array", items=keyed, **{lt: "map", keys: ["name"]}),
        pairs=t("array", items=keyed, **{lt: "map", keys: ["name", "protocol"]}),
        byKey=t("object", additionalProperties=t("array", items=Z, **{lt: "set"})))))
    x = {"tags": ["a", "b", "a", "a"], "ports": [{"name": "a"}, {"name": "a"}, {}, {}],
         "pairs": [{"name": "a", "protocol": "TCP"}, {"name": "a", "protocol": "UDP"},
                   {"name": "a", "protocol": "TCP"}], "byKey": {"k": [1, 2, 1]}}
    dup = "FieldValueDuplicate"
    assert causes(schema, {"spec": {"x": x}}) == [
        (dup, 'Duplicate value: "a"', "spec.x.tags[2]"),
        (dup, 'Duplicate value: map[string]interface {}{"name":"a"}', "spec.x.ports[1]"),
        (dup, "Duplicate value: map[string]interface {}{}", "spec.x.ports[3]"),
        (dup, 'Duplicate value: map[string]interface {}{"name":"a", "protocol":"TCP"}',
         "spec.x.pairs[2]"),
        (dup, "Duplicate value: 1", "spec.x.byKey[k][2]")]
    assert causes(schema, {"spec": {"x": {"ports": ["x"]}}})[1:] == invalid(
        '"x"', "must be an object for an array of list-type map", "spec.x.ports[0]")


PRUNE_SCHEMA = wrap(o(
    items=t("array", items=o(a=S)), map=t("object", additionalProperties=o(a=S)),
    open=dict(o(known=o(a=S)), **{"x-kubernetes-preserve-unknown-fields": True}),
    n=Z, nn=t("integer", nullable=True), d=t("integer", default=4),
    res=t("object", **{"x-kubernetes-embedded-resource": True,
                       "x-kubernetes-preserve-unknown-fields": True})))


def test_prune_reports_strict_paths_and_keeps_preserved_and_meta_fields() -> None:
    obj = {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n", "odd": 1}, "zzz": 1,
           "spec": {"bogus": 1, "x": {
               "items": [{"a": "1", "b": 2}], "map": {"k": {"a": "1", "c": 3}},
               "open": {"anything": {"goes": 1}, "known": {"a": "1", "d": 4}},
               "n": None, "nn": None, "d": None,
               "res": {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"},
                       "metadata": {"name": "cm", "labels": {"a": "b"}, "bogus": 1,
                                    "generation": "x", "annotations": {}}}}}}
    assert CrdSchema(PRUNE_SCHEMA).prune(obj) == [
        "spec.bogus", "spec.x.items[0].b", "spec.x.map.k.c", "spec.x.open.known.d", "zzz",
        "spec.x.res.metadata.bogus"]
    assert obj == {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n", "odd": 1},
                   "spec": {"x": {
                       "items": [{"a": "1"}], "map": {"k": {"a": "1"}},
                       "open": {"anything": {"goes": 1}, "known": {"a": "1"}},
                       "nn": None, "d": None,  # nullable kept; defaulted later
                       "res": {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"},
                               "metadata": {"name": "cm", "labels": {"a": "b"}}}}}}
    scalar = {"spec": {"x": {"n": {"a": 1}}}}  # an object given for an integer: emptied
    assert CrdSchema(PRUNE_SCHEMA).prune(scalar) == ["spec.x.n.a"]


def test_embedded_resources_need_type_meta() -> None:
    schema = CrdSchema(PRUNE_SCHEMA)
    obj = {"spec": {"x": {"res": {"kind": "Bad_Kind", "metadata": {"name": "a/b"}}}}}
    assert schema.prune(obj) == []
    found = causes(schema, obj)
    assert found[0] == (REQ, "Required value", "spec.x.res.apiVersion")
    assert found[1][2] == "spec.x.res.kind" and "may have mixed case" in found[1][1]
    assert found[2] == (INV, "Invalid value: \"a/b\": may not contain '/'",
                        "spec.x.res.metadata.name")


def test_defaults_from_the_kubernetes_docs() -> None:
    cron = CrdSchema(wrap(o(cronSpec=t("string", default="5 0 * * *"), image=S,
                            replicas=t("integer", minimum=1, maximum=10, default=1))))
    obj: dict[str, Any] = {"spec": {"x": {"image": "my-awesome-cron-image"}}}
    absent: dict[str, Any] = {"spec": {}}
    cron.default(obj)
    cron.default(absent)
    assert obj["spec"]["x"] == {"image": "my-awesome-cron-image", "cronSpec": "5 0 * * *",
                                "replicas": 1}
    assert absent == {"spec": {}}  # no parent, no default
    nullable = CrdSchema(wrap(o(foo=t("string", nullable=False, default="default"),
                                bar=t("string", nullable=True), baz=S)))
    obj = {"spec": {"x": {"foo": None, "bar": None, "baz": None}}}
    assert nullable.prune(obj) == []
    nullable.default(obj)
    assert obj["spec"]["x"] == {"foo": "default", "bar": None}


def test_defaults_recurse_into_defaults_items_and_map_values() -> None:
    inner, c = o(z=t("integer", default=9)), dict(o(d=t("string", default="x")), default={})
    schema = CrdSchema(wrap(dict(o(
        c=c, m=t("object", additionalProperties=inner), tags=t("array", items=S, default=["a"]),
        l=t("array", items=dict(inner, default={"z": 1}))), default={})))
    obj: dict[str, Any] = {"spec": {}}
    schema.default(obj)
    assert obj == {"spec": {"x": {"c": {"d": "x"}, "tags": ["a"]}}}
    obj["spec"]["x"]["tags"].append("b")  # defaults are copies
    obj = {"spec": {"x": {"m": {"k": {}, "j": None}, "l": [None, {}], "tags": None}}}
    schema.default(obj)
    assert obj["spec"]["x"] == {"m": {"k": {"z": 9}, "j": None}, "l": [{"z": 1}, {"z": 9}],
                                "tags": ["a"], "c": {"d": "x"}}


FORBID = "FieldValueForbidden"
STRUCTURAL: list[tuple[dict[str, Any], Causes]] = [
    (o(spec={"properties": {"a": S}}), [(REQ, "Required value: must not be empty for specified "
                                        "object fields", f"{P}.properties[spec].type")]),
    (o(s=t("object", **{"$ref": "#/x"})), [(FORBID, "Forbidden: $ref is not supported",
                                            f"{P}.properties[s].$ref")]),
    (o(s=t("object", properties={"a": S}, additionalProperties=S)), [(
        FORBID, "Forbidden: additionalProperties and properties are mutual exclusive",
        f"{P}.properties[s].additionalProperties")]),
    (o(l=t("array")), [(REQ, "Required value: must be specified", f"{P}.properties[l].items")]),
    (o(a=t("string", anyOf=[S])), [(FORBID, "Forbidden: must be empty to be structural",
                                    f"{P}.properties[a].anyOf[0].type")]),
    (o(a=IOS, p={"x-kubernetes-preserve-unknown-fields": True}), []),
    (t("string"), invalid('"string"', "must be object at the root", f"{P}.type")),
    (o(metadata=o(labels=t("object"))), [(
        FORBID, "Forbidden: must not specify anything other than name and generateName, but "
        "metadata is implicitly specified", f"{P}.properties[metadata]")]),
    (o(metadata=t("object", default={})), [(FORBID, "Forbidden: must not be set in top-level "
                                            "metadata", f"{P}.properties[metadata].default")]),
    (o(r=t("integer", default="x")), [(TYPE, 'Invalid value: "string":  in body must be of type '
                                       'integer: "string"', f"{P}.properties[r].default")]),
    (o(o=dict(o(a=S), default={"a": 1, "b": 2})), [
        (INV, 'Invalid value: map[string]interface {}{"a":1, "b":2}: must not have unknown fields',
         f"{P}.properties[o].default"),
        (TYPE, 'Invalid value: "integer": a in body must be of type string: "integer"',
         f"{P}.properties[o].default.a")]),
    (o(l=t("array", items=S, uniqueItems=True)), [(
        FORBID, "Forbidden: uniqueItems cannot be set to true since the runtime complexity "
        "becomes quadratic", f"{P}.properties[l].uniqueItems")]),
    (o(l=t("array", items=t("object"), **{"x-kubernetes-list-type": "map"})), [(
        REQ, "Required value: must not be empty if x-kubernetes-list-type is map",
        f"{P}.properties[l].x-kubernetes-list-map-keys")]),
    (o(e=t("object", **{"x-kubernetes-embedded-resource": True})), [(
        REQ, "Required value: must not be empty if x-kubernetes-embedded-resource is true without "
        "x-kubernetes-preserve-unknown-fields", f"{P}.properties[e].properties")]),
    (dict(o(a=S), anyOf=[{"properties": {"b": {"pattern": "x"}}}]), [(
        REQ, f"Required value: because it is defined in {P}.anyOf[0].properties[b]",
        f"{P}.properties[b]")]),
]


@pytest.mark.parametrize(("schema", "expected"), STRUCTURAL)
def test_structural_errors(schema: dict[str, Any], expected: Causes) -> None:
    assert [(c.type, c.message, c.field) for c in structural_errors(schema, P)] == expected


def test_node_at_and_helpers() -> None:
    schema = CrdSchema(cloneset_schema())
    assert schema.node_at(["spec", "selector", "matchLabels", "app"]) == S
    weight: list[str | int] = ["spec", "updateStrategy", "priorityStrategy", "weightPriority", 0,
                               "weight"]
    assert schema.node_at(weight) == {"type": "integer", "format": "int32"}
    assert schema.node_at(["spec", "template", "spec"]) is None
    assert schema.node_at(["nope"]) is None
    assert [go_float(f) for f in (1e6, 123456.0, 1e-4, 1e-5, 2.5, 3.0)] == [
        "1e+06", "123456", "0.0001", "1e-05", "2.5", "3"]
    assert translate_pattern("x(?i)[[:alpha:]]\\d$") == "(?i)x[A-Za-z][0-9]\\Z"


def cloneset_schema() -> dict[str, Any]:
    """An OpenKruise CloneSet's schema, abridged: the pod template is preserved, not typed."""
    selector = dict(o(matchLabels=t("object", additionalProperties=S), matchExpressions=t(
        "array", items=dict(o(key=S, operator=S, values=t("array", items=S)),
                            required=["key", "operator"]))), **{"x-kubernetes-map-type": "atomic"})
    i32, preserve = t("integer", format="int32"), {"x-kubernetes-preserve-unknown-fields": True}
    return o(apiVersion=S, kind=S, metadata=t("object"), spec=dict(o(
        replicas=dict(i32, minimum=0, default=1), selector=selector,
        template=t("object", **preserve),
        volumeClaimTemplates=t("array", items=t("object", **preserve)),
        revisionHistoryLimit=dict(i32, default=10), minReadySeconds=i32,
        scaleStrategy=o(maxUnavailable=IOS, podsToDelete=t(
            "array", items=S, **{"x-kubernetes-list-type": "set"})),
        updateStrategy=o(
            type=t("string", default="ReCreate",
                   enum=["ReCreate", "InPlaceIfPossible", "InPlaceOnly"]),
            partition=IOS, maxUnavailable=IOS, maxSurge=IOS, paused=t("boolean"),
            inPlaceUpdateStrategy=o(gracePeriodSeconds=i32),
            priorityStrategy=o(weightPriority=t("array", items=o(matchSelector=selector,
                                                                 weight=i32))))),
        required=["selector", "template"]), status=o(
        **dict.fromkeys(("replicas", "readyReplicas", "availableReplicas", "updatedReplicas"),
                        i32),
        observedGeneration=t("integer", format="int64"), updateRevision=S, labelSelector=S,
        conditions=t("array", items=dict(o(type=S, status=S, reason=S, message=S,
                                           lastTransitionTime=t("string", format="date-time")),
                                         required=["type", "status"]))))


def cloneset() -> dict[str, Any]:
    container = {"name": "web", "image": "nginx:1.27-alpine",
                 "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                 "env": [{"name": "MODE", "value": "production"}, {"name": "POD", "valueFrom": {
                     "fieldRef": {"fieldPath": "metadata.name"}}}],
                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                               "limits": {"cpu": "500m", "memory": "256Mi"}},
                 "readinessProbe": {"httpGet": {"path": "/healthz", "port": 80}},
                 "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
    pvc = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                  "resources": {"requests": {"storage": "1Gi"}}}}
    priority = {"weightPriority": [{"weight": 50, "matchSelector": {"matchLabels": {"z": "a"}}}]}
    return {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"replicas": 5, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                         "containers": [container], "terminationGracePeriodSeconds": 30}},
                     "volumeClaimTemplates": [pvc],
                     "scaleStrategy": {"maxUnavailable": 1, "podsToDelete": ["web-abc12"]},
                     "updateStrategy": {"type": "InPlaceIfPossible", "partition": "20%",
                                        "maxUnavailable": "25%", "maxSurge": 0,
                                        "inPlaceUpdateStrategy": {"gracePeriodSeconds": 10},
                                        "priorityStrategy": priority}},
            "status": {"observedGeneration": 3, "replicas": 5, "readyReplicas": 5,
                       "updateRevision": "web-7d9f8c", "labelSelector": "app=web",
                       "conditions": [{"type": "Ready", "status": "True", "reason": "AllReady",
                                       "lastTransitionTime": "2024-05-01T10:00:00Z"}]}}


def test_cloneset_round_trip() -> None:
    assert structural_errors(cloneset_schema(), P) == []
    schema, obj = CrdSchema(cloneset_schema()), cloneset()
    obj["spec"]["bogus"] = 1
    obj["spec"]["updateStrategy"]["priorityStrategy"]["weightPriority"][0]["extra"] = "x"
    template = copy.deepcopy(obj["spec"]["template"])
    assert schema.prune(obj) == ["spec.bogus", "spec.updateStrategy.priorityStrategy."
                                 "weightPriority[0].extra"]
    schema.default(obj)
    assert obj["spec"]["revisionHistoryLimit"] == 10 and obj["spec"]["template"] == template
    assert schema.validate(obj) == []
    assert obj == orjson.loads(orjson.dumps(cloneset() | {"spec": dict(
        cloneset()["spec"], revisionHistoryLimit=10)}))
    spec = obj["spec"]
    spec.update(replicas="3", minReadySeconds=-1)
    spec["updateStrategy"].update(type="Rolling", partition=True)
    spec["scaleStrategy"]["podsToDelete"] *= 2
    del spec["selector"]
    got = causes(schema, obj)
    assert got[0] == (TYPE, 'Invalid value: "string": spec.replicas in body must be of type '
                      'integer: "string"', "spec.replicas")
    assert (REQ, "Required value", "spec.selector") in got
    assert ("FieldValueNotSupported", 'Unsupported value: "Rolling": supported values: '
            '"ReCreate", "InPlaceIfPossible", "InPlaceOnly"', "spec.updateStrategy.type") in got
    assert got[-1] == ("FieldValueDuplicate", 'Duplicate value: "web-abc12"',
                       "spec.scaleStrategy.podsToDelete[1]")


def test_cloneset_prune_default_validate_is_fast() -> None:
    schema, raw = CrdSchema(cloneset_schema()), orjson.dumps(cloneset())

    def run() -> None:
        obj = orjson.loads(raw)
        schema.prune(obj)
        schema.default(obj)
        schema.validate(obj)
    per_run = min(timeit.repeat(run, number=200, repeat=5)) / 200
    assert per_run < 400e-6  # ~60 µs on a slowish CI core; the budget is 200 µs
