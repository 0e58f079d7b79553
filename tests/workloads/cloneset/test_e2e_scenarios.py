"""CloneSet end to end: the upstream scenarios not covered elsewhere (reference §8).

Env from a label changed with the image, a failing first container batch holding the
next, PreparingUpdate pods counted as updated when scaling, a resources change that
moves the QoS class, a volumeClaimTemplate change, the in-place grace period, the
preNormal hook, the Events a rollout records, and a rollout stuck on its unavailability
budget saying so.

To show that something does *not* happen without sleeping, a test pokes the pod (a
no-op annotation) and waits for the controller to run further passes: any pass that was
going to make the write would have made it.
"""

from __future__ import annotations

from typing import Any

from mizzen.apiserver.server import ApiServer
from mizzen.client.resources import CONTROLLERREVISIONS, EVENTS, PODS
from tests.workloads.cloneset.harness import (
    NS,
    Env,
    app_and_sidecar,
    cloneset,
    condition,
    revision_of,
    running,
)

Obj = dict[str, Any]
STATE = "lifecycle.apps.kruise.io/state"
GRACE = "apps.kruise.io/inplace-update-grace"
NEVER_READY = "sim.mizzen.dev/never-ready"


def identity(pod: Obj) -> tuple[str, str, str]:
    return (pod["metadata"]["uid"], pod["status"].get("podIP", ""),
            pod["spec"].get("nodeName", ""))


def gate(pod: Obj) -> str | None:
    return next((c["status"] for c in pod["status"].get("conditions") or ()
                 if c["type"] == "InPlaceUpdateReady"), None)


def images(pod: Obj) -> dict[str, str]:
    return {c["name"]: c["image"] for c in pod["spec"]["containers"]}


def running_images(pod: Obj) -> dict[str, str]:
    return {c["name"]: c["image"] for c in pod["status"].get("containerStatuses") or ()}


async def pod_named(env: Env, name: str) -> Obj:
    return await env.client.get(PODS, name, NS)


async def more_passes(env: Env, name: str, passes: int = 2) -> None:
    """Poke pod ``name`` until the controller has run ``passes`` more passes."""
    start = sum(env.controller.passes.values())
    poke = 0

    async def ran() -> bool:
        nonlocal poke
        poke += 1
        await env.client.patch(PODS, name, {"metadata": {"annotations": {
            "test.mizzen.dev/poke": str(poke)}}}, NS)
        return sum(env.controller.passes.values()) >= start + passes

    await env.wait(ran, f"{passes} more controller passes")


async def test_image_and_the_label_its_env_reads_update_in_place(server: ApiServer) -> None:
    async with running(server) as env:
        body = cloneset(replicas=1, policy="InPlaceIfPossible")
        tpl = body["spec"]["template"]
        tpl["metadata"]["labels"]["test-env"] = "foo"
        tpl["spec"]["containers"][0]["env"] = [{"name": "TEST_ENV", "valueFrom": {
            "fieldRef": {"fieldPath": "metadata.labels['test-env']"}}}]
        await env.create(body)
        await env.settled()
        (before,) = await env.pods()
        cs = await env.get()
        tpl = cs["spec"]["template"]
        tpl["metadata"]["labels"]["test-env"] = "bar"
        tpl["spec"]["containers"][0]["image"] = "nginx:1.26"
        await env.patch_spec({"template": tpl})
        await env.settled(timeout=30)
        (after,) = await env.pods()
        assert identity(after) == identity(before)
        assert after["metadata"]["labels"]["test-env"] == "bar"
        assert running_images(after) == {"app": "nginx:1.26"}
        assert after["status"]["containerStatuses"][0]["restartCount"] == 1


async def test_a_failing_first_batch_holds_the_next(server: ApiServer) -> None:
    async with running(server) as env:
        body = cloneset(replicas=1, policy="InPlaceIfPossible")
        body["spec"]["template"]["spec"]["containers"] = app_and_sidecar("nginx:1.25", "envoy:1")
        await env.create(body)
        await env.settled()
        (pod,) = await env.pods()
        name = pod["metadata"]["name"]
        # From now on the pod's containers run but never become ready.
        await env.client.patch(PODS, name, {"metadata": {"annotations": {NEVER_READY: "true"}}},
                               NS)
        cs = await env.get()
        cs["spec"]["template"]["spec"]["containers"] = app_and_sidecar("nginx:1.26", "envoy:2")
        await env.patch_spec({"template": cs["spec"]["template"]})

        async def sidecar_restarted() -> Obj | None:
            found = await pod_named(env, name)
            return found if running_images(found).get("sidecar") == "envoy:2" else None

        await env.wait(sidecar_restarted, "the first batch (sidecar) restarted", timeout=30)
        await more_passes(env, name)
        held = await pod_named(env, name)
        assert images(held) == {"app": "nginx:1.25", "sidecar": "envoy:2"}
        assert gate(held) == "False"
        # The first batch becomes ready: the second goes on.
        await env.client.patch(PODS, name, {"metadata": {"annotations": {NEVER_READY: None}}},
                               NS)
        await env.settled(timeout=30)
        done = await pod_named(env, name)
        assert identity(done) == identity(pod)
        assert running_images(done) == {"app": "nginx:1.26", "sidecar": "envoy:2"}
        assert gate(done) == "True"


async def test_preparing_update_pods_count_as_updated_when_scaling(server: ApiServer) -> None:
    """Three pods, partition 2: one enters PreparingUpdate, held by the hook.  Scaling to
    two with partition 1 keeps it (it counts as updated) and deletes an old pod instead,
    although the held pod is the unavailable one a plain ranking would delete first.
    (Counted as old, it left the scale-down nothing to choose from: the CloneSet stalled.)"""
    hook = {"inPlaceUpdate": {"labelsHandler": {"hold-update": "true"}}}
    async with running(server) as env:
        body = cloneset(replicas=3, policy="InPlaceIfPossible", partition=2,
                        max_unavailable=1, lifecycle=hook)
        body["spec"]["template"]["metadata"]["labels"]["hold-update"] = "true"
        await env.create(body)
        await env.settled()
        await env.set_image("nginx:1.26")

        async def one_preparing() -> Obj | None:
            pods = [p for p in await env.pods()
                    if p["metadata"]["labels"].get(STATE) == "PreparingUpdate"]
            return pods[0] if len(pods) == 1 else None

        held = await env.wait(one_preparing, "one pod in PreparingUpdate")
        name = held["metadata"]["name"]
        await env.patch_spec({"replicas": 2, "updateStrategy": {"rollingUpdate": {"partition": 1}}})

        async def two_left() -> list[Obj] | None:
            pods = await env.pods(live=False)
            return pods if len(pods) == 2 else None

        left = await env.wait(two_left, "one pod deleted", timeout=30)
        assert name in {p["metadata"]["name"] for p in left}
        # Released, the held pod is updated (state Updated); with the hook back, Normal.
        await env.client.patch(PODS, name, {"metadata": {"labels": {"hold-update": None}}}, NS)

        async def updated() -> bool:
            labels = (await pod_named(env, name))["metadata"]["labels"]
            return bool(labels.get(STATE) == "Updated")

        await env.wait(updated, "the released pod Updated", timeout=30)
        await env.client.patch(PODS, name, {"metadata": {"labels": {"hold-update": "true"}}},
                               NS)
        cs = await env.settled(updated=1, timeout=30)
        by_revision = sorted(revision_of(p) for p in await env.pods())
        assert by_revision == sorted([cs["status"]["currentRevision"],
                                      cs["status"]["updateRevision"]])
        assert revision_of(await pod_named(env, name)) == cs["status"]["updateRevision"]


async def test_a_resources_change_that_moves_the_qos_class_recreates(
        server: ApiServer) -> None:
    async with running(server) as env:
        await env.create(cloneset(replicas=2, policy="InPlaceIfPossible", max_unavailable=1))
        await env.settled()
        before = {p["metadata"]["uid"] for p in await env.pods()}
        cs = await env.get()
        tpl = cs["spec"]["template"]
        # BestEffort -> Burstable.
        tpl["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "100m"}}
        tpl["spec"]["containers"][0]["image"] = "nginx:1.26"
        await env.patch_spec({"template": tpl})
        await env.settled(timeout=30)
        after = await env.pods()
        assert not before & {p["metadata"]["uid"] for p in after}
        assert all(p["status"].get("qosClass") == "Burstable" for p in after)
        assert all(running_images(p) == {"app": "nginx:1.26"} for p in after)


async def test_a_volume_claim_template_change_leaves_pods_and_claims_alone(
        server: ApiServer) -> None:
    """As upstream without its RecreatePodWhenChangeVCTInCloneSetGate feature gate: the
    claim templates are not part of the revision, so running pods and their PVCs stay;
    a pod created afterwards gets a claim from the new template."""
    def claim(size: str) -> Obj:
        return {"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}

    async with running(server) as env:
        await env.create(cloneset(replicas=2, volumeClaimTemplates=[claim("1Gi")]))
        first = await env.settled()
        uids = {p["metadata"]["uid"] for p in await env.pods()}
        revisions = (await env.client.list(CONTROLLERREVISIONS, NS))["items"]
        await env.patch_spec({"volumeClaimTemplates": [claim("2Gi")]})

        async def observed() -> Obj | None:
            cs = await env.get()
            status = cs.get("status") or {}
            return cs if status.get("observedGeneration") == cs["metadata"]["generation"] \
                else None

        cs = await env.wait(observed, "the new generation observed")
        assert cs["status"]["updateRevision"] == first["status"]["updateRevision"]
        assert len((await env.client.list(CONTROLLERREVISIONS, NS))["items"]) == len(revisions)
        assert {p["metadata"]["uid"] for p in await env.pods()} == uids
        sizes = sorted(c["spec"]["resources"]["requests"]["storage"] for c in await env.pvcs())
        assert sizes == ["1Gi", "1Gi"]
        await env.patch_spec({"replicas": 3})
        await env.settled(timeout=30)
        sizes = sorted(c["spec"]["resources"]["requests"]["storage"] for c in await env.pvcs())
        assert sizes == ["1Gi", "1Gi", "2Gi"]


async def test_the_grace_period_delays_the_image_change(server: ApiServer) -> None:
    async with running(server) as env:
        body = cloneset(replicas=1, policy="InPlaceIfPossible")
        body["spec"]["updateStrategy"]["rollingUpdate"]["inPlaceUpdateStrategy"] = {
            "gracePeriodSeconds": 30}
        await env.create(body)
        await env.settled()
        (pod,) = await env.pods()
        name = pod["metadata"]["name"]
        await env.set_image("nginx:1.26")

        async def waiting() -> Obj | None:
            found = await pod_named(env, name)
            annotations = found["metadata"].get("annotations") or {}
            return found if GRACE in annotations and gate(found) == "False" else None

        found = await env.wait(waiting, "InPlaceUpdateReady=False and the grace annotation")
        assert images(found) == {"app": "nginx:1.25"}  # not yet: the grace period runs
        await more_passes(env, name)
        assert images(await pod_named(env, name)) == {"app": "nginx:1.25"}
        env.clock.jump(31)
        await env.settled(timeout=30)
        done = await pod_named(env, name)
        assert identity(done) == identity(pod)
        assert running_images(done) == {"app": "nginx:1.26"}
        assert GRACE not in (done["metadata"].get("annotations") or {})


async def test_pre_normal_hook_keeps_new_pods_unavailable_until_marked(
        server: ApiServer) -> None:
    hook = {"preNormal": {"labelsHandler": {"traffic-ready": "true"}}}
    async with running(server) as env:
        await env.create(cloneset(replicas=2, lifecycle=hook))

        async def preparing() -> list[Obj] | None:
            pods = await env.pods()
            ready = [p for p in pods if p["status"].get("phase") == "Running"]
            return pods if len(ready) == 2 and all(
                p["metadata"]["labels"].get(STATE) == "PreparingNormal" for p in pods) else None

        pods = await env.wait(preparing, "two running pods held in PreparingNormal")
        await more_passes(env, pods[0]["metadata"]["name"])
        cs = await env.get()
        assert cs["status"].get("availableReplicas", 0) == 0
        assert all(p["metadata"]["labels"].get(STATE) == "PreparingNormal"
                   for p in await env.pods())
        for pod in pods:
            await env.client.patch(PODS, pod["metadata"]["name"],
                                   {"metadata": {"labels": {"traffic-ready": "true"}}}, NS)
        await env.settled()
        assert all(p["metadata"]["labels"].get(STATE) == "Normal" for p in await env.pods())


async def test_a_rollout_records_its_events(server: ApiServer) -> None:
    async with running(server) as env:
        await env.create(cloneset(replicas=2, policy="InPlaceIfPossible", max_unavailable=1))
        await env.settled()
        await env.set_image("nginx:1.26")
        await env.settled(timeout=30)
        selector = "involvedObject.kind=CloneSet,involvedObject.name=web"

        async def recorded() -> set[str] | None:
            events = (await env.client.list(EVENTS, NS, field_selector=selector))["items"]
            reasons = {e["reason"] for e in events}
            return reasons if {"SuccessfulCreate", "SuccessfulUpdatePodInPlace"} <= reasons \
                else None

        await env.wait(recorded, "SuccessfulCreate and SuccessfulUpdatePodInPlace events")
        events = (await env.client.list(EVENTS, NS, field_selector=selector))["items"]
        # Two batches (maxUnavailable 1): waiting between them is not a blocked rollout.
        assert "RolloutBlocked" not in {e["reason"] for e in events}
        assert all(e["source"]["component"] == "cloneset-controller" or
                   e.get("reportingComponent") == "cloneset-controller" for e in events)
        updated = [e for e in events if e["reason"] == "SuccessfulUpdatePodInPlace"]
        assert sum(int(e.get("count") or 1) for e in updated) == 2


async def test_a_budget_used_up_by_a_pod_that_never_gets_ready_is_reported(
        server: ApiServer) -> None:
    async with running(server) as env:
        await env.create(cloneset(replicas=2, policy="InPlaceIfPossible", max_unavailable=1))
        await env.settled()
        sick, healthy = sorted(p["metadata"]["name"] for p in await env.pods())
        await env.client.patch(PODS, sick, {"metadata": {"annotations": {NEVER_READY: "true"}}},
                               NS)
        await env.set_image("nginx:1.26")

        async def blocked() -> Obj | None:
            return condition(await env.get(), "RolloutBlocked")

        cond = await env.wait(blocked, "RolloutBlocked", timeout=30)
        assert cond["reason"] == "MaxUnavailable" and cond["status"] == "True"
        assert sick in cond["message"] and healthy not in cond["message"]
        # The unavailable pod went first (it costs no budget); the healthy one waits.
        assert images(await pod_named(env, sick)) == {"app": "nginx:1.26"}
        assert images(await pod_named(env, healthy)) == {"app": "nginx:1.25"}
        await env.client.patch(PODS, sick, {"metadata": {"annotations": {NEVER_READY: None}}},
                               NS)
        cs = await env.settled(timeout=30)
        assert condition(cs, "RolloutBlocked") is None
        assert images(await pod_named(env, healthy)) == {"app": "nginx:1.26"}
