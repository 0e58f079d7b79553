"""`mizzen up` and `mizzen controller` as processes, driven with the real kubectl.

`mizzen up` runs two processes by default — the API server, and the controller manager it
supervises — and one with `--processes 1`; the tests below run both ways, kill either
process, and check that the cluster keeps (or stops) working as it should.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli.processes import MizzenProcess, alive, wait_gone

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not on PATH")


class Proc:
    def __init__(self, args: list[str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen([sys.executable, "-m", "mizzen", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("process exited:\n" + "".join(self.lines))
            self.lines.append(line)
            m = re.search(pattern, line)
            if m:
                return m
        raise AssertionError(f"{pattern!r} not seen within {timeout}s:\n" + "".join(self.lines))

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


@contextmanager
def mizzen(*args: str) -> Iterator[Proc]:
    p = Proc(list(args))
    try:
        yield p
    finally:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait(10)


def kubectl(kubeconfig: Path, *args: str, timeout: float = 60) -> str:
    out = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *args],
                         capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "KUBECACHEDIR": str(kubeconfig.parent / "cache")})
    assert out.returncode == 0, out.stderr
    return out.stdout


def manager_pid(up: Proc | MizzenProcess) -> int:
    """The controller manager's pid, from the lines `mizzen up` prints once it is up."""
    return int(up.wait_for(r"Controller manager: process (\d+), supervised")[1])


def pods(kubeconfig: Path) -> dict[str, tuple[str, str]]:
    """uid -> (pod IP, node) of every pod in the default namespace."""
    items = json.loads(kubectl(kubeconfig, "get", "pods", "-o", "json"))["items"]
    return {p["metadata"]["uid"]: (p["status"].get("podIP", ""), p["spec"].get("nodeName", ""))
            for p in items}


@pytest.mark.parametrize("processes", ["2", "1"], ids=["two-processes", "one-process"])
def test_up_runs_a_cluster_that_survives_a_restart(tmp_path: Path, processes: str) -> None:
    data = tmp_path / "state"
    kc = data / "kubeconfig"
    with mizzen("up", "--data-dir", str(data), "--port", "0", "--nodes", "2",
                "--processes", processes) as up:
        up.wait_for("control plane is up")
        if processes == "2":
            child = manager_pid(up)
            assert child != up.proc.pid and alive(child)
        else:
            up.wait_for(r"Controller manager: in the API server's process \(--processes 1\)")
        kubectl(kc, "wait", "--for=condition=Ready", "nodes", "--all", "--timeout=30s")
        nodes = json.loads(kubectl(kc, "get", "nodes", "-o", "json"))["items"]
        assert len(nodes) == 2
        kubectl(kc, "create", "deployment", "web", "--image=nginx:1.25", "--replicas=4")
        assert "successfully rolled out" in kubectl(kc, "rollout", "status", "deployment/web",
                                                    "--timeout=60s")
        pods = json.loads(kubectl(kc, "get", "pods", "-o", "json"))["items"]
        before = {p["metadata"]["uid"]: (p["status"]["podIP"], p["spec"]["nodeName"])
                  for p in pods}
        assert len(before) == 4 and all(ip for ip, _ in before.values())
        assert up.stop() == 0  # Ctrl-C stops cleanly
        if processes == "2":
            assert not alive(child)  # stopped (and reaped) before mizzen up exited
    with mizzen("up", "--data-dir", str(data), "--port", "0", "--nodes", "2",
                "--processes", processes) as up:
        up.wait_for("control plane is up")
        assert "successfully rolled out" in kubectl(kc, "rollout", "status", "deployment/web",
                                                    "--timeout=60s")
        pods = json.loads(kubectl(kc, "get", "pods", "-o", "json"))["items"]
        after = {p["metadata"]["uid"]: (p["status"]["podIP"], p["spec"]["nodeName"])
                 for p in pods}
        assert after == before  # the same pods, IPs and nodes: resumed, not rebuilt
        assert up.stop() == 0


def test_controller_manager_runs_separately_with_leader_election(tmp_path: Path) -> None:
    data = tmp_path / "state"
    kc = data / "kubeconfig"
    with mizzen("up", "--data-dir", str(data), "--port", "0", "--nodes", "1",
                "--no-controllers") as up:
        up.wait_for(r"Mizzen controllers: none \(--no-controllers\)")
        with mizzen("controller", "--kubeconfig", str(kc), "--leader-elect") as first:
            first.wait_for("leader election on kube-system/mizzen-controller-manager")

            def holder() -> str:
                lease = json.loads(kubectl(kc, "get", "lease", "-n", "kube-system",
                                           "mizzen-controller-manager", "-o", "json",
                                           timeout=30))
                return str(lease["spec"].get("holderIdentity") or "")

            deadline = time.monotonic() + 30
            while not holder() and time.monotonic() < deadline:
                time.sleep(0.1)
            leader = holder()
            assert leader.endswith(f"_{first.proc.pid}")
            with mizzen("controller", "--kubeconfig", str(kc), "--leader-elect") as second:
                second.wait_for("leader election")
                first.stop(signal.SIGKILL)  # the leader dies without releasing its lease
                deadline = time.monotonic() + 40  # lease duration 15 s, plus retries
                while holder() == leader and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert holder().endswith(f"_{second.proc.pid}")
                assert second.stop() == 0
        assert up.stop() == 0


def test_bad_options_are_refused_with_a_message(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "mizzen", "up", "--nodes", "0",
                          "--data-dir", str(tmp_path)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and "--nodes and --zones must be at least 1" in out.stderr
    out = subprocess.run([sys.executable, "-m", "mizzen", "controller", "--kubeconfig",
                          str(tmp_path / "missing")], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "error" in out.stderr.lower()
    for bad in ("3", "two"):
        out = subprocess.run([sys.executable, "-m", "mizzen", "up", "--processes", bad,
                              "--data-dir", str(tmp_path)], capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 2, out.stderr
        assert "--processes" in out.stderr
    assert not (tmp_path / "kubeconfig").exists()  # refused before anything started


def test_help_shows_processes_and_hides_the_internal_agent_command() -> None:
    top = subprocess.run([sys.executable, "-m", "mizzen", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert top.returncode == 0 and " up " in top.stdout and "up-agent" not in top.stdout
    up = subprocess.run([sys.executable, "-m", "mizzen", "up", "--help"], capture_output=True,
                        text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert "--processes" in up.stdout and "debugging" in up.stdout


def test_a_killed_controller_manager_is_restarted_and_the_cluster_keeps_working(
        tmp_path: Path) -> None:
    data = tmp_path / "state"
    kc = data / "kubeconfig"
    with MizzenProcess(["up", "--data-dir", str(data), "--port", "0", "--nodes", "2",
                        "--sync", "NORMAL"], tmp_path / "up.log") as up:
        first = manager_pid(up)
        kubectl(kc, "create", "deployment", "web", "--image=nginx:1.25", "--replicas=2")
        kubectl(kc, "rollout", "status", "deployment/web", "--timeout=60s")
        before = pods(kc)
        os.kill(first, signal.SIGKILL)
        # Scaled while no controller manager runs: the restarted one must catch up.
        kubectl(kc, "scale", "deployment/web", "--replicas=4")
        up.wait_for(rf"controller manager \(pid {first}\) was killed by SIGKILL")
        second = int(up.wait_for(r"controller manager is running again \(pid (\d+)")[1])
        assert second != first and alive(second)
        assert "successfully rolled out" in kubectl(kc, "rollout", "status", "deployment/web",
                                                    "--timeout=60s")
        after = pods(kc)
        assert len(after) == 4 and before.items() <= after.items()  # kept, none duplicated
        kubectl(kc, "wait", "--for=condition=Ready", "pods", "--all", "--timeout=30s")
        assert up.stop() == 0  # Ctrl-C: the child first, then the server, exit 0
        assert not alive(second)
        assert "Stopping" in up.output()


def test_the_controller_manager_exits_when_mizzen_up_is_killed(tmp_path: Path) -> None:
    with MizzenProcess(["up", "--data-dir", str(tmp_path / "state"), "--port", "0",
                        "--nodes", "1", "--sync", "NORMAL"], tmp_path / "up.log") as up:
        child = manager_pid(up)
        assert up.kill() == -signal.SIGKILL  # no clean-up runs in mizzen up
        wait_gone(child, timeout=10)  # no orphan: it saw its parent's socket close


def test_a_controller_manager_that_cannot_start_fails_mizzen_up(tmp_path: Path) -> None:
    with socket.socket() as taken:  # the manager's --health-port is in use: not retried
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        out = subprocess.run([sys.executable, "-m", "mizzen", "up", "--data-dir",
                              str(tmp_path), "--port", "0", "--nodes", "1", "--health-port",
                              str(taken.getsockname()[1])],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stderr
    assert "the controller manager exited with code 1 before it was ready" in out.stderr
    assert "address already in use" in out.stderr  # the child's own message
