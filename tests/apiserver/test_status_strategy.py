"""What a status write may change besides status, kind by kind, as upstream's strategies.

A ``pods/status`` write may change labels, annotations and finalizers (the pod status
strategy resets only spec, ownerReferences and deletionTimestamp) — which is what lets a
controller move a lifecycle label together with a condition in one write.  A Deployment's
or a custom resource's status write keeps all metadata as stored.
"""

from __future__ import annotations

from typing import Any

from tests.apiserver.test_rest import deployment, pod
from tests.conftest import Api

PODS = "/api/v1/namespaces/default/pods"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
STRATEGIC = "application/strategic-merge-patch+json"


async def test_a_pod_status_patch_moves_labels_annotations_and_finalizers(api: Api) -> None:
    code, owner = await api.post("/api/v1/namespaces/default/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}})
    assert code == 201, owner
    body = pod("web", {"app": "web", "state": "Updating"})
    body["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap",
                                           "name": "owner",
                                           "uid": owner["metadata"]["uid"]}]
    code, created = await api.post(PODS, body)
    assert code == 201, created
    patch: dict[str, Any] = {
        "metadata": {"labels": {"state": "Normal"}, "annotations": {"note": "done"},
                     "finalizers": ["example.com/hold"], "ownerReferences": None},
        "spec": {"activeDeadlineSeconds": 5},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    code, patched = await api.patch(f"{PODS}/web/status", patch, content_type=STRATEGIC)
    assert code == 200, patched
    meta = patched["metadata"]
    assert meta["labels"] == {"app": "web", "state": "Normal"}
    assert meta["annotations"] == {"note": "done"}
    assert meta["finalizers"] == ["example.com/hold"]
    assert meta["ownerReferences"] == body["metadata"]["ownerReferences"]  # kept
    assert "activeDeadlineSeconds" not in patched["spec"]  # spec is not the status's
    assert patched["status"]["conditions"][0]["type"] == "Ready"
    code, stored = await api.get(f"{PODS}/web")
    assert stored["metadata"]["labels"]["state"] == "Normal"
    # A PUT to pods/status without a label removes it, as any PUT would.
    stored["metadata"]["labels"] = {"app": "web"}
    stored["metadata"]["finalizers"] = []
    code, put = await api.put(f"{PODS}/web/status", stored)
    assert code == 200, put
    assert put["metadata"]["labels"] == {"app": "web"}
    assert "finalizers" not in put["metadata"]


async def test_a_deployment_status_write_keeps_its_metadata(api: Api) -> None:
    code, created = await api.post(DEPLOYMENTS, deployment("web"))
    assert code == 201, created
    code, patched = await api.patch(f"{DEPLOYMENTS}/web/status", {
        "metadata": {"labels": {"sneaky": "yes"}, "annotations": {"sneaky": "yes"}},
        "status": {"observedGeneration": 1}})
    assert code == 200, patched
    assert "sneaky" not in (patched["metadata"].get("labels") or {})
    assert "sneaky" not in (patched["metadata"].get("annotations") or {})
    assert patched["status"]["observedGeneration"] == 1
