"""Event handlers: mappers (own object, owner, custom) and predicates."""

from __future__ import annotations

from typing import Any

from mizzen.client.resources import CONFIGMAPS, DEPLOYMENTS, NODES, REPLICASETS
from mizzen.runtime.handlers import (
    all_of,
    annotations_changed,
    any_of,
    enqueue_mapped,
    enqueue_object,
    enqueue_owner,
    generation_changed,
    has_labels,
    labels_changed,
    negate,
    resource_version_changed,
)
from mizzen.runtime.reconcile import Request


class Recorder:
    def __init__(self) -> None:
        self.items: list[Request] = []

    def add(self, item: Request) -> None:
        self.items.append(item)


def obj(name: str, ns: str = "ns", gen: int | None = None, rv: str = "1",
        labels: dict[str, str] | None = None, owners: list[dict[str, Any]] | None = None,
        annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "resourceVersion": rv,
                            "labels": labels or {}, "annotations": annotations or {}}
    if gen is not None:
        meta["generation"] = gen
    if owners:
        meta["ownerReferences"] = owners
    return {"metadata": meta}


def ref(kind: str, name: str, api_version: str = "apps/v1", controller: bool = True
        ) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": f"uid-{name}",
            "controller": controller}


def test_enqueue_object_maps_add_update_delete_to_the_object_key() -> None:
    q = Recorder()
    h = enqueue_object().bind(q)
    h.on_add(obj("a"))
    h.on_update(obj("a"), obj("a", rv="2"))
    h.on_delete(obj("a"))
    assert q.items == [Request("ns", "a")] * 3


def test_enqueue_owner_matches_kind_and_group_and_controller_flag() -> None:
    q = Recorder()
    h = enqueue_owner(REPLICASETS).bind(q)
    h.on_add(obj("p", owners=[ref("ReplicaSet", "rs1"),
                              ref("ReplicaSet", "other", controller=False),
                              ref("ReplicaSet", "wrong-group", api_version="x.io/v1"),
                              ref("Deployment", "d")]))
    assert q.items == [Request("ns", "rs1")]
    q.items.clear()
    enqueue_owner(REPLICASETS, controller_only=False).bind(q).on_add(
        obj("p", owners=[ref("ReplicaSet", "other", controller=False)]))
    assert q.items == [Request("ns", "other")]


def test_enqueue_owner_of_a_core_or_cluster_scoped_kind() -> None:
    q = Recorder()
    enqueue_owner(CONFIGMAPS).bind(q).on_add(obj("s", owners=[ref("ConfigMap", "cm", "v1")]))
    enqueue_owner(NODES).bind(q).on_add(obj("p", owners=[ref("Node", "n1", "v1")]))
    assert q.items == [Request("ns", "cm"), Request("", "n1")]


def test_update_that_changes_owner_enqueues_old_and_new_owner_once_each() -> None:
    q = Recorder()
    h = enqueue_owner(DEPLOYMENTS).bind(q)
    h.on_update(obj("r", owners=[ref("Deployment", "d1")]),
                obj("r", rv="2", owners=[ref("Deployment", "d2")]))
    assert q.items == [Request("ns", "d1"), Request("ns", "d2")]
    q.items.clear()
    h.on_update(obj("r", owners=[ref("Deployment", "d1")]),
                obj("r", rv="2", owners=[ref("Deployment", "d1")]))
    assert q.items == [Request("ns", "d1")]


def test_enqueue_mapped_uses_the_function() -> None:
    q = Recorder()
    h = enqueue_mapped(lambda o: [Request("x", o["metadata"]["name"] + "-1"),
                                  Request("x", o["metadata"]["name"] + "-2")]).bind(q)
    h.on_add(obj("n"))
    assert q.items == [Request("x", "n-1"), Request("x", "n-2")]


def test_generation_changed_filters_status_only_updates() -> None:
    q = Recorder()
    h = enqueue_object(generation_changed).bind(q)
    h.on_update(obj("a", gen=1), obj("a", gen=1, rv="2"))  # status change
    assert q.items == []
    h.on_update(obj("a", gen=1), obj("a", gen=2, rv="3"))
    h.on_add(obj("b", gen=1))
    h.on_delete(obj("c", gen=4))
    assert q.items == [Request("ns", "a"), Request("ns", "b"), Request("ns", "c")]


def test_has_labels_sees_objects_entering_and_leaving_the_selection() -> None:
    sel = has_labels({"mirror": "yes"})
    assert sel(None, obj("a", labels={"mirror": "yes"}))
    assert not sel(None, obj("a", labels={"mirror": "no"}))
    assert sel(obj("a", labels={"mirror": "yes"}), obj("a", labels={}))  # leaving
    assert sel(obj("a", labels={"mirror": "yes"}), None)  # deleted


def test_other_predicates_and_combinators() -> None:
    a, b = obj("a", labels={"x": "1"}), obj("a", rv="2", labels={"x": "2"})
    assert resource_version_changed(a, b) and not resource_version_changed(a, a)
    assert labels_changed(a, b) and not labels_changed(a, obj("a", labels={"x": "1"}))
    assert not annotations_changed(a, b)
    assert annotations_changed(a, obj("a", annotations={"n": "v"}))
    assert any_of(annotations_changed, labels_changed)(a, b)
    assert not all_of(annotations_changed, labels_changed)(a, b)
    assert negate(annotations_changed)(a, b)
