"""What the kubelet does next for one pod: pure, from observed state to one decision.

:func:`plan_pod` takes the cached pod, the runtime state kept from the last
pass (``None`` the first time), the node, the latency profile and the time,
and returns a frozen :class:`PodPlan`:

1. take the pod on: *adopt* it if a kubelet already reported it, else *admit*
   it (``adopt.py``);
2. advance the runtime through every transition due by now, apply the spec
   (a deletion starts the stop; a changed image restarts that container),
   and advance again — so a zero-latency change lands in the same pass;
3. render the status and keep the fields that differ (``status.py``);
4. decide the writes: the status patch, and — once a deleted pod's
   containers have stopped — the final delete with ``gracePeriodSeconds=0``
   right after it, in the same pass, as the kubelet's status manager deletes
   in the sync that reported the terminal status (a pod none of whose
   containers ever ran is deleted without reporting anything first);
5. ask to look again when the next transition or readiness change falls due.

On a node whose Ready condition is Unknown the kubelet is gone: nothing
advances, and a pod it had reported only has its conditions rewritten (Ready
False, as the node lifecycle controller marks them) — so a pod deleted there
stays Terminating until the node comes back, as on a real cluster.

Worked example, zero latencies: a pod bound at 12:00:00 is admitted, its
sandbox, pull and start are all due at 12:00:00, so one pass renders phase
Running, Ready True, an IP and a running container — one status write.  With
``sandbox=1, pull=2, start=1`` the first pass renders Pending/ContainerCreating
with ``requeue_after=1``; the pass at 12:00:01 adds the IP (requeue 3); the
pass at 12:00:04 renders Running and Ready.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from mizzen.cluster.config import LatencyProfile
from mizzen.cluster.kubelet.adopt import adopt
from mizzen.cluster.kubelet.runtime import Env, PodRun, advance, apply_spec, images_of, next_due
from mizzen.cluster.kubelet.status import NodeView, render, same_conditions, status_patch
from mizzen.cluster.kubelet.timing import Faults

__all__ = ["NodeView", "PodInputs", "PodPlan", "plan_pod"]

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PodInputs:
    """Everything the planner may look at for one pod."""

    # The cached pod (read-only).
    pod: Obj
    # The runtime state from the previous pass; None when the kubelet meets the pod.
    run: PodRun | None
    # The pod's address, allocated (or reserved, for an adopted pod) by the executor.
    ip: str
    node: NodeView
    # Images present on the node before this pass (pulled for any pod).
    node_images: frozenset[str]
    latency: LatencyProfile
    now: datetime


@dataclass(frozen=True, slots=True)
class PodPlan:
    """The decision of one pass."""

    # Runtime state to keep for the next pass (kept whether or not a write succeeds).
    run: PodRun
    # Top-level status fields that changed, for a merge patch of pods/status; None: no write.
    status_patch: Obj | None
    # Delete the pod with gracePeriodSeconds=0 (its containers have stopped), after
    # writing ``status_patch`` when there is one.
    delete: bool
    # Seconds until the next transition or readiness change; None: wait for an event.
    requeue_after: float | None
    # Images present on the node because of this pod (the node's image cache grows).
    images: frozenset[str]


def environment(pod: Obj, latency: LatencyProfile, node_images: frozenset[str]) -> Env:
    """The transition environment of ``pod``: its faults and policies."""
    spec = pod.get("spec") or {}
    policies = {str(c.get("name")): str(c.get("imagePullPolicy") or "IfNotPresent")
                for c in (*(spec.get("initContainers") or ()), *(spec.get("containers") or ()))}
    return Env(latency, Faults.of((pod.get("metadata") or {}).get("annotations")),
               str(spec.get("restartPolicy") or "Always"), policies, node_images)


def plan_pod(inp: PodInputs) -> PodPlan:
    """The next write for one pod on a simulated node."""
    pod, now = inp.pod, inp.now
    env = environment(pod, inp.latency, inp.node_images)
    run = inp.run if inp.run is not None else adopt(pod, inp.node.name, inp.ip, now, env)
    if not inp.node.reachable:
        return _unreachable(pod, run, env, inp.node, now)
    run = advance(run, env, now)
    run = apply_spec(run, pod, env, now)
    run = advance(run, env, now)
    desired, flip = render(pod, run, env.faults, inp.node, now)
    patch = status_patch(pod.get("status"), desired)
    delete = False
    if run.stopped:
        if not run.ever_ran:
            patch = None  # nothing ran: nothing to report before the delete
        meta = pod.get("metadata") or {}
        already = meta.get("deletionGracePeriodSeconds") == 0  # ours, or a forced delete
        delete = not run.delete_sent and not already
        if delete:
            run = replace(run, delete_sent=True)
    dues = [t for t in (next_due(run), flip) if t is not None]
    requeue = max((min(dues) - now).total_seconds(), 0.001) if dues else None
    return PodPlan(run, patch, delete, requeue, images_of(run))


def _unreachable(pod: Obj, run: PodRun, env: Env, node: NodeView, now: datetime) -> PodPlan:
    """A node whose kubelet is gone: nothing starts, stops or is deleted; a pod the kubelet
    had reported is only marked not Ready (as the node lifecycle controller does)."""
    status = pod.get("status") or {}
    patch = None
    if status.get("containerStatuses"):
        desired, _ = render(pod, run, env.faults, node, now)
        if not same_conditions(status.get("conditions"), desired["conditions"]):
            patch = {"conditions": desired["conditions"]}
    return PodPlan(run, patch, False, None, frozenset())
