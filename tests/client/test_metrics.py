"""Request counts: in-memory for benchmarks, Prometheus series for operators."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from mizzen.apiserver.server import ApiServer
from mizzen.client import CONFIGMAPS, DEPLOYMENTS, ApiError, Client, ClientMetrics
from tests.client.conftest import configmap, deployment, server_config


async def test_counts_by_verb_and_resource(server: ApiServer) -> None:
    registry = CollectorRegistry()
    metrics = ClientMetrics(registry)
    async with Client(server_config(server), metrics=metrics) as client:
        await client.create(CONFIGMAPS, configmap("a"), "default")
        await client.create(CONFIGMAPS, configmap("b"), "default")
        await client.patch(CONFIGMAPS, "a", {"data": {"x": "1"}}, "default")
        await client.get(CONFIGMAPS, "a", "default")
        await client.list(CONFIGMAPS, "default")
        await client.delete(CONFIGMAPS, "b", "default")
        await client.create(DEPLOYMENTS, deployment("web"), "default")
        await client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 3}}, "default",
                           subresource="scale")
        try:
            await client.get(CONFIGMAPS, "missing", "default")
        except ApiError:
            pass
    assert metrics.counts() == {
        ("create", "configmaps"): 2, ("patch", "configmaps"): 1, ("get", "configmaps"): 2,
        ("list", "configmaps"): 1, ("delete", "configmaps"): 1, ("create", "deployments"): 1,
        ("patch", "deployments/scale"): 1}
    assert metrics.writes() == 6
    text = generate_latest(registry).decode()
    assert 'mizzen_client_requests_total{code="201",resource="configmaps",verb="create"} 2.0' \
        in text
    assert 'mizzen_client_requests_total{code="404",resource="configmaps",verb="get"} 1.0' in text
    assert 'mizzen_client_request_duration_seconds_count{resource="configmaps",verb="get"} 2.0' \
        in text
    before = metrics.counts()
    async with Client(server_config(server), metrics=metrics) as client:
        await client.patch(CONFIGMAPS, "a", {"data": {"y": "2"}}, "default")
        await client.get(CONFIGMAPS, "a", "default")
    assert metrics.delta(before) == {("patch", "configmaps"): 1, ("get", "configmaps"): 1}
    metrics.reset()
    assert metrics.counts() == {} and metrics.writes() == 0


async def test_clients_get_separate_registries_unless_they_share_metrics(
        server: ApiServer) -> None:
    shared = ClientMetrics()
    async with Client(server_config(server), metrics=shared) as a, \
            Client(server_config(server), metrics=shared) as b, \
            Client(server_config(server)) as c:
        for client in (a, b, c):
            await client.list(CONFIGMAPS, "default")
    assert shared.counts() == {("list", "configmaps"): 2}
    assert c.metrics.counts() == {("list", "configmaps"): 1}
    assert c.metrics.registry is not shared.registry
