"""Tests for field sets, their FieldsV1 encoding and the schema views (mizzen.apiserver.fieldpath).

Expected sets and tries are written from structured-merge-diff's rules (``ToFieldSet``,
``fieldpath/serialize.go``): members are scalars, atomic values, list items and map
elements; a struct field holding a map is only a prefix; ``"."`` marks a member that also
has children; elements sort fields < keys < values, numbers numerically.
"""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.apiserver.crdschema import CrdSchema
from mizzen.apiserver.fieldpath import FieldPathError, FieldSet, SchemaView, from_object
from mizzen.apiserver.fieldpath_elements import go_json, path_string, pe_string
from mizzen.apiserver.fieldpath_views import DEDUCED, SchemaViews
from mizzen.apiserver.fieldpath_walk import compare, members, merge, remove_items
from mizzen.apiserver.schema import SchemaSet

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def views() -> SchemaViews:
    return SchemaViews(SchemaSet())


@pytest.fixture(scope="module")
def deployment_view(views: SchemaViews) -> SchemaView:
    return views.builtin("apps", "v1", "Deployment")


def paths(fs: FieldSet) -> list[str]:
    return [path_string(p) for p in fs.sorted()]


def small_deployment() -> Obj:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "web", "image": "nginx:1.25",
                     "ports": [{"containerPort": 80}]},
                ]},
            },
        },
    }


# A literal built from upstream's documented format (what kubectl apply --server-side of
# small_deployment() stores), byte for byte in key order.
SMALL_DEPLOYMENT_FIELDS_V1 = (
    '{"f:metadata":{"f:labels":{"f:app":{}}},'
    '"f:spec":{"f:replicas":{},"f:selector":{},'
    '"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},'
    '"f:spec":{"f:containers":{"k:{\\"name\\":\\"web\\"}":{".":{},"f:image":{},"f:name":{},'
    '"f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},'
    '"f:containerPort":{}}}}}}}}}'
)


def test_apply_of_a_small_deployment_encodes_exactly_as_upstream(
        deployment_view: SchemaView) -> None:
    import orjson

    fs = from_object(small_deployment(), deployment_view)
    stripped = fs - FieldSet.of("apiVersion", "kind", "metadata.name")
    assert orjson.dumps(stripped.to_fields_v1()).decode() == SMALL_DEPLOYMENT_FIELDS_V1
    assert FieldSet.from_fields_v1(orjson.loads(SMALL_DEPLOYMENT_FIELDS_V1)) == stripped


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param({"spec": {"template": {"spec": {"tolerations": [{"key": "a"}]}}}},
                 [".spec.template.spec.tolerations"], id="atomic list is one leaf"),
    pytest.param({"metadata": {"finalizers": ["b", "a"]}},
                 ['.metadata.finalizers[="a"]', '.metadata.finalizers[="b"]'],
                 id="set list items by value"),
    pytest.param({"spec": {"selector": {"matchLabels": {"a": "b"}}}}, [".spec.selector"],
                 id="atomic struct (LabelSelector) is one leaf"),
    pytest.param({"metadata": {"labels": {"a": "1"}}}, [".metadata.labels.a"],
                 id="labels: elements are members, the declared field is not"),
    pytest.param({"spec": {"template": {"spec": {"containers": [{"name": "c",
                                                                   "resources": {}}]}}}},
                 ['.spec.template.spec.containers[name="c"]',
                  '.spec.template.spec.containers[name="c"].name'],
                 id="empty struct owns nothing, the list item owns itself"),
    pytest.param({"spec": {"template": {"spec": {"containers": [{
        "name": "c", "ports": [{"containerPort": 443}, {"containerPort": 80,
                                                        "protocol": "UDP"}]}]}}}},
        ['.spec.template.spec.containers[name="c"]',
         '.spec.template.spec.containers[name="c"].name',
         '.spec.template.spec.containers[name="c"].ports[containerPort=80,protocol="UDP"]',
         '.spec.template.spec.containers[name="c"].ports[containerPort=443,protocol="TCP"]',
         '.spec.template.spec.containers[name="c"].ports[containerPort=80,protocol="UDP"]'
         '.containerPort',
         '.spec.template.spec.containers[name="c"].ports[containerPort=80,protocol="UDP"]'
         '.protocol',
         '.spec.template.spec.containers[name="c"].ports[containerPort=443,protocol="TCP"]'
         '.containerPort'],
        id="ports keyed by containerPort and defaulted protocol, sorted numerically"),
])
def test_from_object_members(deployment_view: SchemaView, obj: Obj,
                             expected: list[str]) -> None:
    assert paths(from_object(obj, deployment_view)) == expected


def test_set_algebra() -> None:
    a = FieldSet.of("spec.replicas", "spec.paused", "metadata.labels.app")
    b = FieldSet.of("spec.replicas", "spec.minReadySeconds")
    assert a | b == FieldSet.of("spec.replicas", "spec.paused", "metadata.labels.app",
                                "spec.minReadySeconds")
    assert a - b == FieldSet.of("spec.paused", "metadata.labels.app")
    assert a & b == FieldSet.of("spec.replicas")
    assert a.recursive_difference(FieldSet.of("spec")) == FieldSet.of("metadata.labels.app")
    assert a.with_prefix("f:spec") == FieldSet.of("replicas", "paused")
    assert not FieldSet() and len(a) == 3 and ("f:spec", "f:paused") in a
    assert hash(a & b) == hash(FieldSet.of("spec.replicas"))


def test_iteration_order_is_members_first_then_children() -> None:
    fs = FieldSet.of("spec.template.x", "spec.replicas", "metadata.labels.app", "spec.a.b")
    assert paths(fs) == [".metadata.labels.app", ".spec.replicas", ".spec.a.b",
                         ".spec.template.x"]


def test_fields_v1_decoding_rules() -> None:
    raw: Obj = {"f:a": {".": {}, "f:b": {}}, "f:c": {"f:d": {}}, "x:future": {},
           'k:{"port":80,"name":"x"}': {}}
    fs = FieldSet.from_fields_v1(raw)
    assert paths(fs) == [".a", '[name="x",port=80]', ".a.b", ".c.d"]
    # keys are re-spelled canonically (sorted), so equal sets compare equal
    assert 'k:{"name":"x","port":80}' in fs.to_fields_v1()
    bad: Any
    for bad in ({"f:a": 1}, {"k:notjson": {}}, {"v:": {}}, {"i:x": {}}, []):
        with pytest.raises(ValueError):
            FieldSet.from_fields_v1(bad)


def test_element_spelling() -> None:
    assert go_json({"b": 1.0, "a": "<x>&"}) == '{"a":"\\u003cx\\u003e\\u0026","b":1}'
    assert pe_string('v:"example.com/f"') == '[="example.com/f"]'
    assert pe_string("i:3") == "[3]"
    assert pe_string('k:{"ok":true,"n":1.5}') == "[ok=true,n=1.5]"


def test_strict_conversion_reports_duplicates_and_missing_keys(
        deployment_view: SchemaView) -> None:
    obj = {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "env": [{"name": "A"}, {"name": "A"}]},
        {"image": "x"}]}}}}
    with pytest.raises(FieldPathError) as err:
        from_object(obj, deployment_view, strict=True)
    assert err.value.text() == (
        "errors:\n"
        '  .spec.template.spec.containers[name="c"].env: duplicate entries for key '
        '[name="A"]\n'
        '  .spec.template.spec.containers: element 1: associative list with keys has an '
        'element that omits key field "name" (and doesn\'t have default value)')
    # live objects are tolerated: the keyless item by index, duplicates collapse
    assert '.spec.template.spec.containers[1]' in paths(from_object(obj, deployment_view))


CRD_SCHEMA: Obj = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "ports": {"type": "array", "x-kubernetes-list-type": "map",
                          "x-kubernetes-list-map-keys": ["port", "protocol"],
                          "items": {"type": "object", "properties": {
                              "port": {"type": "integer"},
                              "protocol": {"type": "string", "default": "TCP"}}}},
                "args": {"type": "array", "items": {"type": "string"}},
                "tags": {"type": "array", "x-kubernetes-list-type": "set",
                         "items": {"type": "string"}},
                "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                             "additionalProperties": {"type": "string"}},
                "config": {"type": "object", "additionalProperties": {
                    "type": "object", "properties": {"v": {"type": "string"}}}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
    },
}


def test_custom_resource_view(views: SchemaViews) -> None:
    view = views.custom("example.com", "v1", "Widget", CrdSchema(CRD_SCHEMA).raw)
    assert views.custom("example.com", "v1", "Widget", CRD_SCHEMA) is view
    obj = {"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": "w", "labels": {"a": "b"}},
           "spec": {"ports": [{"port": 80}], "args": ["x", "y"], "tags": ["t"],
                    "selector": {"a": "b"}, "config": {"k": {"v": "1"}},
                    "extra": {"deep": {"x": 1}, "list": [1, 2]}}}
    assert paths(from_object(obj, view)) == [
        ".apiVersion", ".kind",
        ".metadata.name", ".metadata.labels.a",
        ".spec.args", ".spec.selector",
        ".spec.config.k", ".spec.config.k.v",
        ".spec.extra.deep", ".spec.extra.list", ".spec.extra.deep.x",
        '.spec.ports[port=80,protocol="TCP"]', '.spec.ports[port=80,protocol="TCP"].port',
        '.spec.tags[="t"]']


def test_schema_less_data_is_deduced() -> None:
    obj = {"a": {"b": {"c": 1}}, "l": [1, 2]}
    assert paths(from_object(obj, DEDUCED)) == [".a", ".l", ".a.b", ".a.b.c"]


def test_compare_reports_added_modified_removed(deployment_view: SchemaView) -> None:
    old = small_deployment()
    new = small_deployment()
    new["spec"]["replicas"] = 3
    new["metadata"]["labels"] = {"app": "web", "tier": "front"}
    new["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "b"})
    del new["spec"]["template"]["spec"]["containers"][0]["ports"]
    cmp = compare(old, new, deployment_view)
    assert paths(cmp.modified) == [".spec.replicas"]
    assert paths(cmp.added) == [
        ".metadata.labels.tier", '.spec.template.spec.containers[name="side"]',
        '.spec.template.spec.containers[name="side"].image',
        '.spec.template.spec.containers[name="side"].name']
    assert paths(cmp.removed)[:2] == [
        '.spec.template.spec.containers[name="web"].ports',
        '.spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"]']
    assert compare(old, small_deployment(), deployment_view).is_same()


def test_merge_orders_list_items_as_upstream(deployment_view: SchemaView) -> None:
    view = deployment_view.field("spec")[0].field("template")[0].field("spec")[0]
    live = {"containers": [{"name": "a", "image": "1"}, {"name": "x", "image": "9"},
                           {"name": "b", "image": "2"}]}
    config = {"containers": [{"name": "b", "image": "3"}, {"name": "new"},
                             {"name": "a"}]}
    merged = merge(live, config, view)
    assert [(c["name"], c.get("image")) for c in merged["containers"]] == [
        ("x", "9"), ("b", "3"), ("new", None), ("a", "1")]
    assert live["containers"][2]["image"] == "2"  # inputs are not changed


def test_remove_items_drops_emptied_containers(deployment_view: SchemaView) -> None:
    obj = small_deployment()
    gone = FieldSet([("f:metadata", "f:labels", "f:app"),
                     ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"web"}')])
    out = remove_items(obj, gone, deployment_view)
    assert "labels" not in out["metadata"]
    assert "spec" not in out["spec"]["template"]
    assert obj["metadata"]["labels"] == {"app": "web"}


def test_editing_a_stored_fields_v1_matches_re_encoding(deployment_view: SchemaView) -> None:
    import random

    from mizzen.apiserver import fieldpath_v1

    full = from_object(small_deployment(), deployment_view)
    universe = sorted(full.paths) + [("f:spec", "f:paused"), ("f:spec", "f:template", "f:x"),
                                     ("f:metadata", "f:labels", "f:new")]
    rng = random.Random(7)
    for _ in range(300):
        start = FieldSet(rng.sample(universe, rng.randint(0, len(universe))))
        remove = FieldSet(rng.sample(universe, rng.randint(0, 4)))
        add = FieldSet(rng.sample(universe, rng.randint(0, 4))) - remove
        raw = start.to_fields_v1()
        snapshot = repr(raw)
        out = fieldpath_v1.patch(raw, remove=remove.paths, add=add.paths)
        expected = ((start - remove) | add).to_fields_v1()
        assert out == expected and list(out) == list(expected)
        assert repr(out) == repr(expected)  # same key order at every level
        assert repr(raw) == snapshot  # the stored trie is never changed
        for p in universe:
            assert fieldpath_v1.has(expected, p) == (p in (start - remove) | add)


def test_members_agrees_with_the_whole_field_set(deployment_view: SchemaView) -> None:
    obj = small_deployment()
    obj["spec"]["template"]["spec"]["tolerations"] = [{"key": "a"}]
    full = from_object(obj, deployment_view)
    probe = full | FieldSet([("f:metadata", "f:labels"), ("f:spec", "f:template"),
                             ("f:spec", "f:template", "f:spec", "f:tolerations"),
                             ("f:spec", "f:nope"),
                             ("f:spec", "f:template", "f:spec", "f:containers",
                              'k:{"name":"other"}')])
    assert members(obj, probe, deployment_view) == full


def test_walks_leave_no_reference_cycles(deployment_view: SchemaView) -> None:
    """Every write runs these walks: garbage they left in cycles would wake the cyclic
    collector, which stops the event loop for milliseconds, every few thousand writes."""
    import gc

    from mizzen.apiserver import fieldpath_v1

    def walk_all() -> None:
        old, new = small_deployment(), small_deployment()
        new["spec"]["replicas"] = 3
        new["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "b"})
        full = from_object(new, deployment_view)
        assert not compare(old, new, deployment_view).is_same()
        assert members(new, full, deployment_view) == full
        assert FieldSet(fieldpath_v1.decode(full.to_fields_v1())) == full
        assert full.sorted()

    walk_all()  # fill lazily built caches first
    gc.collect()
    gc.disable()
    try:
        for _ in range(10):
            walk_all()
        assert gc.collect() == 0
    finally:
        gc.enable()
