"""The simulated container runtime of one pod: frozen state and the transitions of time.

A real kubelet reports what its container runtime did; the status is a view
of that state, not the state itself.  The simulator keeps the same split:
:class:`PodRun` is what the "runtime" holds for one pod (sandbox, one
:class:`Container` per container, deletion progress), it moves only forward
in time, and ``status.py`` renders it.  Writing a status can fail or be
skipped without losing anything: the next pass renders the same state.

Every transition has a *due* time, computed when the step before it ended,
from the :class:`~mizzen.cluster.config.LatencyProfile` and the pod's
:class:`~mizzen.cluster.kubelet.timing.Faults`.  :func:`advance` applies, in
time order, every transition due by ``now``, stamping each with its own due
time — so with zero latencies a pod goes from "just bound" to "running" in one
call (one status write), and with real latencies each pass lands exactly on
the step that fell due.  The steps:

* **sandbox** ready ``sandbox`` seconds after admission (the pod gets its IP);
* **init containers**, one after another: each starts after pull + start
  and completes at once (a sidecar — ``restartPolicy: Always`` — keeps running);
* **containers**, all together: pull + start (+ ``start-delay``), then run; if
  a fault makes them exit, they restart per ``restartPolicy`` with the
  kubelet's back-off (the first restart at once, then 10 s doubling to 300 s:
  ``timing.back_off``);
* **stop**, once deletion was seen: ``min(stop latency, grace)`` later every
  running container ends — exit 0 "Completed" if it stopped within the grace
  period, else 137 "Error" (killed) — and nothing starts any more.

Pull time depends on what the node already has (``timing.creation_seconds``):
the node's images are those any pod pulled there before, plus this pod's own.

Spec changes are applied by :func:`apply_spec` (deletion, and image changes
of regular containers: the container is killed — reported as exit 0
"Completed", it stops cleanly — and started again on the new image, without
back-off, whatever the restart policy, as upstream does on a spec change).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from mizzen.cluster.config import LatencyProfile
from mizzen.cluster.kubelet.identity import container_id
from mizzen.cluster.kubelet.timing import Faults, back_off, creation_seconds

__all__ = ["Container", "Env", "Exit", "PodRun", "State", "admit", "advance", "apply_spec",
           "images_of", "next_due", "start_containers"]

log = logging.getLogger(__name__)
Obj = dict[str, Any]

_MAX_STEPS = 10_000
CREATING = "ContainerCreating"
INITIALIZING = "PodInitializing"
BACKING_OFF = "CrashLoopBackOff"


class State(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class Exit:
    """How one container instance ended."""

    code: int
    reason: str  # "Completed" (0) or "Error"
    image: str
    container_id: str
    started: datetime
    finished: datetime


@dataclass(frozen=True, slots=True)
class Container:
    """One container in the simulated runtime."""

    name: str
    image: str  # of the running instance, or of the one being started
    state: State = State.WAITING
    reason: str = CREATING  # why it waits (WAITING only)
    message: str = ""  # more on why it waits (the back-off)
    due: datetime | None = None  # its next transition by itself; None: none pending
    started: datetime | None = None  # RUNNING: since when
    instances: int = 0  # instances started so far (restartCount is one less)
    container_id: str = ""  # of the current or the last instance
    last: Exit | None = None  # the previous instance's end (lastState)
    exit: Exit | None = None  # this instance's end (TERMINATED only)
    backoff: float = 0.0  # crash back-off the next restart waits (0: none yet)
    backoff_at: datetime | None = None  # when the back-off was last raised
    sidecar: bool = False  # an init container with restartPolicy Always

    @property
    def restart_count(self) -> int:
        return max(self.instances - 1, 0)


@dataclass(frozen=True, slots=True)
class PodRun:
    """The runtime state of one pod on its node."""

    uid: str
    node: str
    ip: str
    admitted: datetime  # when the kubelet took the pod on (status.startTime)
    sandbox_due: datetime | None  # when the sandbox will be ready; None: not pending
    init: tuple[Container, ...]
    containers: tuple[Container, ...]
    has_sandbox: bool = False  # the sandbox was created (the pod has its IP)
    initialized: bool = False
    stop_at: datetime | None = None  # deletion seen: containers stop then
    grace: float = 0.0  # the grace period of that deletion
    stopped: bool = False
    delete_sent: bool = False  # the final delete (grace 0) was sent

    @property
    def ever_ran(self) -> bool:
        return any(c.instances for c in (*self.init, *self.containers))


@dataclass(frozen=True, slots=True)
class Env:
    """What transitions depend on besides the runtime state."""

    latency: LatencyProfile
    faults: Faults
    restart_policy: str  # the pod's: Always, OnFailure or Never
    pull_policies: Mapping[str, str]  # container name -> imagePullPolicy
    node_images: frozenset[str]  # images present on the node before this pod


def images_of(run: PodRun) -> frozenset[str]:
    """Images this pod's containers have run (so: present on the node)."""
    found = {c.image for c in (*run.init, *run.containers) if c.instances}
    found.update(c.last.image for c in (*run.init, *run.containers) if c.last)
    return frozenset(found)


def _creation(run: PodRun, env: Env, c: Container, *, regular: bool) -> float:
    """Seconds from "start this container" to running (see ``timing.py``)."""
    return creation_seconds(c.image, env.pull_policies.get(c.name, "IfNotPresent"),
                            env.node_images | images_of(run), env.latency,
                            env.faults.start_delay if regular else 0.0)


def _after(t: datetime, seconds: float) -> datetime:
    return t + timedelta(seconds=seconds)


def admit(pod: Obj, node: str, ip: str, now: datetime, env: Env) -> PodRun:
    """The runtime state of a pod the kubelet takes on at ``now``."""
    spec = pod.get("spec") or {}
    init = tuple(Container(str(c.get("name")), str(c.get("image", "")), reason=INITIALIZING,
                           sidecar=c.get("restartPolicy") == "Always")
                 for c in spec.get("initContainers") or ())
    reason = INITIALIZING if init else CREATING
    containers = tuple(Container(str(c.get("name")), str(c.get("image", "")), reason=reason)
                       for c in spec.get("containers") or ())
    uid = str((pod.get("metadata") or {}).get("uid", ""))
    return PodRun(uid, node, ip, now, _after(now, env.latency.sandbox), init, containers,
                  initialized=not init)


def next_due(run: PodRun) -> datetime | None:
    """The earliest pending transition."""
    dues = [c.due for c in (*run.init, *run.containers) if c.due is not None]
    if run.sandbox_due is not None:
        dues.append(run.sandbox_due)
    if run.stop_at is not None and not run.stopped:
        dues.append(run.stop_at)
    return min(dues, default=None)


def advance(run: PodRun, env: Env, now: datetime) -> PodRun:
    """Apply every transition due by ``now``, each at its own due time."""
    for _ in range(_MAX_STEPS):
        t = next_due(run)
        if t is None or t > now:
            return run
        run = _step(run, env, t)
    log.warning("pod %s: more than %d runtime steps in one pass", run.uid, _MAX_STEPS)
    return run


def _step(run: PodRun, env: Env, t: datetime) -> PodRun:
    if run.stop_at is not None and not run.stopped and run.stop_at <= t:
        return _stop(run, env, t)
    if run.sandbox_due is not None and run.sandbox_due <= t:
        run = replace(run, sandbox_due=None, has_sandbox=True)
        return _start_init(run, env, 0, t) if run.init else start_containers(run, env, t)
    for i, c in enumerate(run.init):
        if c.due is not None and c.due <= t:
            return _init_step(run, env, i, t)
    for i, c in enumerate(run.containers):
        if c.due is not None and c.due <= t:
            return _container_step(run, env, i, t)
    raise AssertionError("a due transition was not found")


def _with(items: tuple[Container, ...], i: int, c: Container) -> tuple[Container, ...]:
    return items[:i] + (c,) + items[i + 1:]


def _start_init(run: PodRun, env: Env, i: int, t: datetime) -> PodRun:
    c = run.init[i]
    due = _after(t, _creation(run, env, c, regular=False))
    return replace(run, init=_with(run.init, i, replace(c, reason=CREATING, due=due)))


def start_containers(run: PodRun, env: Env, t: datetime) -> PodRun:
    """Initialization is over at ``t``: every regular container not yet under way starts."""
    run = replace(run, initialized=True)
    started = tuple(replace(c, reason=CREATING, due=_after(t, _creation(run, env, c,
                                                                        regular=True)))
                    if c.state == State.WAITING and c.due is None else c
                    for c in run.containers)
    return replace(run, containers=started)


def _run(run: PodRun, c: Container, t: datetime, due: datetime | None) -> Container:
    n = c.instances + 1
    return replace(c, state=State.RUNNING, reason="", message="", due=due, started=t,
                   instances=n, container_id=container_id(run.uid, c.name, n), exit=None)


def _init_step(run: PodRun, env: Env, i: int, t: datetime) -> PodRun:
    c = run.init[i]
    if c.state == State.WAITING:
        c = _run(run, c, t, None if c.sidecar else t)  # run-to-completion: ends at once
        run = replace(run, init=_with(run.init, i, c))
        if not c.sidecar:
            return run
    else:
        assert c.started is not None
        end = Exit(0, "Completed", c.image, c.container_id, c.started, t)
        run = replace(run, init=_with(run.init, i, replace(
            c, state=State.TERMINATED, due=None, started=None, exit=end)))
    if i + 1 < len(run.init):
        return _start_init(run, env, i + 1, t)
    return start_containers(run, env, t)


def _container_step(run: PodRun, env: Env, i: int, t: datetime) -> PodRun:
    c = run.containers[i]
    if c.state == State.WAITING and c.reason == BACKING_OFF:  # back-off over: start it
        c = replace(c, reason=CREATING, message="",
                    due=_after(t, _creation(run, env, c, regular=True)))
    elif c.state == State.WAITING:
        ends = env.faults.exit_after()
        c = _run(run, c, t, _after(t, ends[0]) if ends else None)
    else:
        c = _exited(run, env, c, t)
    return replace(run, containers=_with(run.containers, i, c))


def _exited(run: PodRun, env: Env, c: Container, t: datetime) -> Container:
    ends = env.faults.exit_after()
    code = ends[1] if ends else 0
    assert c.started is not None
    end = Exit(code, "Completed" if code == 0 else "Error", c.image, c.container_id,
               c.started, t)
    policy = env.restart_policy
    restart = run.stop_at is None and (policy == "Always" or (policy == "OnFailure" and code))
    if not restart:
        return replace(c, state=State.TERMINATED, due=None, started=None, exit=end)
    delay, backoff = back_off(c.backoff, None if c.backoff_at is None
                              else (t - c.backoff_at).total_seconds())
    waiting = replace(c, state=State.WAITING, started=None, last=end, exit=None,
                      backoff=backoff, backoff_at=_after(t, delay))
    if delay:
        return replace(waiting, reason=BACKING_OFF, due=_after(t, delay),
                       message=f"back-off {delay:g}s restarting failed container={c.name}")
    return replace(waiting, reason=CREATING,
                   due=_after(t, _creation(run, env, waiting, regular=True)))


def _stop(run: PodRun, env: Env, t: datetime) -> PodRun:
    killed = env.latency.stop > run.grace
    code, reason = (137, "Error") if killed else (0, "Completed")

    def stop(c: Container) -> Container:
        if c.state == State.RUNNING:
            assert c.started is not None
            end = Exit(code, reason, c.image, c.container_id, c.started, t)
            return replace(c, state=State.TERMINATED, due=None, started=None, exit=end)
        if c.state == State.WAITING and c.last is not None:
            return replace(c, state=State.TERMINATED, due=None, exit=c.last)
        return replace(c, due=None)

    return replace(run, stopped=True, sandbox_due=None, init=tuple(map(stop, run.init)),
                   containers=tuple(map(stop, run.containers)))


def apply_spec(run: PodRun, pod: Obj, env: Env, now: datetime) -> PodRun:
    """Act on the pod's spec as of ``now``: a deletion begins the stop; a changed image
    restarts that container (only) on the new image."""
    meta = pod.get("metadata") or {}
    if run.stop_at is not None:
        return run
    if meta.get("deletionTimestamp"):
        grace = float(meta.get("deletionGracePeriodSeconds") or 0)
        frozen = tuple(replace(c, due=None) if c.state == State.WAITING else c
                       for c in (*run.init, *run.containers))
        return replace(run, stop_at=_after(now, min(env.latency.stop, grace)), grace=grace,
                       sandbox_due=None, init=frozen[:len(run.init)],
                       containers=frozen[len(run.init):])
    wanted = {str(c.get("name")): str(c.get("image", ""))
              for c in (pod.get("spec") or {}).get("containers") or ()}
    for i, c in enumerate(run.containers):
        image = wanted.get(c.name, c.image)
        if image == c.image or c.state == State.TERMINATED:
            continue
        if c.state == State.RUNNING:
            assert c.started is not None
            end = Exit(0, "Completed", c.image, c.container_id, c.started, now)
            c = replace(c, state=State.WAITING, reason=CREATING, message="", started=None,
                        last=end, image=image)
            c = replace(c, due=_after(now, _creation(run, env, c, regular=True)))
        elif c.due is not None and c.reason == CREATING:
            c = replace(c, image=image)
            c = replace(c, due=_after(now, _creation(run, env, c, regular=True)))
        else:  # not started yet, or backing off: the new image is used when it starts
            c = replace(c, image=image)
        run = replace(run, containers=_with(run.containers, i, c))
    return run
