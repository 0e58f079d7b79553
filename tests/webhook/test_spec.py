"""Webhook specs: checked when declared, rendered with every default spelled out."""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.webhook import ConversionSpec, Rule, WebhookSpec

RULE = Rule(("apps.kruise.io",), ("v1alpha1",), ("clonesets",))


def test_rendered_entry_spells_out_every_default() -> None:
    spec = WebhookSpec("/validate-cloneset", "vcloneset.apps.kruise.io", (RULE,))
    entry = spec.to_dict({"url": "https://127.0.0.1:1/validate-cloneset"}, mutating=False)
    assert entry == {
        "name": "vcloneset.apps.kruise.io", "admissionReviewVersions": ["v1"],
        "clientConfig": {"url": "https://127.0.0.1:1/validate-cloneset"},
        "rules": [{"apiGroups": ["apps.kruise.io"], "apiVersions": ["v1alpha1"],
                   "operations": ["CREATE", "UPDATE"], "resources": ["clonesets"],
                   "scope": "*"}],
        "failurePolicy": "Fail", "matchPolicy": "Equivalent", "namespaceSelector": {},
        "objectSelector": {}, "sideEffects": "None", "timeoutSeconds": 10}
    mutating = spec.to_dict({}, mutating=True)
    assert mutating["reinvocationPolicy"] == "Never"


@pytest.mark.parametrize(("case", "kwargs", "error"), [
    ("two-label name", {"name": "kruise.io"}, "three labels"),
    ("upper-case name", {"name": "V.kruise.io"}, "DNS subdomain"),
    ("relative path", {"path": "validate"}, "absolute URL path"),
    ("path is the health probe", {"path": "/healthz"}, "absolute URL path"),
    ("no rules", {"rules": ()}, "non-empty tuple"),
    ("unknown failure policy", {"failure_policy": "Retry"}, "Fail or Ignore"),
    ("side effects", {"side_effects": "Some"}, "None or NoneOnDryRun"),
    ("timeout over 30s", {"timeout_seconds": 31}, "1-30"),
    ("match policy", {"match_policy": "Fuzzy"}, "Exact or Equivalent"),
    ("reinvocation", {"reinvocation_policy": "Always"}, "Never or"),
])
def test_spec_refuses(case: str, kwargs: dict[str, Any], error: str) -> None:
    args: dict[str, Any] = {"path": "/v", "name": "v.kruise.io.x", "rules": (RULE,)}
    with pytest.raises(ValueError, match=error):
        WebhookSpec(**{**args, **kwargs})


@pytest.mark.parametrize(("case", "kwargs", "error"), [
    ("groups as a bare string", {"api_groups": "apps"}, "api_groups"),
    ("unknown operation", {"operations": ("PATCH",)}, "operations"),
    ("unknown scope", {"scope": "Global"}, "scope"),
])
def test_rule_refuses(case: str, kwargs: dict[str, Any], error: str) -> None:
    args: dict[str, Any] = {"api_groups": ("",), "api_versions": ("v1",),
                            "resources": ("pods",)}
    with pytest.raises(ValueError, match=error):
        Rule(**{**args, **kwargs})


def test_conversion_spec_needs_crd_names() -> None:
    assert ConversionSpec("/convert", ("clonesets.apps.kruise.io",)).crds
    with pytest.raises(ValueError, match="non-empty tuple"):
        ConversionSpec("/convert", "clonesets.apps.kruise.io")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a CRD name"):
        ConversionSpec("/convert", ("clonesets",))
