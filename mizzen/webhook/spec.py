"""Webhooks declared as data: one frozen value per webhook, shared by server and registration.

A webhook is spelled in two places on a cluster — the handler's URL path on
the server, and the ``webhooks[]`` entry (name, rules, failure policy, the
same path in ``clientConfig``) of a Validating/MutatingWebhookConfiguration.
Declaring it once as a :class:`WebhookSpec` and handing that value to both
:meth:`~mizzen.webhook.server.WebhookServer.add_validator` and
:class:`~mizzen.webhook.registration.WebhookRegistration` means the two cannot
drift.  :class:`ConversionSpec` does the same for CRD conversion (a path and
the CRDs it converts).

Values are checked when built (names, paths, policies), so a typo fails at
import time rather than as a 400 from the API server at start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ConversionSpec", "Rule", "WebhookSpec", "check_path"]

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")
OPERATIONS = frozenset(("CREATE", "UPDATE", "DELETE", "CONNECT", "*"))
RESERVED_PATHS = frozenset(("/healthz", "/metrics"))


def check_path(path: str) -> None:
    if not _PATH.fullmatch(path) or "//" in path or path in RESERVED_PATHS:
        raise ValueError(f"webhook path {path!r} must be an absolute URL path other than "
                         f"{', '.join(sorted(RESERVED_PATHS))}")


@dataclass(frozen=True, slots=True)
class Rule:
    """Which requests a webhook sees (an admissionregistration/v1 RuleWithOperations)."""

    api_groups: tuple[str, ...]  # e.g. ("apps.kruise.io",); "" is the core group
    api_versions: tuple[str, ...]  # e.g. ("v1alpha1",) or ("*",)
    resources: tuple[str, ...]  # plurals, "plural/subresource", "*" or "*/*"
    operations: tuple[str, ...] = ("CREATE", "UPDATE")  # CREATE, UPDATE, DELETE, CONNECT, *
    scope: str = "*"  # "Namespaced", "Cluster" or "*"

    def __post_init__(self) -> None:
        for name in ("api_groups", "api_versions", "resources", "operations"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not value:
                raise ValueError(f"Rule.{name} must be a non-empty tuple of strings")
        if not set(self.operations) <= OPERATIONS:
            raise ValueError(f"Rule.operations must be among {sorted(OPERATIONS)}")
        if self.scope not in ("Namespaced", "Cluster", "*"):
            raise ValueError("Rule.scope must be Namespaced, Cluster or *")

    def to_dict(self) -> dict[str, Any]:
        return {"apiGroups": list(self.api_groups), "apiVersions": list(self.api_versions),
                "operations": list(self.operations), "resources": list(self.resources),
                "scope": self.scope}


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    """One validating or mutating webhook: where it is served and what it is sent."""

    path: str  # URL path on the webhook server, e.g. "/validate-apps-kruise-io-v1alpha1-cloneset"
    name: str  # webhook name: a DNS subdomain of >= 3 labels, e.g. "vcloneset.kruise.io"
    rules: tuple[Rule, ...]  # requests matching any rule are sent
    failure_policy: str = "Fail"  # "Fail": refuse requests when unreachable; or "Ignore"
    side_effects: str = "None"  # "None" or "NoneOnDryRun" (dry-run requests then allowed)
    timeout_seconds: int = 10  # 1-30; how long the API server waits for an answer
    match_policy: str = "Equivalent"  # "Exact" or "Equivalent"
    # Label selectors as the API takes them ({matchLabels, matchExpressions}); {} = all.
    namespace_selector: dict[str, Any] = field(default_factory=dict, hash=False)
    object_selector: dict[str, Any] = field(default_factory=dict, hash=False)
    reinvocation_policy: str = "Never"  # mutating only: "Never" or "IfNeeded"

    def __post_init__(self) -> None:
        check_path(self.path)
        if len(self.name) > 253 or not _SUBDOMAIN.fullmatch(self.name) or \
                self.name.count(".") < 2:
            raise ValueError(f"webhook name {self.name!r} must be a DNS subdomain of at least "
                             "three labels, e.g. vcloneset.kruise.io")
        if not isinstance(self.rules, tuple) or not self.rules:
            raise ValueError(f"webhook {self.name}: rules must be a non-empty tuple")
        if self.failure_policy not in ("Fail", "Ignore"):
            raise ValueError(f"webhook {self.name}: failure_policy must be Fail or Ignore")
        if self.side_effects not in ("None", "NoneOnDryRun"):
            raise ValueError(f"webhook {self.name}: side_effects must be None or NoneOnDryRun")
        if not 1 <= self.timeout_seconds <= 30:
            raise ValueError(f"webhook {self.name}: timeout_seconds must be within 1-30")
        if self.match_policy not in ("Exact", "Equivalent"):
            raise ValueError(f"webhook {self.name}: match_policy must be Exact or Equivalent")
        if self.reinvocation_policy not in ("Never", "IfNeeded"):
            raise ValueError(f"webhook {self.name}: reinvocation_policy must be Never or "
                             "IfNeeded")

    def to_dict(self, client_config: dict[str, Any], *, mutating: bool) -> dict[str, Any]:
        """The ``webhooks[]`` entry, every defaulted field spelled out (so a stored copy
        compares equal to it once the API server has defaulted it)."""
        out: dict[str, Any] = {
            "name": self.name,
            "admissionReviewVersions": ["v1"],
            "clientConfig": client_config,
            "rules": [r.to_dict() for r in self.rules],
            "failurePolicy": self.failure_policy,
            "matchPolicy": self.match_policy,
            "namespaceSelector": dict(self.namespace_selector),
            "objectSelector": dict(self.object_selector),
            "sideEffects": self.side_effects,
            "timeoutSeconds": self.timeout_seconds,
        }
        if mutating:
            out["reinvocationPolicy"] = self.reinvocation_policy
        return out


@dataclass(frozen=True, slots=True)
class ConversionSpec:
    """A conversion webhook: its path and the CRDs (by name) whose versions it converts."""

    path: str  # URL path on the webhook server, e.g. "/convert"
    crds: tuple[str, ...]  # CRD names, e.g. ("clonesets.apps.kruise.io",)

    def __post_init__(self) -> None:
        check_path(self.path)
        if not isinstance(self.crds, tuple) or not self.crds:
            raise ValueError("ConversionSpec.crds must be a non-empty tuple of CRD names")
        for crd in self.crds:
            if not _SUBDOMAIN.fullmatch(crd) or crd.count(".") < 2:
                raise ValueError(f"{crd!r} is not a CRD name (<plural>.<group>)")
