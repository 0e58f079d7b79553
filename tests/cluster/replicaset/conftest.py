"""Fixtures: a Client for the in-process API server (the ``server`` fixture is global)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mizzen.apiserver.server import ApiServer
from mizzen.client.client import Client
from tests.runtime.conftest import client_for


@pytest.fixture
async def client(server: ApiServer) -> AsyncIterator[Client]:
    async with client_for(server) as c:
        yield c
