"""Node objects: addresses, pod ranges, labels, conditions, taints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mizzen.cluster.config import NODE_NOT_READY, SIM_NODE_LABEL, ClusterConfig, NodeSpec
from mizzen.cluster.nodes.objects import (
    Readiness,
    conditions,
    node_ip,
    node_object,
    pod_cidr,
    readiness_of,
    wanted_taints,
)

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def test_addresses_and_pod_ranges_follow_the_node_index() -> None:
    config = ClusterConfig.with_nodes(3)
    assert [node_ip(config, i) for i in range(3)] == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]
    assert [pod_cidr(config, i) for i in range(3)] == [
        "10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]
    assert pod_cidr(config, 255) == "10.244.255.0/24"
    with pytest.raises(ValueError):
        pod_cidr(config, 256)


def test_a_small_pod_range_is_split_further_down() -> None:
    config = ClusterConfig((), pod_cidr="10.1.2.0/26")
    assert pod_cidr(config, 0) == "10.1.2.0/26"
    with pytest.raises(ValueError):
        pod_cidr(config, 1)


def test_node_object_has_labels_capacity_status_and_info() -> None:
    spec = NodeSpec("big-1", "zone-b", cpu="64", memory="512Gi", pods=250,
                    labels=(("tier", "gold"), ("kubernetes.io/os", "linux")),
                    ephemeral_storage="1Ti")
    config = ClusterConfig((spec,), kubelet_version="v1.31.4-mizzen")
    node = node_object(spec, 4, config, NOW)
    labels = node["metadata"]["labels"]
    assert labels == {
        "kubernetes.io/hostname": "big-1", "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": "zone-b",
        "node.kubernetes.io/instance-type": "mizzen-sim", SIM_NODE_LABEL: "true",
        "tier": "gold"}
    status = node["status"]
    assert status["capacity"] == status["allocatable"] == {
        "cpu": "64", "memory": "512Gi", "pods": "250", "ephemeral-storage": "1Ti"}
    assert status["addresses"] == [{"type": "InternalIP", "address": "10.0.0.6"},
                                   {"type": "Hostname", "address": "big-1"}]
    info = status["nodeInfo"]
    assert info["kubeletVersion"] == "v1.31.4-mizzen"
    assert info["containerRuntimeVersion"] == "mizzen-sim://1.0"
    assert (info["operatingSystem"], info["architecture"]) == ("linux", "amd64")
    assert status["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    assert node["spec"]["podCIDR"] == "10.244.4.0/24"
    assert [c["type"] for c in status["conditions"]] == [
        "NetworkUnavailable", "MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]


@pytest.mark.parametrize(("value", "readiness"), [
    (None, Readiness.TRUE), ("true", Readiness.FALSE), ("True", Readiness.FALSE),
    ("unknown", Readiness.UNKNOWN), ("no", Readiness.TRUE)])
def test_readiness_comes_from_the_annotation(value: str | None, readiness: str) -> None:
    annotations = {} if value is None else {NODE_NOT_READY: value}
    assert readiness_of({"metadata": {"annotations": annotations}}) == readiness


def test_conditions_keep_other_types_in_place_and_transition_times_while_unchanged() -> None:
    before = conditions(Readiness.TRUE, NOW)
    foreign = {"type": "KernelDeadlock", "status": "False"}
    later = datetime(2024, 1, 1, 0, 5, tzinfo=UTC)
    after = conditions(Readiness.FALSE, later, [foreign, *before])
    assert after[0] == foreign
    by_type = {c["type"]: c for c in after}
    assert by_type["Ready"]["lastTransitionTime"] == "2024-01-01T00:05:00Z"
    assert by_type["MemoryPressure"]["lastTransitionTime"] == "2024-01-01T00:00:00Z"
    assert by_type["MemoryPressure"]["lastHeartbeatTime"] == "2024-01-01T00:05:00Z"


def test_readiness_taints_replace_each_other_and_keep_others() -> None:
    mine = {"key": "dedicated", "effect": "NoSchedule"}
    unknown = wanted_taints(None, [mine], Readiness.UNKNOWN)
    assert [t["key"] for t in unknown] == ["dedicated", "node.kubernetes.io/unreachable"]
    not_ready = wanted_taints(None, unknown, Readiness.FALSE)
    assert [t["key"] for t in not_ready] == ["dedicated", "node.kubernetes.io/not-ready"]
    assert wanted_taints(None, not_ready, Readiness.TRUE) == [mine]
