"""parse_spec: both served versions read into one CloneSetSpec, defaults applied."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from mizzen.api.cloneset.parse import EXCLUDE_PREPARING_DELETE_LABEL, parse_spec
from mizzen.api.cloneset.types import (
    CloneSetSpec,
    Lifecycle,
    LifecycleHook,
    PodUpdatePolicy,
    PriorityStrategy,
    ScatterTerm,
    UpdateType,
    WeightTerm,
)

CORPUS = Path("/work/shared/corpus/openkruise-docs")

SELECTOR = {"matchLabels": {"app": "web"}}
TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1"}]}}


def clone(version: str, spec: dict[str, Any] | None = None,
          labels: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"selector": SELECTOR, "template": TEMPLATE}
    body.update(spec or {})
    meta: dict[str, Any] = {"name": "web", "namespace": "default"}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": f"apps.kruise.io/{version}", "kind": "CloneSet",
            "metadata": meta, "spec": body}


DEFAULTS = CloneSetSpec(replicas=1, selector=SELECTOR, template=TEMPLATE)

CASES: list[Any] = [
    # --- v1alpha1 -----------------------------------------------------------
    pytest.param("v1alpha1", {}, None, DEFAULTS,
                 id="v1alpha1 empty spec -> every default, PVCs reused"),
    pytest.param("v1alpha1", {"replicas": 0}, None,
                 CloneSetSpec(replicas=0, selector=SELECTOR, template=TEMPLATE),
                 id="v1alpha1 replicas 0 is kept, not defaulted"),
    pytest.param("v1alpha1", {"scaleStrategy": {"disablePVCReuse": True}}, None,
                 CloneSetSpec(replicas=1, selector=SELECTOR, template=TEMPLATE,
                              pvc_reuse=False),
                 id="v1alpha1 disablePVCReuse true -> no PVC reuse"),
    pytest.param("v1alpha1", {"updateStrategy": {"type": "InPlaceIfPossible"}}, None,
                 CloneSetSpec(replicas=1, selector=SELECTOR, template=TEMPLATE,
                              pod_update_policy=PodUpdatePolicy.IN_PLACE_IF_POSSIBLE),
                 id="v1alpha1 type InPlaceIfPossible -> rolling update in place"),
    pytest.param("v1alpha1", {"updateStrategy": {"type": "OnDelete", "partition": 2}}, None,
                 CloneSetSpec(replicas=1, selector=SELECTOR, template=TEMPLATE,
                              update_type=UpdateType.ON_DELETE, partition=2),
                 id="v1alpha1 type OnDelete -> no updates, knobs kept"),
    pytest.param("v1alpha1", {}, {EXCLUDE_PREPARING_DELETE_LABEL: "true"},
                 CloneSetSpec(replicas=1, selector=SELECTOR, template=TEMPLATE,
                              exclude_preparing_delete=True),
                 id="v1alpha1 exclude-preparing-delete label -> excluded"),
    pytest.param("v1alpha1", {
        "replicas": 6, "revisionHistoryLimit": 3, "minReadySeconds": 5,
        "progressDeadlineSeconds": 600,
        "scaleStrategy": {"podsToDelete": ["web-a"], "maxUnavailable": "10%"},
        "updateStrategy": {
            "type": "InPlaceOnly", "partition": "50%", "maxUnavailable": 2, "maxSurge": "0%",
            "paused": True,
            "priorityStrategy": {"weightPriority": [
                {"weight": 50, "matchSelector": {"matchLabels": {"tier": "a"}}}]},
            "scatterStrategy": [{"key": "zone", "value": "z1"}],
            "inPlaceUpdateStrategy": {"gracePeriodSeconds": 10},
        },
        "lifecycle": {"preDelete": {"finalizersHandler": ["x/y"], "markPodNotReady": True},
                      "inPlaceUpdate": {"labelsHandler": {"hold": "true"}}},
    }, None, CloneSetSpec(
        replicas=6, selector=SELECTOR, template=TEMPLATE, revision_history_limit=3,
        min_ready_seconds=5, progress_deadline_seconds=600,
        lifecycle=Lifecycle(pre_delete=LifecycleHook(finalizers_handler=("x/y",),
                                                     mark_pod_not_ready=True),
                            in_place_update=LifecycleHook(labels_handler={"hold": "true"})),
        pods_to_delete=("web-a",), scale_max_unavailable="10%",
        pod_update_policy=PodUpdatePolicy.IN_PLACE_ONLY, partition="50%", max_unavailable=2,
        max_surge="0%", paused=True,
        priority=PriorityStrategy(weight_priority=(
            WeightTerm(weight=50, match_selector={"matchLabels": {"tier": "a"}}),)),
        scatter=(ScatterTerm(key="zone", value="z1"),), grace_period_seconds=10,
    ), id="v1alpha1 every field set -> every field read"),
    # --- v1beta1 ------------------------------------------------------------
    pytest.param("v1beta1", {}, None,
                 CloneSetSpec(replicas=1, selector=SELECTOR, template=TEMPLATE,
                              pvc_reuse=False),
                 id="v1beta1 empty spec -> every default, PVCs not reused"),
    pytest.param("v1beta1", {"scaleStrategy": {"enablePVCReuse": True,
                                               "excludePreparingDelete": True}}, None,
                 CloneSetSpec(replicas=1, selector=SELECTOR, template=TEMPLATE,
                              pvc_reuse=True, exclude_preparing_delete=True),
                 id="v1beta1 enablePVCReuse + excludePreparingDelete read"),
    pytest.param("v1beta1", {}, {EXCLUDE_PREPARING_DELETE_LABEL: "true"},
                 CloneSetSpec(replicas=1, selector=SELECTOR, template=TEMPLATE,
                              pvc_reuse=False),
                 id="v1beta1 ignores the v1alpha1 exclude label"),
    pytest.param("v1beta1", {"updateStrategy": {"type": "OnDelete", "rollingUpdate": {
        "podUpdatePolicy": "InPlaceIfPossible", "maxSurge": 1}}}, None,
                 CloneSetSpec(replicas=1, selector=SELECTOR, template=TEMPLATE,
                              pvc_reuse=False, update_type=UpdateType.ON_DELETE,
                              pod_update_policy=PodUpdatePolicy.IN_PLACE_IF_POSSIBLE,
                              max_surge=1),
                 id="v1beta1 OnDelete keeps the pod update policy and knobs"),
    pytest.param("v1beta1", {
        "replicas": 4,
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {
            "podUpdatePolicy": "InPlaceOnly", "partition": 1, "maxUnavailable": "50%",
            "paused": True,
            "priorityStrategy": {"orderPriority": [{"orderedKey": "rank"}]},
            "scatterStrategy": [{"key": "zone", "value": "z2"}],
            "inPlaceUpdateStrategy": {"gracePeriodSeconds": 3}}},
        "lifecycle": {"preNormal": {"labelsHandler": {"ready": "yes"}}},
    }, None, CloneSetSpec(
        replicas=4, selector=SELECTOR, template=TEMPLATE, pvc_reuse=False,
        lifecycle=Lifecycle(pre_normal=LifecycleHook(labels_handler={"ready": "yes"})),
        pod_update_policy=PodUpdatePolicy.IN_PLACE_ONLY, partition=1, max_unavailable="50%",
        paused=True, priority=PriorityStrategy(order_priority=("rank",)),
        scatter=(ScatterTerm(key="zone", value="z2"),), grace_period_seconds=3,
    ), id="v1beta1 rollingUpdate fields -> every field read"),
]


@pytest.mark.parametrize(("version", "spec", "labels", "expected"), CASES)
def test_parse_spec(version: str, spec: dict[str, Any], labels: dict[str, str] | None,
                    expected: CloneSetSpec) -> None:
    obj = clone(version, spec, labels)
    before = copy.deepcopy(obj)
    assert parse_spec(obj) == expected
    assert obj == before, "parse_spec must not change its input"


@pytest.mark.parametrize(("obj", "message"), [
    pytest.param({"apiVersion": "apps/v1", "kind": "CloneSet"}, "not a served",
                 id="foreign apiVersion is refused"),
    pytest.param({"apiVersion": "apps.kruise.io/v1alpha1", "kind": "Deployment"}, "kind",
                 id="foreign kind is refused"),
    pytest.param(clone("v1alpha1", {"replicas": "3"}), "spec.replicas",
                 id="string replicas names the field"),
    pytest.param(clone("v1alpha1", {"replicas": True}), "spec.replicas",
                 id="bool replicas is not an int"),
    pytest.param(clone("v1alpha1", {"updateStrategy": {"type": "RollingUpdate"}}),
                 "spec.updateStrategy.type", id="v1beta1 type in v1alpha1 is refused"),
    pytest.param(clone("v1beta1", {"updateStrategy": {"type": "InPlaceOnly"}}),
                 "spec.updateStrategy.type", id="v1alpha1 type in v1beta1 is refused"),
    pytest.param(clone("v1beta1", {"updateStrategy": {"rollingUpdate": {"partition": 1.5}}}),
                 "spec.updateStrategy.rollingUpdate.partition", id="float partition is refused"),
    pytest.param(clone("v1beta1", {"scaleStrategy": []}), "spec.scaleStrategy",
                 id="list where an object belongs is refused"),
])
def test_parse_spec_refuses_wrong_types(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_spec(obj)


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("cloneset-0*.yaml")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not corpus_files(), reason="OpenKruise docs corpus not present")
@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_manifests_parse(path: Path) -> None:
    obj = yaml.safe_load(path.read_text())
    spec = parse_spec(obj)
    assert spec.replicas == obj["spec"]["replicas"]
    assert spec.pvc_reuse is obj["apiVersion"].endswith("v1alpha1")
    assert spec.max_unavailable == "20%" and spec.partition == 0
