"""Certificates kept in a Secret through the API: created once, shared, renewed in place."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta

from cryptography import x509

from mizzen.client import SECRETS, Client
from mizzen.webhook import SECRET_NAME, SecretCertStore, service_hosts

NOW = datetime(2030, 1, 1, tzinfo=UTC)
HOSTS = service_hosts("default", "mizzen-webhook")


async def test_created_once_then_reused(client: Client) -> None:
    store = SecretCertStore(client, "default")
    first = await store.load_or_create(HOSTS, now=NOW)
    secret = await client.get(SECRETS, SECRET_NAME, "default")
    assert secret["type"] == "kubernetes.io/tls"
    assert set(secret["data"]) == {"ca.crt", "ca.key", "tls.crt", "tls.key"}
    assert base64.b64decode(secret["data"]["tls.crt"]) == first.cert_pem
    rv = secret["metadata"]["resourceVersion"]
    again = await SecretCertStore(client, "default").load_or_create(HOSTS, now=NOW)
    assert again == first
    assert (await client.get(SECRETS, SECRET_NAME, "default"))["metadata"][
        "resourceVersion"] == rv


async def test_replicas_racing_share_one_ca(client: Client) -> None:
    stores = [SecretCertStore(client, "default") for _ in range(4)]
    results = await asyncio.gather(*(s.load_or_create(HOSTS, now=NOW) for s in stores))
    assert len({r.ca_pem for r in results}) == 1
    assert len({r.cert_pem for r in results}) == 1


async def test_new_host_or_expiry_renews_under_the_same_ca(client: Client) -> None:
    store = SecretCertStore(client, "default")
    first = await store.load_or_create(HOSTS, now=NOW)
    wider = await store.load_or_create([*HOSTS, "10.0.0.9"], now=NOW)
    assert wider.ca_pem == first.ca_pem and wider.cert_pem != first.cert_pem
    cert = x509.load_pem_x509_certificate(wider.cert_pem)
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(first.ca_pem))
    later = await store.load_or_create(HOSTS, now=NOW + timedelta(days=340))
    assert later.ca_pem == first.ca_pem and later.cert_pem != wider.cert_pem
    stored = await client.get(SECRETS, SECRET_NAME, "default")
    assert base64.b64decode(stored["data"]["tls.crt"]) == later.cert_pem


async def test_a_damaged_secret_is_repaired(client: Client) -> None:
    store = SecretCertStore(client, "default", name="hooks-tls")
    await store.load_or_create(HOSTS, now=NOW)
    secret = await client.get(SECRETS, "hooks-tls", "default")
    secret["data"]["ca.key"] = base64.b64encode(b"not a key").decode()
    secret["data"]["extra"] = base64.b64encode(b"kept").decode()
    await client.update(SECRETS, secret)
    repaired = await store.load_or_create(HOSTS, now=NOW)
    x509.load_pem_x509_certificate(repaired.cert_pem).verify_directly_issued_by(
        x509.load_pem_x509_certificate(repaired.ca_pem))
    stored = await client.get(SECRETS, "hooks-tls", "default")
    assert base64.b64decode(stored["data"]["ca.crt"]) == repaired.ca_pem
    assert stored["data"]["extra"] == base64.b64encode(b"kept").decode()
