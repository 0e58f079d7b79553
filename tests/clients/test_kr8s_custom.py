"""kr8s on custom resources: a CRD's objects created, listed, patched and scaled through kr8s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from kr8s.asyncio.objects import new_class

from mizzen.apiserver.server import ApiServer
from tests.apiserver.test_crds import CRDS, crd
from tests.clients.test_kr8s import close, connect
from tests.conftest import Api, eventually


@pytest.fixture
async def kapi(server: ApiServer) -> AsyncIterator[Any]:
    api = await connect(server)
    yield api
    await close(api)


async def test_kr8s_drives_a_custom_resource(api: Api, server: ApiServer, kapi: Any) -> None:
    assert (await api.post(CRDS, crd()))[0] == 201

    async def established() -> bool:
        _, got = await api.get(f"{CRDS}/widgets.example.com")
        return any(c["type"] == "Established" and c["status"] == "True"
                   for c in got.get("status", {}).get("conditions", []))

    await eventually(established)
    widget_cls = new_class(kind="Widget", version="example.com/v1", namespaced=True,
                           scalable=True, scalable_spec="replicas")
    widget = await widget_cls({"apiVersion": "example.com/v1", "kind": "Widget",
                               "metadata": {"name": "w1", "namespace": "default"},
                               "spec": {"size": 3}}, api=kapi)
    await widget.create()
    assert widget.raw["spec"]["replicas"] == 1  # defaulted by the CRD schema
    listed = [w.name async for w in kapi.async_get("widgets.example.com", namespace="default")]
    assert listed == ["w1"]
    await widget.patch({"spec": {"size": 5}})
    await widget.label({"team": "a"})
    await widget.refresh()
    assert widget.raw["spec"]["size"] == 5 and widget.labels == {"team": "a"}
    assert widget.raw["metadata"]["generation"] == 2
    stored = server.store.get("example.com/widgets", "default", "w1")
    assert stored is not None and stored.obj["spec"]["size"] == 5
    await widget.delete()

    async def gone() -> bool:
        return server.store.get("example.com/widgets", "default", "w1") is None

    await eventually(gone)
