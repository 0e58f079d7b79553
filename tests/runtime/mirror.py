"""A toy controller for the tests: each ConfigMap labelled ``mirror=yes`` gets a Secret.

The Secret has the ConfigMap's name, its data (base64), and a controller owner
reference to it; it is deleted when the label goes or the ConfigMap does.  It
shows the intended shape of a reconciler: read from caches, compare, do one
kind of write, record an event, let the runtime handle retries.
"""

from __future__ import annotations

import base64
from typing import Any

from mizzen.client.client import Client
from mizzen.client.errors import ApiError
from mizzen.client.resources import CONFIGMAPS, SECRETS
from mizzen.runtime.cache import copy_of
from mizzen.runtime.controller import Controller
from mizzen.runtime.events import NORMAL, EventRecorder
from mizzen.runtime.handlers import has_labels
from mizzen.runtime.informer import SharedInformer
from mizzen.runtime.manager import Manager
from mizzen.runtime.reconcile import Request, Result

LABEL = {"mirror": "yes"}


def wanted_data(cm: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in (cm.get("data") or {}).items()}


def is_mirror_of(secret: dict[str, Any], name: str) -> bool:
    return any(ref.get("kind") == "ConfigMap" and ref.get("name") == name
               and ref.get("controller") for ref in secret["metadata"].get("ownerReferences", ()))


class MirrorReconciler:
    def __init__(self, client: Client, configmaps: SharedInformer, secrets: SharedInformer,
                 recorder: EventRecorder) -> None:
        self.client = client
        self.configmaps = configmaps
        self.secrets = secrets
        self.recorder = recorder
        self.passes: list[Request] = []

    async def reconcile(self, request: Request) -> Result:
        self.passes.append(request)
        cm = self.configmaps.cache.get(request.name, request.namespace)
        secret = self.secrets.cache.get(request.name, request.namespace)
        labels = (cm or {}).get("metadata", {}).get("labels") or {}
        if cm is None or labels.get("mirror") != "yes":
            if secret is not None and is_mirror_of(secret, request.name):
                try:
                    await self.client.delete(SECRETS, request.name, request.namespace)
                except ApiError as exc:
                    if not exc.not_found:
                        raise
            return Result()
        data = wanted_data(cm)
        if secret is None:
            meta = cm["metadata"]
            await self.client.create(SECRETS, {
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": request.name, "namespace": request.namespace,
                             "ownerReferences": [{
                                 "apiVersion": "v1", "kind": "ConfigMap", "name": meta["name"],
                                 "uid": meta["uid"], "controller": True}]},
                "data": data}, request.namespace)
            self.recorder.event(cm, NORMAL, "Created", f"created secret {request.name}")
        elif (secret.get("data") or {}) != data:
            changed = copy_of(secret)  # never edit the cached object
            changed["data"] = data
            await self.client.update(SECRETS, changed)
            self.recorder.event(cm, NORMAL, "Updated", f"updated secret {request.name}")
        return Result()


def mirror_controller(manager: Manager, namespace: str = "default"
                      ) -> tuple[Controller, MirrorReconciler]:
    configmaps = manager.informer(CONFIGMAPS, namespace=namespace)
    secrets = manager.informer(SECRETS, namespace=namespace)
    reconciler = MirrorReconciler(manager.client, configmaps, secrets,
                                  manager.event_recorder("mirror-controller"))
    controller = manager.controller("mirror", reconciler.reconcile, workers=2)
    controller.for_(configmaps, has_labels(LABEL)).owns(secrets, CONFIGMAPS)
    return controller, reconciler
