"""What ``bench/cloneset.py`` rolls out, under which latencies, and the floor each rollout has.

Kept apart from the driver so the profile and the floor arithmetic read in one place (the
section in ``docs/benchmarks.md`` quotes them) and stay pure.

**The profile** is a plausible small production cluster, not a fast one: a scheduling
decision takes 0.1 s before its binding is written (the simulated scheduler keeps 32 in
flight, so about 320 bindings per second at most); sandbox, IP and volume setup 1.5 s; a
full pull of the image 10 s, a pull of another tag whose layers the node mostly has 2 s;
container start 1 s; container stop 1 s.  ``--quick`` divides every latency by four.

**Pull policy.**  The pods say ``imagePullPolicy: Always``: every container start checks
the registry and, as the node holds the repository's layers, pays ``pull_cached_layers``.
With ``IfNotPresent`` only the first pod of a new tag on each node would pay it (the
simulated kubelet counts an image as present once a container ran it), so later batches
would cost ``start`` alone and the floor would depend on how pods fall on nodes.  A full
pull is paid only by the very first pods of the run, before anything is measured.

**Floors** (the least time the profile allows; a rollout of ``replicas`` pods with
``maxUnavailable`` = ``u`` and ``maxSurge`` 0 runs in ``ceil(replicas / u)`` batches, each
waiting for the one before to be Ready):

* in place: ``batches × (pull_cached_layers + start)`` — the kubelet restarts the container
  of a pod that keeps its sandbox, IP and node;
* re-create (CloneSet ``ReCreate``, Deployment ``RollingUpdate``): ``batches ×
  (ceil(u / 32) × schedule + sandbox + pull_cached_layers + start)`` — a new pod is
  scheduled (the scheduler binds 32 at a time), gets a sandbox, pulls and starts.  The stop
  of the old pod is *not* in it: both controllers count a pod as gone once it is marked
  for deletion (no PVCs here, so no instance id waits for its old pod) and create its
  replacement at once, while the old container stops in parallel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from mizzen.cluster.config import ImageLatency, LatencyProfile

Obj = dict[str, Any]

OLD_IMAGE = "nginx:1.25"
NEW_IMAGE = "nginx:1.26"
SCHEDULER_WORKERS = 32  # SchedulerOptions.workers: bindings in flight at once

PROFILE = LatencyProfile(
    schedule=0.1, sandbox=1.5, stop=1.0,
    default_image=ImageLatency(pull=10.0, pull_cached_layers=2.0, start=1.0))


def scaled(profile: LatencyProfile, factor: float) -> LatencyProfile:
    """Every latency of ``profile`` times ``factor`` (``--quick`` uses 0.25)."""
    def image(lat: ImageLatency) -> ImageLatency:
        return ImageLatency(lat.pull * factor, lat.pull_cached_layers * factor,
                            lat.start * factor)
    return replace(profile, schedule=profile.schedule * factor,
                   sandbox=profile.sandbox * factor, stop=profile.stop * factor,
                   images=tuple((p, image(lat)) for p, lat in profile.images),
                   default_image=image(profile.default_image))


def describe(profile: LatencyProfile) -> str:
    """One line for the report and the doc."""
    lat = profile.default_image
    return (f"schedule {profile.schedule:g} s (≤ {SCHEDULER_WORKERS} in flight), sandbox + IP + "
            f"volumes {profile.sandbox:g} s, full pull {lat.pull:g} s, pull reusing layers "
            f"{lat.pull_cached_layers:g} s, container start {lat.start:g} s, stop "
            f"{profile.stop:g} s; imagePullPolicy Always")


# -- floors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Floor:
    """The least time a rollout can take under a profile."""

    # Rollout batches: ceil(replicas / maxUnavailable).
    batches: int
    # The per-batch latency's terms, (what, seconds), in the order a pod meets them.
    terms: tuple[tuple[str, float], ...]

    @property
    def per_batch(self) -> float:
        return sum(s for _, s in self.terms)

    @property
    def seconds(self) -> float:
        return self.batches * self.per_batch

    def formula(self) -> str:
        """``5 × (2 pull reusing layers + 1 start) = 15 s``."""
        terms = " + ".join(f"{s:g} {what}" for what, s in self.terms)
        return f"{self.batches} × ({terms}) = {self.seconds:g} s"


def batches(replicas: int, max_unavailable: int) -> int:
    return math.ceil(replicas / max(max_unavailable, 1))


def unavailable(replicas: int, percent: int) -> int:
    """``maxUnavailable`` as a percentage of ``replicas``, rounded down as upstream (≥ 1)."""
    return max(replicas * percent // 100, 1)


def in_place_floor(profile: LatencyProfile, replicas: int, percent: int) -> Floor:
    lat = profile.image(NEW_IMAGE)
    return Floor(batches(replicas, unavailable(replicas, percent)),
                 (("pull reusing layers", lat.pull_cached_layers), ("start", lat.start)))


def recreate_floor(profile: LatencyProfile, replicas: int, percent: int) -> Floor:
    u = unavailable(replicas, percent)
    lat = profile.image(NEW_IMAGE)
    rounds = math.ceil(u / SCHEDULER_WORKERS)
    return Floor(batches(replicas, u),
                 ((f"schedule ({rounds} rounds)", round(rounds * profile.schedule, 6)),
                  ("sandbox", profile.sandbox), ("pull reusing layers", lat.pull_cached_layers),
                  ("start", lat.start)))


# -- the objects -------------------------------------------------------------------------


def template(app: str, image: str) -> Obj:
    return {"metadata": {"labels": {"app": app}},
            "spec": {"containers": [{
                "name": "app", "image": image, "imagePullPolicy": "Always",
                "ports": [{"containerPort": 80, "name": "http"}],
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}


def cloneset(name: str, ns: str, replicas: int, policy: str, percent: int) -> Obj:
    """A v1beta1 CloneSet; ``policy`` is ``InPlaceIfPossible`` or ``ReCreate``."""
    return {"apiVersion": "apps.kruise.io/v1beta1", "kind": "CloneSet",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": template(name, OLD_IMAGE),
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {
                         "podUpdatePolicy": policy, "maxUnavailable": f"{percent}%",
                         "maxSurge": 0}}}}


def deployment(name: str, ns: str, replicas: int, percent: int) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": template(name, OLD_IMAGE),
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                         "maxUnavailable": f"{percent}%", "maxSurge": 0}}}}


def bare_pod(name: str, ns: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": "bare"}},
            "spec": template("bare", OLD_IMAGE)["spec"]}


def image_patch(image: str, *, template: bool) -> list[Obj]:
    """A JSON patch of the one container's image, in a pod (``template=False``) or in a
    workload's pod template; JSON patch because custom resources take no strategic merge
    and a merge patch would replace the whole container list."""
    path = "/spec/template/spec/containers/0/image" if template else \
        "/spec/containers/0/image"
    return [{"op": "replace", "path": path, "value": image}]
