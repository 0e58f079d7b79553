"""Restart safety: a 200-pod CloneSet rollout while its controller is SIGKILLed again and again.

``mizzen up --no-controllers --nodes 10`` runs the API server and the
simulated cluster (zero latency); ``mizzen controller`` runs the CloneSet
controller and its webhooks as a separate process, as on a real cluster.
Once the 200 pods are Ready the test changes the image and, while the
rollout runs, SIGKILLs the controller at random moments (a seeded RNG: the
same moments relative to each start, 0.2-2 s) and starts a new one each
time.  A killed controller finishes nothing: writes it had planned are lost,
its expectations with it; the next one must pick up from what the API
server holds.

A pod watch opened by the test (before the image changes) feeds
:class:`~tests.cli.rollout_trace.RolloutTrace`, which checks after every
event that the budgets hold — unavailable pods within ``maxUnavailable``,
active pods within ``replicas + maxSurge``, one pod per instance id — and
records every creation and deletion.  At the end the rollout must be
complete (``updatedReadyReplicas == replicas``, ``currentRevision ==
updateRevision``) and the pods created and deleted exactly those the plan
calls for: none for an in-place update, one new pod per old one for a
recreating one.

Two strategies: ``InPlaceIfPossible`` with ``maxUnavailable: 20%``, and
``ReCreate`` with ``maxSurge: 10%`` and ``maxUnavailable: 0`` (every
replacement pod must be Ready before an old one goes).  The cluster has no
latencies, but the pods ask the simulated kubelet for a slow container start
(``sim.mizzen.dev/start-delay``: 1 s in place, 0.5 s recreating): the five
or ten batches follow one another, each at least that long, and a controller
must be alive to start the next, so the rollout cannot end within the first
two kill delays (counted from the image change, not from a status the
controller may write late) and at least two kills land mid-rollout whatever
the machine's speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mizzen.client.client import Client
from mizzen.client.config import load_kubeconfig
from mizzen.client.resources import PODS
from mizzen.workloads.cloneset import CLONESETS
from tests.cli.processes import MizzenProcess
from tests.cli.rollout_trace import Budget, RolloutTrace
from tests.conftest import eventually

Obj = dict[str, Any]
NS = "default"
NAME = "web"
SELECTOR = f"app={NAME}"
REPLICAS = 200
NODES = 10
STARTED = "Mizzen controller manager against"


@dataclass(frozen=True)
class Case:
    """One rolling update under fire."""

    # v1beta1 updateStrategy.rollingUpdate.podUpdatePolicy.
    policy: str
    # updateStrategy.rollingUpdate.maxUnavailable / maxSurge as written in the spec.
    max_unavailable: int | str
    max_surge: int | str
    # Seed of the kill schedule, and how many kills at most (fewer if the rollout ends).
    seed: int
    kills: int
    # Seconds every container start (the first, and each in-place restart) takes: with
    # B batches the rollout lasts at least B * start_delay, so kills land in the middle.
    start_delay: float


CASES = [
    pytest.param(Case("InPlaceIfPossible", "20%", 0, seed=5, kills=4, start_delay=1.0),
                 id="in-place"),
    pytest.param(Case("ReCreate", 0, "10%", seed=11, kills=4, start_delay=0.5),
                 id="recreate-surge"),
]


def cloneset(case: Case, image: str) -> Obj:
    labels = {"app": NAME}
    return {
        "apiVersion": "apps.kruise.io/v1beta1", "kind": "CloneSet",
        "metadata": {"name": NAME, "namespace": NS},
        "spec": {"replicas": REPLICAS, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels, "annotations": {
                     "sim.mizzen.dev/start-delay": str(case.start_delay)}},
                              "spec": {"containers": [{"name": "app", "image": image}]}},
                 "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {
                     "podUpdatePolicy": case.policy, "maxUnavailable": case.max_unavailable,
                     "maxSurge": case.max_surge}}}}


class Controllers:
    """The one ``mizzen controller`` process running at a time; each has its own log."""

    def __init__(self, kubeconfig: Path, logs: Path) -> None:
        self.kubeconfig = kubeconfig
        self.logs = logs
        self.started = 0
        self.current = self._start()

    def _start(self) -> MizzenProcess:
        self.started += 1
        return MizzenProcess(["controller", "--kubeconfig", str(self.kubeconfig)],
                             self.logs / f"controller-{self.started}.log")

    async def ready(self) -> None:
        await self.current.await_for(STARTED)

    def kill_and_restart(self) -> None:
        self.current.kill()
        self.current = self._start()

    def close(self) -> None:
        self.current.close()


@contextmanager
def control_plane(tmp_path: Path) -> Iterator[Path]:
    """``mizzen up --no-controllers``; yields its kubeconfig."""
    data = tmp_path / "state"
    with MizzenProcess(["up", "--data-dir", str(data), "--port", "0", "--nodes", str(NODES),
                        "--no-controllers", "--sync", "NORMAL"], tmp_path / "up.log") as up:
        up.wait_for(r"Mizzen controllers: none \(--no-controllers\)")
        yield data / "kubeconfig"


@asynccontextmanager
async def watching(client: Client, trace: RolloutTrace) -> AsyncIterator[None]:
    """Feed ``trace`` every pod event from the current state on, until the block ends."""
    pods, version = await client.list_all(PODS, NS, label_selector=SELECTOR)
    trace.start(pods)

    async def follow(version: str) -> None:
        while True:  # a watch the server ends is resumed where it stopped
            async for event in client.watch(PODS, NS, resource_version=version,
                                            label_selector=SELECTOR):
                version = event.resource_version or version
                if event.type != "BOOKMARK":
                    trace.apply(event.type, event.object)

    task = asyncio.create_task(follow(version), name="pod-watch")
    try:
        yield
        if task.done():
            task.result()  # the watch failed (e.g. 410 Gone): the trace has a gap
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def status_when(client: Client, check: Any, timeout: float) -> Obj:
    """The CloneSet once ``check(status, cs)`` holds (its status answers its generation)."""
    async def probe() -> Obj | None:
        cs = await client.get(CLONESETS, NAME, NS)
        status = cs.get("status") or {}
        if status.get("observedGeneration") == cs["metadata"]["generation"] \
                and check(status, cs):
            return cs
        return None

    found: Obj = await eventually(probe, timeout=timeout, interval=0.1)
    return found


def rolled_out(status: Obj, cs: Obj) -> bool:
    return bool(status.get("updatedReadyReplicas") == status.get("readyReplicas")
                == status.get("replicas") == REPLICAS
                and status.get("currentRevision") == status.get("updateRevision"))


@pytest.mark.parametrize("case", CASES)
async def test_rollout_survives_controller_kills(tmp_path: Path, case: Case) -> None:
    budget = Budget.of(REPLICAS, case.max_unavailable, case.max_surge)
    with control_plane(tmp_path) as kubeconfig:
        controllers = Controllers(kubeconfig, tmp_path)
        try:
            async with Client(load_kubeconfig(kubeconfig)) as client:
                await controllers.ready()
                await client.create(CLONESETS, cloneset(case, "nginx:1.25"), NS)
                first = await status_when(client, rolled_out, timeout=60)
                old_revision = first["status"]["updateRevision"]

                trace = RolloutTrace(budget)
                async with watching(client, trace):
                    before = dict(trace.pods)
                    assert len(before) == REPLICAS
                    await client.patch(CLONESETS, NAME, {"spec": {"template": {"spec": {
                        "containers": [{"name": "app", "image": "nginx:1.27"}]}}}}, NS)

                    # Kill at random moments of each controller's life while the rollout runs.
                    rng = random.Random(case.seed)
                    kills = 0
                    for _ in range(case.kills):
                        await asyncio.sleep(rng.uniform(0.2, 2.0))
                        if finished(trace, old_revision):
                            break
                        controllers.kill_and_restart()
                        kills += 1
                        await controllers.ready()

                    final = await status_when(client, rolled_out, timeout=60)
                    new_revision = final["status"]["updateRevision"]
                    assert new_revision != old_revision
                    await eventually(_async(lambda: trace.done(new_revision)), timeout=30)
        finally:
            controllers.close()

    report = f"{kills} kills; {trace.summary()}"
    assert trace.violation_count == 0, report
    assert kills >= 2, f"the rollout ended before the controller was killed twice: {report}"
    if case.policy == "InPlaceIfPossible":  # every pod updated in place: nothing created
        assert (trace.created, trace.deleted) == ([], []), report
        after = {n: (p["metadata"]["uid"], p["spec"]["nodeName"], p["status"]["podIP"])
                 for n, p in trace.pods.items()}
        assert after == {n: (p["metadata"]["uid"], p["spec"]["nodeName"], p["status"]["podIP"])
                         for n, p in before.items()}
        # Each container restarted exactly once: no pod was updated twice across a kill.
        assert {(p["spec"]["containers"][0]["image"],
                 p["status"]["containerStatuses"][0]["restartCount"])
                for p in trace.pods.values()} == {("nginx:1.27", 1)}, report
        assert trace.worst_unavailable > 0, report  # the budget was used, and held
    else:  # one new pod per old one, each created on the new revision, never more
        assert sorted(trace.deleted) == sorted(before), report
        assert len(trace.created) == REPLICAS, report
        assert {revision for _, revision in trace.created} == {new_revision}, report
        assert trace.worst_active > REPLICAS, report  # the surge was used, and held


def finished(trace: RolloutTrace, old: str) -> bool:
    """Every pod moved off ``old`` to one revision, available (read from the trace: the
    status may lag, the controller writes it after the pods)."""
    revisions = trace.revisions()
    return len(revisions) == 1 and old not in revisions and trace.done(revisions.pop())


def _async(check: Any) -> Any:
    async def probe() -> Any:
        return check()
    return probe
