"""The public surface of the in-place library, pinned."""

from __future__ import annotations

import mizzen.workloads.inplace as inplace


def test_inplace_public_api() -> None:
    assert sorted(inplace.__all__) == sorted([
        "START_REASON", "Completion", "ContainerBatch", "ContainerRecord", "InPlaceChange",
        "InPlaceDiff", "InPlaceUpdateState", "PendingSpec", "QosClass", "RefMetadata",
        "Refresh", "RefreshKind", "StateError", "completion", "condition_patch",
        "container_priority", "diff_templates", "find_condition", "finish_patch",
        "grace_patch", "has_gate", "is_started", "next_batch_patch", "parsed_completion",
        "qos_class",
        "read_grace", "read_state", "refresh", "same_image", "start_patch", "update_patch",
        "with_readiness_gate"])
    assert all(hasattr(inplace, name) for name in inplace.__all__)

