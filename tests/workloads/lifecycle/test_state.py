"""Lifecycle state label, timestamp annotation and hook matching."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mizzen.api.cloneset.types import LifecycleHook
from mizzen.api.kruise import LIFECYCLE_STATE, LIFECYCLE_TIMESTAMP, LifecycleState
from mizzen.workloads.lifecycle import (
    created_annotations,
    created_labels,
    is_all_hooked,
    is_hooked,
    state_of,
    state_patch,
)
from tests.workloads.lifecycle.podsim import pod

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
HOOK = LifecycleHook(labels_handler={"example.com/drain": "true", "example.com/lb": "on"},
                     finalizers_handler=("example.com/unregister",))


@pytest.mark.parametrize(("labels", "finalizers", "hooked", "all_hooked"), [
    ({}, (), False, False),
    ({"example.com/drain": "true"}, (), True, False),
    ({"example.com/drain": "false"}, (), False, False),
    ({}, ("example.com/unregister",), True, False),
    ({"example.com/drain": "true", "example.com/lb": "on"}, ("example.com/unregister",),
     True, True),
], ids=["nothing present", "one label with its value", "a label with another value",
        "one finalizer", "every label and finalizer"])
def test_hook_matching(labels: dict[str, str], finalizers: tuple[str, ...], hooked: bool,
                       all_hooked: bool) -> None:
    p = pod(labels=labels, finalizers=finalizers)
    assert (is_hooked(p, HOOK), is_all_hooked(p, HOOK)) == (hooked, all_hooked)


def test_no_hook_neither_holds_nor_is_in_place() -> None:
    assert not is_hooked(pod(), None) and not is_all_hooked(pod(), None)


def test_state_of_reads_the_label() -> None:
    assert state_of(pod("PreparingUpdate")) == LifecycleState.PREPARING_UPDATE
    assert state_of(pod(None)) is None
    assert state_of(pod("SomethingNew")) is None


def test_created_pods_start_preparing_normal_with_a_timestamp_annotation() -> None:
    assert created_labels() == {LIFECYCLE_STATE: "PreparingNormal"}
    assert created_annotations(NOW) == {LIFECYCLE_TIMESTAMP: "2024-05-01T12:00:00Z"}


def test_state_patch_with_a_hook_rearms_its_labels_and_finalizers() -> None:
    assert state_patch(LifecycleState.NORMAL, NOW) == {"metadata": {
        "annotations": {LIFECYCLE_TIMESTAMP: "2024-05-01T12:00:00Z"},
        "labels": {LIFECYCLE_STATE: "Normal"}}}
    assert state_patch(LifecycleState.PREPARING_UPDATE, NOW, HOOK) == {"metadata": {
        "annotations": {LIFECYCLE_TIMESTAMP: "2024-05-01T12:00:00Z"},
        "finalizers": ["example.com/unregister"],
        "labels": {"example.com/drain": "true", "example.com/lb": "on",
                   LIFECYCLE_STATE: "PreparingUpdate"}}}
