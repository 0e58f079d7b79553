"""The real ``kubectl rollout status|history|undo`` against the controllers.

kubectl runs as a subprocess of the test's event loop (the in-process API
server and the controllers keep running while it waits), with the server's
kubeconfig and a per-test discovery cache.  Long-running commands are read
line by line; nothing sleeps for a fixed time.  Skipped when kubectl is absent.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from mizzen.apiserver.server import ApiServer
from mizzen.client.client import Client
from mizzen.client.resources import DEPLOYMENTS, PODS, REPLICASETS
from mizzen.cluster.deployment.revision import CHANGE_CAUSE, REVISION, REVISION_HISTORY
from mizzen.cluster.podutil import is_terminating
from tests.cluster.replicaset.harness import (
    NS,
    JumpClock,
    PodWatch,
    deployment,
    rolled_out,
    running,
    stuck,
)
from tests.runtime.util import wait_for_async

KUBECTL = shutil.which("kubectl")

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH"),
]

Obj = dict[str, Any]


class Kubectl:
    def __init__(self, server: ApiServer, tmp_path: Path) -> None:
        assert KUBECTL is not None
        self.argv = [KUBECTL, f"--kubeconfig={server.kubeconfig_path}",
                     f"--cache-dir={tmp_path / 'kubectl-cache'}", "--namespace", NS]
        self.env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}

    async def start(self, *args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *self.argv, *args, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=self.env)

    async def run(self, *args: str, rc: int = 0, timeout: float = 60) -> str:
        proc = await self.start(*args)
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        assert proc.returncode == rc, (args, proc.returncode, out, err)
        return (out + err).decode()


@pytest.fixture
def kubectl(server: ApiServer, tmp_path: Path) -> Kubectl:
    return Kubectl(server, tmp_path)


def set_image(image: str, cause: str) -> Obj:
    return {"metadata": {"annotations": {CHANGE_CAUSE: cause}},
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}


async def images(client: Client) -> set[str]:
    items, _ = await client.list_all(PODS, NS)
    return {p["spec"]["containers"][0]["image"] for p in items if not is_terminating(p)}


async def test_rollout_status_succeeds_once_rolled_out(server: ApiServer, client: Client,
                                                       kubectl: Kubectl) -> None:
    await client.create(DEPLOYMENTS, deployment("web", 4), NS)
    async with running(server), PodWatch(client, make_ready=lambda p: True):
        await wait_for_async(rolled_out(client))
        await client.patch(DEPLOYMENTS, "web", set_image("nginx:1.26", "upgrade"), NS,
                           patch_type="strategic")
        out = await kubectl.run("rollout", "status", "deployment/web", "--timeout=60s")
        assert 'deployment "web" successfully rolled out' in out
        assert await images(client) == {"nginx:1.26"}


async def test_rollout_status_fails_when_the_progress_deadline_passes(
        server: ApiServer, client: Client, kubectl: Kubectl) -> None:
    clock = JumpClock()
    await client.create(DEPLOYMENTS, deployment("web", 2, progressDeadlineSeconds=60), NS)

    def first_version(p: Obj) -> bool:
        return bool(p["spec"]["containers"][0]["image"] == "nginx:1.25")

    async with running(server, clock), PodWatch(client, make_ready=first_version):
        await wait_for_async(rolled_out(client))
        await client.patch(DEPLOYMENTS, "web", set_image("nginx:broken", "break it"), NS,
                           patch_type="strategic")
        await wait_for_async(stuck(client, updated=1, total=3), what="a stuck rollout")
        proc = await kubectl.start("rollout", "status", "deployment/web", "--timeout=60s")
        assert proc.stdout is not None
        first = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert first.startswith(b'Waiting for deployment "web" rollout to finish')
        clock.jump(62)  # past progressDeadlineSeconds on the controllers' clock
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 1, (out, err)
        assert b'error: deployment "web" exceeded its progress deadline' in err


async def test_rollout_history_and_undo(server: ApiServer, client: Client,
                                        kubectl: Kubectl) -> None:
    body = deployment("web", 2, annotations={CHANGE_CAUSE: "first release"})
    await client.create(DEPLOYMENTS, body, NS)
    async with running(server), PodWatch(client, make_ready=lambda p: True):
        await wait_for_async(rolled_out(client))
        await client.patch(DEPLOYMENTS, "web", set_image("nginx:1.26", "upgrade to 1.26"), NS,
                           patch_type="strategic")
        await wait_for_async(rolled_out(client))
        await wait_for_async(images_are(client, "nginx:1.26"))

        history = await kubectl.run("rollout", "history", "deployment/web")
        assert rows(history) == [("1", "first release"), ("2", "upgrade to 1.26")]
        one = await kubectl.run("rollout", "history", "deployment/web", "--revision=1")
        assert "nginx:1.25" in one and "nginx:1.26" not in one

        undone = await kubectl.run("rollout", "undo", "deployment/web")
        assert "deployment.apps/web rolled back" in undone
        await wait_for_async(rolled_out(client), what="rolled back")
        await wait_for_async(images_are(client, "nginx:1.25"))
        d = await client.get(DEPLOYMENTS, "web", NS)
        assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
        rss, _ = await client.list_all(REPLICASETS, NS)
        first = next(rs for rs in rss
                     if rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25")
        assert first["metadata"]["annotations"][REVISION] == "3"
        assert first["metadata"]["annotations"][REVISION_HISTORY] == "1"
        assert len(rss) == 2  # the old ReplicaSet came back; no third one

        history = await kubectl.run("rollout", "history", "deployment/web")
        assert rows(history) == [("2", "upgrade to 1.26"), ("3", "first release")]

        await kubectl.run("rollout", "undo", "deployment/web", "--to-revision=2")
        await wait_for_async(rolled_out(client))
        await wait_for_async(images_are(client, "nginx:1.26"))
        history = await kubectl.run("rollout", "history", "deployment/web")
        assert rows(history) == [("3", "first release"), ("4", "upgrade to 1.26")]


def images_are(client: Client, image: str) -> Any:
    async def check() -> bool:
        return await images(client) == {image}
    return check


def rows(history: str) -> list[tuple[str, str]]:
    """``(revision, change-cause)`` rows of ``kubectl rollout history``."""
    found = []
    for line in history.splitlines():
        match = re.match(r"^(\d+)\s+(.*?)\s*$", line)
        if match:
            found.append((match.group(1), match.group(2)))
    return found
