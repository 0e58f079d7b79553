"""Pods for the pure in-place tests: a running pod, a tiny patch applier, a fake kubelet step.

``merge`` applies exactly the patch shapes the libraries produce (metadata
maps with null deletion, finalizers as a set, ``spec.containers`` by name,
``status.conditions`` by type) — enough to walk an update through its steps
without a server.  The on-cluster test checks the same bodies against the
real API server's strategic merge.
"""

from __future__ import annotations

import copy
from typing import Any

from mizzen.api.kruise import INPLACE_UPDATE_READY
from mizzen.cluster.kubelet.identity import image_id

Obj = dict[str, Any]


def running_pod(*containers: tuple[str, str], gate: bool = True,
                labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
                env: dict[str, list[Obj]] | None = None) -> Obj:
    """A Running, Ready pod at revision ``r1`` (imageIDs as the simulated kubelet reports)."""
    pairs = containers or (("app", "nginx:1.25"),)
    spec: Obj = {"containers": [{"name": n, "image": i, **({"env": env[n]} if env and n in env
                                                          else {})} for n, i in pairs]}
    conditions = [{"type": "Ready", "status": "True",
                   "lastTransitionTime": "2024-05-01T11:00:00Z"}]
    if gate:
        spec["readinessGates"] = [{"conditionType": INPLACE_UPDATE_READY}]
        conditions.append({"type": INPLACE_UPDATE_READY, "status": "True",
                           "lastTransitionTime": "2024-05-01T11:00:00Z"})
    return {
        "metadata": {"name": "web-abcde", "namespace": "default", "uid": "u-1",
                     "resourceVersion": "7",
                     "labels": {"app": "web", "controller-revision-hash": "r1",
                                **(labels or {})},
                     "annotations": dict(annotations or {})},
        "spec": spec,
        "status": {"phase": "Running", "conditions": conditions,
                   "containerStatuses": [_running(n, i, 0) for n, i in pairs]},
    }


def _running(name: str, image: str, restarts: int) -> Obj:
    return {"name": name, "image": image, "imageID": image_id(image), "ready": True,
            "restartCount": restarts, "state": {"running": {"startedAt": "2024-05-01T11:00:00Z"}}}


def _merge_map(target: Obj, patch: Obj) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_map(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _merge_list(items: list[Obj], patch: list[Obj], key: str) -> None:
    for entry in patch:
        found = next((i for i in items if i.get(key) == entry.get(key)), None)
        if found is None:
            items.append({k: v for k, v in entry.items() if v is not None})
        else:
            _merge_map(found, entry)


def merge(pod: Obj, body: Obj | None) -> Obj:
    """``pod`` with a patch body applied (a new dict)."""
    out = copy.deepcopy(pod)
    if body is None:
        return out
    meta = dict(body.get("metadata") or {})
    meta.pop("resourceVersion", None)
    finalizers = meta.pop("finalizers", None)
    _merge_map(out["metadata"], meta)
    if finalizers:
        have = out["metadata"].setdefault("finalizers", [])
        have.extend(f for f in finalizers if f not in have)
    if "spec" in body:
        _merge_list(out["spec"]["containers"], body["spec"]["containers"], "name")
    if "status" in body:
        _merge_list(out["status"].setdefault("conditions", []), body["status"]["conditions"],
                    "type")
    return out


def kubelet_restarts(pod: Obj, *, running: bool = True) -> Obj:
    """What a kubelet reports after acting on changed images: the container restarted (new
    imageID, restartCount + 1) — or, with ``running=False``, still creating it (previous
    image and imageID, state waiting)."""
    out = copy.deepcopy(pod)
    images = {c["name"]: c["image"] for c in out["spec"]["containers"]}
    statuses = out["status"]["containerStatuses"]
    for i, status in enumerate(statuses):
        image = images[status["name"]]
        if image == status["image"]:
            continue
        if running:
            statuses[i] = _running(status["name"], image, status["restartCount"] + 1)
        else:
            statuses[i] = {**status, "ready": False,
                           "state": {"waiting": {"reason": "ContainerCreating"}}}
    return out
