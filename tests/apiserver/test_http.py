"""The HTTP front (mizzen.apiserver.http): what every request goes through before a handler."""

from __future__ import annotations

import orjson

from tests.conftest import Api

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]}}


async def test_a_client_that_expects_100_continue_gets_it_then_its_answer(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.server.token}",
               "Content-Type": "application/json"}
    async with api.session.post(api.server.url + PODS, data=orjson.dumps(pod("web")),
                                headers=headers, expect100=True) as resp:
        assert resp.status == 201
        assert orjson.loads(await resp.read())["metadata"]["name"] == "web"


async def test_an_unknown_expectation_is_a_417_status(api: Api) -> None:
    code, body = await api.post(PODS, pod("other"), headers={"Expect": "something-else"})
    assert code == 417 and body["kind"] == "Status" and body["code"] == 417
    code, _ = await api.get(f"{PODS}/other")
    assert code == 404  # nothing was created


async def test_public_paths_need_no_token_and_the_rest_do(api: Api) -> None:
    for path in ("/version", "/healthz", "/readyz", "/livez"):
        async with api.session.get(api.server.url + path) as resp:
            assert resp.status == 200, path
    async with api.session.get(api.server.url + PODS) as resp:
        assert resp.status == 401
        assert orjson.loads(await resp.read())["reason"] == "Unauthorized"
