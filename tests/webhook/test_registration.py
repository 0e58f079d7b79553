"""Registration against the in-process API server: idempotent, convergent, race-safe."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from mizzen.client import CRDS, Client
from mizzen.webhook import (
    MUTATING_CONFIGURATION,
    VALIDATING_CONFIGURATION,
    ConversionSpec,
    Rule,
    ServiceRef,
    WebhookRegistration,
    WebhookSpec,
)
from mizzen.webhook.registration import (
    MUTATING_WEBHOOK_CONFIGURATIONS,
    VALIDATING_WEBHOOK_CONFIGURATIONS,
    covers,
)
from tests.webhook.widgets import crd

CA = b"-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n"
URL = "https://127.0.0.1:9443"
CLONESETS = Rule(("apps.kruise.io",), ("v1alpha1",), ("clonesets",))
PODS = Rule(("",), ("v1",), ("pods",), operations=("CREATE",), scope="Namespaced")
VCLONE = WebhookSpec("/validate-cloneset", "vcloneset.apps.kruise.io", (CLONESETS,))
VPOD = WebhookSpec("/validate-pod", "vpod.apps.kruise.io", (PODS,), failure_policy="Ignore",
                   object_selector={"matchLabels": {"kruise": "yes"}})
MPOD = WebhookSpec("/mutate-pod", "msidecarset.apps.kruise.io", (PODS,),
                   reinvocation_policy="IfNeeded", timeout_seconds=5)
CONVERT = ConversionSpec("/convert", ("widgets.example.com",))


def registration(client: Client, *validating: WebhookSpec, mutating: tuple[WebhookSpec, ...]
                 = (), url: str = URL, ca: bytes = CA) -> WebhookRegistration:
    return WebhookRegistration(client, ca, url=url, validating=validating, mutating=mutating,
                               conversions=(CONVERT,))


def actions(outcomes: Any) -> list[str]:
    return [o.action for o in outcomes]


async def test_ensure_creates_then_is_a_no_op(client: Client) -> None:
    reg = registration(client, VCLONE, VPOD, mutating=(MPOD,))
    assert actions(await reg.ensure()) == ["created", "created", "missing"]
    stored = await client.get(VALIDATING_WEBHOOK_CONFIGURATIONS, VALIDATING_CONFIGURATION)
    rv = stored["metadata"]["resourceVersion"]
    hook = stored["webhooks"][1]
    assert hook["name"] == "vpod.apps.kruise.io"
    assert hook["clientConfig"] == {"url": f"{URL}/validate-pod",
                                    "caBundle": base64.b64encode(CA).decode()}
    assert hook["failurePolicy"] == "Ignore" and hook["sideEffects"] == "None"
    assert hook["admissionReviewVersions"] == ["v1"] and hook["timeoutSeconds"] == 10
    assert hook["rules"] == [{"apiGroups": [""], "apiVersions": ["v1"],
                              "operations": ["CREATE"], "resources": ["pods"],
                              "scope": "Namespaced"}]
    assert hook["objectSelector"] == {"matchLabels": {"kruise": "yes"}}
    mutating = await client.get(MUTATING_WEBHOOK_CONFIGURATIONS, MUTATING_CONFIGURATION)
    assert mutating["webhooks"][0]["reinvocationPolicy"] == "IfNeeded"
    assert actions(await reg.ensure()) == ["unchanged", "unchanged", "missing"]
    again = await client.get(VALIDATING_WEBHOOK_CONFIGURATIONS, VALIDATING_CONFIGURATION)
    assert again["metadata"]["resourceVersion"] == rv  # nothing was written


async def test_changes_are_updated_and_empty_configurations_deleted(client: Client) -> None:
    await registration(client, VCLONE, VPOD, mutating=(MPOD,)).ensure()
    # A new CA (e.g. certificates re-minted) and one validator fewer.
    new_ca = CA.replace(b"not checked", b"another")
    assert actions(await registration(client, VCLONE, ca=new_ca).ensure()) == [
        "updated", "deleted", "missing"]
    stored = await client.get(VALIDATING_WEBHOOK_CONFIGURATIONS, VALIDATING_CONFIGURATION)
    assert [h["name"] for h in stored["webhooks"]] == ["vcloneset.apps.kruise.io"]
    assert stored["webhooks"][0]["clientConfig"]["caBundle"] == base64.b64encode(
        new_ca).decode()
    assert stored["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "mizzen"
    assert actions(await registration(client, VCLONE, ca=new_ca).ensure()) == [
        "unchanged", "absent", "missing"]
    # Switching from a URL to a Service reference leaves no url behind.
    svc = WebhookRegistration(client, new_ca, service=ServiceRef("kruise-system", "hooks"),
                              validating=(VCLONE,))
    assert actions(await svc.ensure()) == ["updated", "absent"]
    stored = await client.get(VALIDATING_WEBHOOK_CONFIGURATIONS, VALIDATING_CONFIGURATION)
    assert set(stored["webhooks"][0]["clientConfig"]) == {"service", "caBundle"}


async def test_someone_edits_a_configuration_and_ensure_puts_it_back(client: Client) -> None:
    reg = registration(client, VCLONE)
    await reg.ensure()
    stored = await client.get(VALIDATING_WEBHOOK_CONFIGURATIONS, VALIDATING_CONFIGURATION)
    stored["webhooks"][0]["failurePolicy"] = "Ignore"
    stored["metadata"]["labels"]["team"] = "infra"
    await client.update(VALIDATING_WEBHOOK_CONFIGURATIONS, stored)
    assert actions(await reg.ensure())[0] == "updated"
    stored = await client.get(VALIDATING_WEBHOOK_CONFIGURATIONS, VALIDATING_CONFIGURATION)
    assert stored["webhooks"][0]["failurePolicy"] == "Fail"
    assert stored["metadata"]["labels"]["team"] == "infra"  # foreign labels are kept


async def test_replicas_starting_together_converge(client: Client) -> None:
    regs = [registration(client, VCLONE, VPOD, mutating=(MPOD,)) for _ in range(4)]
    results = await asyncio.gather(*(r.ensure() for r in regs))
    firsts = sorted(actions(r)[0] for r in results)
    assert firsts.count("created") == 1 and set(firsts) <= {"created", "unchanged"}
    listed = await client.list(VALIDATING_WEBHOOK_CONFIGURATIONS)
    assert [i["metadata"]["name"] for i in listed["items"]] == [VALIDATING_CONFIGURATION]
    # All read the old configuration; one update wins, the others conflict, re-read, agree.
    new_ca = CA.replace(b"not checked", b"rotated")
    regs = [registration(client, VCLONE, VPOD, mutating=(MPOD,), ca=new_ca) for _ in range(4)]
    results = await asyncio.gather(*(r.ensure() for r in regs))
    assert sorted(actions(r)[0] for r in results) == ["unchanged"] * 3 + ["updated"]


async def test_crd_conversion_is_set_once(client: Client) -> None:
    await client.create(CRDS, crd())
    reg = registration(client, VCLONE)
    assert actions(await reg.ensure())[-1] == "updated"
    stored = await client.get(CRDS, "widgets.example.com")
    assert stored["spec"]["conversion"] == {
        "strategy": "Webhook",
        "webhook": {"clientConfig": {"url": f"{URL}/convert",
                                     "caBundle": base64.b64encode(CA).decode()},
                    "conversionReviewVersions": ["v1"]}}
    assert stored["spec"]["versions"][1]["name"] == "v2"  # the rest of the CRD is intact
    assert actions(await reg.ensure())[-1] == "unchanged"
    elsewhere = registration(client, VCLONE, url="https://127.0.0.1:9444")
    assert actions(await elsewhere.ensure())[-1] == "updated"
    svc = WebhookRegistration(client, CA, service=ServiceRef("kruise-system", "hooks"),
                              conversions=(CONVERT,))
    assert actions(await svc.ensure()) == ["deleted", "absent", "updated"]  # no validators
    conversion = (await client.get(CRDS, "widgets.example.com"))["spec"]["conversion"]
    assert conversion["webhook"]["clientConfig"] == {
        "service": {"namespace": "kruise-system", "name": "hooks", "path": "/convert",
                    "port": 443},
        "caBundle": base64.b64encode(CA).decode()}
    assert actions(await svc.ensure())[-1] == "unchanged"


@pytest.mark.parametrize(("case", "actual", "desired", "expected"), [
    ("server-added defaults are tolerated", {"a": 1, "b": 2}, {"a": 1}, True),
    ("a changed value differs", {"a": 1}, {"a": 2}, False),
    ("a missing key differs", {}, {"a": 1}, False),
    ("lists compare element-wise and by length", [{"a": 1, "x": 0}], [{"a": 1}], True),
    ("a longer list differs", [{"a": 1}, {"a": 2}], [{"a": 1}], False),
    ("a url left beside a service differs",
     {"url": "https://x", "service": {"name": "s"}}, {"service": {"name": "s"}}, False),
])
def test_covers(case: str, actual: Any, desired: Any, expected: bool) -> None:
    assert covers(actual, desired) is expected


def test_registration_arguments_are_checked(client: Client) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        WebhookRegistration(client, CA)
    with pytest.raises(ValueError, match="https"):
        WebhookRegistration(client, CA, url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="already registered"):
        WebhookRegistration(client, CA, url=URL, validating=(VCLONE,), mutating=(VCLONE,))
    with pytest.raises(ValueError, match="already have a converter"):
        WebhookRegistration(client, CA, url=URL, conversions=(CONVERT, CONVERT))
