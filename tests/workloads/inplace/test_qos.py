"""QoS classes of pod specs, as the vertical-scaling rule needs them."""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.workloads.inplace import QosClass, qos_class
from mizzen.workloads.inplace.qos import same_quantities

Obj = dict[str, Any]


def spec(*resources: Obj, init: Obj | None = None) -> Obj:
    out: Obj = {"containers": [{"name": f"c{i}", "resources": r}
                               for i, r in enumerate(resources)]}
    if init is not None:
        out["initContainers"] = [{"name": "init", "resources": init}]
    return out


FULL = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


@pytest.mark.parametrize(("pod_spec", "expected"), [
    (spec({}), QosClass.BEST_EFFORT),
    (spec({"limits": {"nvidia.com/gpu": "1"}}), QosClass.BEST_EFFORT),
    (spec({"requests": {"cpu": "0"}}), QosClass.BEST_EFFORT),
    (spec(FULL), QosClass.GUARANTEED),
    (spec({"limits": {"cpu": "500m", "memory": "1Gi"}}), QosClass.GUARANTEED),
    (spec({"requests": {"cpu": "1000m", "memory": "1024Mi"},
           "limits": {"cpu": "1", "memory": "1Gi"}}), QosClass.GUARANTEED),
    (spec(FULL, {}), QosClass.BURSTABLE),
    (spec(FULL, init={"requests": {"cpu": "1"}}), QosClass.BURSTABLE),
    (spec({"requests": {"cpu": "1"}, "limits": {"cpu": "2", "memory": "1Gi"}}),
     QosClass.BURSTABLE),
    ({"resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
      "containers": [{"name": "c"}]}, QosClass.GUARANTEED),
], ids=["no resources", "extended resources only", "zero request", "requests == limits",
        "limits only (requests default to them)", "equal in other units",
        "one container without resources", "an init container short of limits",
        "request below limit", "pod-level resources"])
def test_qos_class(pod_spec: Obj, expected: QosClass) -> None:
    assert qos_class(pod_spec) == expected


def test_same_quantities_compares_values_not_spellings() -> None:
    assert same_quantities({"cpu": "1", "memory": "1Gi"}, {"cpu": "1000m", "memory": "1024Mi"})
    assert not same_quantities({"cpu": "1"}, {"cpu": "2"})
    assert same_quantities(None, {})
    assert same_quantities({"nvidia.com/gpu": "1"}, {})  # only cpu and memory count
