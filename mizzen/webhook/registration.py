"""Telling the API server where the webhooks are: configurations and CRD conversion.

:class:`WebhookRegistration` owns two cluster-scoped objects and one field of
each converted CRD, and :meth:`~WebhookRegistration.ensure` brings them in
line with the declared :class:`~mizzen.webhook.spec.WebhookSpec` values:

* ``ValidatingWebhookConfiguration mizzen-validating-webhook-configuration``
  with one webhook per validator, and
  ``MutatingWebhookConfiguration mizzen-mutating-webhook-configuration`` with
  one per mutator — the registration owns each *whole*: webhooks no longer
  declared are dropped, and a configuration left with none is deleted (a stale
  ``failurePolicy: Fail`` webhook would otherwise block writes forever);
* ``spec.conversion`` of every CRD named by a
  :class:`~mizzen.webhook.spec.ConversionSpec`: ``strategy: Webhook``, the
  clientConfig with caBundle, ``conversionReviewVersions: [v1]``.  A CRD that
  is not installed yet is reported ``missing`` (run ``ensure`` again later).

The clientConfig is a URL (``base URL + spec.path``; the embedded control
plane) or a Service reference (:class:`ServiceRef`; a real cluster), always
with the caBundle of the server's CA.

``ensure`` is idempotent and safe with several replicas starting at once.
A configuration is read; created if missing (``AlreadyExists``: start over);
updated under the read resourceVersion only when it differs (``Conflict``:
start over, after a short jittered backoff).  A CRD is read and, only when its
``spec.conversion`` differs, merge-patched — the API server keeps rewriting a
new CRD's status, so a resourceVersion-guarded update would keep conflicting.
Comparisons tolerate fields the API server defaults or adds, because every
default of a webhook is spelled out in what is written.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mizzen.client import CRDS, ApiError, Client, Resource
from mizzen.webhook.spec import ConversionSpec, WebhookSpec

if TYPE_CHECKING:
    from mizzen.webhook.server import WebhookServer

__all__ = [
    "MUTATING_CONFIGURATION",
    "MUTATING_WEBHOOK_CONFIGURATIONS",
    "VALIDATING_CONFIGURATION",
    "VALIDATING_WEBHOOK_CONFIGURATIONS",
    "Outcome",
    "RegistrationError",
    "ServiceRef",
    "WebhookRegistration",
]

log = logging.getLogger(__name__)

Obj = dict[str, Any]

VALIDATING_CONFIGURATION = "mizzen-validating-webhook-configuration"
MUTATING_CONFIGURATION = "mizzen-mutating-webhook-configuration"
VALIDATING_WEBHOOK_CONFIGURATIONS = Resource(
    "admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
    "ValidatingWebhookConfiguration", False)
MUTATING_WEBHOOK_CONFIGURATIONS = Resource(
    "admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
    "MutatingWebhookConfiguration", False)
LABELS = {"app.kubernetes.io/managed-by": "mizzen", "app.kubernetes.io/component": "webhook"}
ATTEMPTS = 8
BACKOFF = 0.02  # seconds; jittered and doubled per attempt (at most ~2.5s in all)
# clientConfig keys of which exactly one is set: one left over means "different".
_EXCLUSIVE = frozenset(("url", "service"))


class RegistrationError(RuntimeError):
    """An object kept changing under every attempt to bring it in line."""


@dataclass(frozen=True, slots=True)
class ServiceRef:
    """Where the API server reaches the webhook on a real cluster."""

    namespace: str  # the Service's namespace
    name: str  # the Service's name; the certificate must carry <name>.<namespace>.svc
    port: int = 443  # the Service port


@dataclass(frozen=True, slots=True)
class Outcome:
    """What :meth:`WebhookRegistration.ensure` did to one object."""

    kind: str  # ValidatingWebhookConfiguration, MutatingWebhookConfiguration or CRD kind
    name: str  # the object's name
    action: str  # created, updated, unchanged, deleted, absent (nothing to do) or missing


def covers(actual: Any, desired: Any) -> bool:
    """Whether ``actual`` holds everything ``desired`` says (extra defaulted fields allowed)."""
    if isinstance(desired, dict):
        if not isinstance(actual, dict):
            return False
        if any(k in actual and k not in desired for k in _EXCLUSIVE):
            return False
        return all(k in actual and covers(actual[k], v) for k, v in desired.items())
    if isinstance(desired, list):
        return isinstance(actual, list) and len(actual) == len(desired) and all(
            covers(a, d) for a, d in zip(actual, desired, strict=True))
    return bool(actual == desired)


class WebhookRegistration:
    """Registers declared webhooks with one API server (see the module docstring)."""

    def __init__(self, client: Client, ca_pem: bytes, *, url: str | None = None,
                 service: ServiceRef | None = None, validating: Sequence[WebhookSpec] = (),
                 mutating: Sequence[WebhookSpec] = (),
                 conversions: Sequence[ConversionSpec] = ()) -> None:
        if (url is None) == (service is None):
            raise ValueError("give exactly one of url (embedded) or service (real cluster)")
        if url is not None and not url.startswith("https://"):
            raise ValueError("the webhook URL must be https://")
        self._client = client
        self._ca_bundle = base64.b64encode(ca_pem).decode("ascii")
        self._url = url.rstrip("/") if url is not None else None
        self._service = service
        self._validating: list[WebhookSpec] = []
        self._mutating: list[WebhookSpec] = []
        self._conversions: list[ConversionSpec] = []
        for spec in validating:
            self.add_validator(spec)
        for spec in mutating:
            self.add_mutator(spec)
        for conversion in conversions:
            self.add_conversion(conversion)

    @classmethod
    def for_server(cls, client: Client, server: WebhookServer, *,
                   service: ServiceRef | None = None) -> WebhookRegistration:
        """Everything a :class:`~mizzen.webhook.server.WebhookServer` serves from specs,
        at its URL (or at ``service``), trusting its CA."""
        return cls(client, server.ca_pem, url=None if service else server.url, service=service,
                   validating=server.validating, mutating=server.mutating,
                   conversions=server.conversions)

    def add_validator(self, spec: WebhookSpec) -> None:
        self._check_new(spec)
        self._validating.append(spec)

    def add_mutator(self, spec: WebhookSpec) -> None:
        self._check_new(spec)
        self._mutating.append(spec)

    def add_conversion(self, spec: ConversionSpec) -> None:
        taken = {crd for c in self._conversions for crd in c.crds}
        if taken & set(spec.crds):
            raise ValueError(f"CRDs {sorted(taken & set(spec.crds))} already have a converter")
        self._conversions.append(spec)

    def _check_new(self, spec: WebhookSpec) -> None:
        if any(s.name == spec.name for s in (*self._validating, *self._mutating)):
            raise ValueError(f"webhook {spec.name} is already registered")

    # -- the desired objects (pure) ------------------------------------------------------

    def client_config(self, path: str) -> Obj:
        """``clientConfig`` for a webhook served at ``path``."""
        if self._service is not None:
            svc = self._service
            return {"service": {"namespace": svc.namespace, "name": svc.name, "path": path,
                                "port": svc.port}, "caBundle": self._ca_bundle}
        return {"url": f"{self._url}{path}", "caBundle": self._ca_bundle}

    def configuration(self, mutating: bool) -> Obj | None:
        """The desired Validating/MutatingWebhookConfiguration; None when it has no webhooks."""
        specs = self._mutating if mutating else self._validating
        if not specs:
            return None
        res = MUTATING_WEBHOOK_CONFIGURATIONS if mutating else VALIDATING_WEBHOOK_CONFIGURATIONS
        name = MUTATING_CONFIGURATION if mutating else VALIDATING_CONFIGURATION
        return {"apiVersion": res.api_version, "kind": res.kind,
                "metadata": {"name": name, "labels": dict(LABELS)},
                "webhooks": [s.to_dict(self.client_config(s.path), mutating=mutating)
                             for s in specs]}

    def conversion(self, spec: ConversionSpec) -> Obj:
        """The desired ``spec.conversion`` of each CRD ``spec`` names."""
        return {"strategy": "Webhook",
                "webhook": {"clientConfig": self.client_config(spec.path),
                            "conversionReviewVersions": ["v1"]}}

    # -- bringing the cluster in line ----------------------------------------------------

    async def ensure(self) -> tuple[Outcome, ...]:
        """Create or update what differs; one :class:`Outcome` per object, in order."""
        outcomes = [
            await self._ensure_configuration(VALIDATING_WEBHOOK_CONFIGURATIONS,
                                             VALIDATING_CONFIGURATION, self.configuration(False)),
            await self._ensure_configuration(MUTATING_WEBHOOK_CONFIGURATIONS,
                                             MUTATING_CONFIGURATION, self.configuration(True)),
        ]
        for spec in self._conversions:
            for crd in spec.crds:
                outcomes.append(await self._ensure_crd(crd, self.conversion(spec)))
        for o in outcomes:
            if o.action not in ("unchanged", "absent"):
                log.info("webhook registration: %s %s %s", o.kind, o.name, o.action)
        return tuple(outcomes)

    async def _get(self, res: Resource, name: str) -> Obj | None:
        try:
            return await self._client.get(res, name)
        except ApiError as exc:
            if exc.not_found:
                return None
            raise

    async def _ensure_configuration(self, res: Resource, name: str,
                                    desired: Obj | None) -> Outcome:
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(random.uniform(0, BACKOFF * 2 ** attempt))
            current = await self._get(res, name)
            try:
                if desired is None:
                    if current is None:
                        return Outcome(res.kind, name, "absent")
                    await self._client.delete(res, name, preconditions={
                        "uid": current["metadata"]["uid"]})
                    return Outcome(res.kind, name, "deleted")
                if current is None:
                    await self._client.create(res, desired)
                    return Outcome(res.kind, name, "created")
                labels = (current.get("metadata") or {}).get("labels") or {}
                if covers(current.get("webhooks"), desired["webhooks"]) and \
                        covers(labels, LABELS):
                    return Outcome(res.kind, name, "unchanged")
                meta = {**current["metadata"], "labels": {**labels, **LABELS}}
                await self._client.update(res, {**current, "metadata": meta,
                                                 "webhooks": desired["webhooks"]})
                return Outcome(res.kind, name, "updated")
            except ApiError as exc:
                if not (exc.conflict or exc.already_exists or exc.not_found):
                    raise
                # Someone else wrote (or deleted) it between our read and write: again.
        raise RegistrationError(f"{res.kind} {name} kept changing under {ATTEMPTS} attempts")

    async def _ensure_crd(self, name: str, desired: Obj) -> Outcome:
        current = await self._get(CRDS, name)
        if current is None:
            log.warning("CRD %s is not installed; its conversion webhook is not set", name)
            return Outcome(CRDS.kind, name, "missing")
        if covers((current.get("spec") or {}).get("conversion"), desired):
            return Outcome(CRDS.kind, name, "unchanged")
        # Only spec.conversion is ours, and the API server keeps writing the CRD's status
        # while it settles, so a merge patch (no resourceVersion to conflict on) is used;
        # nulls remove a clientConfig left from the other addressing mode.
        client_config = {"url": None, "service": None,
                         **desired["webhook"]["clientConfig"]}
        patch = {"spec": {"conversion": {**desired, "webhook": {
            **desired["webhook"], "clientConfig": client_config}}}}
        try:
            await self._client.patch(CRDS, name, patch)
        except ApiError as exc:
            if exc.not_found:
                return Outcome(CRDS.kind, name, "missing")
            raise
        return Outcome(CRDS.kind, name, "updated")
