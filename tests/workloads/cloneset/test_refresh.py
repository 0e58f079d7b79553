"""The refresh step's patch folding: one pod's label patch rides on its pods/status patch."""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.workloads.cloneset.decision import PodPatch
from mizzen.workloads.cloneset.refresh import merge_status_patches, ride_on_status

Obj = dict[str, Any]
STATE = "lifecycle.apps.kruise.io/state"


def ready(status: str = "True") -> PodPatch:
    return PodPatch("web-a", {"status": {"conditions": [
        {"type": "InPlaceUpdateReady", "status": status}]}}, "status")


def label(state: str = "Normal", **extra: Any) -> PodPatch:
    return PodPatch("web-a", {"metadata": {"labels": {STATE: state},
                                           "annotations": {"t": "1"}, **extra}})


CASES = [
    ("update done: InPlaceUpdateReady=True and Updating -> Normal become one status write",
     [ready(), label()],
     [("status", {"metadata": {"labels": {STATE: "Normal"}, "annotations": {"t": "1"}},
                  "status": {"conditions": [{"type": "InPlaceUpdateReady",
                                             "status": "True"}]}})]),
    ("a label move alone stays a pod patch", [label()],
     [("", {"metadata": {"labels": {STATE: "Normal"}, "annotations": {"t": "1"}}})]),
    ("a hook's finalizers ride along too", [ready(), label(finalizers=["example.com/f"])],
     [("status", {"metadata": {"labels": {STATE: "Normal"}, "annotations": {"t": "1"},
                               "finalizers": ["example.com/f"]},
                  "status": {"conditions": [{"type": "InPlaceUpdateReady",
                                             "status": "True"}]}})]),
    ("a spec change never rides on a status write",
     [ready(), PodPatch("web-a", {"spec": {"containers": [{"name": "app", "image": "b"}]}})],
     [("status", ready().body),
      ("", {"spec": {"containers": [{"name": "app", "image": "b"}]}})]),
]


@pytest.mark.parametrize(("name", "patches", "want"), CASES, ids=[c[0] for c in CASES])
def test_ride_on_status(name: str, patches: list[PodPatch],
                        want: list[tuple[str, Obj]]) -> None:
    got = ride_on_status(patches)
    assert [(p.subresource, p.body) for p in got] == want


def test_merging_two_status_patches_keeps_both_conditions_and_the_metadata() -> None:
    kruise = PodPatch("web-a", {"metadata": {"labels": {"a": "1"}}, "status": {"conditions": [
        {"type": "KruisePodReady", "status": "True"}]}}, "status")
    (both,) = merge_status_patches([ready(), kruise])
    assert [c["type"] for c in both.body["status"]["conditions"]] == \
        ["InPlaceUpdateReady", "KruisePodReady"]
    assert both.body["metadata"] == {"labels": {"a": "1"}}
