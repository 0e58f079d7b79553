"""Custom resources and cascading deletion with the real kubectl."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.test_kubectl import KUBECTL, Kubectl, kubectl, table  # noqa: F401  (fixture)

pytestmark = [pytest.mark.kubectl,
              pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")]

CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: What the widget should be.
            properties:
              size: {type: integer, description: How big the widget is.}
              replicas: {type: integer}
          status:
            type: object
            properties:
              replicas: {type: integer}
"""

WIDGET = """apiVersion: example.com/v1
kind: Widget
metadata:
  name: big
spec:
  size: {size}
  replicas: 1
"""


def crd_ready(kubectl: Kubectl) -> None:  # noqa: F811
    kubectl.apply(CRD)
    kubectl.run("wait", "--for=condition=Established", "crd/widgets.example.com",
                "--timeout=30s")


def until(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def test_crd_apply_get_scale_explain(kubectl: Kubectl) -> None:  # noqa: F811
    crd_ready(kubectl)
    assert kubectl.apply(WIDGET.format(size=3)).out == "widget.example.com/big created\n"
    assert kubectl.apply(WIDGET.format(size=3)).out == "widget.example.com/big unchanged\n"
    # kubectl diff: exit 1 and the changed field when the manifest differs, 0 when not.
    kubectl.write("widget.yaml", WIDGET.format(size=4))
    diff = kubectl.run("diff", "-f", "widget.yaml", rc=1)
    assert "-  size: 3" in diff.out and "+  size: 4" in diff.out, diff.out
    assert kubectl.apply(WIDGET.format(size=4)).out == "widget.example.com/big configured\n"
    kubectl.run("diff", "-f", "widget.yaml", rc=0)
    header, rows = table(kubectl.run("get", "widgets").out)
    assert header[:3] == ["NAME", "SIZE", "REPLICAS"] and header[-1] == "AGE", header
    assert rows["big"][1:3] == ["4", "1"]
    kubectl.run("scale", "widget/big", "--replicas=3")
    assert kubectl.get_json("wd", "big")["spec"]["replicas"] == 3
    explained = kubectl.run("explain", "widget.spec").out
    assert "What the widget should be." in explained, explained
    assert "size" in explained and "How big the widget is." in explained


RS = """apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: owner
spec:
  replicas: 0
  selector: {matchLabels: {app: owner}}
  template:
    metadata: {labels: {app: owner}}
    spec:
      containers: [{name: c, image: nginx}]
"""


def dependents(kubectl: Kubectl, uid: str) -> None:  # noqa: F811
    for name in ("dep-a", "dep-b"):
        kubectl.create(json.dumps({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "owner", "uid": uid,
                "blockOwnerDeletion": True}]}}))


def configmaps(kubectl: Kubectl) -> set[str]:  # noqa: F811
    return {i["metadata"]["name"] for i in kubectl.get_json("configmaps")["items"]
            if i["metadata"]["name"].startswith("dep-")}


@pytest.mark.parametrize(("cascade", "kept"), [("foreground", set()),
                                                ("orphan", {"dep-a", "dep-b"})])
def test_delete_cascade(kubectl: Kubectl, cascade: str, kept: set[str]) -> None:  # noqa: F811
    kubectl.apply(RS)
    uid = kubectl.get_json("replicaset", "owner")["metadata"]["uid"]
    dependents(kubectl, uid)
    assert configmaps(kubectl) == {"dep-a", "dep-b"}
    out = kubectl.run("delete", "replicaset/owner", f"--cascade={cascade}", "--wait=true").out
    assert out == 'replicaset.apps "owner" deleted\n'
    kubectl.run("get", "replicaset", "owner", rc=1)
    until(lambda: configmaps(kubectl) == kept)
    if kept:
        for name in kept:
            cm = kubectl.get_json("configmap", name)
            assert not cm["metadata"].get("ownerReferences"), cm["metadata"]
