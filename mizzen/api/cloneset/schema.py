"""Structural OpenAPI v3 schemas for CloneSet ``v1alpha1`` and ``v1beta1``.

Why shaped so: the two versions share almost everything (selector,
template, lifecycle, priority and scatter strategies, status), so the
schema is assembled from small builders, one per shared piece, and the
two version functions differ only where the versions do: the update
strategy (flat ``type`` vs ``type`` + ``rollingUpdate``) and the PVC-reuse
switch.  Pod and claim templates are opaque objects
(``x-kubernetes-preserve-unknown-fields``), as upstream: they are copied
into pods verbatim and the pod's own validation judges them.

``default:`` values sit where upstream defaults, so the API server applies
them (it recurses into a defaulted ``{}``, which is why the strategy objects
default to ``{}``).  v1alpha1's ``disablePVCReuse`` and v1beta1's
``excludePreparingDelete`` have no default: upstream omits them when
false.  Each call returns a fresh dict, so callers may change the result.
"""

from __future__ import annotations

from typing import Any

from mizzen.api.cloneset.types import PodUpdatePolicy, UpdateType

__all__ = ["openapi_schema", "status_schema"]

Obj = dict[str, Any]


def _int32(description: str = "", default: int | None = None) -> Obj:
    node: Obj = {"type": "integer", "format": "int32"}
    if description:
        node["description"] = description
    if default is not None:
        node["default"] = default
    return node


def _string(description: str = "", default: str | None = None) -> Obj:
    node: Obj = {"type": "string"}
    if description:
        node["description"] = description
    if default is not None:
        node["default"] = default
    return node


def _bool(description: str) -> Obj:
    return {"type": "boolean", "description": description}


def _int_or_string(description: str, default: int | str | None = None) -> Obj:
    node: Obj = {"anyOf": [{"type": "integer"}, {"type": "string"}],
                 "x-kubernetes-int-or-string": True, "description": description}
    if default is not None:
        node["default"] = default
    return node


def _string_list(description: str) -> Obj:
    return {"type": "array", "items": {"type": "string"}, "description": description}


def _string_map(description: str) -> Obj:
    return {"type": "object", "additionalProperties": {"type": "string"},
            "description": description}


def _opaque(description: str) -> Obj:
    return {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
            "description": description}


def _label_selector(description: str) -> Obj:
    requirement = {"type": "object", "required": ["key", "operator"], "properties": {
        "key": _string("The label key the requirement applies to."),
        "operator": _string("In, NotIn, Exists or DoesNotExist."),
        "values": _string_list("Values for In and NotIn; empty for Exists and DoesNotExist."),
    }}
    return {"type": "object", "description": description,
            "x-kubernetes-map-type": "atomic", "properties": {
                "matchExpressions": {"type": "array", "items": requirement,
                                     "description": "Requirements, ANDed."},
                "matchLabels": _string_map("Labels that must all be present with these values."),
            }}


def _lifecycle() -> Obj:
    def hook(description: str) -> Obj:
        return {"type": "object", "description": description, "properties": {
            "labelsHandler": _string_map("Labels whose presence holds the pod in this hook."),
            "finalizersHandler": _string_list("Finalizers whose presence holds the pod."),
            "markPodNotReady": _bool("Set condition KruisePodReady=False while held."),
        }}

    return {"type": "object", "description": "Hooks around pod creation, update and deletion.",
            "properties": {
                "preDelete": hook("Holds a pod in PreparingDelete before it is deleted."),
                "inPlaceUpdate": hook("Holds a pod in PreparingUpdate before an in-place "
                                      "update."),
                "preNormal": hook("Holds a new pod in PreparingNormal until it is set up."),
            }}


def _priority_strategy() -> Obj:
    weight_term = {"type": "object", "required": ["matchSelector", "weight"], "properties": {
        "weight": _int32("Weight of the term, 1 to 100."),
        "matchSelector": _label_selector("Pods whose labels match get the weight."),
    }}
    order_term = {"type": "object", "required": ["orderedKey"], "properties": {
        "orderedKey": _string("Label key whose (last) integer value orders pods."),
    }}
    return {"type": "object", "description": "Which pods update first.", "properties": {
        "weightPriority": {"type": "array", "items": weight_term,
                           "description": "Pods are ordered by the sum of matching weights."},
        "orderPriority": {"type": "array", "items": order_term,
                          "description": "Pods are ordered by these label values."},
    }}


def _scatter_strategy() -> Obj:
    term = {"type": "object", "required": ["key", "value"], "properties": {
        "key": _string(), "value": _string()}}
    return {"type": "array", "items": term,
            "description": "Spread pods with these labels across update batches."}


def _in_place_update_strategy(version: str) -> Obj:
    properties: Obj = {"gracePeriodSeconds": _int32(
        "Seconds between marking a pod not ready and patching its images.")}
    if version == "v1beta1":
        # v1alpha1 keeps these three in apps.kruise.io/image-predownload-* annotations.
        properties.update({
            "imagePreDownloadParallelism": _int_or_string(
                "Nodes pre-pulling the new images at once."),
            "imagePreDownloadTimeoutSeconds": _int32("Timeout of each image pre-pull."),
            "imagePreDownloadMinUpdatedReadyPods": _int32(
                "Updated ready pods required before images are pre-pulled."),
        })
    return {"type": "object", "description": "In-place update settings.",
            "properties": properties}


def _rolling_fields(version: str) -> Obj:
    """Fields shared by v1alpha1 ``updateStrategy`` and v1beta1 ``rollingUpdate``."""
    return {
        "partition": _int_or_string(
            "Pods (or percent of replicas, rounded up) kept on old revisions.", 0),
        "maxUnavailable": _int_or_string(
            "Pods that may be unavailable during the update; rounded up, down when "
            "maxSurge > 0.", "20%"),
        "maxSurge": _int_or_string(
            "Pods that may be created above replicas during the update; rounded up.", 0),
        "paused": _bool("Stop updating pods."),
        "priorityStrategy": _priority_strategy(),
        "scatterStrategy": _scatter_strategy(),
        "inPlaceUpdateStrategy": _in_place_update_strategy(version),
    }


def _update_strategy(version: str) -> Obj:
    policies = ", ".join(p.value for p in PodUpdatePolicy)
    if version == "v1alpha1":
        properties = {"type": _string(f"{policies} or OnDelete.", PodUpdatePolicy.RECREATE.value),
                      **_rolling_fields(version)}
    else:
        rolling = {"podUpdatePolicy": _string(f"How a pod is updated: {policies}.",
                                              PodUpdatePolicy.RECREATE.value),
                   **_rolling_fields(version)}
        properties = {
            "type": _string("RollingUpdate or OnDelete.", UpdateType.ROLLING_UPDATE.value),
            "rollingUpdate": {"type": "object", "default": {}, "properties": rolling,
                              "description": "How the controller rolls pods to the update "
                                             "revision (kept, unused, under OnDelete)."},
        }
    return {"type": "object", "default": {}, "properties": properties,
            "description": "How pods move to a new revision of the template."}


def _scale_strategy(version: str) -> Obj:
    properties: Obj = {
        "podsToDelete": _string_list("Names of pods to delete."),
        "maxUnavailable": _int_or_string(
            "Unavailable pods above which scale-up waits; rounded up; unset is unlimited."),
    }
    node: Obj = {"type": "object", "description": "How pods are created and deleted.",
                 "properties": properties}
    if version == "v1alpha1":
        properties["disablePVCReuse"] = _bool("Do not give a new pod a deleted pod's PVCs.")
    else:
        properties["enablePVCReuse"] = {
            **_bool("Give a new pod the PVCs a deleted pod left behind."), "default": False}
        properties["excludePreparingDelete"] = _bool(
            "Do not count PreparingDelete pods as replicas.")
        node["default"] = {}
    return node


def _spec(version: str) -> Obj:
    return {"type": "object", "required": ["selector", "template"], "properties": {
        "replicas": _int32("Desired pods.", 1),
        "selector": _label_selector("Pods this CloneSet owns; must match the template labels."),
        "template": _opaque("The pod template."),
        "volumeClaimTemplates": {"type": "array", "items": _opaque("A PVC template."),
                                 "description": "PVCs created for each pod instance."},
        "scaleStrategy": _scale_strategy(version),
        "updateStrategy": _update_strategy(version),
        "revisionHistoryLimit": _int32("Old revisions kept.", 10),
        "minReadySeconds": _int32("Seconds a pod must be ready to count as available."),
        "progressDeadlineSeconds": _int32("Seconds a rollout may make no progress."),
        "lifecycle": _lifecycle(),
    }}


def status_schema() -> Obj:
    """The status, identical in both versions."""
    condition = {"type": "object", "required": ["type", "status"], "properties": {
        "type": _string(), "status": _string("True, False or Unknown."),
        "reason": _string(), "message": _string(),
        "lastTransitionTime": {"type": "string", "format": "date-time"},
        "lastUpdateTime": {"type": "string", "format": "date-time"},
    }}
    counts = ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas",
              "updatedReadyReplicas", "updatedAvailableReplicas", "expectedUpdatedReplicas")
    properties: Obj = {"observedGeneration": {"type": "integer", "format": "int64"}}
    properties.update({name: _int32() for name in counts})
    properties.update({
        "updateRevision": _string("The revision pods are being updated to."),
        "currentRevision": _string("The revision every pod was on when last complete."),
        "collisionCount": _int32("Hash collisions when naming revisions."),
        "labelSelector": _string("The selector as a string, for the scale subresource."),
        "conditions": {"type": "array", "items": condition},
    })
    return {"type": "object", "properties": properties}


def openapi_schema(version: str) -> Obj:
    """The ``openAPIV3Schema`` of one served version (``v1alpha1`` or ``v1beta1``)."""
    if version not in ("v1alpha1", "v1beta1"):
        raise ValueError(f"CloneSet has no version {version!r}")
    return {"type": "object", "description": "A set of identical pods, updated in place "
                                             "or recreated, with optional PVCs per pod.",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": _spec(version),
                "status": status_schema(),
            }}
