"""Taking over pods a previous kubelet process already reported (``mizzen up`` restarted).

The simulated runtime lives in memory, but the cluster's objects survive a
restart of ``mizzen up`` (the API server keeps its data directory).  A
kubelet that met a running pod for the first time and *admitted* it again
would walk it back through ContainerCreating, hand it a new IP and restart
its containers — a storm of writes and a lie about what happened.

So a pod whose status already reports a sandbox (``podIP``) and container
statuses is *adopted*: its runtime state is rebuilt from that status (images,
container IDs, restart counts, start times, last terminations), its IP is
kept (the executor reserves it in the node's pool), and rendering it again
gives the status it already has — no write.  What cannot be recovered is
recomputed from now: a waiting container starts after its latency, and the
crash back-off starts over.  A pod not yet initialized is admitted afresh.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from mizzen.cluster.kubelet.runtime import (
    BACKING_OFF,
    CREATING,
    Container,
    Env,
    Exit,
    PodRun,
    State,
    admit,
    start_containers,
)

__all__ = ["adopt"]

Obj = dict[str, Any]


def _time(text: Any, default: datetime) -> datetime:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return default


def _exit(term: Obj | None, image: str, default: datetime) -> Exit | None:
    if not term:
        return None
    code = int(term.get("exitCode") or 0)
    return Exit(code, str(term.get("reason") or ("Completed" if code == 0 else "Error")),
                image, str(term.get("containerID") or ""),
                _time(term.get("startedAt"), default), _time(term.get("finishedAt"), default))


def _container(spec: Obj, status: Obj | None, env: Env, now: datetime,
               sidecar: bool = False) -> Container:
    name, image = str(spec.get("name")), str(spec.get("image", ""))
    if not status:
        return Container(name, image, sidecar=sidecar)
    state = status.get("state") or {}
    cid = str(status.get("containerID") or "")
    restarts = int(status.get("restartCount") or 0)
    last = _exit((status.get("lastState") or {}).get("terminated"),
                 str(status.get("image") or image), now)
    base = Container(name, str(status.get("image") or image), container_id=cid,
                     instances=restarts + 1 if cid else 0, last=last, sidecar=sidecar)
    if "running" in state:
        started = _time((state["running"] or {}).get("startedAt"), now)
        ends = None if sidecar else env.faults.exit_after()
        due = started + timedelta(seconds=ends[0]) if ends else None
        return replace(base, state=State.RUNNING, reason="", started=started, due=due)
    if "terminated" in state:
        return replace(base, state=State.TERMINATED, reason="",
                        exit=_exit(state["terminated"], base.image, now))
    reason = str((state.get("waiting") or {}).get("reason") or CREATING)
    # Waiting: start over from now (a back-off's remaining time is not recoverable).
    return replace(base, reason=CREATING if reason == BACKING_OFF else reason, image=image)


def adopt(pod: Obj, node: str, ip: str, now: datetime, env: Env) -> PodRun:
    """The runtime state of a pod met for the first time at ``now``: rebuilt from its
    status when a kubelet already ran it, else freshly admitted."""
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or ()}
    inits = list(spec.get("initContainers") or ())
    initialized = not inits or conditions.get("Initialized") == "True"
    if not status.get("podIP") or not status.get("containerStatuses") or not initialized:
        return admit(pod, node, ip, now, env)
    by_name = {s.get("name"): s for s in status.get("containerStatuses") or ()}
    init_by_name = {s.get("name"): s for s in status.get("initContainerStatuses") or ()}
    init = tuple(_container(c, init_by_name.get(c.get("name")), env, now,
                            sidecar=c.get("restartPolicy") == "Always") for c in inits)
    containers = tuple(_container(c, by_name.get(c.get("name")), env, now)
                       for c in spec.get("containers") or ())
    uid = str((pod.get("metadata") or {}).get("uid", ""))
    run = PodRun(uid, node, ip, _time(status.get("startTime"), now), None, init, containers,
                 has_sandbox=True, initialized=True)
    return start_containers(run, env, now)
