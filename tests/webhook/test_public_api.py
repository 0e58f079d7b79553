"""The public surface of mizzen.webhook, pinned: changing it is a deliberate act."""

from __future__ import annotations

import mizzen.webhook


def test_public_api() -> None:
    assert sorted(mizzen.webhook.__all__) == sorted([
        "MUTATING_CONFIGURATION", "SECRET_NAME", "VALIDATING_CONFIGURATION",
        "AdmissionHandler", "AdmissionRequest", "AdmissionResponse", "Cause", "CertStoreError",
        "ConversionFailed", "ConversionSpec", "Converter", "GroupVersionKind",
        "GroupVersionResource", "Outcome", "RegistrationError", "Rule", "SecretCertStore",
        "ServiceRef", "WebhookCerts", "WebhookMetrics", "WebhookRegistration", "WebhookServer",
        "WebhookSpec", "load_or_create", "service_hosts",
    ])
    for name in mizzen.webhook.__all__:
        assert getattr(mizzen.webhook, name) is not None
