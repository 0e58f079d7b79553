"""Cache: keys, indexes kept current on every write, relist diffs, mutation detection."""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.runtime.cache import (
    BY_LABEL,
    BY_NAMESPACE,
    BY_NODE_NAME,
    BY_OWNER_UID,
    Cache,
    CacheMutationError,
    by_label,
    by_namespace,
    by_node_name,
    by_owner_uid,
    copy_of,
    key_of,
)


def pod(name: str, ns: str = "default", rv: str = "1", node: str = "",
        labels: dict[str, str] | None = None, owner: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "resourceVersion": rv,
                            "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs", "uid": owner}]
    return {"kind": "Pod", "metadata": meta, "spec": {"nodeName": node} if node else {}}


def full_cache(check: bool = False) -> Cache:
    return Cache({BY_NAMESPACE: by_namespace, BY_OWNER_UID: by_owner_uid,
                  BY_NODE_NAME: by_node_name, BY_LABEL: by_label}, check_mutations=check)


def test_keys_and_lookups() -> None:
    cache = full_cache()
    cache.upsert(pod("a", node="n1", labels={"app": "web"}, owner="u1"))
    cache.upsert(pod("b", ns="other", node="n1", labels={"app": "db"}))
    cache.upsert({"kind": "Node", "metadata": {"name": "n1"}})
    assert key_of(pod("a")) == "default/a"
    assert sorted(cache.keys()) == ["default/a", "n1", "other/b"]
    assert cache.get("a", "default") is not None and cache.get("n1") is not None
    assert [o["metadata"]["name"] for o in cache.by_index(BY_NODE_NAME, "n1")] == ["a", "b"]
    assert [o["metadata"]["name"] for o in cache.by_index(BY_OWNER_UID, "u1")] == ["a"]
    assert [o["metadata"]["name"] for o in cache.by_index(BY_LABEL, "app=db")] == ["b"]
    assert [o["metadata"]["name"] for o in cache.list("other")] == ["b"]
    assert [o["metadata"]["name"] for o in cache.list(labels={"app": "web"})] == ["a"]
    with pytest.raises(KeyError):
        cache.by_index("nope", "x")


def test_indexes_follow_updates_and_removals() -> None:
    cache = full_cache()
    cache.upsert(pod("a", node="n1", rv="1"))
    old = cache.upsert(pod("a", node="n2", rv="2"))
    assert old is not None and old["metadata"]["resourceVersion"] == "1"
    assert cache.by_index(BY_NODE_NAME, "n1") == []
    assert len(cache.by_index(BY_NODE_NAME, "n2")) == 1
    assert cache.remove("default/a") is not None
    assert cache.by_index(BY_NODE_NAME, "n2") == [] and len(cache) == 0
    assert cache.remove("default/a") is None


def test_indexer_added_later_indexes_existing_objects() -> None:
    cache = Cache()
    cache.upsert(pod("a", labels={"tier": "x"}))
    cache.add_indexer(BY_LABEL, by_label)
    assert len(cache.by_index(BY_LABEL, "tier=x")) == 1


def test_replace_reports_adds_updates_and_deletes_but_not_unchanged() -> None:
    cache = full_cache()
    cache.replace([pod("keep", rv="1"), pod("change", rv="1"), pod("gone", rv="1")], "10")
    changes = cache.replace([pod("keep", rv="1"), pod("change", rv="5"), pod("new", rv="6")],
                            "20")
    summary = [(old["metadata"]["name"] if old else "-", new["metadata"]["name"] if new else "-")
               for old, new in changes]
    assert sorted(summary) == [("-", "new"), ("change", "change"), ("gone", "-")]
    assert cache.resource_version == "20"
    assert sorted(cache.keys()) == ["default/change", "default/keep", "default/new"]


def test_mutating_a_cached_object_is_caught_at_its_next_write() -> None:
    cache = full_cache(check=True)
    cache.upsert(pod("a", rv="1"))
    stored = cache.get("a", "default")
    assert stored is not None
    safe = copy_of(stored)
    safe["metadata"]["labels"]["x"] = "y"  # copies are fine
    cache.upsert(pod("a", rv="2"))
    stored = cache.get("a", "default")
    assert stored is not None
    stored["metadata"]["labels"]["x"] = "y"  # the bug the check exists for
    with pytest.raises(CacheMutationError, match="default/a"):
        cache.upsert(pod("a", rv="3"))


def test_copy_of_is_deep() -> None:
    original = pod("a", labels={"k": "v"})
    copied = copy_of(original)
    copied["metadata"]["labels"]["k"] = "changed"
    assert original["metadata"]["labels"]["k"] == "v"
