"""pod-template-hash, revision annotations and the fencepost arithmetic, as tables."""

from __future__ import annotations

from typing import Any

import pytest

import mizzen.cluster.deployment as deployment_pkg
from mizzen.cluster.deployment.replicas import resolve_fenceposts, scaled_value
from mizzen.cluster.deployment.revision import (
    POD_TEMPLATE_HASH,
    REVISION,
    REVISION_HISTORY,
    compute_hash,
    equal_ignore_hash,
    new_rs_annotations,
)
from mizzen.runtime.hashing import canonical, fnv1a_32, safe_encode
from tests.cluster.deployment.builders import V1, V2, dep

Obj = dict[str, Any]


def test_hash_is_safe_encoded_fnv_of_the_canonical_template() -> None:
    expected = safe_encode(str(fnv1a_32(canonical(V1))))
    assert compute_hash(V1) == expected
    assert set(compute_hash(V1)) <= set("456789bcdf")
    assert compute_hash(V1) != compute_hash(V2)


def test_canonical_form_sorts_keys_and_drops_null_and_empty_values() -> None:
    noisy = {"spec": {"containers": [{"name": "app", "image": "nginx:1"}], "volumes": []},
             "metadata": {"labels": {"app": "web"}, "creationTimestamp": None,
                          "annotations": {}}}
    assert canonical(noisy) == canonical(V1)
    assert canonical(V1) == (b'{"metadata":{"labels":{"app":"web"}},"spec":{"containers":'
                             b'[{"image":"nginx:1","name":"app"}]}}')


def test_hash_ignores_its_own_label_and_changes_with_the_collision_count() -> None:
    labelled = {**V1, "metadata": {"labels": {"app": "web", POD_TEMPLATE_HASH: "x"}}}
    assert compute_hash(labelled) == compute_hash(V1)
    assert equal_ignore_hash(labelled, V1) and not equal_ignore_hash(V1, V2)
    assert len({compute_hash(V1), compute_hash(V1, 1), compute_hash(V1, 2)}) == 3
    assert compute_hash(V1, 0) == compute_hash(V1, 0)


@pytest.mark.parametrize(("value", "total", "up", "want"), [
    ("25%", 10, True, 3), ("25%", 10, False, 2), ("25%", 1, True, 1), ("25%", 1, False, 0),
    (2, 10, True, 2), ("0%", 10, True, 0), ("100%", 7, False, 7), ("x", 10, True, 0),
])
def test_scaled_value_rounds_surge_up_and_unavailable_down(value: Any, total: int, up: bool,
                                                           want: int) -> None:
    assert scaled_value(value, total, up) == want


@pytest.mark.parametrize(("replicas", "surge", "unavailable", "want"), [
    (10, "25%", "25%", (3, 2)), (1, "25%", "25%", (1, 0)), (3, 0, 0, (0, 1)),
    (4, "0%", "10%", (0, 1)),
])
def test_fenceposts(replicas: int, surge: Any, unavailable: Any,
                    want: tuple[int, int]) -> None:
    assert resolve_fenceposts(dep(replicas, surge=surge, unavailable=unavailable)) == want


def test_an_old_replicaset_brought_back_keeps_its_history_within_2000_characters() -> None:
    history = ",".join(str(n) for n in range(1000, 1400))  # 1999 characters
    annotations, changed = new_rs_annotations(
        dep(), {REVISION: "1400", REVISION_HISTORY: history}, 1500, True, 10, 13)
    assert changed and annotations[REVISION] == "1500"
    kept = annotations[REVISION_HISTORY].split(",")
    assert kept[-1] == "1400" and kept[0] == "1001"  # the oldest entry made room
    assert len(annotations[REVISION_HISTORY]) <= 2000


def test_public_api() -> None:
    assert sorted(deployment_pkg.__all__) == [
        "DeploymentController", "DeploymentOptions", "DeploymentPlan", "Event", "Observed",
        "ReplicaSetUpdate", "add_deployment_controller", "compute_hash", "plan",
        "safe_encode"]
