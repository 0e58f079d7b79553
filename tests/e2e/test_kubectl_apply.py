"""Server-side apply with the real kubectl: create, update, conflicts, --force-conflicts."""

from __future__ import annotations

import pytest

from tests.e2e.test_kubectl import KUBECTL, Kubectl, kubectl  # noqa: F401  (fixture)

pytestmark = [pytest.mark.kubectl,
              pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")]

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: app
        image: {image}
"""


def test_apply_server_side_owns_fields_and_reports_conflicts(kubectl: Kubectl) -> None:  # noqa: F811
    first = DEPLOYMENT.format(replicas=2, image="nginx:1.25")
    assert kubectl.apply(first, "--server-side").out == "deployment.apps/web serverside-applied\n"
    managers = {(m["manager"], m["operation"]) for m in
                kubectl.get_json("deployment", "web", "--show-managed-fields")
                ["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers
    # Re-applying a new image updates in place.
    kubectl.apply(DEPLOYMENT.format(replicas=2, image="nginx:1.27"), "--server-side")
    got = kubectl.get_json("deployment", "web")
    assert got["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    # Another manager takes .spec.replicas; applying a different value conflicts ...
    kubectl.run("scale", "deployment/web", "--replicas=5")
    failed = kubectl.run("apply", "-f", "-", "--server-side", rc=None,
                         stdin=DEPLOYMENT.format(replicas=3, image="nginx:1.27"))
    assert failed.rc != 0
    assert "Apply failed with 1 conflict" in failed.err and ".spec.replicas" in failed.err
    assert kubectl.get_json("deployment", "web")["spec"]["replicas"] == 5
    # ... until the applier forces it.
    kubectl.apply(DEPLOYMENT.format(replicas=3, image="nginx:1.27"), "--server-side",
                  "--force-conflicts")
    assert kubectl.get_json("deployment", "web")["spec"]["replicas"] == 3
    # Dropping a field the applier alone owned removes it.
    labelled = DEPLOYMENT.format(replicas=3, image="nginx:1.27").replace(
        "  name: web\n", "  name: web\n  labels: {team: a}\n")
    kubectl.apply(labelled, "--server-side")
    assert kubectl.get_json("deployment", "web")["metadata"]["labels"] == {"team": "a"}
    kubectl.apply(DEPLOYMENT.format(replicas=3, image="nginx:1.27"), "--server-side")
    assert "labels" not in kubectl.get_json("deployment", "web")["metadata"]
