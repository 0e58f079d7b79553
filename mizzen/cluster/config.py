"""Settings of the simulated cluster that ``mizzen up`` runs (embedded only).

One frozen dataclass per concern, passed into the simulators' constructors:
what nodes exist, how long each step of a pod's start takes, and how the
scheduler spreads pods.  Latencies are data, not code, so a benchmark can
state its profile ("full image pull 2 s, layer-reusing pull 0.3 s, …") and
tests can set every latency to zero.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

# Annotations on a pod that inject failures into the simulated kubelet.
CRASH_LOOP = "sim.mizzen.dev/crash-loop"  # "true": containers exit with code 1 after starting
NEVER_READY = "sim.mizzen.dev/never-ready"  # "true": running, never Ready
START_DELAY = "sim.mizzen.dev/start-delay"  # seconds added before containers start ("2.5")
READINESS_FLAP = "sim.mizzen.dev/readiness-flap"  # seconds between Ready flips ("1")
RUN_FOR = "sim.mizzen.dev/run-for"  # seconds a container runs, then exits 0 (job-style pods)
# Annotation on a node that makes the simulator report it NotReady.
NODE_NOT_READY = "sim.mizzen.dev/not-ready"
# Label every simulated node carries (the kubelet simulator only manages these).
SIM_NODE_LABEL = "sim.mizzen.dev/node"
# NODE_NOT_READY values: "true" reports Ready=False (the kubelet still heartbeats);
# "unknown" reports Ready=Unknown and stops the node's Lease renewals (kubelet gone).
NODE_NOT_READY_FALSE = "true"
NODE_NOT_READY_UNKNOWN = "unknown"
# Namespace of the node heartbeat Leases (one per node, named after it).
NODE_LEASE_NAMESPACE = "kube-node-lease"


@dataclass(frozen=True, slots=True)
class ImageLatency:
    """How long the kubelet takes for one image (seconds)."""

    # Full pull of an image not on the node.
    pull: float = 0.0
    # Pull when the node already has most layers (an in-place update to a new tag).
    pull_cached_layers: float = 0.0
    # From image present to the container running.
    start: float = 0.0


@dataclass(frozen=True, slots=True)
class LatencyProfile:
    """Per-step latencies of the simulated cluster; all zero by default."""

    # Scheduler decision to binding written.
    schedule: float = 0.0
    # Pod sandbox, IP allocation and volume setup, before any image pull.
    sandbox: float = 0.0
    # Container stop (beyond the pod's grace period handling).
    stop: float = 0.0
    # Per image pattern (fnmatch on the image reference); first match wins.
    images: tuple[tuple[str, ImageLatency], ...] = ()
    default_image: ImageLatency = field(default_factory=ImageLatency)

    def image(self, ref: str) -> ImageLatency:
        for pattern, latency in self.images:
            if fnmatch.fnmatchcase(ref, pattern):
                return latency
        return self.default_image


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One simulated node."""

    name: str
    zone: str
    cpu: str = "32"
    memory: str = "256Gi"
    pods: int = 110
    labels: tuple[tuple[str, str], ...] = ()
    taints: tuple[tuple[str, str, str], ...] = ()  # (key, value, effect)
    ephemeral_storage: str = "100Gi"


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """The whole simulated cluster."""

    nodes: tuple[NodeSpec, ...]
    latency: LatencyProfile = field(default_factory=LatencyProfile)
    # Node heartbeat: Lease duration and renewal interval in kube-node-lease.
    lease_duration: int = 40
    heartbeat_interval: float = 10.0
    # Pod IPs are handed out from this range, node by node.
    pod_cidr: str = "10.244.0.0/16"
    kubelet_version: str = "v1.32.0-mizzen"
    # Node InternalIPs are handed out from this range, in node order.
    node_cidr: str = "10.0.0.0/16"
    # The Ready condition's lastHeartbeatTime is rewritten on a change or after this
    # many seconds (the kubelet's nodeStatusReportFrequency); the Lease is the heartbeat.
    node_status_report_interval: float = 300.0
    # Recreate a simulated Node someone deleted (False: it leaves the simulation).
    recreate_deleted_nodes: bool = False

    @classmethod
    def with_nodes(cls, count: int, zones: int = 3, prefix: str = "node",
                   latency: LatencyProfile | None = None) -> ClusterConfig:
        """``count`` identical nodes spread round-robin over ``zones`` zones."""
        nodes = tuple(NodeSpec(f"{prefix}-{i}", f"zone-{chr(ord('a') + i % max(zones, 1))}")
                      for i in range(count))
        return cls(nodes, latency or LatencyProfile())
