"""Runtime fixtures: a Client for the in-process API server, and servers with tiny windows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from mizzen.apiserver.server import ApiServer, ServerConfig
from mizzen.client.client import Client
from mizzen.client.config import ClientConfig


def client_for(server: ApiServer, **options: Any) -> Client:
    config = ClientConfig(server=server.url, ca_data=server.ca_pem, token=server.token)
    return Client(config, **options)


@asynccontextmanager
async def custom_server(tmp_path: Path, **config: Any) -> AsyncIterator[ApiServer]:
    """A server with non-default settings (tiny change-log window, fast bookmarks...)."""
    cfg = ServerConfig(data_dir=tmp_path / "custom", port=0, synchronous="NORMAL", **config)
    async with ApiServer(cfg) as srv:
        yield srv


@pytest.fixture
async def client(server: ApiServer) -> AsyncIterator[Client]:
    async with client_for(server) as c:
        yield c
