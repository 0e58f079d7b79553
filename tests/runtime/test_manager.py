"""Manager: a controller end to end on the API server, probes and metrics, and handover
between two managers sharing one Lease."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from mizzen.apiserver.server import ApiServer
from mizzen.client.client import Client
from mizzen.client.config import ClientConfig
from mizzen.client.errors import ApiError
from mizzen.client.resources import CONFIGMAPS, EVENTS, SECRETS
from mizzen.runtime.clock import RealClock
from mizzen.runtime.leaderelection import LeaderElectionConfig
from mizzen.runtime.manager import Manager, ManagerOptions
from mizzen.runtime.reconcile import Request, Result
from tests.runtime.conftest import client_for
from tests.runtime.mirror import mirror_controller
from tests.runtime.util import wait_for_async, wait_until

NS = "default"


def cm(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": NS, "labels": labels or {}}, "data": data}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def secret_data(client: Client, name: str) -> dict[str, str] | None:
    try:
        secret = await client.get(SECRETS, name, NS)
    except ApiError as exc:
        if exc.not_found:
            return None
        raise
    data: dict[str, str] = secret.get("data") or {}
    return data


async def http_get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


async def test_mirror_controller_create_update_delete_through_the_api(
        server: ApiServer, client: Client) -> None:
    await client.create(CONFIGMAPS, cm("early", {"mirror": "yes"}, k="v0"), NS)
    config = ClientConfig(server=server.url, ca_data=server.ca_pem, token=server.token)
    options = ManagerOptions(health_port=0, check_mutations=True)
    manager = Manager.from_config(config, RealClock(), options)
    controller, reconciler = mirror_controller(manager)
    async with manager:
        # Existing objects are reconciled at start.
        await wait_for_async(lambda: secret_data(client, "early"))
        assert await secret_data(client, "early") == {"k": b64("v0")}

        # create
        await client.create(CONFIGMAPS, cm("plain", k="x"), NS)
        await client.create(CONFIGMAPS, cm("app", {"mirror": "yes"}, a="1"), NS)
        await wait_for_async(lambda: secret_data(client, "app"))
        secret = await client.get(SECRETS, "app", NS)
        assert secret["data"] == {"a": b64("1")}
        (owner,) = secret["metadata"]["ownerReferences"]
        assert owner["kind"] == "ConfigMap" and owner["name"] == "app" and owner["controller"]
        assert Request(NS, "plain") not in reconciler.passes  # filtered by the predicate
        assert await secret_data(client, "plain") is None

        # update the ConfigMap: the Secret follows
        await client.patch(CONFIGMAPS, "app", {"data": {"a": "2", "b": "3"}}, NS)

        async def updated() -> bool:
            return await secret_data(client, "app") == {"a": b64("2"), "b": b64("3")}

        await wait_for_async(updated)

        # an edit of the owned Secret enqueues its owner, which restores it
        drifted = await client.get(SECRETS, "app", NS)
        drifted["data"] = {"a": b64("tampered")}
        await client.update(SECRETS, drifted)
        await wait_for_async(updated)

        # removing the label deletes the Secret
        await client.patch(CONFIGMAPS, "app", {"metadata": {"labels": {"mirror": None}}}, NS)
        await wait_for_async(lambda: _absent(client, "app"))

        # label again, then delete the ConfigMap: the Secret goes too
        await client.patch(CONFIGMAPS, "app", {"metadata": {"labels": {"mirror": "yes"}}}, NS)
        await wait_for_async(lambda: secret_data(client, "app"))
        await client.delete(CONFIGMAPS, "app", NS)
        await wait_for_async(lambda: _absent(client, "app"))

        # events were written for the ConfigMaps
        recorder = manager.event_recorder("mirror-controller")
        await recorder.flush()
        events, _ = await client.list_all(EVENTS, NS)
        reasons = {(e["involvedObject"]["name"], e["reason"]) for e in events}
        assert {("early", "Created"), ("app", "Created"), ("app", "Updated")} <= reasons

        # probes and metrics
        port = manager.health.port
        assert await http_get(port, "/healthz") == (200, b"ok")
        status, body = await http_get(port, "/readyz?verbose")
        assert status == 200 and b"[+]informers-synced ok" in body
        status, metrics = await http_get(port, "/metrics")
        assert status == 200
        text = metrics.decode()
        assert 'controller_runtime_reconcile_total{controller="mirror",result="success"}' in text
        assert 'workqueue_depth{name="mirror"}' in text
        assert 'mizzen_informer_lists_total{informer="configmaps[default]"} 1.0' in text
        assert "mizzen_client_requests_total" in text
        assert controller.running
    assert not controller.running


async def _absent(client: Client, name: str) -> bool:
    return await secret_data(client, name) is None


class Replica:
    """One manager replica with a controller that records which keys it reconciled."""

    def __init__(self, server: ApiServer, identity: str, release: bool) -> None:
        self.client = client_for(server)
        election = LeaderElectionConfig("mirror-leader", NS, identity, lease_duration=1.0,
                                        renew_deadline=0.6, retry_period=0.2,
                                        release_on_cancel=release)
        self.manager = Manager(self.client, RealClock(), ManagerOptions(leader_election=election))
        self.passes: list[Request] = []
        informer = self.manager.informer(CONFIGMAPS, namespace=NS)
        self.manager.controller("recorder", self.reconcile).for_(informer)
        self.task: asyncio.Task[None] | None = None

    async def reconcile(self, request: Request) -> Result:
        self.passes.append(request)
        return Result()

    def start(self) -> None:
        self.task = asyncio.create_task(self.manager.run())

    async def kill(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.client.close()


async def _handover(server: ApiServer, client: Client, release: bool) -> float:
    await client.create(CONFIGMAPS, cm("existing"), NS)
    a, b = Replica(server, "replica-a", release), Replica(server, "replica-b", release)
    a.start()
    try:
        await wait_until(lambda: Request(NS, "existing") in a.passes)
        b.start()
        assert b.manager.elector is not None
        await wait_until(lambda: b.manager.elector is not None
                         and b.manager.elector.leader == "replica-a")
        await wait_until(lambda: all(i.has_synced for i in b.manager.informers))
        assert b.passes == [] and not b.manager.is_leader  # standby: warm cache, no work
        loop = asyncio.get_running_loop()
        start = loop.time()
        await a.kill()
        await wait_until(lambda: Request(NS, "existing") in b.passes, timeout=10)
        elapsed = loop.time() - start
        await client.create(CONFIGMAPS, cm("after-handover"), NS)
        await wait_until(lambda: Request(NS, "after-handover") in b.passes)
        assert Request(NS, "after-handover") not in a.passes
        return elapsed
    finally:
        await a.kill()
        await b.kill()


async def test_two_managers_hand_over_within_the_lease_duration_on_release(
        server: ApiServer, client: Client) -> None:
    elapsed = await _handover(server, client, release=True)
    assert elapsed < 1.0


async def test_two_managers_hand_over_after_expiry_when_the_leader_dies(
        server: ApiServer, client: Client) -> None:
    elapsed = await _handover(server, client, release=False)
    # lease 1 s, retry 0.2 s jittered up to 2.2x: expiry plus at most two attempts
    assert 0.7 <= elapsed <= 1.0 + 2 * 0.44 + 0.5
