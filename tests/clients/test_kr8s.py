"""kr8s, unchanged, against the embedded API server.

The async API runs on the test's own loop next to the in-process ``server`` fixture; the
sync API (which runs its coroutines on a portal thread of its own) talks to the
``threaded_server``.  Every API object is built from the kubeconfig the server wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import kr8s
import kr8s.asyncio
import kr8s.objects
import pytest
from kr8s._exceptions import NotFoundError, ServerError
from kr8s.asyncio.objects import ConfigMap, Deployment, Pod

from mizzen.apiserver.server import ApiServer, ServerConfig
from tests.conftest import ServerThread, eventually

NS = "default"


# -- helpers ---------------------------------------------------------------------------


async def connect(server: ApiServer) -> Any:
    return await kr8s.asyncio.api(kubeconfig=str(server.kubeconfig_path))


async def close(api: Any) -> None:
    session = getattr(api, "_session", None)
    if session is not None and not session.is_closed:
        await session.aclose()


@pytest.fixture
async def kapi(server: ApiServer) -> AsyncIterator[Any]:
    """A ``kr8s.asyncio.Api`` for the in-loop server."""
    api = await connect(server)
    try:
        yield api
    finally:
        await close(api)


def pod_spec(name: str, labels: dict[str, str] | None = None,
             node: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx:1"}]}
    if node is not None:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
            "spec": spec}


def deployment_spec(name: str, replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS, "labels": dict(labels)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": [{"name": "app",
                                                           "image": "nginx:1"}]}}}}


def stored(server: ApiServer, res: str, name: str, ns: str = NS) -> dict[str, Any]:
    """The object as the server stores it (read straight from its store)."""
    entry = server.store.get(res, ns, name)
    assert entry is not None, f"{res} {ns}/{name} is not stored"
    return entry.obj


def status_code(exc: ServerError) -> int:
    assert exc.response is not None
    code = exc.response.status_code
    assert isinstance(code, int)
    return code


async def raises_server_error(call: Callable[[], Awaitable[Any]]) -> ServerError:
    with pytest.raises(ServerError) as info:
        await call()
    return info.value


async def collect(stream: AsyncGenerator[tuple[str, Any], None], count: int,
                  on_event: Callable[[int], Awaitable[None]] | None = None,
                  timeout: float = 10.0) -> list[tuple[str, Any]]:
    """The first ``count`` events of a kr8s watch (which has no server-side timeout of its
    own), bounded by ``timeout``; the stream is closed afterwards."""
    events: list[tuple[str, Any]] = []
    async with asyncio.timeout(timeout), contextlib.aclosing(stream) as events_iter:
        async for typ, obj in events_iter:
            events.append((typ, obj))
            if on_event is not None:
                await on_event(len(events))
            if len(events) == count:
                break
    return events


# -- discovery and version ---------------------------------------------------------------


async def test_version_and_api_resources(server: ApiServer, kapi: Any) -> None:
    version = await kapi.version()
    assert version["gitVersion"] == server.config.version.git_version
    assert (version["major"], version["minor"]) == ("1", "32")
    module_version: Any = kr8s.asyncio.version  # untyped helper
    assert await module_version(api=kapi) == version
    assert kapi.namespace == NS

    with warnings.catch_warnings():  # the served version is one kr8s supports
        warnings.simplefilter("error")
        assert await kr8s.asyncio.api(kubeconfig=str(server.kubeconfig_path)) is kapi

    resources = await kapi.api_resources()
    by_name = {(r["version"], r["name"]): r for r in resources}
    pods = by_name[("v1", "pods")]
    assert pods["kind"] == "Pod" and pods["namespaced"] is True
    assert "po" in pods["shortNames"] and pods["singularName"] == "pod"
    deps = by_name[("apps/v1", "deployments")]
    assert deps["kind"] == "Deployment" and "deploy" in deps["shortNames"]
    assert by_name[("v1", "namespaces")]["namespaced"] is False
    assert not any("/" in r["name"] for r in resources)  # subresources are filtered out

    assert await kapi.lookup_kind("deploy") == ("deployment.apps/v1", "deployments", True)
    assert await kapi.lookup_kind("cm") == ("configmap/v1", "configmaps", True)
    versions = [v async for v in kapi.api_versions()]
    assert "v1" in versions and "apps/v1" in versions


# -- objects -------------------------------------------------------------------------------


async def test_pod_create_refresh_label_patch_delete(server: ApiServer, kapi: Any) -> None:
    pod = await Pod(pod_spec("web", {"app": "web"}), api=kapi)
    await pod.create()
    assert pod.metadata.uid and pod.metadata.resourceVersion
    assert pod.status.phase == "Pending"
    assert stored(server, "/pods", "web")["metadata"]["uid"] == pod.metadata.uid

    await pod.label(tier="front")
    await pod.label({"extra": "1"})
    assert stored(server, "/pods", "web")["metadata"]["labels"] == {
        "app": "web", "tier": "front", "extra": "1"}
    await pod.label("extra-")  # a JSON patch "remove" op
    assert stored(server, "/pods", "web")["metadata"]["labels"] == {"app": "web",
                                                                    "tier": "front"}

    await pod.patch({"metadata": {"annotations": {"a": "1"}}})  # JSON merge patch
    await pod.patch([{"op": "add", "path": "/metadata/annotations/b", "value": "2"},
                     {"op": "add", "path": "/spec/activeDeadlineSeconds", "value": 60}],
                    type="json")
    assert pod.metadata.annotations == {"a": "1", "b": "2"}
    obj = stored(server, "/pods", "web")
    assert obj["metadata"]["annotations"] == {"a": "1", "b": "2"}
    assert obj["spec"]["activeDeadlineSeconds"] == 60

    # A failed JSON-patch test op is 422 and changes nothing.
    rv = obj["metadata"]["resourceVersion"]
    err = await raises_server_error(lambda: pod.patch(
        [{"op": "test", "path": "/metadata/labels/tier", "value": "back"}], type="json"))
    assert status_code(err) == 422
    assert stored(server, "/pods", "web")["metadata"]["resourceVersion"] == rv

    other = await Pod({"metadata": {"name": "web", "namespace": NS}}, api=kapi)
    await other.refresh()
    assert other.labels == {"app": "web", "tier": "front"}
    assert other.metadata.resourceVersion == rv
    assert await other.exists()

    await pod.delete()  # unscheduled: removed at once
    assert server.store.get("/pods", NS, "web") is None
    assert not await other.exists()
    with pytest.raises(NotFoundError):
        await other.refresh()


async def test_get_with_selectors_and_paging(server: ApiServer, kapi: Any) -> None:
    # More objects than kr8s's page size (limit=100), created concurrently.
    await kapi.create([await ConfigMap({"metadata": {"name": f"cm-{i:03d}", "namespace": NS,
                                                     "labels": {"mod": str(i % 3)}},
                                        "data": {"i": str(i)}}, api=kapi)
                       for i in range(105)])
    assert server.store.count("/configmaps") == 105
    all_cms = [c async for c in kr8s.asyncio.get("configmaps", namespace=NS, api=kapi)]
    assert [c.name for c in all_cms] == [f"cm-{i:03d}" for i in range(105)]
    assert all(isinstance(c, ConfigMap) for c in all_cms)
    assert all_cms[7].data == {"i": "7"}

    mod0 = [c.name async for c in kr8s.asyncio.get("configmaps", namespace=NS,
                                                    label_selector={"mod": "0"}, api=kapi)]
    assert mod0 == [f"cm-{i:03d}" for i in range(0, 105, 3)]
    not0 = [c async for c in kr8s.asyncio.get("cm", namespace=NS, label_selector="mod!=0",
                                              field_selector="metadata.name!=cm-001",
                                              api=kapi)]
    assert len(not0) == 105 - 35 - 1

    for name, labels in (("a", {"app": "web"}), ("b", {"app": "web"}), ("c", {"app": "db"})):
        await (await Pod(pod_spec(name, labels), api=kapi)).create()
    named = [p.name async for p in kr8s.asyncio.get("pods", "a", "c", namespace=NS, api=kapi)]
    assert named == ["a", "c"]
    web = [p.name async for p in kr8s.asyncio.get("pods", namespace=NS, api=kapi,
                                                  label_selector={"app": "web"})]
    assert web == ["a", "b"]
    by_field = [p.name async for p in kr8s.asyncio.get(
        "po", namespace=NS, api=kapi, field_selector={"metadata.name": "b"})]
    assert by_field == ["b"]
    raw = [p async for p in kr8s.asyncio.get("pods", namespace=NS, api=kapi, raw=True,
                                             label_selector="app=db")]
    assert [p["metadata"]["name"] for p in raw] == ["c"]
    listed = [p.name async for p in Pod.list(api=kapi, namespace=NS, label_selector="app=web")
              if isinstance(p, Pod)]
    assert listed == ["a", "b"]
    everywhere = [p.name async for p in kr8s.asyncio.get("pods", namespace=kr8s.ALL,
                                                         api=kapi)]
    assert everywhere == ["a", "b", "c"]

    got = await Pod.get("b", namespace=NS, api=kapi)
    assert got.labels == {"app": "web"}


async def test_deployment_scale_and_scale_subresource(server: ApiServer, kapi: Any) -> None:
    dep = await Deployment(deployment_spec("api", replicas=1), api=kapi)
    await dep.create()
    assert dep.replicas == 1 and dep.metadata.generation == 1

    await dep.scale(3)
    obj = stored(server, "apps/deployments", "api")
    assert obj["spec"]["replicas"] == 3 and obj["metadata"]["generation"] == 2
    assert dep.replicas == 3

    # The scale subresource proper (kr8s's scale() patches the deployment itself).
    async with kapi.call_api("GET", version="apps/v1", namespace=NS,
                             url="deployments/api/scale") as resp:
        scale = resp.json()
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"]["replicas"] == 3 and scale["status"]["selector"] == "app=api"

    await dep.patch({"spec": {"replicas": 5}}, subresource="scale")
    # kr8s keeps the response (a Scale) as the object's body, relabelled as a Deployment.
    assert dep.raw["spec"] == {"replicas": 5} and dep.raw["status"]["selector"] == "app=api"
    assert stored(server, "apps/deployments", "api")["spec"]["replicas"] == 5
    await dep.refresh()
    assert dep.kind == "Deployment" and dep.replicas == 5

    # PUT of the Scale read before that patch: its resourceVersion is stale.
    scale["spec"]["replicas"] = 2

    async def put_scale() -> Any:
        async with kapi.call_api("PUT", version="apps/v1", namespace=NS,
                                 url="deployments/api/scale",
                                 content=json.dumps(scale)) as resp:
            return resp.json()
    err = await raises_server_error(put_scale)
    assert status_code(err) == 409 and isinstance(err.status, dict)
    assert err.status["reason"] == "Conflict"
    assert stored(server, "apps/deployments", "api")["spec"]["replicas"] == 5
    scale["metadata"]["resourceVersion"] = dep.metadata.resourceVersion
    assert (await put_scale())["spec"]["replicas"] == 2
    assert stored(server, "apps/deployments", "api")["spec"]["replicas"] == 2

    await dep.label(team="core")
    await dep.patch({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "nginx:2"}]}}}})
    obj = stored(server, "apps/deployments", "api")
    assert obj["metadata"]["labels"] == {"app": "api", "team": "core"}
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"


async def test_status_subresource(server: ApiServer, kapi: Any) -> None:
    pod = await Pod(pod_spec("p"), api=kapi)
    await pod.create()
    await pod.patch({"spec": {"activeDeadlineSeconds": 9},
                     "status": {"phase": "Running", "podIP": "10.0.0.7"}},
                    subresource="status")
    obj = stored(server, "/pods", "p")
    assert obj["status"]["phase"] == "Running" and obj["status"]["podIP"] == "10.0.0.7"
    assert "activeDeadlineSeconds" not in obj["spec"]

    await pod.patch({"metadata": {"labels": {"x": "1"}}, "status": {"phase": "Failed"}})
    obj = stored(server, "/pods", "p")
    assert obj["metadata"]["labels"] == {"x": "1"} and obj["status"]["phase"] == "Running"

    dep = await Deployment(deployment_spec("d", replicas=2), api=kapi)
    await dep.create()
    await dep.patch({"spec": {"replicas": 7}, "status": {"readyReplicas": 2, "replicas": 2}},
                    subresource="status")
    await dep.refresh()
    assert dep.replicas == 2 and dep.status.readyReplicas == 2
    assert dep.metadata.generation == 1


async def test_conflicts_and_not_found(server: ApiServer, kapi: Any) -> None:
    cm = await ConfigMap({"metadata": {"name": "c", "namespace": NS}, "data": {"v": "0"}},
                         api=kapi)
    await cm.create()
    stale_rv = cm.metadata.resourceVersion
    await cm.patch({"data": {"v": "1"}})
    assert cm.metadata.resourceVersion != stale_rv

    err = await raises_server_error(lambda: cm.patch(
        {"metadata": {"resourceVersion": stale_rv}, "data": {"v": "stale"}}))
    assert status_code(err) == 409
    assert isinstance(err.status, dict)
    assert err.status["reason"] == "Conflict" and err.status["code"] == 409
    assert "the object has been modified" in str(err)
    assert stored(server, "/configmaps", "c")["data"] == {"v": "1"}

    # A PUT (full replace) with the stale resourceVersion, through kr8s's client.
    body = {**cm.raw, "data": {"v": "put"}}
    body["metadata"] = {**cm.raw["metadata"], "resourceVersion": stale_rv}

    async def put() -> None:
        async with kapi.call_api("PUT", version="v1", namespace=NS, url="configmaps/c",
                                 content=json.dumps(body)):
            pass
    err = await raises_server_error(put)
    assert status_code(err) == 409 and isinstance(err.status, dict)
    assert err.status["reason"] == "Conflict"
    assert stored(server, "/configmaps", "c")["data"] == {"v": "1"}

    dup = await ConfigMap({"metadata": {"name": "c", "namespace": NS}}, api=kapi)
    err = await raises_server_error(dup.create)
    assert status_code(err) == 409 and isinstance(err.status, dict)
    assert err.status["reason"] == "AlreadyExists"

    missing = await Pod({"metadata": {"name": "nope", "namespace": NS}}, api=kapi)
    assert not await missing.exists()
    with pytest.raises(NotFoundError):
        await missing.refresh()
    with pytest.raises(NotFoundError):
        await missing.patch({"metadata": {"labels": {"a": "b"}}})
    with pytest.raises(NotFoundError):
        await missing.delete()
    with pytest.raises(NotFoundError):
        await missing.exists(ensure=True)
    with pytest.raises(NotFoundError):
        await Deployment({"metadata": {"name": "nope", "namespace": NS}}, api=kapi).scale(2)


async def test_delete_propagation_and_grace(server: ApiServer, kapi: Any) -> None:
    dep = await Deployment(deployment_spec("fg"), api=kapi)
    await dep.create()
    await dep.delete(propagation_policy="Foreground")

    async def deployment_gone() -> bool:
        return not await dep.exists()
    await eventually(deployment_gone)

    owner = await Deployment(deployment_spec("owner"), api=kapi)
    await owner.create()
    child = await ConfigMap({"metadata": {"name": "child", "namespace": NS}}, api=kapi)
    await child.create()
    await child.set_owner(owner)
    assert stored(server, "/configmaps", "child")["metadata"]["ownerReferences"][0][
        "uid"] == owner.metadata.uid
    await owner.delete(propagation_policy="Background")

    async def child_collected() -> bool:
        return server.store.get("/configmaps", NS, "child") is None
    await eventually(child_collected)

    pod = await Pod(pod_spec("bound", node="node-1"), api=kapi)
    await pod.create()
    await pod.delete(grace_period=30)
    obj = stored(server, "/pods", "bound")
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 30
    assert obj["metadata"]["deletionTimestamp"]
    await pod.delete(force=True)  # gracePeriodSeconds=0
    assert server.store.get("/pods", NS, "bound") is None


# -- watch ---------------------------------------------------------------------------------


async def test_watch_from_resource_version(server: ApiServer, kapi: Any) -> None:
    before = await Pod(pod_spec("before"), api=kapi)
    await before.create()
    since = before.metadata.resourceVersion
    w = await Pod(pod_spec("w", {"v": "1"}), api=kapi)
    await w.create()
    await w.label(v="2")
    await w.delete()

    async def write_live(n: int) -> None:
        if n == 3:  # replay done: a live write arrives on the same stream
            await (await Pod(pod_spec("live"), api=kapi)).create()

    events = await collect(kapi.watch("pods", namespace=NS, since=since), 4, write_live)
    assert [(t, o.name, o.labels.get("v")) for t, o in events] == [
        ("ADDED", "w", "1"), ("MODIFIED", "w", "2"), ("DELETED", "w", "2"),
        ("ADDED", "live", None)]
    rvs = [int(o.metadata.resourceVersion) for _, o in events]
    assert rvs == sorted(rvs) and rvs[0] > int(since)
    assert all(isinstance(o, Pod) for _, o in events)

    # An object's own watch: field selector on its name, from its resourceVersion.
    live = await Pod.get("live", namespace=NS, api=kapi)
    writer = await Pod.get("live", namespace=NS, api=kapi)
    await before.label(changed="yes")
    await writer.label(changed="yes")
    (typ, obj), = await collect(live.watch(), 1)
    assert typ == "MODIFIED" and obj.name == "live" and obj.labels == {"changed": "yes"}

    # Selector watch via the module-level helper.
    start = live.metadata.resourceVersion
    await live.label(role="web")
    await live.label(role="db")
    events = await collect(kr8s.asyncio.watch("pods", namespace=NS, api=kapi,
                                              label_selector={"role": "web"}, since=start), 2)
    assert [(t, o.name) for t, o in events] == [("ADDED", "live"), ("DELETED", "live")]


async def test_wait_for_conditions_is_driven_by_watch(server: ApiServer, kapi: Any) -> None:
    pod = await Pod(pod_spec("p"), api=kapi)
    await pod.create()
    writer = await Pod.get("p", namespace=NS, api=kapi)
    waiter = asyncio.create_task(pod.wait("condition=Ready", timeout=10))
    await writer.patch({"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
                       subresource="status")
    await waiter
    assert [(c["type"], c["status"]) for c in pod.status.conditions] == [("Ready", "True")]

    dep = await Deployment(deployment_spec("d", replicas=2), api=kapi)
    await dep.create()
    await dep.patch({"status": {"readyReplicas": 0}}, subresource="status")
    waiter = asyncio.create_task(dep.wait("jsonpath='{.status.readyReplicas}'=2", timeout=10))
    for ready in (1, 2):
        await dep.patch({"status": {"readyReplicas": ready}}, subresource="status")
    await waiter
    assert stored(server, "apps/deployments", "d")["status"]["readyReplicas"] == 2

    bound = await Pod(pod_spec("bound", node="n1"), api=kapi)
    await bound.create()
    await bound.delete(grace_period=30)
    waiter = asyncio.create_task(bound.wait("delete", timeout=10))
    await (await Pod({"metadata": {"name": "bound", "namespace": NS}}, api=kapi)).delete(
        force=True)
    await waiter
    assert server.store.get("/pods", NS, "bound") is None


async def test_expired_watch_is_a_410_error_event_then_relist(tmp_path: Path) -> None:
    config = ServerConfig(data_dir=tmp_path / "data", port=0, synchronous="NORMAL",
                          watch_window=5)
    async with ApiServer(config) as srv:
        api = await connect(srv)
        try:
            first = await Pod(pod_spec("first"), api=api)
            await first.create()
            old = first.metadata.resourceVersion
            await api.create([await Pod(pod_spec(f"p{i:02d}"), api=api) for i in range(12)])
            srv.store._compact()
            assert srv.store.compacted_rv > int(old)

            # What kr8s receives on the wire: a 200 stream whose only event is an
            # ERROR carrying a 410 Expired Status.  (kr8s's own watch() would restart
            # from the same expired resourceVersion, so callers re-list instead.)
            async with api.call_api("GET", version="v1", namespace=NS, url="pods",
                                    params={"watch": "true", "resourceVersion": old,
                                            "timeoutSeconds": "5"},
                                    stream=True) as resp:
                assert resp.status_code == 200
                lines = [line async for line in resp.aiter_lines() if line]
            assert len(lines) == 1
            event = json.loads(lines[0])
            assert event["type"] == "ERROR"
            status = event["object"]
            assert status["kind"] == "Status" and status["code"] == 410
            assert status["reason"] == "Expired"
            assert status["message"].startswith(f"too old resource version: {old}")

            # Recovery: re-list for a fresh resourceVersion, then watch from it.
            async with api.call_api("GET", version="v1", namespace=NS, url="pods") as resp:
                listing = resp.json()
            assert len(listing["items"]) == 13
            rv = listing["metadata"]["resourceVersion"]
            await (await Pod(pod_spec("after"), api=api)).create()
            await first.delete()
            events = await collect(api.watch("pods", namespace=NS, since=rv), 2)
            assert [(t, o.name) for t, o in events] == [("ADDED", "after"),
                                                        ("DELETED", "first")]
        finally:
            await close(api)


# -- the sync API ------------------------------------------------------------------------


def test_sync_api_against_threaded_server(threaded_server: ServerThread) -> None:
    srv = threaded_server.server
    api = kr8s.api(kubeconfig=str(srv.kubeconfig_path))
    assert api.version()["gitVersion"] == srv.config.version.git_version

    cm = kr8s.objects.ConfigMap({"metadata": {"name": "sync", "namespace": NS},
                                 "data": {"a": "1"}}, api=api)
    cm.create()
    cm.patch({"data": {"b": "2"}})
    cm.label(env="test")

    async def read() -> dict[str, Any]:
        return stored(srv, "/configmaps", "sync")
    obj = threaded_server.call(read())
    assert obj["data"] == {"a": "1", "b": "2"} and obj["metadata"]["labels"] == {"env": "test"}

    found = list(kr8s.get("configmaps", namespace=NS, label_selector="env=test", api=api))
    assert [c.name for c in found] == ["sync"]
    assert found[0].data == {"a": "1", "b": "2"}

    cm.delete()
    assert not cm.exists()
    with pytest.raises(NotFoundError):
        cm.refresh()
    with pytest.raises(ServerError) as exc:
        kr8s.objects.ConfigMap({"metadata": {"name": "x", "namespace": "no-such-ns"}},
                               api=api).create()
    assert isinstance(exc.value.response, httpx.Response)
    assert exc.value.response.status_code == 404
