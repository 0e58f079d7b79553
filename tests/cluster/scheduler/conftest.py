"""Scheduler fixtures: a client for the in-process API server and a running scheduler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from mizzen.apiserver.server import ApiServer
from mizzen.client.client import Client
from mizzen.cluster.scheduler import Scheduler, SchedulerOptions, add_scheduler
from mizzen.runtime.clock import Clock, RealClock
from mizzen.runtime.manager import Manager, ManagerOptions
from tests.runtime.conftest import client_for


@pytest.fixture
async def client(server: ApiServer) -> AsyncIterator[Client]:
    async with client_for(server) as c:
        yield c


@asynccontextmanager
async def running_scheduler(server: ApiServer, options: SchedulerOptions | None = None,
                            clock: Clock | None = None,
                            check_mutations: bool = True) -> AsyncIterator[Scheduler]:
    """A manager with only the scheduler, on its own client (so its metrics are its own)."""
    async with client_for(server) as own:
        manager = Manager(own, clock or RealClock(),
                          ManagerOptions(check_mutations=check_mutations))
        scheduler = add_scheduler(manager, options)
        async with manager:
            yield scheduler
