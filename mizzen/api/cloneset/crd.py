"""The ``clonesets.apps.kruise.io`` CustomResourceDefinition, as a plain dict.

Why shaped so: the CRD is data that three places need — the embedded API
server installs it, ``deploy/crds`` ships it to real clusters, and tests
create objects against it — so it is built by one pure function from the
names in :mod:`mizzen.api.cloneset.types` and the schemas in
:mod:`mizzen.api.cloneset.schema`.  Conversion is a parameter because only
the caller knows where (or whether) a conversion webhook runs:
``strategy: None`` merely relabels ``apiVersion`` and is fine for tests and
for clusters that only ever see one version; :func:`webhook_conversion`
builds the block for a webhook serving
:func:`mizzen.api.cloneset.conversion.convert`.

Printer columns are upstream's, so ``kubectl get clone`` reads the same
(``-o wide`` adds CONTAINERS, IMAGES and SELECTOR).
"""

from __future__ import annotations

import copy
from typing import Any

from mizzen.api.cloneset.schema import openapi_schema
from mizzen.api.cloneset.types import GROUP, KIND, PLURAL, SHORT_NAMES, STORAGE_VERSION, VERSIONS

__all__ = ["CRD_NAME", "clonesets_crd", "printer_columns", "webhook_conversion"]

Obj = dict[str, Any]

CRD_NAME = f"{PLURAL}.{GROUP}"

_AGE_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is "
    "in UTC."
)

# (name, type, jsonPath, description, priority)
_COLUMNS: tuple[tuple[str, str, str, str, int], ...] = (
    ("DESIRED", "integer", ".spec.replicas", "The desired number of pods.", 0),
    ("UPDATED", "integer", ".status.updatedReplicas", "The number of pods updated.", 0),
    ("UPDATED_READY", "integer", ".status.updatedReadyReplicas",
     "The number of pods updated and ready.", 0),
    ("UPDATED_AVAILABLE", "integer", ".status.updatedAvailableReplicas",
     "The number of pods updated and available.", 0),
    ("READY", "integer", ".status.readyReplicas", "The number of pods ready.", 0),
    ("TOTAL", "integer", ".status.replicas", "The number of currently all pods.", 0),
    ("AGE", "date", ".metadata.creationTimestamp", _AGE_DESCRIPTION, 0),
    ("CONTAINERS", "string", ".spec.template.spec.containers[*].name",
     "The containers of currently cloneset.", 1),
    ("IMAGES", "string", ".spec.template.spec.containers[*].image",
     "The images of currently cloneset.", 1),
    ("SELECTOR", "string", ".status.labelSelector", "The selector of currently cloneset.", 1),
)


def printer_columns() -> list[Obj]:
    """``additionalPrinterColumns`` as upstream's ``kubectl get clone``."""
    columns = []
    for name, kind, path, description, priority in _COLUMNS:
        column: Obj = {"name": name, "type": kind, "jsonPath": path, "description": description}
        if priority:
            column["priority"] = priority
        columns.append(column)
    return columns


def webhook_conversion(client_config: Obj) -> Obj:
    """A ``spec.conversion`` block sending ConversionReviews (v1) to ``client_config``.

    ``client_config`` is a CRD webhook clientConfig: ``{"url": ...}`` or
    ``{"service": {"namespace", "name", "path", "port"}}``, plus ``caBundle``.
    """
    return {"strategy": "Webhook", "webhook": {
        "clientConfig": copy.deepcopy(client_config),
        "conversionReviewVersions": ["v1"],
    }}


def _version(name: str) -> Obj:
    return {
        "name": name,
        "served": True,
        "storage": name == STORAGE_VERSION,
        "schema": {"openAPIV3Schema": openapi_schema(name)},
        "subresources": {"status": {}, "scale": {
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.labelSelector",
        }},
        "additionalPrinterColumns": printer_columns(),
    }


def clonesets_crd(conversion: Obj | None = None) -> Obj:
    """The CloneSet CRD; ``conversion`` None means ``strategy: None``."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME},
        "spec": {
            "group": GROUP,
            "names": {"kind": KIND, "listKind": f"{KIND}List", "plural": PLURAL,
                      "singular": KIND.lower(), "shortNames": list(SHORT_NAMES)},
            "scope": "Namespaced",
            "conversion": copy.deepcopy(conversion) if conversion else {"strategy": "None"},
            "versions": [_version(name) for name in VERSIONS],
        },
    }
