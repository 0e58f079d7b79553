"""The official ``kubernetes`` client, unchanged, against the embedded API server.

Every test builds its own ``ApiClient`` from the kubeconfig the server wrote (never the
global default configuration) and talks to a server running on its own loop in a
background thread, because the client is synchronous.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException, NotFoundException

from mizzen.apiserver.server import ServerConfig
from tests.conftest import ServerThread

NS = "default"
T = TypeVar("T")


# -- helpers ---------------------------------------------------------------------------


def new_client(st: ServerThread) -> Any:
    """An ``ApiClient`` built from the kubeconfig the server wrote."""
    new_client_from_config: Any = config.new_client_from_config  # untyped in the package
    return new_client_from_config(config_file=str(st.server.kubeconfig_path))


# The generated API classes are typed, but every field of every model is Optional; the
# tests navigate responses dynamically and let a missing field fail the test instead.
def core_api(api_client: Any) -> Any:
    return client.CoreV1Api(api_client)


def apps_api(api_client: Any) -> Any:
    return client.AppsV1Api(api_client)


def new_watch() -> Any:
    factory: Any = watch.Watch  # untyped in the package
    return factory()


@pytest.fixture
def k8s(threaded_server: ServerThread) -> Iterator[Any]:
    """An ``ApiClient`` for the threaded server, built from the kubeconfig it wrote."""
    api_client = new_client(threaded_server)
    try:
        yield api_client
    finally:
        api_client.close()


def pod_body(name: str, labels: dict[str, str] | None = None,
             node: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx:1"}]}
    if node is not None:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def deployment_body(name: str, replicas: int = 1,
                    containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": dict(labels)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": containers or [
                                      {"name": "app", "image": "nginx:1"}]}}}}


def status_of(exc: ApiException) -> dict[str, Any]:
    """The ``Status`` body the server sent with an error."""
    assert exc.body is not None
    body = json.loads(exc.body)
    assert isinstance(body, dict) and body["kind"] == "Status"
    return body


def wait_until(check: Callable[[], T], timeout: float = 10.0, interval: float = 0.02) -> T:
    """Poll ``check()`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        time.sleep(interval)


def gone(read: Callable[[], Any]) -> Callable[[], bool]:
    def check() -> bool:
        try:
            read()
        except NotFoundException:
            return True
        return False
    return check


def names(items: list[Any]) -> list[str]:
    return [i.metadata.name for i in items]


def compact(st: ServerThread) -> int:
    """Compact the server's change log now (on its loop); returns the new compacted rv."""
    async def run() -> int:
        st.server.store._compact()
        return st.server.store.compacted_rv
    result = st.call(run())
    assert isinstance(result, int)
    return result


# -- create, get, list -----------------------------------------------------------------


def test_create_get_list_pods_configmaps_deployments(k8s: Any) -> None:
    core, apps = core_api(k8s), apps_api(k8s)

    typed_pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="web", labels={"app": "web"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="nginx:1")]))
    created = core.create_namespaced_pod(NS, typed_pod)
    assert created.metadata.uid and created.metadata.creation_timestamp
    assert created.metadata.namespace == NS
    assert created.status.phase == "Pending"
    core.create_namespaced_pod(NS, pod_body("worker", {"app": "worker"}))

    got = core.read_namespaced_pod("web", NS)
    assert got.metadata.uid == created.metadata.uid
    assert got.metadata.resource_version == created.metadata.resource_version
    assert got.spec.containers[0].image == "nginx:1"
    assert got.spec.restart_policy == "Always"  # defaulted by the server
    assert got.spec.containers[0].image_pull_policy == "IfNotPresent"

    core.create_namespaced_config_map(NS, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="settings"), data={"mode": "fast"}))
    core.create_namespaced_config_map(NS, {"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"name": "other"}, "data": {"a": "b"}})
    cm = core.read_namespaced_config_map("settings", NS)
    assert cm.data == {"mode": "fast"}

    dep = apps.create_namespaced_deployment(NS, deployment_body("api", replicas=2))
    assert dep.metadata.generation == 1
    stored = apps.read_namespaced_deployment("api", NS)
    assert stored.spec.replicas == 2
    assert stored.spec.selector.match_labels == {"app": "api"}
    assert stored.spec.strategy.type == "RollingUpdate"
    assert stored.spec.revision_history_limit == 10

    # dryRun=All answers as if created and stores nothing.
    dry = core.create_namespaced_config_map(NS, {"metadata": {"name": "dry"}}, dry_run="All")
    assert dry.metadata.name == "dry"
    with pytest.raises(NotFoundException):
        core.read_namespaced_config_map("dry", NS)

    pods = core.list_namespaced_pod(NS)
    assert names(pods.items) == ["web", "worker"]
    assert int(pods.metadata.resource_version) >= int(dep.metadata.resource_version)
    assert names(core.list_pod_for_all_namespaces().items) == ["web", "worker"]
    assert names(core.list_namespaced_config_map(NS).items) == ["other", "settings"]
    assert [c.data for c in core.list_namespaced_config_map(NS).items] == [
        {"a": "b"}, {"mode": "fast"}]
    deps = apps.list_namespaced_deployment(NS)
    assert names(deps.items) == ["api"] and deps.items[0].spec.replicas == 2
    assert names(apps.list_deployment_for_all_namespaces().items) == ["api"]
    assert core.list_namespaced_pod("kube-system").items == []


def test_create_in_other_namespace_and_already_exists(k8s: Any) -> None:
    core = core_api(k8s)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="team-a")))
    core.create_namespaced_config_map("team-a", {"metadata": {"name": "c"}, "data": {"x": "1"}})
    assert core.read_namespaced_config_map("c", "team-a").data == {"x": "1"}
    with pytest.raises(NotFoundException):
        core.read_namespaced_config_map("c", NS)
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("team-a", {"metadata": {"name": "c"}})
    assert exc.value.status == 409
    assert status_of(exc.value)["reason"] == "AlreadyExists"
    assert core.read_namespaced_config_map("c", "team-a").data == {"x": "1"}


def test_list_with_label_and_field_selectors(k8s: Any) -> None:
    core = core_api(k8s)
    core.create_namespaced_pod(NS, pod_body("a", {"app": "web", "tier": "front"}))
    core.create_namespaced_pod(NS, pod_body("b", {"app": "web", "tier": "back"}))
    core.create_namespaced_pod(NS, pod_body("c", {"app": "db"}))
    core.create_namespaced_pod(NS, pod_body("d", {"app": "db", "tier": "back"}, node="n1"))
    core.patch_namespaced_pod_status("a", NS, {"status": {"phase": "Running"}})

    def pods(**kw: Any) -> list[str]:
        return names(core.list_namespaced_pod(NS, **kw).items)

    assert pods(label_selector="app=web") == ["a", "b"]
    assert pods(label_selector="app=web,tier=back") == ["b"]
    assert pods(label_selector="tier in (front,back)") == ["a", "b", "d"]
    assert pods(label_selector="app!=web") == ["c", "d"]
    assert pods(label_selector="!tier") == ["c"]
    assert pods(label_selector="tier") == ["a", "b", "d"]
    assert pods(field_selector="metadata.name=c") == ["c"]
    assert pods(field_selector="metadata.name!=c") == ["a", "b", "d"]
    assert pods(field_selector="status.phase=Running") == ["a"]
    assert pods(field_selector="spec.nodeName=n1") == ["d"]
    assert pods(field_selector="spec.nodeName=") == ["a", "b", "c"]
    assert pods(label_selector="app=db", field_selector="spec.nodeName=n1") == ["d"]
    assert names(core.list_pod_for_all_namespaces(
        field_selector="metadata.namespace=default", label_selector="app=db").items) == [
        "c", "d"]

    core.create_namespaced_config_map(NS, {"metadata": {"name": "x", "labels": {"k": "1"}}})
    core.create_namespaced_config_map(NS, {"metadata": {"name": "y", "labels": {"k": "2"}}})
    assert names(core.list_namespaced_config_map(NS, label_selector="k=2").items) == ["y"]
    assert names(core.list_namespaced_config_map(NS, field_selector="metadata.name=x")
                 .items) == ["x"]

    with pytest.raises(ApiException) as exc:
        core.list_namespaced_pod(NS, field_selector="spec.bogus=1")
    assert exc.value.status == 400
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_pod(NS, label_selector="app in (web")
    assert exc.value.status == 400


def test_pagination_with_limit_and_continue_is_one_snapshot(k8s: Any) -> None:
    core = core_api(k8s)
    for i in range(7):
        core.create_namespaced_config_map(NS, {"metadata": {"name": f"cm-{i}"},
                                               "data": {"i": str(i)}})
    first = core.list_namespaced_config_map(NS, limit=3)
    assert names(first.items) == ["cm-0", "cm-1", "cm-2"]
    assert first.metadata._continue
    assert first.metadata.remaining_item_count == 4
    snapshot_rv = first.metadata.resource_version

    # Writes after the first page must not show up in (or vanish from) later pages.
    core.create_namespaced_config_map(NS, {"metadata": {"name": "cm-9"}})
    core.delete_namespaced_config_map("cm-4", NS)
    core.patch_namespaced_config_map("cm-5", NS, {"data": {"i": "changed"}})

    seen = list(first.items)
    token = first.metadata._continue
    while token:
        page = core.list_namespaced_config_map(NS, limit=3, _continue=token)
        assert page.metadata.resource_version == snapshot_rv
        seen.extend(page.items)
        token = page.metadata._continue
    assert names(seen) == [f"cm-{i}" for i in range(7)]
    assert {c.metadata.name: c.data["i"] for c in seen}["cm-5"] == "5"

    now = core.list_namespaced_config_map(NS)
    assert names(now.items) == ["cm-0", "cm-1", "cm-2", "cm-3", "cm-5", "cm-6", "cm-9"]
    assert now.metadata._continue is None

    # A limit larger than the collection returns everything without a token.
    everything = core.list_namespaced_config_map(NS, limit=100)
    assert len(everything.items) == 7 and not everything.metadata._continue

    # Selectors and pagination combine.
    for i in range(4):
        core.create_namespaced_pod(NS, pod_body(f"p{i}", {"even": str(i % 2 == 0).lower()}))
    page = core.list_namespaced_pod(NS, label_selector="even=true", limit=1)
    rest = core.list_namespaced_pod(NS, label_selector="even=true", limit=1,
                                    _continue=page.metadata._continue)
    assert names(page.items) + names(rest.items) == ["p0", "p2"]
    assert not rest.metadata._continue


def test_list_at_exact_and_any_resource_version(k8s: Any) -> None:
    core = core_api(k8s)
    for i in range(3):
        core.create_namespaced_pod(NS, pod_body(f"p{i}", {"v": "old"}))
    rv = core.list_namespaced_pod(NS).metadata.resource_version
    core.delete_namespaced_pod("p0", NS)
    core.patch_namespaced_pod("p1", NS, {"metadata": {"labels": {"v": "new"}}})
    core.create_namespaced_pod(NS, pod_body("p3"))

    then = core.list_namespaced_pod(NS, resource_version=rv, resource_version_match="Exact")
    assert then.metadata.resource_version == rv
    assert [(p.metadata.name, p.metadata.labels["v"]) for p in then.items] == [
        ("p0", "old"), ("p1", "old"), ("p2", "old")]
    for now in (core.list_namespaced_pod(NS, resource_version="0"),
                core.list_namespaced_pod(NS, resource_version=rv,
                                         resource_version_match="NotOlderThan")):
        assert names(now.items) == ["p1", "p2", "p3"]
        assert int(now.metadata.resource_version) > int(rv)


def test_remaining_item_count_is_unset_with_selectors(k8s: Any) -> None:
    core = core_api(k8s)
    for i in range(5):
        core.create_namespaced_pod(NS, pod_body(f"p{i}", {"even": str(i % 2 == 0).lower()}))
    unfiltered = core.list_namespaced_pod(NS, limit=1)
    assert unfiltered.metadata.remaining_item_count == 4
    page = core.list_namespaced_pod(NS, label_selector="even=true", limit=1)
    assert page.metadata._continue
    # GET /api/v1/namespaces/default/pods?labelSelector=even%3Dtrue&limit=1 answers
    # "metadata": {"resourceVersion": "...", "continue": "...", "remainingItemCount": 2}
    assert page.metadata.remaining_item_count is None


# -- watch -----------------------------------------------------------------------------


def test_watch_from_resource_version_delivers_later_events_in_order(k8s: Any) -> None:
    core = core_api(k8s)
    before = core.create_namespaced_pod(NS, pod_body("before"))
    rv = before.metadata.resource_version
    core.create_namespaced_pod(NS, pod_body("w", {"v": "1"}))
    core.patch_namespaced_pod("w", NS, {"metadata": {"labels": {"v": "2"}}})
    core.delete_namespaced_pod("w", NS)  # unscheduled: removed at once

    seen: list[tuple[str, str, str | None, int]] = []
    w = new_watch()
    for ev in w.stream(core.list_namespaced_pod, namespace=NS, resource_version=rv,
                       timeout_seconds=10):
        obj: Any = ev["object"]
        assert isinstance(ev["object"], client.V1Pod)
        seen.append((ev["type"], obj.metadata.name, (obj.metadata.labels or {}).get("v"),
                     int(obj.metadata.resource_version)))
        if len(seen) == 3:  # replay done: a live write must arrive on the same stream
            core.create_namespaced_pod(NS, pod_body("live"))
        if len(seen) == 4:
            w.stop()
    assert [s[:3] for s in seen] == [("ADDED", "w", "1"), ("MODIFIED", "w", "2"),
                                     ("DELETED", "w", "2"), ("ADDED", "live", None)]
    rvs = [s[3] for s in seen]
    assert rvs == sorted(rvs) and len(set(rvs)) == 4 and rvs[0] > int(rv)
    assert w.resource_version == str(rvs[-1])


def test_watch_with_label_selector_reports_transitions(k8s: Any) -> None:
    core = core_api(k8s)
    start = core.list_namespaced_pod(NS).metadata.resource_version
    core.create_namespaced_pod(NS, pod_body("p", {"role": "other"}))
    core.patch_namespaced_pod("p", NS, {"metadata": {"labels": {"role": "web"}}})
    core.patch_namespaced_pod("p", NS, {"metadata": {"annotations": {"x": "1"}}})
    core.patch_namespaced_pod("p", NS, {"metadata": {"labels": {"role": "db"}}})
    core.create_namespaced_pod(NS, pod_body("q", {"role": "web"}))

    events: list[tuple[str, str]] = []
    w = new_watch()
    for ev in w.stream(core.list_namespaced_pod, namespace=NS, resource_version=start,
                       label_selector="role=web", timeout_seconds=10):
        events.append((ev["type"], ev["object"].metadata.name))
        if len(events) == 4:
            w.stop()
    assert events == [("ADDED", "p"), ("MODIFIED", "p"), ("DELETED", "p"), ("ADDED", "q")]


def test_watch_without_resource_version_starts_with_current_state(k8s: Any) -> None:
    core = core_api(k8s)
    core.create_namespaced_config_map(NS, {"metadata": {"name": "a"}})
    core.create_namespaced_config_map(NS, {"metadata": {"name": "b"}})

    events: list[tuple[str, str]] = []
    w = new_watch()
    for ev in w.stream(core.list_namespaced_config_map, namespace=NS, timeout_seconds=10):
        events.append((ev["type"], ev["object"].metadata.name))
        if len(events) == 2:
            core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}})
        if len(events) == 3:
            w.stop()
    assert events == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]

    # Streaming list: initial events, then a bookmark that marks their end.
    seen: list[tuple[str, Any]] = []
    w = new_watch()
    for ev in w.stream(core.list_namespaced_config_map, namespace=NS,
                       send_initial_events=True, resource_version_match="NotOlderThan",
                       allow_watch_bookmarks=True, timeout_seconds=10):
        seen.append((ev["type"], ev["raw_object"]))
        if ev["type"] == "BOOKMARK":
            w.stop()
    assert [(t, o["metadata"].get("name")) for t, o in seen] == [
        ("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c"), ("BOOKMARK", None)]
    bookmark = seen[-1][1]["metadata"]
    assert bookmark["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert w.resource_version == bookmark["resourceVersion"]
    assert int(bookmark["resourceVersion"]) >= max(
        int(o["metadata"]["resourceVersion"]) for _, o in seen[:3])


def test_watch_ends_at_timeout_seconds(k8s: Any) -> None:
    core = core_api(k8s)
    rv = core.list_namespaced_config_map(NS).metadata.resource_version
    started = time.monotonic()
    events = list(new_watch().stream(core.list_namespaced_config_map, namespace=NS,
                                       resource_version=rv, timeout_seconds=1))
    assert events == []
    assert time.monotonic() - started < 8


def test_watch_from_compacted_rv_is_410_then_relist_and_rewatch_works(tmp_path: Path) -> None:
    st = ServerThread(ServerConfig(data_dir=tmp_path / "data", port=0, synchronous="NORMAL",
                                   watch_window=5))
    st.start()
    api_client = new_client(st)
    try:
        core = core_api(api_client)
        old = core.create_namespaced_pod(NS, pod_body("first")).metadata.resource_version
        core.create_namespaced_pod(NS, pod_body("second"))
        page = core.list_namespaced_pod(NS, limit=1)
        assert page.metadata._continue
        for i in range(12):
            core.create_namespaced_pod(NS, pod_body(f"p{i:02d}"))
        assert compact(st) > int(old)

        # timeout_seconds disables the library's own retry: the ERROR event is raised.
        with pytest.raises(ApiException) as exc:
            for _ in new_watch().stream(core.list_namespaced_pod, namespace=NS,
                                          resource_version=old, timeout_seconds=5):
                pytest.fail("no event may be delivered from a compacted resourceVersion")
        assert exc.value.status == 410
        assert exc.value.reason.startswith(f"Expired: too old resource version: {old}")

        # Without timeout_seconds the library retries once from the same (expired)
        # resourceVersion and then gives up with the same error.
        with pytest.raises(ApiException) as exc:
            for _ in new_watch().stream(core.list_namespaced_pod, namespace=NS,
                                          resource_version=old, _request_timeout=10):
                pytest.fail("no event may be delivered from a compacted resourceVersion")
        assert exc.value.status == 410

        # A continue token from before the compaction is expired as well.
        with pytest.raises(ApiException) as exc:
            core.list_namespaced_pod(NS, limit=1, _continue=page.metadata._continue)
        assert exc.value.status == 410
        assert status_of(exc.value)["reason"] == "Expired"

        # Recovery: re-list, then watch from the list's resourceVersion.
        listed = core.list_namespaced_pod(NS)
        assert len(listed.items) == 14
        core.create_namespaced_pod(NS, pod_body("after"))
        core.delete_namespaced_pod("first", NS)
        events: list[tuple[str, str]] = []
        w = new_watch()
        for ev in w.stream(core.list_namespaced_pod, namespace=NS,
                           resource_version=listed.metadata.resource_version,
                           timeout_seconds=10):
            events.append((ev["type"], ev["object"].metadata.name))
            if len(events) == 2:
                w.stop()
        assert events == [("ADDED", "after"), ("DELETED", "first")]
    finally:
        api_client.close()
        st.stop()


# -- patch -----------------------------------------------------------------------------


def test_strategic_merge_patch_merges_lists_by_key(k8s: Any) -> None:
    apps = apps_api(k8s)
    apps.create_namespaced_deployment(NS, deployment_body("api", containers=[
        {"name": "app", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]},
        {"name": "sidecar", "image": "envoy:1"}]))
    # A dict body on a built-in is sent as application/strategic-merge-patch+json.
    patched = apps.patch_namespaced_deployment("api", NS, {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": "nginx:2",
                        "env": [{"name": "B", "value": "2"}]}]}}}})
    assert patched.metadata.generation == 2
    stored = apps.read_namespaced_deployment("api", NS)
    ctrs = {c.name: c for c in stored.spec.template.spec.containers}
    assert set(ctrs) == {"app", "sidecar"}
    assert ctrs["app"].image == "nginx:2" and ctrs["sidecar"].image == "envoy:1"
    assert [(e.name, e.value) for e in ctrs["app"].env] == [("B", "2"), ("A", "1")]

    apps.patch_namespaced_deployment("api", NS, {"spec": {"template": {"spec": {
        "containers": [{"name": "sidecar", "$patch": "delete"}]}}}})
    stored = apps.read_namespaced_deployment("api", NS)
    assert [c.name for c in stored.spec.template.spec.containers] == ["app"]
    assert stored.metadata.generation == 3


def test_merge_patch_and_json_patch(k8s: Any) -> None:
    apps, core = apps_api(k8s), core_api(k8s)
    apps.create_namespaced_deployment(NS, deployment_body("api", containers=[
        {"name": "app", "image": "nginx:1"}, {"name": "sidecar", "image": "envoy:1"}]))
    merge = "application/merge-patch+json"

    # JSON merge patch: null removes a key, lists are replaced whole.
    apps.patch_namespaced_deployment("api", NS, {
        "metadata": {"labels": {"app": None, "team": "core"}},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:3"}]}}},
    }, _content_type=merge)
    stored = apps.read_namespaced_deployment("api", NS)
    assert stored.metadata.labels == {"team": "core"}
    assert [(c.name, c.image) for c in stored.spec.template.spec.containers] == [
        ("app", "nginx:3")]

    # JSON patch: a list body is sent as application/json-patch+json.
    apps.patch_namespaced_deployment("api", NS, [
        {"op": "test", "path": "/spec/replicas", "value": 1},
        {"op": "replace", "path": "/spec/replicas", "value": 4},
        {"op": "add", "path": "/metadata/annotations", "value": {"note": "json"}},
    ])
    stored = apps.read_namespaced_deployment("api", NS)
    assert stored.spec.replicas == 4 and stored.metadata.annotations == {"note": "json"}

    # A failed test op changes nothing and is 422.
    rv = stored.metadata.resource_version
    with pytest.raises(ApiException) as exc:
        apps.patch_namespaced_deployment("api", NS, [
            {"op": "test", "path": "/spec/replicas", "value": 99},
            {"op": "replace", "path": "/spec/replicas", "value": 7}])
    assert exc.value.status == 422
    assert apps.read_namespaced_deployment("api", NS).metadata.resource_version == rv

    core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}, "data": {"a": "1"}})
    core.patch_namespaced_config_map("c", NS, {"data": {"a": None, "b": "2"}},
                                     _content_type=merge)
    core.patch_namespaced_config_map("c", NS, [{"op": "add", "path": "/data/c", "value": "3"}])
    assert core.read_namespaced_config_map("c", NS).data == {"b": "2", "c": "3"}


# -- status subresource ------------------------------------------------------------------


def test_deployment_status_subresource_changes_status_not_spec(k8s: Any) -> None:
    apps = apps_api(k8s)
    apps.create_namespaced_deployment(NS, deployment_body("api", replicas=2))
    current = apps.read_namespaced_deployment("api", NS)

    current.spec.replicas = 9  # must be ignored by the status endpoint
    current.status = client.V1DeploymentStatus(replicas=2, ready_replicas=1,
                                               observed_generation=1)
    out = apps.replace_namespaced_deployment_status("api", NS, current)
    assert out.status.ready_replicas == 1 and out.spec.replicas == 2
    stored = apps.read_namespaced_deployment("api", NS)
    assert stored.spec.replicas == 2
    assert stored.status.replicas == 2 and stored.status.ready_replicas == 1
    assert stored.status.observed_generation == 1
    assert stored.metadata.generation == 1  # status writes do not bump generation
    assert int(stored.metadata.resource_version) > int(current.metadata.resource_version)

    # The main resource ignores status.
    stored.status.ready_replicas = 0
    stored.spec.replicas = 3
    apps.replace_namespaced_deployment("api", NS, stored)
    again = apps.read_namespaced_deployment("api", NS)
    assert again.spec.replicas == 3 and again.metadata.generation == 2
    assert again.status.ready_replicas == 1

    apps.patch_namespaced_deployment("api", NS, {"status": {"readyReplicas": 0}})
    assert apps.read_namespaced_deployment("api", NS).status.ready_replicas == 1
    apps.patch_namespaced_deployment_status("api", NS, {"status": {"availableReplicas": 2}})
    final = apps.read_namespaced_deployment("api", NS)
    assert final.status.available_replicas == 2 and final.status.ready_replicas == 1
    assert final.spec.replicas == 3


def test_pod_status_subresource_changes_status_not_spec(k8s: Any) -> None:
    core = core_api(k8s)
    core.create_namespaced_pod(NS, pod_body("p"))
    out = core.patch_namespaced_pod_status("p", NS, {
        "spec": {"activeDeadlineSeconds": 5},
        "status": {"phase": "Running", "podIP": "10.1.2.3",
                   "conditions": [{"type": "Ready", "status": "True"}]}})
    assert out.status.phase == "Running"
    stored = core.read_namespaced_pod("p", NS)
    assert stored.status.phase == "Running" and stored.status.pod_ip == "10.1.2.3"
    assert [(c.type, c.status) for c in stored.status.conditions] == [("Ready", "True")]
    assert stored.spec.active_deadline_seconds is None

    # Strategic merge on status merges conditions by type.
    core.patch_namespaced_pod_status("p", NS, {"status": {"conditions": [
        {"type": "Initialized", "status": "True"}]}})
    conds = {c.type: c.status for c in core.read_namespaced_pod("p", NS).status.conditions}
    assert conds == {"Ready": "True", "Initialized": "True"}

    # Main-resource writes ignore status.
    core.patch_namespaced_pod("p", NS, {"metadata": {"labels": {"x": "y"}},
                                        "status": {"phase": "Failed"}})
    stored = core.read_namespaced_pod("p", NS)
    assert stored.metadata.labels == {"x": "y"} and stored.status.phase == "Running"


# -- optimistic concurrency ------------------------------------------------------------


def test_stale_resource_version_is_409_conflict(k8s: Any) -> None:
    core, apps = core_api(k8s), apps_api(k8s)
    core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}, "data": {"v": "0"}})
    stale = core.read_namespaced_config_map("c", NS)
    fresh = core.read_namespaced_config_map("c", NS)
    fresh.data = {"v": "1"}
    updated = core.replace_namespaced_config_map("c", NS, fresh)
    assert int(updated.metadata.resource_version) > int(stale.metadata.resource_version)

    stale.data = {"v": "stale"}
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("c", NS, stale)
    assert exc.value.status == 409
    status = status_of(exc.value)
    assert status["reason"] == "Conflict" and status["code"] == 409
    assert "the object has been modified" in status["message"]
    assert core.read_namespaced_config_map("c", NS).data == {"v": "1"}

    # A patch carrying a stale resourceVersion is a precondition too.
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map("c", NS, {"metadata": {
            "resourceVersion": stale.metadata.resource_version}, "data": {"v": "p"}})
    assert exc.value.status == 409 and status_of(exc.value)["reason"] == "Conflict"
    assert core.read_namespaced_config_map("c", NS).data == {"v": "1"}

    # Status writes are checked the same way.
    apps.create_namespaced_deployment(NS, deployment_body("api"))
    old = apps.read_namespaced_deployment("api", NS)
    apps.patch_namespaced_deployment("api", NS, {"spec": {"replicas": 2}})
    old.status = client.V1DeploymentStatus(replicas=5)
    with pytest.raises(ApiException) as exc:
        apps.replace_namespaced_deployment_status("api", NS, old)
    assert exc.value.status == 409 and status_of(exc.value)["reason"] == "Conflict"

    # The retry loop a client would run: re-read, re-apply, succeed.
    latest = core.read_namespaced_config_map("c", NS)
    latest.data = {"v": "retried"}
    core.replace_namespaced_config_map("c", NS, latest)
    assert core.read_namespaced_config_map("c", NS).data == {"v": "retried"}


# -- delete ----------------------------------------------------------------------------


def test_delete_with_propagation_grace_and_preconditions(k8s: Any) -> None:
    core, apps = core_api(k8s), apps_api(k8s)

    core.create_namespaced_config_map(NS, {"metadata": {"name": "c"}})
    status = core.delete_namespaced_config_map("c", NS, propagation_policy="Background")
    assert status["kind"] == "Status" and status["status"] == "Success"  # returned as a dict
    assert status["details"]["name"] == "c"
    with pytest.raises(NotFoundException):
        core.read_namespaced_config_map("c", NS)

    # Foreground: the owner waits (finalizer) until the garbage collector has no dependents.
    apps.create_namespaced_deployment(NS, deployment_body("fg"))
    apps.delete_namespaced_deployment("fg", NS, body=client.V1DeleteOptions(
        propagation_policy="Foreground"))
    wait_until(gone(lambda: apps.read_namespaced_deployment("fg", NS)))

    # Orphan: the dependent survives, without its ownerReference.
    owner = apps.create_namespaced_deployment(NS, deployment_body("orph"))
    core.create_namespaced_config_map(NS, {"metadata": {"name": "dep", "ownerReferences": [{
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "orph",
        "uid": owner.metadata.uid}]}})
    apps.delete_namespaced_deployment("orph", NS, propagation_policy="Orphan")
    wait_until(gone(lambda: apps.read_namespaced_deployment("orph", NS)))
    wait_until(lambda: not core.read_namespaced_config_map("dep", NS).metadata.owner_references)

    # A scheduled pod with a grace period stays, terminating, until deleted with grace 0.
    core.create_namespaced_pod(NS, pod_body("bound", node="node-1"))
    terminating = core.delete_namespaced_pod("bound", NS, grace_period_seconds=30)
    assert terminating.metadata.deletion_timestamp is not None
    stored = core.read_namespaced_pod("bound", NS)
    assert stored.metadata.deletion_grace_period_seconds == 30
    core.delete_namespaced_pod("bound", NS, body=client.V1DeleteOptions(
        grace_period_seconds=0))
    with pytest.raises(NotFoundException):
        core.read_namespaced_pod("bound", NS)

    # Preconditions that do not hold are 409 and delete nothing.
    cm = core.create_namespaced_config_map(NS, {"metadata": {"name": "pre"}})
    with pytest.raises(ApiException) as exc:
        core.delete_namespaced_config_map("pre", NS, body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(uid="not-the-uid")))
    assert exc.value.status == 409
    with pytest.raises(ApiException) as exc:
        core.delete_namespaced_config_map("pre", NS, body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(resource_version="1")))
    assert exc.value.status == 409
    core.read_namespaced_config_map("pre", NS)
    core.delete_namespaced_config_map("pre", NS, body=client.V1DeleteOptions(
        preconditions=client.V1Preconditions(uid=cm.metadata.uid,
                                             resource_version=cm.metadata.resource_version)))
    with pytest.raises(NotFoundException):
        core.read_namespaced_config_map("pre", NS)


def test_delete_collection_with_label_selector(k8s: Any) -> None:
    core = core_api(k8s)
    for name, env in (("a", "dev"), ("b", "dev"), ("c", "prod")):
        core.create_namespaced_config_map(NS, {"metadata": {"name": name,
                                                            "labels": {"env": env}}})
    core.delete_collection_namespaced_config_map(NS, label_selector="env=dev")
    assert names(core.list_namespaced_config_map(NS).items) == ["c"]


def test_missing_objects_are_404_not_found(k8s: Any) -> None:
    core, apps = core_api(k8s), apps_api(k8s)
    calls: list[Callable[[], Any]] = [
        lambda: core.read_namespaced_pod("nope", NS),
        lambda: core.read_namespaced_config_map("nope", NS),
        lambda: apps.read_namespaced_deployment("nope", NS),
        lambda: apps.read_namespaced_deployment_status("nope", NS),
        lambda: apps.read_namespaced_deployment_scale("nope", NS),
        lambda: core.patch_namespaced_pod("nope", NS, {"metadata": {"labels": {"a": "b"}}}),
        lambda: core.replace_namespaced_config_map("nope", NS, {
            "metadata": {"name": "nope", "resourceVersion": "1"}}),
        lambda: core.delete_namespaced_config_map("nope", NS),
        lambda: apps.delete_namespaced_deployment("nope", NS),
        lambda: core.create_namespaced_config_map("no-such-ns", {"metadata": {"name": "x"}}),
    ]
    for call in calls:
        with pytest.raises(NotFoundException) as exc:
            call()
        assert exc.value.status == 404
        status = status_of(exc.value)
        assert status["reason"] == "NotFound" and status["code"] == 404
    with pytest.raises(NotFoundException) as exc:
        core.read_namespaced_pod("nope", NS)
    assert status_of(exc.value)["details"]["name"] == "nope"
    assert status_of(exc.value)["message"] == 'pods "nope" not found'


# -- scale subresource and discovery ----------------------------------------------------


def test_scale_subresource_and_version(k8s: Any) -> None:
    apps = apps_api(k8s)
    apps.create_namespaced_deployment(NS, deployment_body("api", replicas=2))
    scale = apps.read_namespaced_deployment_scale("api", NS)
    assert scale.spec.replicas == 2 and scale.status.selector == "app=api"
    scale.spec.replicas = 5
    out = apps.replace_namespaced_deployment_scale("api", NS, scale)
    assert out.spec.replicas == 5
    apps.patch_namespaced_deployment_scale("api", NS, {"spec": {"replicas": 6}})
    stored = apps.read_namespaced_deployment("api", NS)
    assert stored.spec.replicas == 6 and stored.metadata.generation == 3

    version: Any = client.VersionApi(k8s).get_code()
    assert version.major == "1" and version.git_version.startswith("v1.")
    group_list: Any = client.ApisApi(k8s).get_api_versions()
    groups = {g.name for g in group_list.groups}
    assert "apps" in groups
    resources = {r.name for r in core_api(k8s).get_api_resources().resources}
    assert {"pods", "pods/status", "configmaps"} <= resources
    app_resources = {r.name for r in apps.get_api_resources().resources}
    assert {"deployments", "deployments/status", "deployments/scale"} <= app_resources
