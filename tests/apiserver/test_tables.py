"""Table rendering: columns, cells and Accept negotiation as kube-apiserver 1.32 does them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mizzen.apiserver.resources import ResourceInfo, builtin_resources
from mizzen.apiserver.tablerows import to_table
from mizzen.apiserver.tables import (
    Column,
    Printer,
    Since,
    human_duration,
    pod_status,
    printer_for,
    since,
)

NOW = datetime(2025, 1, 10, 12, 0, 0, tzinfo=UTC)
INFOS = {(i.group, i.plural): i for i in builtin_resources()}


def ts(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def info(plural: str, group: str = "") -> ResourceInfo:
    return INFOS[(group, plural)]


def table(plural: str, obj: dict[str, Any], group: str = "", **kw: Any) -> dict[str, Any]:
    return to_table(info(plural, group), [obj], resource_version="7", now=NOW, **kw)


def cells(plural: str, obj: dict[str, Any], group: str = "") -> dict[str, Any]:
    t = table(plural, obj, group)
    return dict(zip((c["name"] for c in t["columnDefinitions"]), t["rows"][0]["cells"],
                    strict=True))


def meta(name: str = "x", age: float = 30, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "creationTimestamp": ts(age), **extra}


@pytest.mark.parametrize(("plural", "group", "names", "wide"), [
    ("pods", "", ["Name", "Ready", "Status", "Restarts", "Age"],
     ["IP", "Node", "Nominated Node", "Readiness Gates"]),
    ("nodes", "", ["Name", "Status", "Roles", "Age", "Version"],
     ["Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"]),
    ("deployments", "apps", ["Name", "Ready", "Up-to-date", "Available", "Age"],
     ["Containers", "Images", "Selector"]),
    ("replicasets", "apps", ["Name", "Desired", "Current", "Ready", "Age"],
     ["Containers", "Images", "Selector"]),
    ("statefulsets", "apps", ["Name", "Ready", "Age"], ["Containers", "Images"]),
    ("daemonsets", "apps", ["Name", "Desired", "Current", "Ready", "Up-to-date", "Available",
                            "Node Selector", "Age"], ["Containers", "Images", "Selector"]),
    ("services", "", ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"],
     ["Selector"]),
    ("namespaces", "", ["Name", "Status", "Age"], []),
    ("configmaps", "", ["Name", "Data", "Age"], []),
    ("secrets", "", ["Name", "Type", "Data", "Age"], []),
    ("events", "", ["Last Seen", "Type", "Reason", "Object", "Message"],
     ["Subobject", "Source", "First Seen", "Count", "Name"]),
    ("leases", "coordination.k8s.io", ["Name", "Holder", "Age"], []),
    ("serviceaccounts", "", ["Name", "Age"], []),
    ("customresourcedefinitions", "apiextensions.k8s.io", ["Name", "Age"], []),
])
def test_column_sets(plural: str, group: str, names: list[str], wide: list[str]) -> None:
    defs = table(plural, {"metadata": meta()}, group)["columnDefinitions"]
    assert [c["name"] for c in defs if c["priority"] == 0] == names
    assert [c["name"] for c in defs if c["priority"] == 1] == wide
    for c in defs:
        assert set(c) == {"name", "type", "format", "description", "priority"}
        assert c["format"] == ("name" if c["name"] == "Name" else "")


def test_every_row_has_one_cell_per_column() -> None:
    for i in builtin_resources():
        t = to_table(i, [{"metadata": meta()}], resource_version="1", now=NOW)
        assert len(t["rows"][0]["cells"]) == len(t["columnDefinitions"]), i.plural


def test_event_column_order_interleaves_wide_columns() -> None:
    defs = table("events", {"metadata": meta()})["columnDefinitions"]
    assert [c["name"] for c in defs] == ["Last Seen", "Type", "Reason", "Object", "Subobject",
                                         "Source", "Message", "First Seen", "Count", "Name"]


def test_integer_columns() -> None:
    defs = table("replicasets", {"metadata": meta()}, "apps")["columnDefinitions"]
    assert {c["name"]: c["type"] for c in defs}["Desired"] == "integer"


@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "<invalid>"), (-1.5, "0s"), (0, "0s"), (5, "5s"), (119, "119s"), (120, "2m"),
    (182, "3m2s"), (599, "9m59s"), (600, "10m"), (179 * 60 + 59, "179m"), (3 * 3600, "3h"),
    (3 * 3600 + 300, "3h5m"), (8 * 3600, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"),
    (51 * 3600, "2d3h"), (8 * 86400, "8d"), (45 * 86400, "45d"), (730 * 86400, "2y"),
    (740 * 86400, "2y10d"), (8 * 365 * 86400, "8y"), (20 * 365 * 86400, "20y"),
])
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(timedelta(seconds=seconds)) == text


def pod(phase: str = "Running", statuses: list[dict[str, Any]] | None = None,
        **extra: Any) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "conditions": [{"type": "Ready",
                                                              "status": "True"}]}
    if statuses is not None:
        status["containerStatuses"] = statuses
    obj: dict[str, Any] = {"metadata": meta("web"), "spec": {"containers": [{"name": "app"}]},
                           "status": status}
    for key, value in extra.items():
        obj[key] = {**obj.get(key, {}), **value}
    return obj


def cs(state: dict[str, Any], ready: bool = False, restarts: int = 0,
       last: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": "app", "state": state, "ready": ready, "restartCount": restarts,
            "lastState": last or {}}


@pytest.mark.parametrize(("obj", "ready", "status"), [
    ({"metadata": meta(), "spec": {"containers": [{"name": "a"}]}}, "0/1", "Pending"),
    (pod("Pending", [cs({"waiting": {"reason": "ContainerCreating"}})]), "0/1",
     "ContainerCreating"),
    (pod("Running", [cs({"running": {"startedAt": ts(10)}}, ready=True)]), "1/1", "Running"),
    (pod("Succeeded", [cs({"terminated": {"reason": "Completed", "exitCode": 0}})]), "0/1",
     "Completed"),
    (pod("Running", [cs({"waiting": {"reason": "CrashLoopBackOff"}}, restarts=3)]), "0/1",
     "CrashLoopBackOff"),
    (pod("Failed", [cs({"terminated": {"exitCode": 1}})]), "0/1", "ExitCode:1"),
    (pod("Failed", [cs({"terminated": {"exitCode": 137, "signal": 9}})]), "0/1", "Signal:9"),
    (pod("Running", [cs({"running": {}}, ready=True)], metadata={"deletionTimestamp": ts(1)}),
     "1/1", "Terminating"),
    (pod("Succeeded", [cs({"terminated": {"reason": "Completed"}})],
         metadata={"deletionTimestamp": ts(1)}), "0/1", "Completed"),
    (pod("Failed", status={"reason": "Evicted"}), "0/1", "Evicted"),
])
def test_pod_status(obj: dict[str, Any], ready: str, status: str) -> None:
    row = cells("pods", obj)
    assert (row["Ready"], row["Status"]) == (ready, status)


def test_pod_status_completed_with_running_sidecar_is_running_or_not_ready() -> None:
    obj = pod("Running", spec={"containers": [{"name": "a"}, {"name": "b"}]})
    obj["status"]["containerStatuses"] = [
        {"name": "a", "state": {"terminated": {"reason": "Completed"}}},
        {"name": "b", "state": {"running": {}}, "ready": True}]
    assert pod_status(obj)[:3] == (1, 2, "Running")
    obj["status"]["conditions"] = []
    assert pod_status(obj)[2] == "NotReady"


@pytest.mark.parametrize(("init_status", "text"), [
    ({"state": {"waiting": {"reason": "PodInitializing"}}}, "Init:0/1"),
    ({"state": {"waiting": {"reason": "CrashLoopBackOff"}}}, "Init:CrashLoopBackOff"),
    ({"state": {"terminated": {"reason": "Error", "exitCode": 2}}}, "Init:Error"),
    ({"state": {"terminated": {"exitCode": 2}}}, "Init:ExitCode:2"),
    ({"state": {"running": {}}}, "Init:0/1"),
])
def test_pod_init_container_states(init_status: dict[str, Any], text: str) -> None:
    obj = pod("Pending", [cs({"waiting": {"reason": "PodInitializing"}})],
              spec={"initContainers": [{"name": "init"}]})
    obj["status"]["initContainerStatuses"] = [{"name": "init", **init_status}]
    assert cells("pods", obj)["Status"] == text


def test_pod_sidecar_counts_towards_ready() -> None:
    obj = pod("Running", [cs({"running": {}}, ready=True)],
              spec={"initContainers": [{"name": "proxy", "restartPolicy": "Always"}]})
    obj["status"]["initContainerStatuses"] = [
        {"name": "proxy", "state": {"running": {}}, "started": True, "ready": True,
         "restartCount": 1}]
    assert (cells("pods", obj)["Ready"], cells("pods", obj)["Restarts"]) == ("2/2", "1")


def test_pod_scheduling_gated() -> None:
    obj = pod("Pending")
    obj["status"]["conditions"] = [{"type": "PodScheduled", "status": "False",
                                    "reason": "SchedulingGated"}]
    assert cells("pods", obj)["Status"] == "SchedulingGated"


def test_pod_restarts_carry_time_since_last_termination() -> None:
    last = {"terminated": {"exitCode": 1, "finishedAt": ts(302)}}
    obj = pod("Running", [cs({"waiting": {"reason": "CrashLoopBackOff"}}, restarts=4,
                             last=last)])
    assert cells("pods", obj)["Restarts"] == "4 (5m2s ago)"
    assert cells("pods", pod("Running", [cs({"running": {}}, restarts=2)]))["Restarts"] == "2"


def test_pod_wide_cells() -> None:
    obj = pod("Running", [cs({"running": {}}, ready=True)],
              spec={"nodeName": "node-1", "readinessGates": [{"conditionType": "lb"}]},
              status={"podIPs": [{"ip": "10.0.0.5"}]})
    row = cells("pods", obj)
    assert (row["IP"], row["Node"], row["Nominated Node"], row["Readiness Gates"]) == (
        "10.0.0.5", "node-1", "<none>", "0/1")
    assert cells("pods", pod())["IP"] == "<none>"
    assert cells("pods", pod())["Age"] == "30s"


def test_node_cells() -> None:
    node = {"metadata": meta("n1", 3 * 86400, labels={
        "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/worker": ""}),
        "spec": {"unschedulable": True},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "addresses": [{"type": "InternalIP", "address": "10.1.0.2"}],
                   "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian"}}}
    row = cells("nodes", node)
    assert row["Status"] == "Ready,SchedulingDisabled"
    assert row["Roles"] == "control-plane,worker"
    assert (row["Age"], row["Version"], row["Internal-IP"], row["External-IP"]) == (
        "3d", "v1.32.0", "10.1.0.2", "<none>")
    assert (row["OS-Image"], row["Kernel-Version"]) == ("Debian", "<unknown>")
    bare = cells("nodes", {"metadata": meta("n2"),
                           "status": {"conditions": [{"type": "Ready", "status": "False"}]}})
    assert (bare["Status"], bare["Roles"]) == ("NotReady", "<none>")
    assert cells("nodes", {"metadata": meta("n3")})["Status"] == "Unknown"


def workload(replicas: int, status: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": meta("web"), "spec": {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1"},
                                             {"name": "side", "image": "busybox"}]}}},
        "status": status}


def test_workload_cells() -> None:
    d = cells("deployments", workload(3, {"readyReplicas": 2, "updatedReplicas": 3,
                                          "availableReplicas": 2}), "apps")
    assert [d[k] for k in ("Ready", "Up-to-date", "Available", "Containers", "Images",
                           "Selector")] == ["2/3", 3, 2, "app,side", "nginx:1,busybox",
                                            "app=web"]
    rs = cells("replicasets", workload(2, {"replicas": 2, "readyReplicas": 1}), "apps")
    assert [rs[k] for k in ("Desired", "Current", "Ready")] == [2, 2, 1]
    sts = cells("statefulsets", workload(2, {"readyReplicas": 2}), "apps")
    assert sts["Ready"] == "2/2"
    ds = workload(0, {"desiredNumberScheduled": 3, "numberReady": 3})
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"zone": "a", "disk": "ssd"}
    row = cells("daemonsets", ds, "apps")
    assert (row["Desired"], row["Ready"], row["Node Selector"]) == (3, 3, "disk=ssd,zone=a")


def test_service_cells() -> None:
    svc = {"metadata": meta("web"), "spec": {
        "type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
        "selector": {"app": "web"},
        "ports": [{"port": 80, "protocol": "TCP"},
                  {"port": 443, "nodePort": 30443, "protocol": "TCP"}]}}
    row = cells("services", svc)
    assert [row[k] for k in ("Type", "Cluster-IP", "External-IP", "Port(s)", "Selector")] == [
        "NodePort", "10.96.0.10", "<none>", "80/TCP,443:30443/TCP", "app=web"]
    lb = {"metadata": meta("lb"), "spec": {"type": "LoadBalancer", "ports": [{"port": 53,
                                                                             "protocol": "UDP"}]}}
    assert cells("services", lb)["External-IP"] == "<pending>"
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}
    assert cells("services", lb)["External-IP"] == "1.2.3.4"
    headless = cells("services", {"metadata": meta("h"), "spec": {"clusterIP": "None"}})
    assert [headless[k] for k in ("Type", "Cluster-IP", "Port(s)", "Selector")] == [
        "ClusterIP", "None", "<none>", "<none>"]


def test_small_kinds() -> None:
    assert cells("namespaces", {"metadata": meta("ns")})["Status"] == "Active"
    assert cells("configmaps", {"metadata": meta(), "data": {"a": "1", "b": "2"},
                                "binaryData": {"c": ""}})["Data"] == 3
    secret = cells("secrets", {"metadata": meta(), "type": "kubernetes.io/tls",
                               "data": {"tls.crt": "", "tls.key": ""}})
    assert (secret["Type"], secret["Data"]) == ("kubernetes.io/tls", 2)
    lease = cells("leases", {"metadata": meta("l"), "spec": {"holderIdentity": "me"}},
                  "coordination.k8s.io")
    assert lease["Holder"] == "me"


def test_event_cells() -> None:
    ev = {"metadata": meta("web.17"), "type": "Normal", "reason": "Scheduled",
          "message": "Successfully assigned default/web to n1\n",
          "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
          "source": {"component": "default-scheduler"},
          "firstTimestamp": ts(600), "lastTimestamp": ts(60), "count": 2}
    row = cells("events", ev)
    assert [row[k] for k in ("Last Seen", "Type", "Reason", "Object", "Subobject", "Source",
                             "Message", "First Seen", "Count", "Name")] == [
        "60s", "Normal", "Scheduled", "pod/web", "spec.containers{app}",
        "default-scheduler", "Successfully assigned default/web to n1", "10m", 2, "web.17"]
    new_style = cells("events", {"metadata": meta("e2"), "eventTime": ts(5),
                                 "reportingComponent": "kubelet", "reportingInstance": "n1",
                                 "involvedObject": {"kind": "Node"}})
    assert (new_style["Last Seen"], new_style["Count"], new_style["Source"],
            new_style["Object"]) == ("5s", 1, "kubelet, n1", "node")


def test_custom_resources_use_name_age_or_a_given_printer() -> None:
    crd = ResourceInfo("example.com", "v1", "widgets", "Widget", "widget", True, custom=True)
    obj = {"metadata": meta("w", 90), "spec": {"size": 3}}
    t = to_table(crd, [obj], resource_version="1", now=NOW)
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Age"]
    assert t["rows"][0]["cells"] == ["w", "90s"]
    printer = Printer((Column("Name", format="name"), Column("Size", "integer")),
                      lambda o: [o["metadata"]["name"], o["spec"]["size"]])
    t = to_table(crd, [obj], resource_version="1", now=NOW, printer=printer)
    assert t["rows"][0]["cells"] == ["w", 3]


def test_cells_that_read_the_clock_are_rendered_at_each_now() -> None:
    """Printers are functions of the object alone: ages are Since cells, text at render."""
    pod = {"metadata": meta("p", 30), "status": {"containerStatuses": [
        {"name": "c", "restartCount": 2, "ready": True, "state": {"running": {}},
         "lastState": {"terminated": {"finishedAt": ts(90)}}}]},
        "spec": {"containers": [{"name": "c"}]}}
    raw = [c for c in printer_for(info("pods")).cells(pod) if isinstance(c, Since)]
    assert [c.text(NOW) for c in raw] == ["2 (90s ago)", "30s"]
    assert [c.text(NOW + timedelta(minutes=10)) for c in raw] == ["2 (11m ago)", "10m"]
    assert since(None) == "<unknown>" and since(ts(5)) == Since(NOW - timedelta(seconds=5))
