"""Per-kind field selectors beyond pods: events (involvedObject.*, reason, type, source,
reportingComponent), secrets (type) and nodes (spec.unschedulable), as kube-apiserver
offers them — over LIST and WATCH, with unknown fields refused with 400."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.conftest import Api

EVENTS = "/api/v1/namespaces/default/events"
SECRETS = "/api/v1/namespaces/default/secrets"
NODES = "/api/v1/nodes"


def event(name: str, kind: str, obj: str, reason: str, type_: str = "Normal",
          component: str = "kubelet") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
            "involvedObject": {"kind": kind, "name": obj, "namespace": "default",
                               "apiVersion": "v1", "uid": f"uid-{obj}"},
            "reason": reason, "message": f"{reason} {obj}", "type": type_,
            "source": {"component": component}, "reportingComponent": component}


async def names(api: Api, path: str, selector: str) -> set[str]:
    code, listing = await api.get(f"{path}?fieldSelector={selector}")
    assert code == 200, listing
    return {i["metadata"]["name"] for i in listing["items"]}


EVENT_CASES = [
    ("involvedObject.kind=Pod", {"e1", "e2"}),
    ("involvedObject.name=web", {"e1", "e3"}),
    ("involvedObject.kind=Pod,involvedObject.name=web", {"e1"}),
    ("involvedObject.uid=uid-db", {"e2"}),
    ("involvedObject.namespace=default", {"e1", "e2", "e3"}),
    ("reason=BackOff", {"e2"}),
    ("type=Warning", {"e2", "e3"}),
    ("type!=Warning", {"e1"}),
    ("source=cloneset-controller", {"e3"}),
    ("reportingComponent=kubelet", {"e1", "e2"}),
]


@pytest.fixture
async def events(api: Api) -> Api:
    for body in (event("e1", "Pod", "web", "Started"),
                 event("e2", "Pod", "db", "BackOff", "Warning"),
                 event("e3", "CloneSet", "web", "RolloutBlocked", "Warning",
                       "cloneset-controller")):
        code, created = await api.post(EVENTS, body)
        assert code == 201, created
    return api


@pytest.mark.parametrize(("selector", "want"), EVENT_CASES, ids=[c[0] for c in EVENT_CASES])
async def test_event_field_selectors(events: Api, selector: str, want: set[str]) -> None:
    assert await names(events, EVENTS, selector) == want


async def test_secret_type_and_node_unschedulable(api: Api) -> None:
    for name, type_ in (("plain", "Opaque"), ("tls", "kubernetes.io/tls")):
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                                "type": type_}
        if type_ == "kubernetes.io/tls":
            body["data"] = {"tls.crt": "", "tls.key": ""}
        code, created = await api.post(SECRETS, body)
        assert code == 201, created
    assert await names(api, SECRETS, "type=kubernetes.io/tls") == {"tls"}
    assert await names(api, SECRETS, "type!=kubernetes.io/tls") == {"plain"}
    for name, cordoned in (("n1", True), ("n2", False)):
        code, created = await api.post(NODES, {"apiVersion": "v1", "kind": "Node",
                                               "metadata": {"name": name},
                                               "spec": {"unschedulable": cordoned}})
        assert code == 201, created
    assert await names(api, NODES, "spec.unschedulable=true") == {"n1"}
    assert await names(api, NODES, "spec.unschedulable=false") == {"n2"}


async def test_unknown_fields_are_refused_per_kind(events: Api) -> None:
    for path, selector in ((EVENTS, "involvedObject.bogus=x"), (SECRETS, "reason=x"),
                           (NODES, "type=x")):
        code, status = await events.get(f"{path}?fieldSelector={selector}")
        assert code == 400, (path, selector)
        assert status["kind"] == "Status" and status["reason"] == "BadRequest"
        assert selector.partition("=")[0] in status["message"]


async def test_watch_honours_an_event_field_selector(events: Api) -> None:
    code, listing = await events.get(EVENTS)
    rv = listing["metadata"]["resourceVersion"]
    await events.post(EVENTS, event("e4", "Pod", "web", "Killing"))
    await events.post(EVENTS, event("e5", "Node", "n1", "Killing"))
    await events.post(EVENTS, event("e6", "Pod", "api", "Pulled"))
    url = (f"{events.server.url}{EVENTS}?watch=1&resourceVersion={rv}&timeoutSeconds=1"
           "&fieldSelector=involvedObject.kind=Pod,reason=Killing")
    headers = {"Authorization": f"Bearer {events.server.token}"}
    seen = []
    async with events.session.get(url, headers=headers) as resp:  # ends after timeoutSeconds
        assert resp.status == 200
        async for line in resp.content:
            item = orjson.loads(line)
            seen.append((item["type"], item["object"]["metadata"]["name"]))
    assert seen == [("ADDED", "e4")]
