"""CloneSet end to end: lifecycle hooks (preDelete, inPlaceUpdate) and the progress deadline."""

from __future__ import annotations

from typing import Any

from mizzen.apiserver.server import ApiServer
from mizzen.client.resources import PODS
from tests.workloads.cloneset.harness import NS, Env, cloneset, condition, revision_of, running

Obj = dict[str, Any]
STATE = "lifecycle.apps.kruise.io/state"


def with_hook_label(body: Obj, key: str) -> Obj:
    body["spec"]["template"]["metadata"]["labels"][key] = "true"
    return body


def pod_condition(pod: Obj, type_: str) -> str | None:
    return next((c["status"] for c in pod["status"].get("conditions") or ()
                 if c["type"] == type_), None)


async def pod_named(env: Env, name: str) -> Obj | None:
    return next((p for p in await env.pods(live=False) if p["metadata"]["name"] == name), None)


async def test_pre_delete_hook_holds_a_pod_until_released(server: ApiServer) -> None:
    hook = {"preDelete": {"labelsHandler": {"hold-delete": "true"}, "markPodNotReady": True}}
    async with running(server) as env:
        await env.create(with_hook_label(cloneset(replicas=2, lifecycle=hook), "hold-delete"))
        await env.settled()
        await env.patch_spec({"replicas": 1})

        async def preparing() -> Obj | None:
            pods = [p for p in await env.pods() if p["metadata"]["labels"].get(STATE)
                    == "PreparingDelete"]
            return pods[0] if len(pods) == 1 else None

        held = await env.wait(preparing, "a pod in PreparingDelete")
        name = held["metadata"]["name"]
        assert len(await env.pods()) == 2  # held, not deleted
        # markPodNotReady: the held pod leaves endpoints.
        assert pod_condition(held, "KruisePodReady") == "False"

        async def not_ready() -> bool:
            found = await pod_named(env, name)
            return found is not None and pod_condition(found, "Ready") == "False"

        await env.wait(not_ready, f"{name} not Ready while held")

        async def reported() -> Obj | None:
            return condition(await env.get(), "RolloutBlocked")

        cond = await env.wait(reported, "the hold reported")
        assert cond["reason"] == "LifecycleHook" and name in cond["message"]
        await env.client.patch(PODS, name, {"metadata": {"labels": {"hold-delete": None}}}, NS)

        async def deleted() -> bool:
            return await pod_named(env, name) is None

        await env.wait(deleted, f"{name} deleted once released")
        cs = await env.settled()
        assert condition(cs, "RolloutBlocked") is None
        # Specified delete with the hook: held the same way, replaced once released.
        (last,) = await env.pods()
        victim = last["metadata"]["name"]
        await env.patch_spec({"scaleStrategy": {"podsToDelete": [victim]}})
        await env.wait(preparing, f"{victim} in PreparingDelete")
        await env.client.patch(PODS, victim, {"metadata": {"labels": {"hold-delete": None}}}, NS)

        async def replaced() -> bool:
            pods = await env.pods(live=False)
            return len(pods) == 1 and pods[0]["metadata"]["name"] != victim

        await env.wait(replaced, f"{victim} replaced")
        await env.settled()


async def test_scale_down_then_up_with_a_hook_brings_the_held_pod_back(
        server: ApiServer) -> None:
    hook = {"preDelete": {"labelsHandler": {"hold-delete": "true"}}}
    async with running(server) as env:
        await env.create(with_hook_label(cloneset(replicas=1, lifecycle=hook), "hold-delete"))
        await env.settled()
        (pod,) = await env.pods()
        await env.patch_spec({"replicas": 0})

        async def state(value: str) -> bool:
            pods = await env.pods()
            return len(pods) == 1 and pods[0]["metadata"]["labels"].get(STATE) == value

        async def preparing() -> bool:
            return await state("PreparingDelete")

        async def normal() -> bool:
            return await state("Normal")

        await env.wait(preparing, "the pod in PreparingDelete")
        await env.patch_spec({"replicas": 1})
        await env.wait(normal, "the same pod back to Normal")
        (back,) = await env.pods()
        assert back["metadata"]["uid"] == pod["metadata"]["uid"]


async def test_in_place_update_hook_holds_the_update(server: ApiServer) -> None:
    hook = {"inPlaceUpdate": {"labelsHandler": {"hold-update": "true"}}}
    async with running(server) as env:
        await env.create(with_hook_label(cloneset(replicas=1, policy="InPlaceIfPossible",
                                                  lifecycle=hook), "hold-update"))
        await env.settled()
        (pod,) = await env.pods()
        name = pod["metadata"]["name"]
        await env.set_image("nginx:1.26")

        async def state_is(state: str) -> Obj | None:
            found = await pod_named(env, name)
            return found if found and found["metadata"]["labels"].get(STATE) == state else None

        async def preparing() -> Obj | None:
            return await state_is("PreparingUpdate")

        await env.wait(preparing, "PreparingUpdate")

        async def reported() -> Obj | None:
            return condition(await env.get(), "RolloutBlocked")

        cond = await env.wait(reported, "the hold reported")
        assert cond["reason"] == "LifecycleHook"
        assert revision_of(await pod_named(env, name) or {"metadata": {"labels": {}}}) \
            == (await env.get())["status"]["currentRevision"]
        # Release the hook: the pod is updated in place and waits in Updated for the hook.
        await env.client.patch(PODS, name, {"metadata": {"labels": {"hold-update": None}}}, NS)

        async def updated() -> Obj | None:
            return await state_is("Updated")

        done = await env.wait(updated, "Updated", timeout=30)
        assert done["metadata"]["uid"] == pod["metadata"]["uid"]
        assert done["spec"]["containers"][0]["image"] == "nginx:1.26"
        await env.client.patch(PODS, name, {"metadata": {"labels": {"hold-update": "true"}}},
                               NS)

        async def normal() -> Obj | None:
            return await state_is("Normal")

        await env.wait(normal, "Normal once the hook is back")
        cs = await env.settled()
        assert condition(cs, "RolloutBlocked") is None


async def test_progress_deadline_with_an_unschedulable_pod(server: ApiServer) -> None:
    async with running(server) as env:
        await env.create(cloneset(replicas=1, progressDeadlineSeconds=30,
                                  max_unavailable="100%"))
        cs = await env.settled()
        assert (condition(cs, "Progressing") or {}).get("reason") == "CloneSetAvailable"
        cs = await env.get()
        tpl = cs["spec"]["template"]
        tpl["spec"]["nodeSelector"] = {"disk": "nowhere"}
        await env.patch_spec({"template": tpl})

        async def progressing() -> Obj | None:
            cond = condition(await env.get(), "Progressing")
            return cond if cond and cond["reason"] == "CloneSetUpdated" else None

        await env.wait(progressing, "Progressing CloneSetUpdated")
        env.clock.jump(31)

        async def exceeded() -> Obj | None:
            cond = condition(await env.get(), "Progressing")
            return cond if cond and cond["reason"] == "ProgressDeadlineExceeded" else None

        cond = await env.wait(exceeded, "ProgressDeadlineExceeded")
        assert cond["status"] == "False"
        assert "has timed out progressing" in cond["message"]
        pending = await env.pods()
        assert len(pending) == 1 and not pending[0]["spec"].get("nodeName")
