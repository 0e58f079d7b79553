"""CloneSet end to end: how a rollout proceeds — the worked example, budgets, partition, pause.

The budgets are checked on a pod watch, after every event ("at every
observed instant"): a user counting pods at any moment must never see fewer
than ``replicas - maxUnavailable`` available pods, nor more than
``replicas + maxSurge`` pods.
"""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.apiserver.server import ApiServer
from mizzen.workloads.lifecycle import is_pod_available
from tests.workloads.cloneset.harness import PodTrace, cloneset, condition, revision_of, running

Obj = dict[str, Any]


async def test_worked_example_surge_then_in_place_then_delete(server: ApiServer) -> None:
    """replicas 5, maxSurge 1, maxUnavailable 0, partition 3: create 1 new pod -> when it is
    ready update 1 old pod in place (4 old / 2 new) -> when that is available delete 1 old
    pod -> 3 old / 2 new, total 5."""
    async with running(server) as env:
        await env.create(cloneset(replicas=5, policy="InPlaceIfPossible", max_surge=1,
                                  max_unavailable=0, partition=3))
        v1 = (await env.settled())["status"]["updateRevision"]
        seen: list[tuple[int, int]] = []

        def record(pods: list[Obj]) -> None:
            old = sum(1 for p in pods if revision_of(p) == v1)
            counts = (old, len(pods) - old)
            if not seen or seen[-1] != counts:
                seen.append(counts)

        async with PodTrace(env.client, record, clock=env.clock) as trace:
            record(trace.live())
            await env.set_image("nginx:1.26")
            cs = await env.settled(updated=2, timeout=30)
        assert seen == [(5, 0), (5, 1), (4, 2), (3, 2)]
        assert cs["status"]["expectedUpdatedReplicas"] == 2
        assert cs["status"]["currentRevision"] == v1
        pods = await env.pods()
        in_place = [p for p in pods if revision_of(p) != v1
                    and p["status"]["containerStatuses"][0]["restartCount"] == 1]
        assert len(in_place) == 1  # one new pod was created, one updated in place


@pytest.mark.parametrize(("policy", "max_unavailable", "max_surge"), [
    ("ReCreate", 1, 1),
    ("InPlaceIfPossible", 2, 0),
    ("ReCreate", "50%", 0),
])
async def test_budgets_hold_at_every_instant(server: ApiServer, policy: str,
                                             max_unavailable: Any, max_surge: Any) -> None:
    replicas = 4
    limit = max_unavailable if isinstance(max_unavailable, int) else 2
    async with running(server) as env:
        await env.create(cloneset(replicas=replicas, policy=policy,
                                  max_unavailable=max_unavailable, max_surge=max_surge))
        await env.settled()
        worst = {"unavailable": 0, "total": 0}

        def check(pods: list[Obj]) -> None:
            available = sum(1 for p in pods if is_pod_available(p, 0, env.clock.now()))
            worst["unavailable"] = max(worst["unavailable"], replicas - available)
            worst["total"] = max(worst["total"], len(pods))
            assert replicas - available <= limit, f"{replicas - available} unavailable"
            assert len(pods) <= replicas + max_surge, f"{len(pods)} pods"

        async with PodTrace(env.client, check, clock=env.clock) as trace:
            await env.set_image("nginx:1.26")
            await env.settled(timeout=40)
        assert trace.errors == []
        if max_surge:
            # Each old pod goes once its surge replacement is labelled; when that one is
            # Ready first (the refresh and the update share a pass), nothing is unavailable.
            assert worst["unavailable"] <= limit
        else:
            assert worst["unavailable"] == limit  # the budget was used, not exceeded
        assert worst["total"] == replicas + max_surge  # the surge was


@pytest.mark.parametrize(("partition", "updated"), [(1, 3), ("50%", 2), ("99%", 1)])
async def test_partition_keeps_old_pods(server: ApiServer, partition: Any,
                                        updated: int) -> None:
    async with running(server) as env:
        await env.create(cloneset(replicas=4, policy="InPlaceIfPossible", partition=partition,
                                  max_unavailable="100%"))
        v1 = (await env.settled())["status"]["updateRevision"]
        await env.set_image("nginx:1.26")
        cs = await env.settled(updated=updated, timeout=30)
        assert cs["status"]["expectedUpdatedReplicas"] == updated
        assert cs["status"]["currentRevision"] == v1
        assert sum(1 for p in await env.pods() if revision_of(p) == v1) == 4 - updated


async def test_pause_stops_updates_and_resume_finishes_them(server: ApiServer) -> None:
    async with running(server) as env:
        await env.create(cloneset(replicas=2, policy="InPlaceIfPossible",
                                  progressDeadlineSeconds=600))
        v1 = (await env.settled())["status"]["updateRevision"]
        await env.patch_spec({"updateStrategy": {"rollingUpdate": {"paused": True}}})
        await env.set_image("nginx:1.26")

        async def paused() -> Obj | None:
            return condition(await env.get(), "RolloutBlocked")

        blocked = await env.wait(paused, "RolloutBlocked Paused")
        assert blocked["reason"] == "Paused"
        cs = await env.get()
        assert (condition(cs, "Progressing") or {}).get("reason") == "CloneSetPaused"
        # Paused still scales, and the new pods become ready.
        await env.patch_spec({"replicas": 3})
        await env.settled(updated=1, timeout=30)
        assert sorted(revision_of(p) == v1 for p in await env.pods()) == [False, True, True]
        await env.patch_spec({"updateStrategy": {"rollingUpdate": {"paused": False}}})
        cs = await env.settled(timeout=30)
        assert condition(cs, "RolloutBlocked") is None
        assert (condition(cs, "Progressing") or {}).get("reason") == "CloneSetAvailable"
