"""The pod status a kubelet reports for a runtime state, and what changed in it.

:func:`render` is a pure view of a :class:`~mizzen.cluster.kubelet.runtime.PodRun`
(plus the pod's spec, its injected faults, the node and the time) as the
top-level ``status`` fields a kubelet owns: ``phase``, ``conditions``,
``initContainerStatuses``, ``containerStatuses``, ``hostIP(s)``, ``podIP(s)``
and ``startTime``.  :func:`status_patch` keeps the ones that differ from the
pod's current status — nothing when nothing differs — and :func:`status_write`
turns them into the body the executor sends: a strategic-merge patch of
``pods/status``, as a real kubelet's status manager sends, in which
``conditions`` merge by ``type`` and only the changed ones are sent (with
explicit nulls for the keys they drop).  So the kubelet needs no
resourceVersion precondition to leave the conditions of others (readiness
gates a controller flips at the same moment) alone, and never gets a 409
for them.

"Differs" is judged as the API means it: conditions by ``type``, whatever
their order, and a key whose value is null is the same as a missing key (a
strategic merge deletes a key patched to null; Go serialises an unset
``lastProbeTime`` as null).  Without that, a condition another writer had
patched — ``Ready=False`` written with a readiness gate's ``False``, stored
without ``lastProbeTime`` — looked changed to the kubelet, which rewrote every
condition at once, and in doing so raced (409) with that writer's next write.

Rendering is stable, so a second pass over an unchanged state finds no
difference: times are seconds-precision strings of the runtime's own stamps,
a condition keeps its ``lastTransitionTime`` while its status holds, and
conditions owned by others (readiness gates, ``DisruptionTarget``) stay where
they are in the list.

Readiness, as upstream computes it:

* a container is ready when it runs, its ``readinessProbe.initialDelaySeconds``
  has passed, and no fault says otherwise (``never-ready``; ``readiness-flap``
  alternates ready/unready periods);
* ``ContainersReady`` — every regular container ready (reason ``PodCompleted``
  once the pod Succeeded);
* ``Ready`` — ContainersReady, and every ``spec.readinessGates`` condition
  present and True in ``status.conditions``, and the node Ready (a NotReady
  node's pods are marked not ready, as the node lifecycle controller does).

While a container restarts on a new image it reports the *previous* instance's
``image`` and ``imageID`` (with state ``waiting``), so a controller waiting for
the new ``imageID`` never sees the update as done before the container runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mizzen.cluster.kubelet.identity import image_id
from mizzen.cluster.kubelet.runtime import Container, Exit, PodRun, State
from mizzen.cluster.kubelet.timing import Faults

__all__ = ["NodeView", "phase_of", "render", "rfc3339", "same_conditions", "status_patch",
           "status_write"]

Obj = dict[str, Any]
_ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
          "PodScheduled")
_TERMINAL = ("Succeeded", "Failed")


@dataclass(frozen=True, slots=True)
class NodeView:
    """What the kubelet knows of its node."""

    name: str
    host_ip: str
    ready: bool
    # False when the node's Ready condition is Unknown: its kubelet is gone, nothing moves.
    reachable: bool = True


def rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _exit(e: Exit) -> Obj:
    return {"exitCode": e.code, "reason": e.reason, "startedAt": rfc3339(e.started),
            "finishedAt": rfc3339(e.finished), "containerID": e.container_id}


def _readiness(c: Container, spec: Obj, faults: Faults,
               now: datetime) -> tuple[bool, datetime | None]:
    """(ready now, when that changes by itself)."""
    if c.state != State.RUNNING or faults.never_ready or c.started is None:
        return False, None
    probe = spec.get("readinessProbe")
    delay = float((probe or {}).get("initialDelaySeconds") or 0) if probe else 0.0
    ready_from = c.started + timedelta(seconds=delay)
    if now < ready_from:
        return False, ready_from
    if faults.flap_every:
        periods = int((now - ready_from).total_seconds() // faults.flap_every)
        return periods % 2 == 0, ready_from + timedelta(seconds=(periods + 1) *
                                                        faults.flap_every)
    return True, None


def _container_status(c: Container, ready: bool) -> Obj:
    if c.state == State.WAITING:
        image, iid = (c.last.image, image_id(c.last.image)) if c.last else (c.image, "")
        waiting: Obj = {"reason": c.reason}
        if c.message:
            waiting["message"] = c.message
        state: Obj = {"waiting": waiting}
    elif c.state == State.RUNNING:
        assert c.started is not None
        image, iid = c.image, image_id(c.image)
        state = {"running": {"startedAt": rfc3339(c.started)}}
    else:
        assert c.exit is not None
        image, iid = c.exit.image, image_id(c.exit.image)
        state = {"terminated": _exit(c.exit)}
    out: Obj = {"name": c.name, "state": state,
                "lastState": {"terminated": _exit(c.last)} if c.last else {},
                "ready": ready, "restartCount": c.restart_count, "image": image,
                "imageID": iid, "started": c.state == State.RUNNING}
    if c.container_id:
        out["containerID"] = c.container_id
    return out


def phase_of(run: PodRun, restart_policy: str) -> str:
    """The pod phase, by upstream's rules (``getPhase``)."""
    if run.stopped:
        ok = all(c.state == State.TERMINATED and c.exit and c.exit.code == 0
                 for c in run.containers)
        return "Succeeded" if ok else "Failed"
    if not run.initialized:
        return "Pending"
    waiting = running = stopped = succeeded = 0
    for c in run.containers:
        if c.state == State.RUNNING:
            running += 1
        elif c.state == State.TERMINATED:
            stopped += 1
            succeeded += 1 if c.exit and c.exit.code == 0 else 0
        elif c.last is not None:
            stopped += 1  # waiting to restart after an exit
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if restart_policy == "Never" else "Running"
    return "Pending"


def _names(items: Iterable[str]) -> str:
    return "[" + " ".join(items) + "]"


def _gates(pod: Obj, conditions: list[Obj]) -> list[str]:
    """Messages for the readiness gates that are not True (empty: all pass)."""
    by_type = {str(c.get("type")): c for c in conditions}
    problems = []
    for gate in (pod.get("spec") or {}).get("readinessGates") or ():
        kind = str(gate.get("conditionType", ""))
        cond = by_type.get(kind)
        if cond is None:
            problems.append(f'corresponding condition of pod readiness gate "{kind}" '
                            "does not exist.")
        elif cond.get("status") != "True":
            problems.append(f'the status of pod readiness gate "{kind}" is not "True", '
                            f"but {cond.get('status')}")
    return problems


def _conditions(pod: Obj, run: PodRun, phase: str, unready: list[str], node: NodeView,
                now: datetime) -> list[Obj]:
    current: list[Obj] = list((pod.get("status") or {}).get("conditions") or ())
    old = {str(c.get("type")): c for c in current}

    def cond(kind: str, ok: bool, reason: str = "", message: str = "",
             since: datetime = now) -> Obj:
        status = "True" if ok else "False"
        before = old.get(kind)
        stamp = (before.get("lastTransitionTime") if before and before.get("status") == status
                 else rfc3339(since))
        out: Obj = {"type": kind, "status": status, "lastProbeTime": None,
                    "lastTransitionTime": stamp}
        if reason:
            out["reason"] = reason
        if message:
            out["message"] = message
        return out

    pending_init = [c.name for c in run.init
                    if c.state != State.TERMINATED and not (c.sidecar and c.instances)]
    ours = {
        "PodReadyToStartContainers": cond("PodReadyToStartContainers",
                                          run.has_sandbox and phase not in _TERMINAL),
        "Initialized": cond("Initialized", run.initialized, "ContainersNotInitialized",
                            f"containers with incomplete status: {_names(pending_init)}")
        if not run.initialized else cond("Initialized", True),
    }
    if phase == "Succeeded":
        ours["ContainersReady"] = cond("ContainersReady", False, "PodCompleted")
        ours["Ready"] = cond("Ready", False, "PodCompleted")
    elif unready:
        message = f"containers with unready status: {_names(unready)}"
        ours["ContainersReady"] = cond("ContainersReady", False, "ContainersNotReady", message)
        ours["Ready"] = cond("Ready", False, "ContainersNotReady", message)
    else:
        ours["ContainersReady"] = cond("ContainersReady", True)
        gates = _gates(pod, current)
        if gates:
            ours["Ready"] = cond("Ready", False, "ReadinessGatesNotReady", ", ".join(gates))
        elif not node.ready:
            ours["Ready"] = cond("Ready", False, "NodeNotReady",
                                 f"node {node.name} is not ready")
        else:
            ours["Ready"] = cond("Ready", True)
    if "PodScheduled" not in old:  # created with spec.nodeName: nobody else sets it
        ours["PodScheduled"] = cond("PodScheduled", True, since=run.admitted)
    merged = [ours.pop(str(c.get("type"))) if c.get("type") in ours else c for c in current]
    return merged + [ours[k] for k in _ORDER if k in ours]


def _init_ready(c: Container, ready: Callable[[Container], bool]) -> bool:
    """A sidecar is ready as a container is; a run-to-completion one once it exited 0."""
    if c.sidecar:
        return ready(c)
    return c.state == State.TERMINATED and c.exit is not None and c.exit.code == 0


def render(pod: Obj, run: PodRun, faults: Faults, node: NodeView,
           now: datetime) -> tuple[Obj, datetime | None]:
    """The kubelet-owned status fields for ``run`` at ``now``, and when readiness will
    change by itself (a probe delay ending, a flap), if ever."""
    spec = pod.get("spec") or {}
    specs = {str(c.get("name")): c for c in (*(spec.get("initContainers") or ()),
                                              *(spec.get("containers") or ()))}
    flips: list[datetime] = []

    def ready(c: Container) -> bool:
        ok, change = _readiness(c, specs.get(c.name) or {}, faults, now)
        if change is not None:
            flips.append(change)
        return ok

    statuses = [_container_status(c, ready(c)) for c in run.containers]
    phase = phase_of(run, str(spec.get("restartPolicy") or "Always"))
    unready = [s["name"] for s in statuses if not s["ready"]]
    out: Obj = {"phase": phase,
                "conditions": _conditions(pod, run, phase, unready, node, now),
                "hostIP": node.host_ip, "hostIPs": [{"ip": node.host_ip}],
                "startTime": rfc3339(run.admitted)}
    if run.has_sandbox:
        out["podIP"] = run.ip
        out["podIPs"] = [{"ip": run.ip}]
    if run.init:
        out["initContainerStatuses"] = [_container_status(c, _init_ready(c, ready))
                                        for c in run.init]
    out["containerStatuses"] = statuses
    return out, min(flips, default=None)


def _meant(cond: Mapping[str, Any]) -> dict[str, Any]:
    """A condition as the API means it: null-valued keys are absent."""
    return {k: v for k, v in cond.items() if v is not None}


def same_conditions(current: Iterable[Mapping[str, Any]] | None,
                    desired: Iterable[Mapping[str, Any]]) -> bool:
    """Whether two condition lists say the same, by type (order and nulls aside)."""
    have = {c.get("type"): _meant(c) for c in current or ()}
    want = {c.get("type"): _meant(c) for c in desired}
    return have == want


def status_patch(current: Obj | None, desired: Obj) -> Obj | None:
    """The fields of ``desired`` that differ from ``current`` (None: nothing to write)."""
    now = current or {}
    patch = {k: v for k, v in desired.items()
             if (not same_conditions(now.get(k), v) if k == "conditions" else now.get(k) != v)}
    return patch or None


def status_write(current: Obj | None, patch: Obj) -> Obj:
    """The strategic-merge ``status`` body for ``patch`` (from :func:`status_patch`):
    every field as is but ``conditions``, of which only the changed ones, each with null
    for the keys the current condition has and the new one lacks (module docstring)."""
    out = dict(patch)
    if "conditions" not in patch:
        return out
    before = {c.get("type"): _meant(c) for c in (current or {}).get("conditions") or ()}
    changed = []
    for cond in patch["conditions"]:
        old, new = before.get(cond.get("type")), _meant(cond)
        if old != new:
            changed.append({**dict.fromkeys(old or ()), **cond})
    if changed:
        out["conditions"] = changed
    else:
        del out["conditions"]
    return out
