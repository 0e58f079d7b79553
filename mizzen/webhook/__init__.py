"""Mizzen's webhook server: admission validation and mutation, and CRD conversion.

The API server consults webhooks for what a CRD schema cannot say (CloneSet
validation), for what it cannot do alone (converting between a CRD's served
versions) and for mutations (SidecarSet injection).  This package serves them
over HTTPS and tells the API server where they are::

    from mizzen.webhook import (AdmissionResponse, Rule, WebhookRegistration,
                                WebhookServer, WebhookSpec, load_or_create)

    VALIDATE = WebhookSpec("/validate-cloneset", "vcloneset.apps.kruise.io",
                           (Rule(("apps.kruise.io",), ("v1alpha1",), ("clonesets",)),))

    server = WebhookServer(certs=load_or_create(None, ["127.0.0.1"]))
    server.add_validator(VALIDATE, validate_cloneset)
    async with server:
        await WebhookRegistration.for_server(client, server).ensure()

Modules, one concept each: :mod:`~mizzen.webhook.certs` (CA and serving
certificate), :mod:`~mizzen.webhook.certstore` (the same kept in a Secret for
replicas), :mod:`~mizzen.webhook.review` (AdmissionReview as frozen values),
:mod:`~mizzen.webhook.conversion` (ConversionReview), :mod:`~mizzen.webhook.spec`
(webhooks declared as data), :mod:`~mizzen.webhook.server` (HTTPS serving),
:mod:`~mizzen.webhook.registration` (configurations and CRD conversion on the
API server) and :mod:`~mizzen.webhook.metrics`.
"""

from mizzen.webhook.certs import WebhookCerts, load_or_create, service_hosts
from mizzen.webhook.certstore import SECRET_NAME, CertStoreError, SecretCertStore
from mizzen.webhook.conversion import ConversionFailed, Converter
from mizzen.webhook.metrics import WebhookMetrics
from mizzen.webhook.registration import (
    MUTATING_CONFIGURATION,
    VALIDATING_CONFIGURATION,
    Outcome,
    RegistrationError,
    ServiceRef,
    WebhookRegistration,
)
from mizzen.webhook.review import (
    AdmissionRequest,
    AdmissionResponse,
    Cause,
    GroupVersionKind,
    GroupVersionResource,
)
from mizzen.webhook.server import AdmissionHandler, WebhookServer
from mizzen.webhook.spec import ConversionSpec, Rule, WebhookSpec

__all__ = [
    "MUTATING_CONFIGURATION",
    "SECRET_NAME",
    "VALIDATING_CONFIGURATION",
    "AdmissionHandler",
    "AdmissionRequest",
    "AdmissionResponse",
    "Cause",
    "CertStoreError",
    "ConversionFailed",
    "ConversionSpec",
    "Converter",
    "GroupVersionKind",
    "GroupVersionResource",
    "Outcome",
    "RegistrationError",
    "Rule",
    "SecretCertStore",
    "ServiceRef",
    "WebhookCerts",
    "WebhookMetrics",
    "WebhookRegistration",
    "WebhookServer",
    "WebhookSpec",
    "load_or_create",
    "service_hosts",
]
