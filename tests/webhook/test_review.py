"""AdmissionReview parsing and answering, and ConversionReview handling, without sockets."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from mizzen.webhook import AdmissionResponse, Cause, ConversionFailed
from mizzen.webhook.conversion import convert_review
from mizzen.webhook.review import ReviewError, admission_review, parse_admission
from tests.webhook.conftest import admission_review as review

CLONE: dict[str, Any] = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
         "metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": 2}}


def test_parse_keeps_every_field_and_hides_objects_from_repr() -> None:
    req = parse_admission(review(obj=CLONE, subResource="", dryRun=True))
    assert (req.uid, req.operation, req.namespace, req.name) == ("u-1", "CREATE", "default",
                                                                 "web")
    assert (req.kind.group, req.kind.version, req.kind.kind) == ("apps.kruise.io", "v1alpha1",
                                                                 "CloneSet")
    assert req.resource.resource == "clonesets" and req.sub_resource == ""
    assert req.request_kind is not None and req.request_kind.kind == "CloneSet"
    assert req.request_resource is not None and req.request_resource.resource == "clonesets"
    assert req.object == CLONE and req.old_object is None and req.dry_run is True
    assert req.user_info["username"] == "alice"
    assert req.options is not None and req.options["kind"] == "CreateOptions"
    assert "replicas" not in repr(req)


@pytest.mark.parametrize(("case", "body", "error"), [
    ("not an object", [1, 2], "not a JSON object"),
    ("a ConversionReview sent to an admission path",
     {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "request": {}},
     "AdmissionReview"),
    ("v1beta1 review", {**review(), "apiVersion": "admission.k8s.io/v1beta1"}, "v1"),
    ("no request", {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"},
     "no request"),
    ("no uid", review(uid=""), "uid"),
    ("unknown operation", review(operation="PATCH"), "operation"),
    ("object is a list", review(obj=[1]), "request.object"),  # type: ignore[arg-type]
    ("kind is a string", review(kind="CloneSet"), "request.kind"),
])
def test_parse_refuses(case: str, body: Any, error: str) -> None:
    with pytest.raises(ReviewError, match=error):
        parse_admission(body)


def _response(uid: str, resp: AdmissionResponse) -> dict[str, Any]:
    out = admission_review(uid, resp)
    assert (out["apiVersion"], out["kind"]) == ("admission.k8s.io/v1", "AdmissionReview")
    return dict(out["response"])


def test_allow_with_warnings_has_no_status() -> None:
    assert _response("u", AdmissionResponse.allow("deprecated field")) == {
        "uid": "u", "allowed": True, "warnings": ["deprecated field"]}


def test_deny_with_causes_is_an_invalid_422_with_details() -> None:
    resp = AdmissionResponse.deny("spec.replicas: Invalid value: -1",
                                  Cause("spec.replicas", "FieldValueInvalid", "must be >= 0"))
    out = _response("u", resp)
    assert out["allowed"] is False
    assert out["status"] == {
        "metadata": {}, "status": "Failure", "code": 422, "reason": "Invalid",
        "message": "spec.replicas: Invalid value: -1",
        "details": {"causes": [{"field": "spec.replicas", "reason": "FieldValueInvalid",
                                "message": "must be >= 0"}]}}


def test_deny_without_causes_is_a_403_unless_told() -> None:
    assert _response("u", AdmissionResponse.deny("no"))["status"]["code"] == 403
    status = _response("u", AdmissionResponse.deny("slow down", code=429,
                                                   reason="TooManyRequests"))["status"]
    assert (status["code"], status["reason"]) == (429, "TooManyRequests")


def test_patched_carries_a_base64_json_patch() -> None:
    after = {**CLONE, "metadata": {**CLONE["metadata"], "labels": {"injected": "yes"}}}
    out = _response("u", AdmissionResponse.patched(CLONE, after))
    assert out["patchType"] == "JSONPatch" and out["allowed"] is True
    assert orjson.loads(base64.b64decode(out["patch"])) == [
        {"op": "add", "path": "/metadata/labels", "value": {"injected": "yes"}}]
    assert "patch" not in _response("u", AdmissionResponse.patched(CLONE, CLONE))


# --- conversion -------------------------------------------------------------------


def v2(obj: dict[str, Any], desired: str) -> dict[str, Any]:
    spec = dict(obj["spec"])
    if "replicas" in spec:
        spec["scale"] = {"replicas": spec.pop("replicas")}
    return {**obj, "apiVersion": desired, "spec": spec}


def conversion(*objects: Any, desired: str = "apps.kruise.io/v2") -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
            "request": {"uid": "c-1", "desiredAPIVersion": desired, "objects": list(objects)}}


async def test_conversion_converts_each_object_and_passes_desired_ones_through() -> None:
    already = {**CLONE, "apiVersion": "apps.kruise.io/v2", "spec": {"scale": {"replicas": 9}}}
    answer, ok = await convert_review(conversion(CLONE, already), v2)
    assert ok
    response = answer["response"]
    assert response["uid"] == "c-1" and response["result"] == {"status": "Success"}
    assert [o["spec"] for o in response["convertedObjects"]] == [{"scale": {"replicas": 2}},
                                                                 {"scale": {"replicas": 9}}]


async def test_async_converter() -> None:
    async def convert(obj: dict[str, Any], desired: str) -> dict[str, Any]:
        return v2(obj, desired)

    answer, ok = await convert_review(conversion(CLONE), convert)
    assert ok and answer["response"]["convertedObjects"][0]["apiVersion"] == "apps.kruise.io/v2"


def _raises(obj: dict[str, Any], desired: str) -> dict[str, Any]:
    raise KeyError("spec.template")


def _refuses(obj: dict[str, Any], desired: str) -> dict[str, Any]:
    raise ConversionFailed("v2 cannot express spec.scaleStrategy.disablePVCReuse")


@pytest.mark.parametrize(("case", "fn", "objects", "message"), [
    ("converter raises -> Failure naming object and target", _raises, [CLONE],
     "converting CloneSet default/web to apps.kruise.io/v2: 'spec.template'"),
    ("converter refuses with its own message", _refuses, [CLONE],
     "v2 cannot express spec.scaleStrategy.disablePVCReuse"),
    ("converter forgets apiVersion", lambda o, d: dict(o), [CLONE],
     "returned apiVersion 'apps.kruise.io/v1alpha1'"),
    ("converter returns a list", lambda o, d: [o], [CLONE], "returned a non-object"),
    ("an object is not an object", v2, ["text"], "not a JSON object"),
])
async def test_conversion_failures_are_answers(case: str, fn: Any, objects: list[Any],
                                               message: str) -> None:
    answer, ok = await convert_review(conversion(*objects), fn)
    assert not ok
    result = answer["response"]["result"]
    assert result["status"] == "Failure" and message in result["message"], result
    assert answer["response"]["uid"] == "c-1"
    assert "Traceback" not in result["message"]


async def test_conversion_review_without_uid_is_a_review_error() -> None:
    body = conversion(CLONE)
    del body["request"]["uid"]
    with pytest.raises(ReviewError):
        await convert_review(body, v2)
    answer, ok = await convert_review({**body, "request": {"uid": "x", "objects": []}}, v2)
    assert not ok and "desiredAPIVersion" in answer["response"]["result"]["message"]
