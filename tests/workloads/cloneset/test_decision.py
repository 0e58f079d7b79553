"""The planner's vocabulary: which patch encoding a pod patch goes out as, and which patches
one pass writes."""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.workloads.cloneset.decision import PodPatch, in_write_order

Obj = dict[str, Any]

CASES: list[tuple[str, Obj, str, str]] = [
    ("lifecycle state label and timestamp: maps only, a merge patch means the same",
     {"metadata": {"labels": {"lifecycle.apps.kruise.io/state": "Normal"},
                   "annotations": {"lifecycle.apps.kruise.io/timestamp": "t"}}}, "", "merge"),
    ("the specified-delete label", {"metadata": {"labels": {"x": "true"}}}, "", "merge"),
    ("labels with a resourceVersion precondition",
     {"metadata": {"resourceVersion": "7", "labels": {"a": None}}}, "", "merge"),
    ("the in-place patch: containers merge by name",
     {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "app",
                                                                  "image": "nginx:2"}]}},
     "", "strategic"),
    ("a hook re-armed: finalizers merge", {"metadata": {"finalizers": ["f"]}}, "", "strategic"),
    ("owner references handed over", {"metadata": {"ownerReferences": []}}, "", "strategic"),
    ("a condition: conditions merge by type",
     {"status": {"conditions": [{"type": "InPlaceUpdateReady", "status": "True"}]}},
     "status", "strategic"),
]


@pytest.mark.parametrize(("name", "body", "subresource", "want"), CASES,
                         ids=[c[0] for c in CASES])
def test_patch_type(name: str, body: Obj, subresource: str, want: str) -> None:
    assert PodPatch("web-a", body, subresource).patch_type == want


def test_a_pass_writes_status_patches_first_then_the_rest() -> None:
    a_status = PodPatch("web-a", {"status": {"conditions": []}}, "status")
    a_label = PodPatch("web-a", {"metadata": {"labels": {"x": "1"}}})
    b_label = PodPatch("web-b", {"metadata": {"labels": {"x": "1"}}})
    pvc = PodPatch("data-web-a", {"metadata": {"ownerReferences": []}}, pvc=True)
    assert in_write_order([a_label, b_label, a_status, pvc]) == (a_status, a_label, b_label,
                                                                  pvc)
    assert in_write_order([a_label, b_label]) == (a_label, b_label)
