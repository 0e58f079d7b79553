"""Revision naming, equality and history, as table tests over plain dicts."""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.workloads.cloneset.revision import (
    HASH_LABEL,
    equal_revision,
    hash_revision,
    history_to_delete,
    new_revision,
    plan_revisions,
    pod_has_revision,
    revision_data,
    short_hash,
    template_of,
)

Obj = dict[str, Any]
API, KIND = "apps.kruise.io/v1beta1", "CloneSet"


def cloneset(name: str = "web") -> Obj:
    return {"apiVersion": API, "kind": KIND,
            "metadata": {"name": name, "namespace": "default", "uid": "cs-uid",
                         "annotations": {"team": "a",
                                         "kubectl.kubernetes.io/last-applied-configuration":
                                             "{}"}}}


def template(image: str = "nginx:1", **labels: str) -> Obj:
    return {"metadata": {"labels": {"app": "web", **labels}},
            "spec": {"containers": [{"name": "app", "image": image}]}}


def rev(image: str, number: int, collisions: int = 0) -> Obj:
    r = new_revision(cloneset(), template(image), number, collisions, API, KIND)
    r["metadata"]["creationTimestamp"] = f"2024-01-01T00:00:{number:02d}Z"
    return r


def pod(revision: str) -> Obj:
    return {"metadata": {"name": "p", "labels": {"controller-revision-hash": revision}}}


def test_revision_data_replaces_the_whole_template_and_round_trips() -> None:
    data = revision_data(template())
    assert data["spec"]["template"]["$patch"] == "replace"
    assert template_of({"data": data}) == template()


def test_name_is_cloneset_dash_safe_encoded_hash_and_labels_carry_it() -> None:
    r = rev("nginx:1", 1)
    name = r["metadata"]["name"]
    assert name.startswith("web-") and name == f"web-{r['metadata']['labels'][HASH_LABEL]}"
    assert set(short_hash(name)) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert r["metadata"]["labels"]["app"] == "web"
    assert r["metadata"]["annotations"] == {"team": "a"}
    assert r["metadata"]["ownerReferences"][0]["controller"] is True
    assert r["revision"] == 1


def test_hash_depends_on_template_and_collision_count_only() -> None:
    d1, d2 = revision_data(template("nginx:1")), revision_data(template("nginx:2"))
    assert hash_revision(d1, 0) == hash_revision(revision_data(template("nginx:1")), 0)
    assert hash_revision(d1, 0) != hash_revision(d2, 0)
    assert hash_revision(d1, 0) != hash_revision(d1, 1)
    # Key order does not matter (canonical JSON).
    reordered = {"spec": {"containers": [{"image": "nginx:1", "name": "app"}]},
                 "metadata": {"labels": {"app": "web"}}}
    assert hash_revision(revision_data(reordered), 0) == hash_revision(d1, 0)


def test_equal_revision_compares_data_not_names() -> None:
    assert equal_revision(rev("nginx:1", 1), rev("nginx:1", 7, collisions=3))
    assert not equal_revision(rev("nginx:1", 1), rev("nginx:2", 1))


def test_pod_revision_matches_full_name_or_bare_hash() -> None:
    name = rev("nginx:1", 1)["metadata"]["name"]
    assert pod_has_revision(pod(name), name)
    assert pod_has_revision(pod(short_hash(name)), name)
    assert not pod_has_revision(pod("web-other"), name)
    assert not pod_has_revision({"metadata": {}}, name)


def plan(image: str, revisions: list[Obj], current: str = "", collisions: int = 0,
         taken: dict[str, Obj] | None = None) -> Any:
    names = {r["metadata"]["name"]: r for r in revisions}
    return plan_revisions(cloneset(), template(image), revisions, taken or names, collisions,
                          current, API, KIND)


def test_first_pass_creates_revision_1_and_current_is_update() -> None:
    p = plan("nginx:1", [])
    assert p.create is not None and p.create["revision"] == 1
    assert p.update is None and p.current is None and p.bump is None


def test_unchanged_template_finds_the_newest_revision() -> None:
    r1, r2 = rev("nginx:1", 1), rev("nginx:2", 2)
    p = plan("nginx:2", [r1, r2], current=r1["metadata"]["name"])
    assert p.create is None and p.bump is None
    assert p.update is r2 and p.current is r1


def test_new_template_creates_the_next_revision_number() -> None:
    r1 = rev("nginx:1", 1)
    p = plan("nginx:2", [r1], current=r1["metadata"]["name"])
    assert p.create is not None and p.create["revision"] == 2 and p.current is r1


def test_rollback_to_an_old_template_bumps_the_old_revision() -> None:
    r1, r2 = rev("nginx:1", 1), rev("nginx:2", 2)
    p = plan("nginx:1", [r1, r2], current=r2["metadata"]["name"])
    assert p.create is None and p.bump == (r1["metadata"]["name"], 3)


def test_name_taken_by_different_data_bumps_the_collision_count() -> None:
    r1 = rev("nginx:1", 1)
    wanted = rev("nginx:2", 2)
    impostor = {**rev("nginx:9", 5), "metadata": {**wanted["metadata"]}}
    p = plan("nginx:2", [r1], taken={wanted["metadata"]["name"]: impostor,
                                     r1["metadata"]["name"]: r1})
    assert p.collision_count == 1
    assert p.create is not None and p.create["metadata"]["name"] != wanted["metadata"]["name"]


def test_name_taken_by_equal_data_does_not_count_as_a_collision() -> None:
    wanted = rev("nginx:2", 1)
    p = plan("nginx:2", [], taken={wanted["metadata"]["name"]: wanted})
    assert p.collision_count == 0 and p.create is not None


@pytest.mark.parametrize(("case", "limit", "pods_on", "expected"), [
    ("keep 10: nothing to delete", 10, [], []),
    ("keep 1 of 3 unused: the two oldest go", 1, [], [0, 1]),
    ("keep 0: every unused one goes", 0, [], [0, 1, 2]),
    ("a pod on revision 1 keeps it", 0, [0], [1, 2]),
    ("a pod labelled with the bare hash keeps it too", 0, [-1], [1, 2]),
])
def test_history_keeps_current_update_and_used(case: str, limit: int, pods_on: list[int],
                                               expected: list[int]) -> None:
    revs = [rev(f"nginx:{i}", i + 1) for i in range(5)]
    names = [r["metadata"]["name"] for r in revs]
    pods = [pod(names[i]) for i in pods_on if i >= 0]
    pods += [pod(short_hash(names[0])) for i in pods_on if i < 0]
    got = history_to_delete(list(reversed(revs)), pods, names[3], names[4], limit)
    assert got == [names[i] for i in expected], case
