"""Bad input through the HTTP API: a clear Status error, and the stored object unchanged."""

from __future__ import annotations

import orjson

from tests.conftest import Api

DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
APPLY = "application/apply-patch+yaml"


def deployment() -> dict[str, object]:
    labels = {"app": "web"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "a", "image": "x"}]}}}}


async def test_bad_apply_bodies_change_nothing(api: Api) -> None:
    _, created = await api.post(DEPLOYS, deployment())
    rv = created["metadata"]["resourceVersion"]
    cases = [
        (b"{not yaml: [", 400),  # malformed
        (b"[1, 2]", 400),  # not an object
        (orjson.dumps({"apiVersion": "apps/v1", "metadata": {"name": "web"}}), 400),  # no kind
    ]
    duplicate = deployment()
    duplicate["spec"]["template"]["spec"]["containers"] = [  # type: ignore[index]
        {"name": "a", "image": "x"}, {"name": "a", "image": "y"}]
    cases.append((orjson.dumps(duplicate), 422))
    for body, code in cases:
        got, err = await api.request("PATCH", f"{DEPLOYS}/web?fieldManager=me", raw=body,
                                     content_type=APPLY)
        assert got == code, (body, err)
        assert err["kind"] == "Status" and err["message"]
    code, err = await api.request("PATCH", f"{DEPLOYS}/web", raw=orjson.dumps(deployment()),
                                  content_type=APPLY)
    assert code == 422 and any(c["field"] == "fieldManager" for c in err["details"]["causes"])
    _, after = await api.get(f"{DEPLOYS}/web")
    assert after["metadata"]["resourceVersion"] == rv


async def test_invalid_updates_and_patches_change_nothing(api: Api) -> None:
    _, created = await api.post(DEPLOYS, deployment())
    rv = created["metadata"]["resourceVersion"]
    bad = dict(created, spec=dict(created["spec"], replicas=-1))
    code, err = await api.put(f"{DEPLOYS}/web", bad)
    assert code == 422 and any(c["field"] == "spec.replicas" for c in err["details"]["causes"])
    code, err = await api.patch(f"{DEPLOYS}/web", {"spec": {"selector": {"matchLabels": {
        "app": "other"}}}})
    assert code == 422
    code, err = await api.patch(f"{DEPLOYS}/web", [{"op": "remove", "path": "/nope"}],
                                "application/json-patch+json")
    assert code == 422
    _, after = await api.get(f"{DEPLOYS}/web")
    assert after["metadata"]["resourceVersion"] == rv
