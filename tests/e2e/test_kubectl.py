"""The real ``kubectl`` against the embedded API server.

Every test starts from the ``threaded_server`` fixture (a fresh server on a
temporary data directory, served from a background thread) and drives it only
through ``kubectl`` subprocesses using the server's kubeconfig — with kubectl's
default client-side validation, never ``--validate=false``.  Each test checks
what kubectl prints, its exit code, and then reads the server's state back
with ``kubectl get -o json``.

Nothing here sleeps for a fixed time.  Long-running commands (``get -w``,
``wait``, ``delete`` of a finalized object) run with :class:`Background`,
which reads their output line by line with a deadline; where a change must
happen only once kubectl is watching, the command runs with ``-v=6`` and the
test waits for kubectl to log its ``watch=true`` request.

The installed ``kubectl`` is a dispatcher that picks kubectl 1.27-1.33 from
the server's ``/version`` (1.32 for this server); discovery is cached in a
per-test ``--cache-dir`` so that no test sees another server's discovery.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from tests.conftest import ServerThread

KUBECTL = shutil.which("kubectl")

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH"),
]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
"""

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: solo
  labels: {app: solo}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: ["sleep", "3600"]
"""

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
  - name: https
    port: 443
    targetPort: 8443
"""

HELD_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: held
  finalizers: ["example.com/hold"]
spec:
  containers:
  - name: main
    image: busybox:1.36
"""

READY = '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}'
DROP_FINALIZERS = '[{"op":"remove","path":"/metadata/finalizers"}]'


# -- running kubectl ------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One finished kubectl run."""

    args: tuple[str, ...]
    rc: int
    out: str
    err: str

    def describe(self) -> str:
        return (f"kubectl {' '.join(self.args)} exited {self.rc}\n"
                f"--- stdout\n{self.out}--- stderr\n{self.err}")


class Background:
    """A kubectl process whose stdout and stderr are read line by line, with deadlines."""

    def __init__(self, cmd: list[str], cwd: Path) -> None:
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self._queues: dict[str, queue.Queue[str | None]] = {"out": queue.Queue(),
                                                           "err": queue.Queue()}
        self._seen: dict[str, list[str]] = {"out": [], "err": []}
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self._queues["out"]),
                             daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self._queues["err"]),
                             daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    def running(self) -> bool:
        return self.proc.poll() is None

    def expect(self, stream: str, match: Callable[[str], bool], timeout: float = 20.0) -> str:
        """The next line of ``stream`` ("out" or "err") that ``match``es; fail after
        ``timeout`` seconds or when the stream ends first."""
        lines, seen = self._queues[stream], self._seen[stream]
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = lines.get(timeout=max(remaining, 0.0))
            except queue.Empty:
                raise AssertionError(f"{self.cmd}: no matching line on std{stream} within "
                                     f"{timeout}s; got:\n" + "\n".join(seen)) from None
            if line is None:
                lines.put(None)  # keep the end marker for later readers
                raise AssertionError(f"{self.cmd}: std{stream} ended (exit {self.proc.poll()}) "
                                     "without a matching line; got:\n" + "\n".join(seen))
            seen.append(line)
            if match(line):
                return line

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for the process to exit and for all its output to be read."""
        rc = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        for name, lines in self._queues.items():
            while True:
                try:
                    line = lines.get_nowait()
                except queue.Empty:
                    break
                if line is not None:
                    self._seen[name].append(line)
        return rc

    @property
    def stdout(self) -> str:
        return "".join(line + "\n" for line in self._seen["out"])

    @property
    def stderr(self) -> str:
        return "".join(line + "\n" for line in self._seen["err"])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for reader in self._readers:
            reader.join(10)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.proc.stdout.close()
        self.proc.stderr.close()

    def __enter__(self) -> Background:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class Kubectl:
    """Runs kubectl against one server; manifests are written to (and kubectl runs in)
    ``workdir``, so kubectl's messages name them by their short file names."""

    def __init__(self, kubeconfig: Path, workdir: Path) -> None:
        assert KUBECTL is not None
        self.binary = KUBECTL
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.cache_dir = workdir / "kube-cache"

    def command(self, args: tuple[str, ...], kubeconfig: Path | None = None) -> list[str]:
        return [self.binary, f"--kubeconfig={kubeconfig or self.kubeconfig}",
                f"--cache-dir={self.cache_dir}", *args]

    def run(self, *args: str, rc: int | None = 0, stdin: str | None = None,
            kubeconfig: Path | None = None, timeout: float = 60.0) -> Result:
        """Run kubectl to completion; unless ``rc`` is None, require that exit code."""
        proc = subprocess.run(self.command(args, kubeconfig), cwd=self.workdir, input=stdin,
                              capture_output=True, text=True, timeout=timeout,
                              env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"})
        result = Result(args, proc.returncode, proc.stdout, proc.stderr)
        if rc is not None and result.rc != rc:
            raise AssertionError(f"expected exit {rc}: " + result.describe())
        return result

    def start(self, *args: str) -> Background:
        return Background(self.command(args), self.workdir)

    def get_json(self, *args: str) -> Any:
        return json.loads(self.run("get", *args, "-o", "json").out)

    def write(self, name: str, text: str) -> str:
        (self.workdir / name).write_text(text)
        return name

    def apply(self, manifest: str, *args: str) -> Result:
        return self.run("apply", "-f", "-", *args, stdin=manifest)

    def create(self, manifest: str, *args: str) -> Result:
        return self.run("create", "-f", "-", *args, stdin=manifest)


@pytest.fixture
def kubectl(threaded_server: ServerThread, tmp_path: Path) -> Kubectl:
    workdir = tmp_path / "kubectl"
    workdir.mkdir()
    return Kubectl(threaded_server.server.kubeconfig_path, workdir)


def columns(line: str) -> list[str]:
    """The cells of one line of kubectl's table output (columns are 2+ spaces apart)."""
    return re.split(r"\s{2,}", line.strip())


def table(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """(header, rows by first cell) of kubectl's table output."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "no table printed"
    rows = [columns(line) for line in lines[1:]]
    return columns(lines[0]), {row[0]: row for row in rows}


def event(kind: str, name: str) -> Callable[[str], bool]:
    """Matches a ``--output-watch-events`` table line for ``kind`` (ADDED, ...) of ``name``."""
    return lambda line: line.split()[:2] == [kind, name]


def watching(line: str) -> bool:
    """Matches the ``-v=6`` log line of an established watch request."""
    return "watch=true" in line and " 200 OK" in line


def annotations_of(obj: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = obj["metadata"].get("annotations") or {}
    return found


def containers(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = obj["spec"]["template"]["spec"] if obj["kind"] != "Pod" else obj["spec"]
    return {c["name"]: c for c in spec["containers"]}


# -- create, apply, diff --------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyCase:
    ref: str  # how kubectl names the object: "deployment.apps/web"
    resource: str  # how the server names the resource in errors: "deployments.apps"
    manifest: str
    old: str  # a YAML fragment of the manifest that the change replaces
    new: str
    pick: Callable[[dict[str, Any]], Any]  # the changed value in an object
    before: Any
    after: Any

    @property
    def changed(self) -> str:
        assert self.old in self.manifest
        return self.manifest.replace(self.old, self.new)

    @property
    def name(self) -> str:
        return self.ref.split("/")[1]


def _https_target(svc: dict[str, Any]) -> Any:
    return {p["name"]: p for p in svc["spec"]["ports"]}["https"]["targetPort"]


APPLY_CASES = [
    pytest.param(ApplyCase("deployment.apps/web", "deployments.apps", DEPLOYMENT,
                           "image: nginx:1.25", "image: nginx:1.27",
                           lambda o: containers(o)["nginx"]["image"], "nginx:1.25", "nginx:1.27"),
                 id="deployment"),
    pytest.param(ApplyCase("pod/solo", "pods", POD, "image: busybox:1.36", "image: busybox:1.37",
                           lambda o: containers(o)["main"]["image"], "busybox:1.36",
                           "busybox:1.37"),
                 id="pod"),
    pytest.param(ApplyCase("configmap/settings", "configmaps", CONFIGMAP, "mode: fast",
                           "mode: slow", lambda o: o["data"]["mode"], "fast", "slow"),
                 id="configmap"),
    pytest.param(ApplyCase("service/web", "services", SERVICE, "targetPort: 8443",
                           "targetPort: 9443", _https_target, 8443, 9443),
                 id="service"),
]


@pytest.mark.parametrize("case", APPLY_CASES)
def test_create_apply_and_diff(kubectl: Kubectl, case: ApplyCase) -> None:
    original = kubectl.write("obj.yaml", case.manifest)
    changed = kubectl.write("changed.yaml", case.changed)
    kind = case.ref.split("/")[0]

    # apply creates, then finds nothing to do; diff agrees.
    assert kubectl.run("apply", "-f", original).out == f"{case.ref} created\n"
    first = kubectl.get_json(kind, case.name)
    assert case.pick(first) == case.before
    assert case.pick(json.loads(annotations_of(first)[LAST_APPLIED])) == case.before
    assert kubectl.run("apply", "-f", original).out == f"{case.ref} unchanged\n"
    same = kubectl.run("diff", "-f", original)
    assert same.out == ""

    # diff shows the changed line and exits 1 (a server dry run: nothing is written);
    # applying it changes the object in place.
    diff = kubectl.run("diff", "-f", changed, rc=1)
    lines = diff.out.splitlines()
    assert any(line.startswith("-") and line.endswith(case.old) for line in lines), diff.out
    assert any(line.startswith("+") and line.endswith(case.new) for line in lines), diff.out
    unchanged = kubectl.get_json(kind, case.name)
    assert case.pick(unchanged) == case.before
    assert unchanged["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert kubectl.run("apply", "-f", changed).out == f"{case.ref} configured\n"
    live = kubectl.get_json(kind, case.name)
    assert case.pick(live) == case.after
    assert case.pick(json.loads(annotations_of(live)[LAST_APPLIED])) == case.after
    assert live["metadata"]["uid"] == first["metadata"]["uid"]
    assert int(live["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    if kind == "service":  # the allocated cluster IP survives the three-way merge
        assert live["spec"]["clusterIP"] == first["spec"]["clusterIP"]
        assert {p["name"]: p["targetPort"] for p in live["spec"]["ports"]} == \
            {"http": 8080, "https": 9443}
    if kind == "deployment.apps":
        assert live["metadata"]["generation"] == first["metadata"]["generation"] + 1
    assert kubectl.run("apply", "-f", changed).out == f"{case.ref} unchanged\n"
    assert kubectl.run("diff", "-f", changed).out == ""

    # delete, then create (which saves no last-applied configuration) twice.
    assert kubectl.run("delete", "-f", changed).out == f'{kind} "{case.name}" deleted\n'
    assert kubectl.run("create", "-f", original).out == f"{case.ref} created\n"
    again = kubectl.run("create", "-f", original, rc=1)
    assert again.err.strip() == (f'Error from server (AlreadyExists): error when creating '
                                 f'"{original}": {case.resource} "{case.name}" already exists')
    created = kubectl.get_json(kind, case.name)
    assert created["metadata"]["uid"] != first["metadata"]["uid"]
    assert case.pick(created) == case.before
    assert LAST_APPLIED not in annotations_of(created)

    # apply over a created object works and patches the annotation in, with kubectl's warning.
    adopted = kubectl.run("apply", "-f", changed)
    assert adopted.out == f"{case.ref} configured\n"
    assert f"is missing the {LAST_APPLIED} annotation" in adopted.err
    live = kubectl.get_json(kind, case.name)
    assert case.pick(live) == case.after
    assert LAST_APPLIED in annotations_of(live)


# -- get ------------------------------------------------------------------------------------


def test_get_output_formats(kubectl: Kubectl) -> None:
    for name, text in (("1-deployment.yaml", DEPLOYMENT), ("2-pod.yaml", POD),
                       ("3-configmap.yaml", CONFIGMAP), ("4-service.yaml", SERVICE)):
        kubectl.write(name, text)
    applied = kubectl.run("apply", "-f", ".")
    assert applied.out.splitlines() == ["deployment.apps/web created", "pod/solo created",
                                        "configmap/settings created", "service/web created"]
    svc = kubectl.get_json("service", "web")
    cluster_ip = svc["spec"]["clusterIP"]

    header, rows = table(kubectl.run("get", "pods").out)
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert rows["solo"][:4] == ["solo", "0/1", "Pending", "0"]
    header, rows = table(kubectl.run("get", "pods", "-o", "wide").out)
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                      "NOMINATED NODE", "READINESS GATES"]
    assert rows["solo"][5:] == ["<none>"] * 4

    header, rows = table(kubectl.run("get", "deployments").out)
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows["web"][:4] == ["web", "0/2", "0", "0"]
    header, rows = table(kubectl.run("get", "deployments", "-o", "wide").out)
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES",
                      "SELECTOR"]
    assert rows["web"][5:] == ["nginx", "nginx:1.25", "app=web"]

    header, rows = table(kubectl.run("get", "namespaces").out)
    assert header == ["NAME", "STATUS", "AGE"]
    assert {name: row[1] for name, row in rows.items()} == {
        "default": "Active", "kube-node-lease": "Active", "kube-public": "Active",
        "kube-system": "Active"}

    header, rows = table(kubectl.run("get", "services").out)
    assert header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert rows["web"][:5] == ["web", "ClusterIP", cluster_ip, "<none>", "80/TCP,443/TCP"]
    header, rows = table(kubectl.run("get", "services", "-o", "wide").out)
    assert header[-1] == "SELECTOR" and rows["web"][-1] == "app=web"

    header, rows = table(kubectl.run("get", "configmaps").out)
    assert header == ["NAME", "DATA", "AGE"]
    assert rows["settings"][:2] == ["settings", "1"]

    header, rows = table(kubectl.run("get", "pods", "--all-namespaces").out)
    assert header[:2] == ["NAMESPACE", "NAME"] and rows["default"][1] == "solo"

    names = kubectl.run("get", "pods,deployments,services,configmaps", "-o", "name")
    assert names.out.splitlines() == ["pod/solo", "deployment.apps/web", "service/web",
                                      "configmap/settings"]
    assert kubectl.run("get", "pods", "-l", "app=solo", "-o", "name").out == "pod/solo\n"
    assert kubectl.run("get", "pods", "-l", "app=other", "-o", "name").out == ""
    assert kubectl.run("get", "pods", "--field-selector=status.phase=Pending", "-o",
                       "name").out == "pod/solo\n"

    listed = kubectl.get_json("pods,deployments,services,configmaps")
    assert listed["kind"] == "List"
    assert [(i["kind"], i["metadata"]["name"]) for i in listed["items"]] == [
        ("Pod", "solo"), ("Deployment", "web"), ("Service", "web"), ("ConfigMap", "settings")]
    pod = kubectl.get_json("pod", "solo")
    assert pod["apiVersion"] == "v1" and pod["kind"] == "Pod"
    assert pod["metadata"]["uid"] and pod["metadata"]["resourceVersion"]
    assert pod["status"]["phase"] == "Pending"
    assert pod["spec"]["containers"][0]["command"] == ["sleep", "3600"]

    as_yaml = yaml.safe_load(kubectl.run("get", "deployment", "web", "-o", "yaml").out)
    assert as_yaml == kubectl.get_json("deployment", "web")
    pods_yaml = yaml.safe_load(kubectl.run("get", "pods", "-o", "yaml").out)
    assert pods_yaml["kind"] == "List" and pods_yaml["items"][0]["metadata"]["name"] == "solo"
    jsonpath = kubectl.run("get", "configmap", "settings", "-o", "jsonpath={.data.mode}")
    assert jsonpath.out == "fast"


def test_get_watch_prints_added_modified_deleted(kubectl: Kubectl) -> None:
    kubectl.create(CONFIGMAP)
    with kubectl.start("get", "configmaps", "--watch", "--output-watch-events") as cms, \
            kubectl.start("get", "pods", "-w", "--output-watch-events") as pods:
        header = cms.expect("out", lambda line: line.startswith("EVENT"))
        assert columns(header) == ["EVENT", "NAME", "DATA", "AGE"]
        cms.expect("out", event("ADDED", "settings"))  # the initial list is done

        kubectl.create(CONFIGMAP.replace("name: settings", "name: watched"))
        assert columns(cms.expect("out", event("ADDED", "watched")))[2] == "1"
        kubectl.run("patch", "configmap", "watched", "--type=merge", "-p",
                    '{"data":{"more":"x"}}')
        assert columns(cms.expect("out", event("MODIFIED", "watched")))[2] == "2"
        kubectl.run("delete", "configmap", "watched")
        cms.expect("out", event("DELETED", "watched"))
        assert cms.running()

        # Pods: the pod watch started with an empty list, so its first line is our pod.
        kubectl.create(HELD_POD)
        line = pods.expect("out", event("ADDED", "held"))
        assert columns(line)[2:4] == ["0/1", "Pending"]
        kubectl.run("delete", "pod", "held", "--wait=false")
        line = pods.expect("out", event("MODIFIED", "held"))
        assert columns(line)[3] == "Terminating"
        kubectl.run("patch", "pod", "held", "--type=json", "-p", DROP_FINALIZERS)
        pods.expect("out", event("DELETED", "held"))
        assert pods.running()
        assert columns(pods.stdout.splitlines()[0]) == ["EVENT", "NAME", "READY", "STATUS",
                                                        "RESTARTS", "AGE"]
    assert [i["metadata"]["name"] for i in kubectl.get_json("configmaps")["items"]] == \
        ["settings"]
    assert kubectl.get_json("pods")["items"] == []


# -- label, annotate, patch, scale, set image, rollout ---------------------------------------


def test_label_annotate_and_patch(kubectl: Kubectl) -> None:
    kubectl.create(POD)
    kubectl.create(CONFIGMAP)
    kubectl.create(DEPLOYMENT)

    assert kubectl.run("label", "pod", "solo", "tier=backend").out == "pod/solo labeled\n"
    clash = kubectl.run("label", "pod", "solo", "tier=frontend", rc=1)
    assert "'tier' already has a value (backend), and --overwrite is false" in clash.err
    kubectl.run("label", "pod", "solo", "tier=frontend", "--overwrite")
    assert kubectl.get_json("pod", "solo")["metadata"]["labels"] == {"app": "solo",
                                                                     "tier": "frontend"}
    assert kubectl.run("get", "pods", "-l", "tier=frontend", "-o", "name").out == "pod/solo\n"
    assert kubectl.run("label", "pod", "solo", "tier-").out == "pod/solo unlabeled\n"
    assert kubectl.get_json("pod", "solo")["metadata"]["labels"] == {"app": "solo"}

    assert kubectl.run("annotate", "pod", "solo", "note=hello world").out == \
        "pod/solo annotated\n"
    assert annotations_of(kubectl.get_json("pod", "solo")) == {"note": "hello world"}
    assert kubectl.run("annotate", "pod", "solo", "note-").out == "pod/solo annotated\n"
    assert "note" not in annotations_of(kubectl.get_json("pod", "solo"))
    rv = kubectl.get_json("pod", "solo")["metadata"]["resourceVersion"]
    stale = kubectl.run("annotate", "pod", "solo", "x=y", "--resource-version=1", rc=1)
    assert 'Operation cannot be fulfilled on pods "solo"' in stale.err
    assert kubectl.get_json("pod", "solo")["metadata"]["resourceVersion"] == rv

    # merge patch: add and remove keys
    merged = kubectl.run("patch", "configmap", "settings", "--type", "merge", "-p",
                         '{"data":{"extra":"1","mode":null}}')
    assert merged.out == "configmap/settings patched\n"
    assert kubectl.get_json("configmap", "settings")["data"] == {"extra": "1"}
    noop = kubectl.run("patch", "configmap", "settings", "--type=merge", "-p",
                       '{"data":{"extra":"1"}}')
    assert noop.out == "configmap/settings patched (no change)\n"

    # JSON patch: operations apply in order; a failing test op changes nothing
    kubectl.run("patch", "configmap", "settings", "--type", "json", "-p",
                '[{"op":"add","path":"/data/j","value":"v"},'
                '{"op":"replace","path":"/data/extra","value":"2"}]')
    assert kubectl.get_json("configmap", "settings")["data"] == {"extra": "2", "j": "v"}
    failed = kubectl.run("patch", "configmap", "settings", "--type=json", "-p",
                         '[{"op":"remove","path":"/data/j"},'
                         '{"op":"test","path":"/data/extra","value":"nope"}]', rc=1)
    assert failed.out == ""
    assert kubectl.get_json("configmap", "settings")["data"] == {"extra": "2", "j": "v"}

    # strategic merge (kubectl's default for built-in types): containers merge by name
    kubectl.run("patch", "deployment", "web", "-p", json.dumps(
        {"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "env": [{"name": "MODE", "value": "fast"}]},
            {"name": "sidecar", "image": "busybox:1.36"}]}}}}))
    live = containers(kubectl.get_json("deployment", "web"))
    assert set(live) == {"nginx", "sidecar"}
    assert live["nginx"]["image"] == "nginx:1.25"
    assert live["nginx"]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert live["nginx"]["env"] == [{"name": "MODE", "value": "fast"}]
    assert live["sidecar"]["image"] == "busybox:1.36"
    kubectl.run("patch", "deployment", "web", "--type=strategic", "-p", json.dumps(
        {"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "$patch": "delete"}]}}}}))
    assert set(containers(kubectl.get_json("deployment", "web"))) == {"nginx"}
    # the same list in a merge patch replaces it
    kubectl.run("patch", "deployment", "web", "--type=merge", "-p", json.dumps(
        {"spec": {"template": {"spec": {"containers": [
            {"name": "only", "image": "busybox:1.37"}]}}}}))
    assert set(containers(kubectl.get_json("deployment", "web"))) == {"only"}


def test_scale_set_image_and_rollout_restart(kubectl: Kubectl) -> None:
    kubectl.create(DEPLOYMENT)
    generation = kubectl.get_json("deployment", "web")["metadata"]["generation"]

    assert kubectl.run("scale", "deployment", "web", "--replicas=5").out == \
        "deployment.apps/web scaled\n"
    deploy = kubectl.get_json("deployment", "web")
    assert deploy["spec"]["replicas"] == 5
    assert deploy["metadata"]["generation"] == generation + 1
    scale = kubectl.get_json("deployment", "web", "--subresource=scale")
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 5
    wrong = kubectl.run("scale", "deployment", "web", "--current-replicas=3", "--replicas=1",
                        rc=1)
    assert "Expected replicas to be 3, was 5" in wrong.err
    assert kubectl.get_json("deployment", "web")["spec"]["replicas"] == 5

    assert kubectl.run("set", "image", "deployment/web", "nginx=nginx:1.27").out == \
        "deployment.apps/web image updated\n"
    deploy = kubectl.get_json("deployment", "web")
    assert containers(deploy)["nginx"]["image"] == "nginx:1.27"
    assert containers(deploy)["nginx"]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert deploy["metadata"]["generation"] == generation + 2

    before = datetime.now(UTC).replace(microsecond=0)
    assert kubectl.run("rollout", "restart", "deployment/web").out == \
        "deployment.apps/web restarted\n"
    deploy = kubectl.get_json("deployment", "web")
    template_annotations = deploy["spec"]["template"]["metadata"]["annotations"]
    restarted = datetime.fromisoformat(template_annotations[RESTARTED_AT])
    assert before - timedelta(seconds=5) <= restarted <= datetime.now(UTC) + timedelta(seconds=5)
    assert deploy["metadata"]["generation"] == generation + 3
    assert RESTARTED_AT not in annotations_of(deploy)  # the template's, not the Deployment's
    assert deploy["spec"]["template"]["metadata"]["labels"] == {"app": "web"}


# -- delete and wait ------------------------------------------------------------------------


def test_delete_waits_for_the_object_to_go(kubectl: Kubectl) -> None:
    kubectl.create(CONFIGMAP)
    assert kubectl.run("delete", "configmap", "settings", "--wait").out == \
        'configmap "settings" deleted\n'
    missing = kubectl.run("get", "configmap", "settings", rc=1)
    assert missing.err.strip() == \
        'Error from server (NotFound): configmaps "settings" not found'
    assert "NotFound" in kubectl.run("delete", "configmap", "settings", rc=1).err
    assert kubectl.run("delete", "configmap", "settings", "--ignore-not-found").out == ""

    # A finalizer holds the pod: deletion starts but the object stays.
    kubectl.create(HELD_POD)
    held = kubectl.run("delete", "pod", "held", "--timeout=500ms", rc=1)
    assert held.out == 'pod "held" deleted\n'
    assert "timed out waiting for the condition on pods/held" in held.err
    pod = kubectl.get_json("pod", "held")
    assert pod["metadata"]["deletionTimestamp"]
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 0
    assert pod["metadata"]["finalizers"] == ["example.com/hold"]

    # delete --wait returns once another client removes the finalizer.
    with kubectl.start("delete", "pod", "held", "--timeout=30s", "-v=6") as deleting:
        deleting.expect("err", watching)
        assert deleting.running()
        assert kubectl.run("patch", "pod", "held", "--type=json", "-p",
                           DROP_FINALIZERS).out == "pod/held patched\n"
        assert deleting.wait() == 0, deleting.stderr
        assert deleting.stdout == 'pod "held" deleted\n'
    assert "NotFound" in kubectl.run("get", "pod", "held", rc=1).err

    # kubectl wait --for=delete likewise.
    kubectl.create(HELD_POD)
    assert kubectl.run("delete", "pod", "held", "--wait=false").out == 'pod "held" deleted\n'
    with kubectl.start("wait", "--for=delete", "pod/held", "--timeout=30s", "-v=6") as waiting:
        waiting.expect("err", watching)
        assert waiting.running()
        kubectl.run("patch", "pod", "held", "--type=merge", "-p",
                    '{"metadata":{"finalizers":null}}')
        assert waiting.wait() == 0, waiting.stderr
        assert waiting.stdout == "pod/held condition met\n"
    assert kubectl.get_json("pods")["items"] == []
    kubectl.run("wait", "--for=delete", "pod/held", "--timeout=5s")  # gone already: success


def test_wait_for_condition_and_jsonpath(kubectl: Kubectl) -> None:
    kubectl.create(POD)
    timed_out = kubectl.run("wait", "pod/solo", "--for=condition=Ready", "--timeout=500ms", rc=1)
    assert "timed out waiting for the condition on pods/solo" in timed_out.err
    # The main resource ignores status; only the status subresource writes it.
    ignored = kubectl.run("patch", "pod", "solo", "--type=merge", "-p", READY)
    assert ignored.out == "pod/solo patched (no change)\n"
    assert "conditions" not in kubectl.get_json("pod", "solo")["status"]

    with kubectl.start("wait", "pod/solo", "--for=condition=Ready", "--timeout=30s",
                       "-v=6") as waiting:
        waiting.expect("err", watching)
        assert waiting.running()
        patched = kubectl.run("patch", "pod", "solo", "--subresource=status", "--type=merge",
                              "-p", READY)
        assert patched.out == "pod/solo patched\n"
        assert waiting.wait() == 0, waiting.stderr
        assert waiting.stdout == "pod/solo condition met\n"
    pod = kubectl.get_json("pod", "solo")
    assert pod["status"]["conditions"] == [{"type": "Ready", "status": "True"}]
    assert pod["status"]["phase"] == "Pending"
    status = kubectl.get_json("pod", "solo", "--subresource=status")
    assert status["status"]["conditions"] == [{"type": "Ready", "status": "True"}]

    assert kubectl.run("wait", "pod/solo", "--for=condition=Ready=True",
                       "--timeout=5s").out == "pod/solo condition met\n"
    kubectl.run("wait", "pod/solo", "--for=condition=Ready=False", "--timeout=500ms", rc=1)
    assert kubectl.run("wait", "pod/solo", "--for=jsonpath={.status.phase}=Pending",
                       "--timeout=5s").out == "pod/solo condition met\n"
    assert kubectl.run("wait", "pod/solo",
                       '--for=jsonpath={.status.conditions[?(@.type=="Ready")].status}=True',
                       "--timeout=5s").out == "pod/solo condition met\n"
    with kubectl.start("wait", "pod/solo", "--for=jsonpath={.metadata.labels.stage}=ready",
                       "--timeout=30s", "-v=6") as waiting:
        waiting.expect("err", watching)
        kubectl.run("label", "pod", "solo", "stage=ready")
        assert waiting.wait() == 0, waiting.stderr
        assert waiting.stdout == "pod/solo condition met\n"


# -- discovery ------------------------------------------------------------------------------


def test_discovery_raw_and_explain(kubectl: Kubectl) -> None:
    header, rows = table(kubectl.run("api-resources").out)
    assert header == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert rows["pods"] == ["pods", "po", "v1", "true", "Pod"]
    assert rows["deployments"] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert rows["namespaces"] == ["namespaces", "ns", "v1", "false", "Namespace"]
    assert rows["services"] == ["services", "svc", "v1", "true", "Service"]
    assert rows["configmaps"] == ["configmaps", "cm", "v1", "true", "ConfigMap"]
    apps = kubectl.run("api-resources", "--api-group=apps", "-o", "name").out.splitlines()
    assert "deployments.apps" in apps and "replicasets.apps" in apps
    assert all(name.endswith(".apps") for name in apps)
    cluster_scoped = kubectl.run("api-resources", "--namespaced=false", "-o", "name").out
    assert "namespaces" in cluster_scoped.split() and "pods" not in cluster_scoped.split()
    _, wide = table(kubectl.run("api-resources", "-o", "wide").out)
    assert wide["pods"][5].split(",") == ["create", "delete", "deletecollection", "get", "list",
                                          "patch", "update", "watch"]
    assert wide["pods"][6] == "all"

    versions = kubectl.run("api-versions").out.splitlines()
    assert {"v1", "apps/v1", "coordination.k8s.io/v1", "apiextensions.k8s.io/v1"} <= set(versions)

    version = json.loads(kubectl.run("get", "--raw", "/version").out)
    assert version["major"] == "1"
    assert version["gitVersion"].startswith(f"v1.{version['minor']}.")
    reported = json.loads(kubectl.run("version", "-o", "json").out)
    assert reported["serverVersion"]["gitVersion"] == version["gitVersion"]

    default = json.loads(kubectl.run("get", "--raw", "/api/v1/namespaces/default").out)
    assert (default["apiVersion"], default["kind"]) == ("v1", "Namespace")
    assert default["metadata"]["name"] == "default"
    assert default["metadata"]["labels"] == {"kubernetes.io/metadata.name": "default"}
    assert default["status"]["phase"] == "Active"
    shown = kubectl.get_json("namespace", "default")  # kubectl hides managedFields
    assert {k: v for k, v in default["metadata"].items() if k != "managedFields"} == \
        shown["metadata"]
    assert {k: v for k, v in default.items() if k != "metadata"} == \
        {k: v for k, v in shown.items() if k != "metadata"}

    explained = kubectl.run("explain", "pods.spec.containers").out
    assert re.search(r"^KIND:\s+Pod$", explained, re.M), explained
    assert re.search(r"^VERSION:\s+v1$", explained, re.M)
    assert re.search(r"^FIELD: containers <\[\]Container>$", explained, re.M)
    assert re.search(r"^  image\t<string>$", explained, re.M)
    assert re.search(r"^  name\t<string> -required-$", explained, re.M)
    assert re.search(r"^  ports\t<\[\]ContainerPort>$", explained, re.M)
    replicas = kubectl.run("explain", "deployment.spec.replicas").out
    assert re.search(r"^GROUP:\s+apps$", replicas, re.M)
    assert re.search(r"^FIELD: replicas <integer>$", replicas, re.M)


# -- errors ---------------------------------------------------------------------------------


def test_errors_from_the_server(kubectl: Kubectl, tmp_path: Path) -> None:
    bad_name = kubectl.write("bad-name.yaml", CONFIGMAP.replace("name: settings",
                                                                "name: Bad_Name"))
    invalid = kubectl.run("create", "-f", bad_name, rc=1)
    assert invalid.err.startswith('The ConfigMap "Bad_Name" is invalid: metadata.name: '
                                  'Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain '
                                  "must consist of lower case alphanumeric characters"), invalid.err

    unknown = kubectl.write("unknown.yaml", POD.replace("    command:", "    imagePolicy: Always\n"
                                                                        "    command:"))
    strict = kubectl.run("create", "-f", unknown, rc=1)
    assert strict.err.startswith('Error from server (BadRequest): error when creating '
                                 '"unknown.yaml": '), strict.err
    assert 'strict decoding error: unknown field "spec.containers[0].imagePolicy"' in strict.err
    strict_apply = kubectl.run("apply", "-f", unknown, rc=1)
    assert 'unknown field "spec.containers[0].imagePolicy"' in strict_apply.err
    assert kubectl.get_json("pods")["items"] == []
    assert kubectl.get_json("configmaps")["items"] == []

    missing = kubectl.run("get", "pod", "missing", rc=1)
    assert missing.out == ""
    assert missing.err == 'Error from server (NotFound): pods "missing" not found\n'

    # kubectl patch does not ask for strict validation: the server warns and drops the field.
    kubectl.create(CONFIGMAP)
    warned = kubectl.run("patch", "configmap", "settings", "--type=merge", "-p",
                         '{"data":{"mode":"slow"},"bogus":1}')
    assert warned.out == "configmap/settings patched\n"
    assert 'Warning: unknown field "bogus"' in warned.err
    cm = kubectl.get_json("configmap", "settings")
    assert cm["data"] == {"mode": "slow"} and "bogus" not in cm

    config = yaml.safe_load(kubectl.kubeconfig.read_text())
    config["users"][0]["user"]["token"] = "not-the-token"
    bad = tmp_path / "bad-token.kubeconfig"
    bad.write_text(yaml.safe_dump(config))
    denied = kubectl.run("get", "pods", kubeconfig=bad, rc=1)
    assert "You must be logged in to the server" in denied.err, denied.err
    raw = kubectl.run("get", "--raw", "/api/v1/namespaces", kubeconfig=bad, rc=1)
    assert "error: You must be logged in to the server (Unauthorized)" in raw.err, raw.err
    # create validates against the server's OpenAPI first, which also needs the token
    refused = kubectl.run("create", "-f", "-", kubeconfig=bad, rc=1,
                          stdin=CONFIGMAP.replace("name: settings", "name: sneaky"))
    assert "failed to download openapi: the server has asked for the client to provide " \
           "credentials" in refused.err, refused.err
    assert "sneaky" not in kubectl.run("get", "configmaps", "-o", "name").out


# -- namespaces -----------------------------------------------------------------------------


def _create_namespace(kubectl: Kubectl, name: str) -> None:
    """``kubectl create namespace``: kubectl 1.32+ sends it as protobuf."""
    assert kubectl.run("create", "namespace", name).out == f"namespace/{name} created\n"


def test_namespace_deletion_removes_its_contents(kubectl: Kubectl) -> None:
    _create_namespace(kubectl, "team")
    ns = kubectl.get_json("namespace", "team")
    assert ns["status"]["phase"] == "Active"
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    for manifest in (DEPLOYMENT, POD, CONFIGMAP, SERVICE):
        kubectl.create(manifest, "-n", "team")
    assert kubectl.run("get", "deployments,pods,configmaps,services", "-n", "team", "-o",
                       "name").out.splitlines() == ["deployment.apps/web", "pod/solo",
                                                    "configmap/settings", "service/web"]
    assert kubectl.get_json("pods", "-n", "default")["items"] == []

    deleted = kubectl.run("delete", "namespace", "team", "--wait", "--timeout=30s")
    assert deleted.out == 'namespace "team" deleted\n'
    gone = kubectl.run("get", "namespace", "team", rc=1)
    assert gone.err.strip() == 'Error from server (NotFound): namespaces "team" not found'
    assert kubectl.get_json("deployments,pods,configmaps,services", "-n", "team")["items"] == []
    missing_ns = kubectl.run("create", "-f", "-", "-n", "team", stdin=CONFIGMAP, rc=1)
    assert 'namespaces "team" not found' in missing_ns.err


def test_terminating_namespace_waits_for_finalizers(kubectl: Kubectl) -> None:
    _create_namespace(kubectl, "held")
    kubectl.create(HELD_POD, "-n", "held")
    kubectl.create(CONFIGMAP, "-n", "held")
    kubectl.create(DEPLOYMENT, "-n", "held")
    assert kubectl.run("delete", "namespace", "held", "--wait=false").out == \
        'namespace "held" deleted\n'
    assert kubectl.get_json("namespace", "held")["status"]["phase"] == "Terminating"
    kubectl.run("wait", "--for=delete", "configmap/settings", "deployment/web", "-n", "held",
                "--timeout=30s")
    pod = kubectl.get_json("pod", "held", "-n", "held")
    assert pod["metadata"]["deletionTimestamp"]

    refused = kubectl.run("create", "-f", kubectl.write("cm.yaml", CONFIGMAP), "-n", "held",
                          rc=1)
    assert refused.err.strip() == (
        'Error from server (Forbidden): error when creating "cm.yaml": configmaps "settings" '
        "is forbidden: unable to create new content in namespace held because it is being "
        "terminated")
    timed_out = kubectl.run("delete", "namespace", "held", "--timeout=500ms", rc=1)
    assert "timed out waiting for the condition on namespaces/held" in timed_out.err

    with kubectl.start("wait", "--for=delete", "namespace/held", "--timeout=30s",
                       "-v=6") as waiting:
        waiting.expect("err", watching)
        kubectl.run("patch", "pod", "held", "-n", "held", "--type=json", "-p", DROP_FINALIZERS)
        assert waiting.wait() == 0, waiting.stderr
        assert waiting.stdout == "namespace/held condition met\n"
    assert "held" not in kubectl.run("get", "namespaces", "-o", "name").out


def test_create_namespace_imperatively(kubectl: Kubectl) -> None:
    assert kubectl.run("create", "namespace", "x").out == "namespace/x created\n"
    assert kubectl.get_json("namespace", "x")["status"]["phase"] == "Active"
    created = kubectl.run("create", "configmap", "cfg", "-n", "x", "--from-literal=a=1")
    assert created.out == "configmap/cfg created\n"
    assert kubectl.get_json("configmap", "cfg", "-n", "x")["data"] == {"a": "1"}
