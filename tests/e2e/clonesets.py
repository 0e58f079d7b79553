"""CloneSets through the real kubectl: one namespace, reads, and waits on conditions.

Why its own module: the CloneSet end-to-end tests read the same few things
again and again — the CloneSet in either served version, its pods' identity
(uid, IP, node) and container state, ``kubectl get clone``'s table — and
wait for a *settled* status: one the controller wrote for the CloneSet's
current generation (``status.observedGeneration == metadata.generation``).
Waiting on a count alone (``kubectl wait --for=jsonpath=...``) can be
satisfied by a status computed before the latest edit; so every wait here
checks the generation too, by polling ``kubectl get -o json`` until a
predicate holds or a deadline passes — never a fixed sleep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml

from mizzen.api.kruise import CONTROLLER_REVISION_HASH, INSTANCE_ID
from tests.e2e.test_kubectl import Kubectl, Result, table

__all__ = ["V1ALPHA1", "CloneSets", "PodView", "settled", "until"]

Obj = dict[str, Any]
T = TypeVar("T")

# How kubectl names the v1alpha1 view (``clone`` is the preferred version, v1beta1).
V1ALPHA1 = "clonesets.v1alpha1.apps.kruise.io"
POLL = 0.1  # seconds between two reads while waiting


def until(probe: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")
        time.sleep(POLL)


def settled(**expected: Any) -> Callable[[Obj], bool]:
    """A status written for the current generation, with ``expected`` status fields."""
    def check(cs: Obj) -> bool:
        status = cs.get("status") or {}
        return (status.get("observedGeneration") == cs["metadata"]["generation"]
                and all(status.get(k) == v for k, v in expected.items()))
    return check


@dataclass(frozen=True)
class PodView:
    """What a test compares across an update: who the pod is, and what it runs."""

    # The pod's identity: an in-place update keeps all four.
    name: str
    uid: str
    ip: str
    node: str
    # The running container (the first): image, imageID and restartCount from its status.
    image: str
    image_id: str
    restarts: int
    # Labels the CloneSet controller sets: its revision and its instance id.
    revision: str
    instance_id: str

    @property
    def identity(self) -> tuple[str, str, str, str]:
        return (self.name, self.uid, self.ip, self.node)

    @classmethod
    def of(cls, pod: Obj) -> PodView:
        meta, status = pod["metadata"], pod.get("status") or {}
        statuses = status.get("containerStatuses") or [{}]
        labels = meta.get("labels") or {}
        return cls(meta["name"], meta["uid"], status.get("podIP", ""),
                   pod["spec"].get("nodeName", ""), statuses[0].get("image", ""),
                   statuses[0].get("imageID", ""), int(statuses[0].get("restartCount", 0)),
                   labels.get(CONTROLLER_REVISION_HASH, ""), labels.get(INSTANCE_ID, ""))


def is_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


class CloneSets:
    """kubectl in one namespace (created by :meth:`create_namespace`)."""

    def __init__(self, kubectl: Kubectl, namespace: str) -> None:
        self.kubectl = kubectl
        self.namespace = namespace

    def create_namespace(self) -> CloneSets:
        self.kubectl.run("create", "namespace", self.namespace)
        return self

    def run(self, *args: str, rc: int | None = 0, stdin: str | None = None) -> Result:
        return self.kubectl.run("-n", self.namespace, *args, rc=rc, stdin=stdin)

    def apply(self, manifest: str) -> Result:
        return self.run("apply", "-f", "-", stdin=manifest)

    def patch(self, name: str, body: Obj, resource: str = "clone", rc: int | None = 0) -> Result:
        return self.run("patch", resource, name, "--type", "merge", "-p", json.dumps(body),
                        rc=rc)

    def get(self, name: str, resource: str = "clone") -> Obj:
        """The object as ``kubectl get -o yaml`` prints it."""
        found: Obj = yaml.safe_load(self.run("get", resource, name, "-o", "yaml").out)
        return found

    def wait(self, name: str, check: Callable[[Obj], bool], what: str,
             timeout: float = 60.0) -> Obj:
        """The CloneSet once ``check`` holds for it."""
        def probe() -> Obj | None:
            cs: Obj = json.loads(self.run("get", "clone", name, "-o", "json").out)
            return cs if check(cs) else None
        return until(probe, f"clone/{name} {what}", timeout)

    def pods(self, selector: str) -> list[Obj]:
        """Pods matching ``selector`` that are not being deleted."""
        listed = json.loads(self.run("get", "pods", "-l", selector, "-o", "json").out)
        return [p for p in listed["items"] if not p["metadata"].get("deletionTimestamp")]

    def views(self, selector: str) -> dict[str, PodView]:
        return {v.name: v for v in map(PodView.of, self.pods(selector))}

    def wait_pods(self, selector: str, count: int, timeout: float = 60.0) -> dict[str, PodView]:
        """Exactly ``count`` pods, all Ready, and no other pod of ``selector`` left at all."""
        def probe() -> dict[str, PodView] | None:
            listed = json.loads(self.run("get", "pods", "-l", selector, "-o", "json").out)
            items = listed["items"]
            if len(items) == count and all(map(is_ready, items)) and not any(
                    p["metadata"].get("deletionTimestamp") for p in items):
                return {v.name: v for v in map(PodView.of, items)}
            return None
        return until(probe, f"{count} ready pods of {selector}", timeout)

    def row(self, name: str) -> dict[str, str]:
        """``kubectl get clone NAME`` as {column: cell}."""
        header, rows = table(self.run("get", "clone", name).out)
        return dict(zip(header, rows[name], strict=True))
