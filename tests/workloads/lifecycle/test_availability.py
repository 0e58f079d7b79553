"""is_pod_available: the workloads' stricter availability rule, as a table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mizzen.api.kruise import INPLACE_UPDATE_READY
from mizzen.workloads.lifecycle import is_pod_available
from tests.workloads.lifecycle.podsim import pod

Obj = dict[str, Any]
READY_AT = datetime(2024, 5, 1, 11, 0, 0, tzinfo=UTC)


def with_condition(p: Obj, kind: str, status: str) -> Obj:
    p["status"]["conditions"].append({"type": kind, "status": status})
    return p


def deleting(p: Obj) -> Obj:
    p["metadata"]["deletionTimestamp"] = "2024-05-01T11:30:00Z"
    return p


@pytest.mark.parametrize(("p", "min_ready", "available"), [
    (pod("Normal"), 0, True),
    (pod(None), 0, True),
    (pod("PreparingNormal"), 0, False),
    (pod("PreparingUpdate"), 0, False),
    (pod("Updating"), 0, False),
    (pod("PreparingDelete"), 0, False),
    (pod("Normal", labels={"unavailable-pod.kruise.io/migrating": "x"}), 0, False),
    (with_condition(pod("Normal"), INPLACE_UPDATE_READY, "False"), 0, False),
    (pod("Normal"), 60, True),
    (pod("Normal"), 3600, False),
    (deleting(pod("Normal")), 0, False),
], ids=["Normal and ready", "no state label", "PreparingNormal", "PreparingUpdate",
        "Updating", "PreparingDelete", "unavailable-pod label", "InPlaceUpdateReady False",
        "ready longer than minReadySeconds", "not ready for minReadySeconds yet",
        "being deleted"])
def test_is_pod_available(p: Obj, min_ready: int, available: bool) -> None:
    now = READY_AT + timedelta(minutes=30)
    assert is_pod_available(p, min_ready, now) is available
