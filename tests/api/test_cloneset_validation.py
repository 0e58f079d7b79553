"""validate: each CloneSet rule, in both versions, named as the scenario it refuses."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from mizzen.api.cloneset.conversion import convert
from mizzen.api.cloneset.validation import FieldError, validate
from mizzen.api.fielderrors import DUPLICATE, FORBIDDEN, INVALID, NOT_SUPPORTED, REQUIRED

CORPUS = Path("/work/shared/corpus/openkruise-docs")


def alpha(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}},
    }
    body.update(spec)
    return {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
            "metadata": {"name": "web", "namespace": "default"}, "spec": body}


def beta(**spec: Any) -> dict[str, Any]:
    return convert(alpha(**spec), "v1beta1")


def pod_spec(**extra: Any) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1"}], **extra}}


def found(errors: list[FieldError]) -> set[tuple[str, str]]:
    return {(e.field, e.reason) for e in errors}


CASES: list[Any] = [
    pytest.param(alpha(), set(), id="a plain v1alpha1 CloneSet is valid"),
    pytest.param(beta(), set(), id="the same as v1beta1 is valid"),
    pytest.param(alpha(replicas=-1), {("spec.replicas", INVALID)},
                 id="replicas -1 is refused"),
    pytest.param(alpha(revisionHistoryLimit=-2), {("spec.revisionHistoryLimit", INVALID)},
                 id="revisionHistoryLimit -2 is refused"),
    pytest.param(alpha(selector=None), {("spec.selector", REQUIRED)},
                 id="no selector is required"),
    pytest.param(alpha(selector={"matchLabels": {}}), {("spec.selector", INVALID)},
                 id="an empty selector is refused"),
    pytest.param(alpha(selector={"matchLabels": {"app": "other"}}),
                 {("spec.template.metadata.labels", INVALID)},
                 id="selector app=other misses template app=web"),
    pytest.param(alpha(selector={"matchExpressions": [{"key": "app", "operator": "Near"}]}),
                 {("spec.selector.matchExpressions[0].operator", NOT_SUPPORTED)},
                 id="selector operator Near is not supported"),
    pytest.param(alpha(selector={"matchExpressions": [{"key": "app", "operator": "In"}]}),
                 {("spec.selector.matchExpressions[0].values", REQUIRED)},
                 id="selector In without values is refused"),
    pytest.param(alpha(template=pod_spec(restartPolicy="Never")),
                 {("spec.template.spec.restartPolicy", NOT_SUPPORTED)},
                 id="template restartPolicy Never is not supported"),
    pytest.param(alpha(template=pod_spec(activeDeadlineSeconds=5)),
                 {("spec.template.spec.activeDeadlineSeconds", FORBIDDEN)},
                 id="template activeDeadlineSeconds is forbidden"),
    pytest.param(alpha(template={"metadata": {"labels": {"app": "web"}}, "spec": {}}),
                 {("spec.template.spec.containers", REQUIRED)},
                 id="a template without containers is refused"),
    pytest.param(alpha(template={"metadata": {"labels": {"app": "web"}}, "spec": {
        "containers": [{"name": "c", "image": "a"}, {"name": "c", "image": "b"}]}}),
                 {("spec.template.spec.containers[1].name", DUPLICATE)},
                 id="two containers named c are duplicates"),
    pytest.param(alpha(volumeClaimTemplates=[{"metadata": {"name": "data"}},
                                             {"metadata": {"name": "data"}}]),
                 {("spec.volumeClaimTemplates[1].metadata.name", DUPLICATE)},
                 id="two claim templates named data are duplicates"),
    pytest.param(alpha(volumeClaimTemplates=[{"spec": {}}]),
                 {("spec.volumeClaimTemplates[0].metadata.name", REQUIRED)},
                 id="a claim template without a name is refused"),
    pytest.param(alpha(template=pod_spec(volumes=[{"name": "data", "emptyDir": {}}]),
                       volumeClaimTemplates=[{"metadata": {"name": "data"}}]),
                 {("spec.volumeClaimTemplates[0].metadata.name", DUPLICATE)},
                 id="a claim template named like a template volume is a duplicate"),
    pytest.param(alpha(scaleStrategy={"podsToDelete": ["p1", "p1"], "maxUnavailable": "x"}),
                 {("spec.scaleStrategy.podsToDelete[1]", DUPLICATE),
                  ("spec.scaleStrategy.maxUnavailable", INVALID)},
                 id="podsToDelete twice and a non-percent scale maxUnavailable are refused"),
    pytest.param(alpha(updateStrategy={"partition": -1}),
                 {("spec.updateStrategy.partition", INVALID)},
                 id="v1alpha1 partition -1 is refused"),
    pytest.param(beta(updateStrategy={"partition": "120%"}),
                 {("spec.updateStrategy.rollingUpdate.partition", INVALID)},
                 id="v1beta1 partition 120% is refused at its v1beta1 path"),
    pytest.param(alpha(updateStrategy={"maxSurge": "10"}),
                 {("spec.updateStrategy.maxSurge", INVALID)},
                 id="maxSurge '10' without % is refused"),
    pytest.param(alpha(updateStrategy={"type": "InPlaceOnly", "maxSurge": 1}),
                 {("spec.updateStrategy.maxSurge", FORBIDDEN)},
                 id="maxSurge 1 with InPlaceOnly is forbidden"),
    pytest.param(beta(updateStrategy={"type": "InPlaceOnly", "maxSurge": "10%"}),
                 {("spec.updateStrategy.rollingUpdate.maxSurge", FORBIDDEN)},
                 id="v1beta1 maxSurge 10% with podUpdatePolicy InPlaceOnly is forbidden"),
    pytest.param(alpha(updateStrategy={"type": "InPlaceOnly", "maxSurge": 0}), set(),
                 id="maxSurge 0 with InPlaceOnly is fine"),
    pytest.param(alpha(updateStrategy={"maxUnavailable": 0, "maxSurge": 0}),
                 {("spec.updateStrategy.maxUnavailable", INVALID)},
                 id="maxUnavailable 0 and maxSurge 0 would never update"),
    pytest.param(alpha(replicas=0, updateStrategy={"maxUnavailable": 0}), set(),
                 id="both < 1 is fine with 0 replicas"),
    pytest.param(alpha(updateStrategy={"maxUnavailable": "0%", "maxSurge": "1%"}), set(),
                 id="maxSurge 1% of 3 rounds up to 1, so the update can proceed"),
    pytest.param(alpha(updateStrategy={"type": "Sideways"}),
                 {("spec.updateStrategy.type", NOT_SUPPORTED)},
                 id="v1alpha1 type Sideways is not supported"),
    pytest.param(alpha(replicas="3"), {("spec.replicas", "FieldValueTypeInvalid")},
                 id="replicas '3' has the wrong type"),
    pytest.param(alpha(updateStrategy={"priorityStrategy": {
        "weightPriority": [{"weight": 0, "matchSelector": {"matchLabels": {"a": "b"}}},
                           {"weight": 50, "matchSelector": {}}],
        "orderPriority": [{"orderedKey": "rank"}]}}),
                 {("spec.updateStrategy.priorityStrategy", FORBIDDEN),
                  ("spec.updateStrategy.priorityStrategy.weightPriority[0].weight", INVALID),
                  ("spec.updateStrategy.priorityStrategy.weightPriority[1].matchSelector",
                   REQUIRED)},
                 id="priority weight 0, empty selector and both kinds are refused"),
    pytest.param(alpha(updateStrategy={"priorityStrategy": {
        "orderPriority": [{"orderedKey": ""}]}}),
                 {("spec.updateStrategy.priorityStrategy.orderPriority[0].orderedKey",
                   REQUIRED)},
                 id="an empty orderedKey is required"),
    pytest.param(alpha(updateStrategy={"scatterStrategy": [
        {"key": "zone", "value": "a"}, {"key": "zone", "value": "a"}, {"key": "", "value": ""}]}),
                 {("spec.updateStrategy.scatterStrategy[1]", DUPLICATE),
                  ("spec.updateStrategy.scatterStrategy[2].key", REQUIRED),
                  ("spec.updateStrategy.scatterStrategy[2].value", REQUIRED)},
                 id="scatter terms twice and empty key/value are refused"),
    pytest.param(alpha(updateStrategy={"inPlaceUpdateStrategy": {"gracePeriodSeconds": -1}}),
                 {("spec.updateStrategy.inPlaceUpdateStrategy.gracePeriodSeconds", INVALID)},
                 id="gracePeriodSeconds -1 is refused"),
    pytest.param(alpha(lifecycle={"preDelete": {
        "labelsHandler": {"bad key!": "x", "ok": "bad value!"},
        "finalizersHandler": ["example.com/hold", "example.com/hold"]}}),
                 {("spec.lifecycle.preDelete.labelsHandler", INVALID),
                  ("spec.lifecycle.preDelete.labelsHandler[ok]", INVALID),
                  ("spec.lifecycle.preDelete.finalizersHandler[1]", DUPLICATE)},
                 id="lifecycle hook with bad label key/value and a duplicate finalizer"),
    pytest.param(alpha(lifecycle={"inPlaceUpdate": {"labelsHandler": {"hold": "true"},
                                                    "markPodNotReady": True}}), set(),
                 id="a well-formed inPlaceUpdate hook is fine"),
]


@pytest.mark.parametrize(("obj", "expected"), CASES)
def test_validate(obj: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    before = copy.deepcopy(obj)
    errors = validate(obj)
    assert found(errors) == expected, errors
    assert obj == before
    for error in errors:
        assert error.message and error.as_cause()["field"] == error.field


UPDATES: list[Any] = [
    pytest.param(alpha(), alpha(replicas=9), set(), id="scaling 3 -> 9 is an allowed update"),
    pytest.param(alpha(), alpha(selector={"matchLabels": {"app": "web", "v": "2"}},
                                template=pod_spec() | {"metadata": {"labels": {
                                    "app": "web", "v": "2"}}}),
                 {("spec.selector", FORBIDDEN)}, id="changing the selector is forbidden"),
    pytest.param(alpha(), beta(), set(), id="the same object in the other version is no change"),
    pytest.param(alpha(updateStrategy={"type": "InPlaceOnly"}),
                 alpha(updateStrategy={"type": "InPlaceOnly"}, template={
                     "metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
                     "spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}),
                 set(), id="InPlaceOnly: new image and metadata update in place"),
    pytest.param(alpha(updateStrategy={"type": "InPlaceOnly"}),
                 alpha(updateStrategy={"type": "InPlaceOnly"}, template=pod_spec(
                     hostNetwork=True)),
                 {("spec.template.spec", FORBIDDEN)},
                 id="InPlaceOnly: adding hostNetwork cannot update in place"),
    pytest.param(alpha(), alpha(template=pod_spec(hostNetwork=True)), set(),
                 id="ReCreate: any template change is allowed"),
]


@pytest.mark.parametrize(("old", "new", "expected"), UPDATES)
def test_validate_update(old: dict[str, Any], new: dict[str, Any],
                         expected: set[tuple[str, str]]) -> None:
    assert found(validate(new, old)) == expected


def test_foreign_api_version_is_reported() -> None:
    errors = validate({"apiVersion": "apps/v1", "kind": "CloneSet", "spec": {}})
    assert found(errors) == {("apiVersion", NOT_SUPPORTED)}


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("cloneset-0*.yaml")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not corpus_files(), reason="OpenKruise docs corpus not present")
@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_manifests_are_valid(path: Path) -> None:
    assert validate(yaml.safe_load(path.read_text())) == []
