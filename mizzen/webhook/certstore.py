"""Webhook certificates kept in a Secret, so every replica serves under one CA.

On a real cluster the webhook runs as several replicas behind one Service,
and the API server trusts one ``caBundle``.  If each replica minted its own
CA, whichever registered last would lock the others out.  So the key material
lives in one Secret (``mizzen-webhook-certs`` by default, type
``kubernetes.io/tls`` with the CA beside the serving pair) and every replica
loads it through :class:`~mizzen.client.Client`:

1. read the Secret; if it is missing, create it from fresh material — when two
   replicas race, the loser gets ``AlreadyExists`` and starts over, adopting
   the winner's CA;
2. if the stored material does not cover the requested names or is close to
   expiry (:func:`~mizzen.webhook.certs.ensure_material` decides), update the
   Secret with the repaired material under its resourceVersion; a conflict
   means another replica wrote first, so re-read and decide again.

Key material is never logged; messages name the Secret only.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mizzen.client import SECRETS, ApiError, Client
from mizzen.webhook.certs import KeyMaterial, WebhookCerts, ensure_material

__all__ = ["SECRET_NAME", "CertStoreError", "SecretCertStore"]

log = logging.getLogger(__name__)

SECRET_NAME = "mizzen-webhook-certs"
# Secret data keys: tls.crt/tls.key as the kubernetes.io/tls type requires, plus the CA.
KEYS = ("ca.crt", "ca.key", "tls.crt", "tls.key")
ATTEMPTS = 5


class CertStoreError(RuntimeError):
    """The Secret could not be brought to a usable state (kept racing, or refused)."""


class SecretCertStore:
    """Loads, creates and renews webhook certificates in one Secret."""

    def __init__(self, client: Client, namespace: str, name: str = SECRET_NAME) -> None:
        self._client = client
        self.namespace = namespace
        self.name = name

    async def load_or_create(self, hosts: Sequence[str], *,
                             now: datetime | None = None) -> WebhookCerts:
        """Certificates for ``hosts`` (plus loopback) from the Secret, written if needed."""
        for _ in range(ATTEMPTS):
            try:
                secret: dict[str, Any] | None = await self._client.get(
                    SECRETS, self.name, self.namespace)
            except ApiError as exc:
                if not exc.not_found:
                    raise
                secret = None
            current = _material(secret) if secret is not None else None
            material = ensure_material(current, hosts, now=now)
            if material is current:
                return material.certs
            try:
                if secret is None:
                    await self._client.create(SECRETS, self._secret(material), self.namespace)
                    log.info("created webhook certificate Secret %s/%s", self.namespace,
                             self.name)
                else:
                    await self._client.update(SECRETS, self._secret(material, secret))
                    log.info("renewed webhook certificates in Secret %s/%s", self.namespace,
                             self.name)
            except ApiError as exc:
                if exc.already_exists or exc.conflict:
                    continue  # another replica wrote first: adopt what it wrote
                raise
            return material.certs
        raise CertStoreError(f"Secret {self.namespace}/{self.name} kept changing under "
                             f"{ATTEMPTS} attempts to store webhook certificates")

    def _secret(self, m: KeyMaterial, existing: dict[str, Any] | None = None) -> dict[str, Any]:
        data = {key: base64.b64encode(value).decode("ascii")
                for key, value in zip(KEYS, (m.ca_pem, m.ca_key_pem, m.cert_pem, m.key_pem),
                                      strict=True)}
        if existing is not None:
            # Keep the object's identity (resourceVersion guards the update), labels, and
            # any foreign keys; our keys are replaced.
            return {**existing, "type": existing.get("type") or "kubernetes.io/tls",
                    "data": {**(existing.get("data") or {}), **data}}
        return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                "metadata": {"name": self.name, "namespace": self.namespace,
                             "labels": {"app.kubernetes.io/managed-by": "mizzen",
                                        "app.kubernetes.io/component": "webhook"}},
                "data": data}


def _material(secret: dict[str, Any]) -> KeyMaterial | None:
    """The material in a Secret; None when a key is missing or not base64 (re-created)."""
    data = secret.get("data") or {}
    try:
        values = [base64.b64decode(str(data.get(key) or ""), validate=True) for key in KEYS]
    except (binascii.Error, ValueError):
        return None
    if not values[0] or not values[1]:
        return None
    return KeyMaterial(*values)
