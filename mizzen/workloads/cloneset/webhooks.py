"""CloneSet's webhooks: validation a CRD schema cannot express, and v1alpha1 <-> v1beta1 conversion.

Why shaped so: the rules themselves are pure functions of the api layer
(:func:`mizzen.api.cloneset.validate`, :func:`mizzen.api.cloneset.convert`),
so they are table-tested without a server; this module only declares the two
webhooks as data (:class:`~mizzen.webhook.WebhookSpec`,
:class:`~mizzen.webhook.ConversionSpec`) and adapts the review values to
those functions.  The CLI registers :data:`WEBHOOKS` on the one webhook
server every Mizzen process runs, which also tells the API server where they
are — so the declaration here is the only place the path, name and rules are
spelled.

The validating webhook sees CREATE and UPDATE of ``clonesets`` in both
versions; the ``scale`` and ``status`` subresources are left out (a scale
write only changes ``replicas``, which the schema bounds; status is the
controller's).  Its failure policy is ``Fail``, as upstream: an invalid
CloneSet must never be stored because the webhook was briefly away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mizzen.api.cloneset import CRD_NAME, GROUP, PLURAL, VERSIONS, convert, validate
from mizzen.webhook import (
    AdmissionHandler,
    AdmissionRequest,
    AdmissionResponse,
    Cause,
    ConversionSpec,
    Converter,
    Rule,
    WebhookSpec,
)

__all__ = ["CONVERSION", "VALIDATION", "WEBHOOKS", "CloneSetWebhooks", "convert_cloneset",
           "validate_cloneset"]

Obj = dict[str, Any]

VALIDATION = WebhookSpec(
    "/validate-apps-kruise-io-cloneset", "vcloneset.apps.kruise.io",
    (Rule((GROUP,), tuple(VERSIONS), (PLURAL,), ("CREATE", "UPDATE"), "Namespaced"),))
CONVERSION = ConversionSpec("/convert-apps-kruise-io-cloneset", (CRD_NAME,))


def validate_cloneset(request: AdmissionRequest) -> AdmissionResponse:
    """Allow a valid CloneSet; deny an invalid one with a 422 and one cause per field."""
    obj = request.object
    if obj is None:
        return AdmissionResponse.allow()
    old = request.old_object if request.operation == "UPDATE" else None
    errors = validate(obj, old)
    if not errors:
        return AdmissionResponse.allow()
    causes = tuple(Cause(e.field, e.reason, e.message) for e in errors)
    name = request.name or str((obj.get("metadata") or {}).get("generateName") or "")
    details = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return AdmissionResponse.deny(f'CloneSet.apps.kruise.io "{name}" is invalid: {details}',
                                  *causes)


def convert_cloneset(obj: Obj, desired_api_version: str) -> Obj:
    """One object of a ConversionReview, to ``apps.kruise.io/<version>``."""
    return convert(obj, desired_api_version.rpartition("/")[2])


@dataclass(frozen=True)
class CloneSetWebhooks:
    """The CloneSet webhooks as (spec, handler) pairs, for a server to register."""

    validators: tuple[tuple[WebhookSpec, AdmissionHandler], ...] = (
        (VALIDATION, validate_cloneset),)
    converters: tuple[tuple[ConversionSpec, Converter], ...] = ((CONVERSION, convert_cloneset),)


WEBHOOKS = CloneSetWebhooks()
