"""Structural sharing of cached objects (mizzen.runtime.sharing), alone and in an informer."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mizzen.client.client import Client
from mizzen.client.resources import CONFIGMAPS
from mizzen.runtime.clock import RealClock
from mizzen.runtime.informer import SharedInformer
from mizzen.runtime.sharing import DEFAULT_PATHS, Sharer
from tests.runtime.test_informer import running
from tests.runtime.util import wait_until

Obj = dict[str, Any]
NS = "default"


def pod(name: str, node: str = "n1", image: str = "nginx", ready: str = "True") -> Obj:
    return {"metadata": {"name": name, "namespace": NS, "labels": {"app": "web"},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "web",
                                              "uid": "u-1", "controller": True}]},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": image}]},
            "status": {"podIP": f"10.0.0.{len(name)}",
                       "conditions": [{"type": "Ready", "status": ready}]}}


def test_equal_parts_of_different_objects_become_one_object() -> None:
    sharer = Sharer()
    a, b = sharer.share(pod("a")), sharer.share(pod("bb"))
    assert b["spec"] is a["spec"]
    assert b["metadata"]["labels"] is a["metadata"]["labels"]
    assert b["metadata"]["ownerReferences"] is a["metadata"]["ownerReferences"]
    assert b["status"]["conditions"] is a["status"]["conditions"]
    assert b["status"] is not a["status"]  # status is not a shared path: podIP differs
    assert sharer.hits == 4 and sharer.misses == 4


def test_sharing_never_changes_what_an_object_says() -> None:
    sharer = Sharer()
    objs = [pod(f"p{i}", node=f"n{i % 2}", ready="True" if i % 3 else "False")
            for i in range(12)]
    expected = copy.deepcopy(objs)
    assert [sharer.share(o) for o in objs] == expected


def test_different_parts_stay_apart() -> None:
    sharer = Sharer()
    a, b = sharer.share(pod("a", node="n1")), sharer.share(pod("b", node="n2"))
    assert a["spec"] is not b["spec"] and a["spec"] != b["spec"]
    assert b["metadata"]["labels"] is a["metadata"]["labels"]


def test_a_new_version_takes_the_equal_parts_of_the_version_it_replaces() -> None:
    sharer = Sharer(capacity=1)  # the table alone could not remember spec and labels
    old = sharer.share(pod("a"))
    new = pod("a", ready="False")
    new["metadata"]["resourceVersion"] = "2"
    sharer.share(new, old)
    assert new["spec"] is old["spec"]
    assert new["metadata"]["labels"] is old["metadata"]["labels"]
    assert new["status"]["conditions"] is not old["status"]["conditions"]
    assert new["status"]["conditions"] == [{"type": "Ready", "status": "False"}]


def test_the_table_forgets_the_least_recently_used_parts_beyond_its_capacity() -> None:
    sharer = Sharer(paths=[("spec",)], capacity=2)
    first = sharer.share(pod("a", node="n1"))
    sharer.share(pod("b", node="n2"))
    sharer.share(pod("c", node="n1"))  # n1 used again: now the most recent
    sharer.share(pod("d", node="n3"))  # evicts n2
    assert len(sharer) == 2
    assert sharer.share(pod("e", node="n1"))["spec"] is first["spec"]
    n2 = pod("f", node="n2")
    spec = n2["spec"]
    assert sharer.share(n2)["spec"] is spec  # forgotten: entered afresh


def test_missing_empty_and_scalar_values_are_left_alone() -> None:
    sharer = Sharer(paths=[("metadata", "labels"), ("spec",), ("status", "conditions")])
    obj: Obj = {"metadata": {"labels": {}}, "spec": "not an object", "status": None}
    assert sharer.share(obj) == {"metadata": {"labels": {}}, "spec": "not an object",
                                 "status": None}
    assert sharer.share({"kind": "Nothing"}) == {"kind": "Nothing"}
    assert len(sharer) == 0


def test_paths_and_capacity_are_checked() -> None:
    assert ("spec",) in DEFAULT_PATHS
    with pytest.raises(ValueError):
        Sharer(paths=[()])
    with pytest.raises(ValueError):
        Sharer(capacity=0)


def cm(name: str, **data: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": NS, "labels": {"app": "shared"},
                         "annotations": {"note": "the same for all"}},
            "data": data}


async def test_an_informer_caches_equal_parts_once_and_objects_as_the_server_has_them(
        client: Client) -> None:
    for i in range(3):
        await client.create(CONFIGMAPS, cm(f"c{i}", k=str(i)), NS)
    informer = SharedInformer(client, CONFIGMAPS, RealClock(), namespace=NS,
                              check_mutations=True)
    async with running(informer):
        cached = [informer.cache.get(f"c{i}", NS) for i in range(3)]
        assert all(c is not None for c in cached)
        first = cached[0]
        assert first is not None
        for c in cached[1:]:
            assert c is not None
            assert c["metadata"]["labels"] is first["metadata"]["labels"]
            assert c["metadata"]["annotations"] is first["metadata"]["annotations"]
        await client.patch(CONFIGMAPS, "c0", {"data": {"k": "changed"}}, NS)
        await wait_until(lambda: (informer.cache.get("c0", NS) or {}).get("data")
                         == {"k": "changed"})
        now = informer.cache.get("c0", NS)
        assert now is not None and now["metadata"]["labels"] is first["metadata"]["labels"]
        for i in range(3):
            served = await client.get(CONFIGMAPS, f"c{i}", NS)
            served["metadata"].pop("managedFields", None)
            assert informer.cache.get(f"c{i}", NS) == served
        assert informer.sharer is not None and informer.sharer.hits >= 5


async def test_sharing_can_be_turned_off(client: Client) -> None:
    for i in range(2):
        await client.create(CONFIGMAPS, cm(f"d{i}"), NS)
    informer = SharedInformer(client, CONFIGMAPS, RealClock(), namespace=NS, share_paths=())
    async with running(informer):
        a, b = informer.cache.get("d0", NS), informer.cache.get("d1", NS)
        assert a is not None and b is not None and informer.sharer is None
        assert a["metadata"]["labels"] == b["metadata"]["labels"]
        assert a["metadata"]["labels"] is not b["metadata"]["labels"]
