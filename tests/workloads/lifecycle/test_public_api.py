"""The public surface of the lifecycle library, pinned."""

from __future__ import annotations

import mizzen.workloads.lifecycle as lifecycle


def test_lifecycle_public_api() -> None:
    assert sorted(lifecycle.__all__) == sorted([
        "Action", "Transition", "add_not_ready_key", "condition_status",
        "created_annotations", "created_labels", "delete_transition", "finish_transition",
        "initial_patch", "is_all_hooked", "is_hooked", "is_pod_available", "is_serving_state",
        "marked_unavailable", "needs_gate", "normal_transition", "not_ready_keys",
        "refresh_transition", "remove_not_ready_key", "state_of", "state_patch",
        "timestamp_annotations", "update_transition", "with_kruise_ready_gate"])
    assert all(hasattr(lifecycle, name) for name in lifecycle.__all__)
