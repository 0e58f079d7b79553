"""The widgets used by the webhook tests: a two-version CRD, its converter, a validator.

``widgets.example.com`` serves v1 (storage: ``spec.size``) and v2
(``spec.dimensions.size``).  :func:`convert` converts between them;
:class:`Seen` refuses negative sizes with a field cause, refuses the name
``forbidden`` outright, warns about size 0, and records every request.
"""

from __future__ import annotations

from typing import Any

from mizzen.webhook import (
    AdmissionRequest,
    AdmissionResponse,
    Cause,
    ConversionSpec,
    Rule,
    WebhookSpec,
)

VALIDATE = WebhookSpec("/validate-widget", "vwidget.example.com",
                       (Rule(("example.com",), ("*",), ("widgets",)),))
CONVERT = ConversionSpec("/convert", ("widgets.example.com",))


def crd() -> dict[str, Any]:
    def version(name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "served": True, "storage": name == "v1",
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": spec}}}}}

    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                     "versions": [
                         version("v1", {"size": {"type": "integer"}}),
                         version("v2", {"dimensions": {"type": "object", "properties": {
                             "size": {"type": "integer"}}}})]}}


def widget(name: str, size: int, version: str = "v2") -> dict[str, Any]:
    spec: dict[str, Any] = {"dimensions": {"size": size}} if version == "v2" else {"size": size}
    return {"apiVersion": f"example.com/{version}", "kind": "Widget",
            "metadata": {"name": name}, "spec": spec}


def convert(obj: dict[str, Any], desired: str) -> dict[str, Any]:
    spec = dict(obj.get("spec") or {})
    if desired.endswith("/v2") and "size" in spec:
        spec["dimensions"] = {"size": spec.pop("size")}
    elif desired.endswith("/v1") and "dimensions" in spec:
        spec["size"] = spec.pop("dimensions")["size"]
    return {**obj, "apiVersion": desired, "spec": spec}


class Seen:
    """A validator refusing negative sizes, recording what it was asked."""

    def __init__(self) -> None:
        self.requests: list[AdmissionRequest] = []

    def __call__(self, req: AdmissionRequest) -> AdmissionResponse:
        self.requests.append(req)
        spec = (req.object or {}).get("spec") or {}
        size = spec.get("size", (spec.get("dimensions") or {}).get("size", 0))
        if req.name == "forbidden":
            return AdmissionResponse.deny("widgets may not be called forbidden")
        if size < 0:
            where = "spec.size" if "size" in spec else "spec.dimensions.size"
            return AdmissionResponse.deny(
                f"{where}: Invalid value: {size}: must be >= 0",
                Cause(where, "FieldValueInvalid", f"Invalid value: {size}: must be >= 0"))
        return AdmissionResponse.allow(*(["size 0 is deprecated"] if size == 0 else []))
