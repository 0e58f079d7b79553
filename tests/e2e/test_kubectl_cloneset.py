"""CloneSets driven by the real kubectl against ``mizzen up`` (issue #5, "What must be shown").

One ``mizzen up --port 0`` process serves the whole module (API server,
three simulated nodes, the CloneSet controller, its validating and
conversion webhooks); each test works in a namespace of its own, so the
corpus manifests that share a name do not meet.  Everything goes through
kubectl: ``apply``, ``get clone`` (the printer columns), ``scale``,
``patch`` (``set image`` does not know CloneSets), ``get -o yaml`` in both
served versions.

Two spellings of the update strategy meet here.  kubectl picks the
preferred version of ``clone``, which is v1beta1 (Kubernetes prefers the
highest version a CRD serves), where ``partition`` and ``paused`` sit under
``updateStrategy.rollingUpdate``; the docs' v1alpha1 patch
``{"spec":{"updateStrategy":{"partition":0}}}`` is then an unknown field
(kubectl warns, nothing changes) and works as written against
``clonesets.v1alpha1.apps.kruise.io``.  The tests pin both.

Waits are on a status written for the current generation
(:func:`tests.e2e.clonesets.settled`), never a fixed sleep.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.processes import MizzenProcess
from tests.e2e.clonesets import V1ALPHA1, CloneSets, PodView, settled
from tests.e2e.test_kubectl import KUBECTL, Kubectl, table

pytestmark = [pytest.mark.kubectl,
              pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")]

Obj = dict[str, Any]
CORPUS = Path("/work/shared/corpus/openkruise-docs")
MANIFESTS = sorted(CORPUS.glob("cloneset-0[1-4].yaml")) if CORPUS.is_dir() else []
# Upstream's columns (the CRD of kruise master, UPDATED_AVAILABLE included).
COLUMNS = ["NAME", "DESIRED", "UPDATED", "UPDATED_READY", "UPDATED_AVAILABLE", "READY", "TOTAL",
           "AGE"]
STATUS_FIELDS = {"observedGeneration", "replicas", "readyReplicas", "availableReplicas",
                 "updatedReplicas", "updatedReadyReplicas", "updatedAvailableReplicas",
                 "updateRevision", "currentRevision", "expectedUpdatedReplicas", "labelSelector"}


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    """kubectl for one ``mizzen up`` (with the CloneSet controller) shared by the module."""
    root = tmp_path_factory.mktemp("cloneset-e2e")
    data = root / "state"
    with MizzenProcess(["up", "--data-dir", str(data), "--port", "0", "--nodes", "3",
                        "--sync", "NORMAL"], root / "mizzen-up.log") as up:
        up.wait_for("control plane is up")
        up.wait_for(r"Mizzen controllers: .*cloneset")
        workdir = root / "kubectl"
        workdir.mkdir()
        kubectl = Kubectl(data / "kubeconfig", workdir)
        kubectl.run("wait", "--for=condition=Ready", "nodes", "--all", "--timeout=60s")
        yield kubectl


@pytest.fixture
def ns(plane: Kubectl, request: pytest.FixtureRequest) -> CloneSets:
    """A fresh namespace named after the test."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]
    return CloneSets(plane, name).create_namespace()


def manifest(name: str, replicas: int, image: str = "nginx:1.25", **strategy: Any) -> str:
    """A v1alpha1 CloneSet, as the docs write them; ``strategy`` is its updateStrategy."""
    labels = {"app": name}
    return json.dumps({
        "apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
        "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "app", "image": image}]}},
                 "updateStrategy": strategy}})


def image_patch(image: str) -> Obj:
    return {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}


def all_settled(replicas: int, updated: int | None = None, expected: int | None = None) -> Any:
    """Settled with ``replicas`` ready pods of which ``updated`` are updated and ready."""
    updated = replicas if updated is None else updated
    return settled(replicas=replicas, readyReplicas=replicas, availableReplicas=replicas,
                   updatedReplicas=updated, updatedReadyReplicas=updated,
                   expectedUpdatedReplicas=replicas if expected is None else expected)


# -- the docs' manifests --------------------------------------------------------------------


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in MANIFESTS] or [
    pytest.param(None, id="no-corpus", marks=pytest.mark.skip(reason=f"{CORPUS} is absent"))])
def test_corpus_manifest_runs_and_reads_in_both_versions(plane: Kubectl, path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    name, replicas = doc["metadata"]["name"], doc["spec"]["replicas"]
    selector = ",".join(f"{k}={v}" for k, v in doc["spec"]["selector"]["matchLabels"].items())
    clones = CloneSets(plane, f"corpus-{path.stem}").create_namespace()

    assert clones.run("apply", "-f", str(path)).out == f"cloneset.apps.kruise.io/{name} created\n"
    clones.run("wait", f"clone/{name}", f"--for=jsonpath={{.status.readyReplicas}}={replicas}",
               "--timeout=60s")
    clones.wait(name, all_settled(replicas), f"{replicas} pods ready and updated")
    pods = clones.wait_pods(selector, replicas)

    # Status as `kubectl get -o yaml` shows it.
    shown = clones.get(name)
    status = shown["status"]
    assert set(status) >= STATUS_FIELDS, status
    assert status["observedGeneration"] == shown["metadata"]["generation"]
    assert status["updateRevision"] == status["currentRevision"]
    assert status["updateRevision"].startswith(f"{name}-")
    assert status["labelSelector"] == selector
    assert (status["replicas"], status["availableReplicas"], status["updatedAvailableReplicas"]) \
        == (replicas, replicas, replicas)

    # The pods: named after their instance ids, on the update revision, owned by the CloneSet.
    for pod in clones.pods(selector):
        view = PodView.of(pod)
        assert view.name == f"{name}-{view.instance_id}"
        assert view.revision == status["updateRevision"] and view.image == "nginx:alpine"
        owner = [r for r in pod["metadata"]["ownerReferences"] if r.get("controller")]
        assert [(r["kind"], r["name"]) for r in owner] == [("CloneSet", name)]
        assert {"conditionType": "InPlaceUpdateReady"} in pod["spec"]["readinessGates"]
    if doc["spec"].get("volumeClaimTemplates"):
        claims = json.loads(clones.run("get", "pvc", "-o", "json").out)["items"]
        ids = {c["metadata"]["name"]: c["metadata"]["labels"]["apps.kruise.io/cloneset-instance-id"]
               for c in claims}
        assert ids == {f"data-vol-{v.name}": v.instance_id for v in pods.values()}

    # kubectl get clone: upstream's columns and the counts.
    row = clones.row(name)
    assert list(row) == COLUMNS
    assert [row[c] for c in COLUMNS[1:-1]] == [str(replicas)] * 6

    # Both served versions, whichever the manifest was written in.
    alpha, beta = clones.get(name, V1ALPHA1), clones.get(name)
    assert (alpha["apiVersion"], beta["apiVersion"]) == ("apps.kruise.io/v1alpha1",
                                                         "apps.kruise.io/v1beta1")
    assert alpha["spec"]["updateStrategy"] == {"type": "ReCreate", "partition": 0,
                                               "maxUnavailable": "20%", "maxSurge": 0}
    assert beta["spec"]["updateStrategy"]["type"] == "RollingUpdate"
    assert beta["spec"]["updateStrategy"]["rollingUpdate"]["podUpdatePolicy"] == "ReCreate"
    assert alpha["status"] == beta["status"]
    assert alpha["metadata"]["uid"] == beta["metadata"]["uid"]
    # Applying the same manifest again finds nothing to change (the round trip is exact).
    assert clones.run("apply", "-f", str(path)).out == \
        f"cloneset.apps.kruise.io/{name} unchanged\n"


# -- scale ----------------------------------------------------------------------------------


def test_kubectl_scale_up_and_down(ns: CloneSets) -> None:
    assert ns.apply(manifest("web", 3)).out == "cloneset.apps.kruise.io/web created\n"
    ns.wait("web", all_settled(3), "3 ready")
    first = ns.wait_pods("app=web", 3)

    assert ns.run("scale", "clone", "web", "--replicas=6").out == \
        "cloneset.apps.kruise.io/web scaled\n"
    ns.wait("web", all_settled(6), "6 ready")
    grown = ns.wait_pods("app=web", 6)
    assert {v.identity for v in first.values()} <= {v.identity for v in grown.values()}
    assert len({v.instance_id for v in grown.values()}) == 6
    row = ns.row("web")
    assert (row["DESIRED"], row["READY"], row["TOTAL"]) == ("6", "6", "6")
    # -o wide adds upstream's priority-1 columns.
    header, rows = table(ns.run("get", "clone", "web", "-o", "wide").out)
    wide = dict(zip(header, rows["web"], strict=True))
    assert header == [*COLUMNS, "CONTAINERS", "IMAGES", "SELECTOR"]
    assert (wide["CONTAINERS"], wide["IMAGES"], wide["SELECTOR"]) == \
        ("app", "nginx:1.25", "app=web")

    ns.run("scale", "clone", "web", "--replicas=2")
    ns.wait("web", all_settled(2), "2 ready")
    shrunk = ns.wait_pods("app=web", 2)
    assert set(shrunk) <= set(grown)
    assert ns.get("web")["spec"]["replicas"] == 2


# -- in-place update in partition batches ---------------------------------------------------


def test_in_place_update_in_partition_batches(ns: CloneSets) -> None:
    ns.apply(manifest("web", 5, type="InPlaceIfPossible", partition=3, maxUnavailable=1))
    first = ns.wait("web", all_settled(5, expected=2), "5 ready")
    old_revision = first["status"]["updateRevision"]
    before = ns.wait_pods("app=web", 5)

    # A new image with partition 3: two pods are updated in place, three keep the old one.
    ns.patch("web", image_patch("nginx:1.27"))
    live = ns.wait("web", all_settled(5, updated=2, expected=2), "2 of 5 updated")
    new_revision = live["status"]["updateRevision"]
    assert new_revision != old_revision and live["status"]["currentRevision"] == old_revision
    row = ns.row("web")
    assert [row[c] for c in COLUMNS[1:-1]] == ["5", "2", "2", "2", "5", "5"]
    after = ns.views("app=web")
    assert {v.identity for v in after.values()} == {v.identity for v in before.values()}
    updated = {n for n, v in after.items() if v.revision == new_revision}
    assert len(updated) == 2
    for name, view in after.items():
        if name in updated:  # the container restarted with the new image; same pod
            assert (view.image, view.restarts) == ("nginx:1.27", 1)
            assert view.image_id != before[name].image_id
        else:
            assert view == before[name]

    # The next batch in v1beta1's spelling (kubectl's preferred version): partition 1.
    ns.patch("web", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 1}}}})
    ns.wait("web", all_settled(5, updated=4, expected=4), "4 of 5 updated")

    # The docs' v1alpha1 patch against the preferred version is an unknown field there.
    ignored = ns.patch("web", {"spec": {"updateStrategy": {"partition": 0}}})
    assert ignored.out == "cloneset.apps.kruise.io/web patched (no change)\n"
    assert 'unknown field "spec.updateStrategy.partition"' in ignored.err
    # ... and continues the rollout as written against the v1alpha1 resource.
    done = ns.patch("web", {"spec": {"updateStrategy": {"partition": 0}}}, resource=V1ALPHA1)
    assert done.out == "cloneset.apps.kruise.io/web patched\n"
    final = ns.wait("web", all_settled(5), "all 5 updated")
    assert final["status"]["currentRevision"] == final["status"]["updateRevision"] \
        == new_revision
    end = ns.wait_pods("app=web", 5)
    assert {v.identity for v in end.values()} == {v.identity for v in before.values()}
    assert {(v.image, v.restarts, v.revision) for v in end.values()} == {
        ("nginx:1.27", 1, new_revision)}


# -- pause, resume, roll back ---------------------------------------------------------------


def test_pause_resume_and_roll_back(ns: CloneSets) -> None:
    ns.apply(manifest("shop", 4, type="InPlaceIfPossible", maxUnavailable="50%"))
    first = ns.wait("shop", all_settled(4), "4 ready")
    r1 = first["status"]["updateRevision"]
    before = ns.wait_pods("app=shop", 4)
    beta = ns.get("shop")["spec"]["updateStrategy"]
    assert beta == {"type": "RollingUpdate", "rollingUpdate": {
        "podUpdatePolicy": "InPlaceIfPossible", "maxUnavailable": "50%", "maxSurge": 0,
        "partition": 0}}

    # Paused: a new template makes a new update revision, but no pod moves to it ...
    ns.patch("shop", {"spec": {"updateStrategy": {"paused": True}}}, resource=V1ALPHA1)
    ns.patch("shop", image_patch("nginx:1.27"))
    paused = ns.wait("shop", lambda cs: settled(updatedReplicas=0)(cs)
                     and cs["status"]["updateRevision"] != r1, "a new revision, paused")
    r2 = paused["status"]["updateRevision"]
    # ... while scaling still works: the new pod is created on the update revision.
    ns.run("scale", "clone", "shop", "--replicas=5")
    ns.wait("shop", all_settled(5, updated=1), "scaled to 5 while paused")
    during = ns.wait_pods("app=shop", 5)
    assert {n: during[n] for n in before} == before
    (added,) = set(during) - set(before)
    assert (during[added].revision, during[added].image) == (r2, "nginx:1.27")

    # Resumed (v1beta1 spelling): the four old pods are updated in place.
    ns.patch("shop", {"spec": {"updateStrategy": {"rollingUpdate": {"paused": False}}}})
    resumed = ns.wait("shop", all_settled(5), "resumed: all updated")
    assert resumed["status"]["currentRevision"] == r2
    mid = ns.wait_pods("app=shop", 5)
    assert all(mid[n].identity == v.identity and mid[n].restarts == 1 for n, v in before.items())

    # Roll back: the old template again is the old revision again, applied in place.
    ns.patch("shop", image_patch("nginx:1.25"))
    back = ns.wait("shop", lambda cs: all_settled(5)(cs)
                   and cs["status"]["updateRevision"] == r1, "rolled back")
    assert back["status"]["currentRevision"] == r1
    end = ns.wait_pods("app=shop", 5)
    assert {v.identity for v in end.values()} == {v.identity for v in mid.values()}
    assert {(v.image, v.revision) for v in end.values()} == {("nginx:1.25", r1)}
    assert [end[n].restarts for n in sorted(before)] == [2] * 4 and end[added].restarts == 1
    revisions = ns.run("get", "controllerrevisions", "-l", "app=shop", "-o", "name").out
    assert sorted(revisions.split()) == sorted(f"controllerrevision.apps/{r}" for r in (r1, r2))


# -- refused by the webhook -----------------------------------------------------------------


def test_invalid_cloneset_is_refused_by_the_webhook(ns: CloneSets) -> None:
    hooks = json.loads(ns.kubectl.run("get", "validatingwebhookconfigurations", "-o",
                                      "json").out)["items"]
    assert "vcloneset.apps.kruise.io" in {w["name"] for h in hooks for w in h["webhooks"]}

    # Rules no schema can express: the selector must select the template; InPlaceOnly
    # cannot surge.
    bad = json.loads(manifest("bad", 2, type="InPlaceOnly", maxSurge=1))
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    refused = ns.run("apply", "-f", "-", stdin=json.dumps(bad), rc=1)
    assert refused.err.splitlines()[0].strip() == 'The CloneSet "bad" is invalid:', refused.err
    assert "* spec.template.metadata.labels: Invalid value: " in refused.err
    assert "`selector` does not match template `labels`" in refused.err
    assert ("* spec.updateStrategy.maxSurge: Forbidden: can not use maxSurge with "
            "spec.updateStrategy.type InPlaceOnly") in refused.err
    ns.run("get", "clone", "bad", rc=1)

    # An update is checked too, and the stored object stays as it was.
    ns.apply(manifest("good", 1))
    generation = ns.get("good")["metadata"]["generation"]
    stuck = ns.patch("good", {"spec": {"updateStrategy": {"rollingUpdate": {
        "maxUnavailable": 0, "maxSurge": 0}}}}, rc=1)
    assert "maxUnavailable and maxSurge should not both be less than 1" in stuck.err, stuck.err
    assert ns.get("good")["metadata"]["generation"] == generation
