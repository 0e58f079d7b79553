"""The kubelet's status diff and the body it sends: conditions compared as the API means them,
only the changed ones sent, with nulls for the keys they drop."""

from __future__ import annotations

from typing import Any

from mizzen.cluster.kubelet.status import same_conditions, status_patch, status_write

Obj = dict[str, Any]
T0, T1 = "2024-05-01T12:00:00Z", "2024-05-01T12:00:05Z"


def cond(type_: str, status: str, stamp: str = T0, **extra: Any) -> Obj:
    return {"type": type_, "status": status, "lastProbeTime": None,
            "lastTransitionTime": stamp, **extra}


GATE_FALSE = {"type": "InPlaceUpdateReady", "status": "False", "reason": "StartInPlaceUpdate",
              "lastTransitionTime": T0}
NOT_READY = {"type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady",
             "message": 'the status of pod readiness gate "InPlaceUpdateReady" is not "True", '
                        "but False", "lastTransitionTime": T0}


def test_a_condition_stored_without_its_null_keys_is_the_same() -> None:
    # A strategic merge deletes a key patched to null: what another writer left.
    stored = [cond("PodScheduled", "True"), GATE_FALSE, NOT_READY]
    rendered = [cond("PodScheduled", "True"), GATE_FALSE,
                cond("Ready", "False", reason=NOT_READY["reason"],
                     message=NOT_READY["message"])]
    assert same_conditions(stored, rendered)
    assert status_patch({"conditions": stored}, {"conditions": rendered}) is None


def test_conditions_compare_by_type_not_by_position() -> None:
    a = [cond("Ready", "True"), cond("Initialized", "True")]
    assert same_conditions(a, list(reversed(a)))
    assert not same_conditions(a, [cond("Ready", "True")])
    assert not same_conditions(a, [cond("Ready", "False"), cond("Initialized", "True")])


def test_only_changed_conditions_are_sent_with_nulls_for_dropped_keys() -> None:
    current = {"phase": "Running",
               "conditions": [cond("PodScheduled", "True"), GATE_FALSE, NOT_READY]}
    desired = {"phase": "Running",
               "conditions": [cond("PodScheduled", "True"), GATE_FALSE,
                              cond("Ready", "True", T1)]}
    patch = status_patch(current, desired)
    assert patch == {"conditions": desired["conditions"]}
    body = status_write(current, patch)
    (ready,) = body["conditions"]
    assert ready["type"] == "Ready" and ready["status"] == "True"
    assert ready["lastTransitionTime"] == T1
    # The reason and message of Ready=False must go, or a merge would keep them.
    assert "reason" in ready and ready["reason"] is None
    assert "message" in ready and ready["message"] is None


def test_fields_other_than_conditions_go_as_they_are() -> None:
    current = {"phase": "Pending", "conditions": [cond("Ready", "False")]}
    statuses = [{"name": "app", "ready": True, "state": {"running": {"startedAt": T1}}}]
    patch = status_patch(current, {"phase": "Running", "conditions": [cond("Ready", "False")],
                                   "containerStatuses": statuses})
    assert patch == {"phase": "Running", "containerStatuses": statuses}
    assert status_write(current, patch) == patch


def test_a_new_condition_is_sent_whole() -> None:
    body = status_write({"conditions": []}, {"conditions": [cond("Initialized", "True")]})
    assert body == {"conditions": [cond("Initialized", "True")]}
