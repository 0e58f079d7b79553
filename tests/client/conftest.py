"""Fixtures for client tests: a Client on the in-process API server, and object builders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from mizzen.apiserver.server import ApiServer
from mizzen.client import Client, ClientConfig, ClientMetrics


def server_config(server: ApiServer) -> ClientConfig:
    return ClientConfig(server=server.url, ca_data=server.ca_pem, token=server.token)


@pytest.fixture
async def client(server: ApiServer) -> AsyncIterator[Client]:
    async with Client(server_config(server), metrics=ClientMetrics()) as c:
        yield c


class InstantClock:
    """A clock whose ``sleep`` returns at once after moving time forward; records sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


def pod(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}


def configmap(name: str, data: dict[str, str] | None = None,
              labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels or {}}, "data": data or {}}


def deployment(name: str, replicas: int = 2) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "nginx"}]}}}}
