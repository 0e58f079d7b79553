"""convert: v1alpha1 <-> v1beta1 keeps meaning, and round trips give back the very same object."""

from __future__ import annotations

import copy
import dataclasses
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from mizzen.api.cloneset.conversion import (
    IMAGE_PREDOWNLOAD_ANNOTATIONS,
    ORIGINAL_ANNOTATION,
    convert,
)
from mizzen.api.cloneset.parse import EXCLUDE_PREPARING_DELETE_LABEL, parse_spec
from mizzen.api.cloneset.types import CloneSetSpec, PodUpdatePolicy, UpdateType

CORPUS = Path("/work/shared/corpus/openkruise-docs")
OTHER = {"v1alpha1": "v1beta1", "v1beta1": "v1alpha1"}
TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}
STATUS = {"observedGeneration": 3, "replicas": 4, "readyReplicas": 3, "availableReplicas": 3,
          "updatedReplicas": 2, "updatedReadyReplicas": 2, "updatedAvailableReplicas": 2,
          "expectedUpdatedReplicas": 4, "updateRevision": "web-2", "currentRevision": "web-1",
          "collisionCount": 1, "labelSelector": "app=web",
          "conditions": [{"type": "FailedScale", "status": "False", "reason": "r", "message": "m",
                          "lastTransitionTime": "2024-01-01T00:00:00Z",
                          "lastUpdateTime": "2024-01-01T00:00:00Z"}]}


def obj(version: str, spec: dict[str, Any], *, labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web", "namespace": "default", "uid": "u-1"}
    if labels is not None:
        meta["labels"] = labels
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": f"apps.kruise.io/{version}", "kind": "CloneSet", "metadata": meta,
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE, **spec}}


# --- the mapping, case by case ------------------------------------------------------

ALPHA_TO_BETA: list[Any] = [
    pytest.param({}, {"scaleStrategy": {"enablePVCReuse": True}},
                 id="no strategies -> PVC reuse written out (v1beta1 defaults it off)"),
    pytest.param({"scaleStrategy": {"disablePVCReuse": True, "podsToDelete": ["a"]}},
                 {"scaleStrategy": {"enablePVCReuse": False, "podsToDelete": ["a"]}},
                 id="disablePVCReuse true -> enablePVCReuse false"),
    pytest.param({"updateStrategy": {"type": "ReCreate", "partition": 0,
                                     "maxUnavailable": "20%", "maxSurge": 0}},
                 {"scaleStrategy": {"enablePVCReuse": True},
                  "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {
                      "podUpdatePolicy": "ReCreate", "partition": 0,
                      "maxUnavailable": "20%", "maxSurge": 0}}},
                 id="defaulted ReCreate -> RollingUpdate + podUpdatePolicy ReCreate"),
    pytest.param({"updateStrategy": {"type": "InPlaceOnly", "paused": True,
                                     "scatterStrategy": [{"key": "z", "value": "1"}]}},
                 {"scaleStrategy": {"enablePVCReuse": True},
                  "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {
                      "podUpdatePolicy": "InPlaceOnly", "paused": True,
                      "scatterStrategy": [{"key": "z", "value": "1"}]}}},
                 id="InPlaceOnly + knobs -> knobs under rollingUpdate"),
    pytest.param({"updateStrategy": {"type": "OnDelete", "partition": 2}},
                 {"scaleStrategy": {"enablePVCReuse": True},
                  "updateStrategy": {"type": "OnDelete", "rollingUpdate": {
                      "partition": 2, "podUpdatePolicy": "ReCreate"}}},
                 id="OnDelete -> OnDelete, knobs kept under rollingUpdate"),
]


@pytest.mark.parametrize(("alpha", "beta"), ALPHA_TO_BETA)
def test_mapping_v1alpha1_to_v1beta1(alpha: dict[str, Any], beta: dict[str, Any]) -> None:
    source = obj("v1alpha1", alpha)
    converted = convert(source, "v1beta1")
    assert converted == obj("v1beta1", beta)
    assert convert(converted, "v1alpha1") == source


def test_exclude_preparing_delete_label_becomes_a_field_and_back() -> None:
    source = obj("v1alpha1", {}, labels={EXCLUDE_PREPARING_DELETE_LABEL: "true", "app": "web"})
    beta = convert(source, "v1beta1")
    assert beta["spec"]["scaleStrategy"]["excludePreparingDelete"] is True
    assert beta["metadata"]["labels"] == {"app": "web"}
    assert convert(beta, "v1alpha1") == source


def test_image_predownload_annotations_become_fields_and_back() -> None:
    keys = list(IMAGE_PREDOWNLOAD_ANNOTATIONS)
    source = obj("v1alpha1", {"updateStrategy": {"type": "InPlaceIfPossible"}},
                 annotations={keys[0]: "50%", keys[1]: "300", keys[2]: "2", "other": "x"})
    beta = convert(source, "v1beta1")
    assert beta["spec"]["updateStrategy"]["rollingUpdate"]["inPlaceUpdateStrategy"] == {
        "imagePreDownloadParallelism": "50%", "imagePreDownloadTimeoutSeconds": 300,
        "imagePreDownloadMinUpdatedReadyPods": 2}
    assert beta["metadata"]["annotations"] == {"other": "x"}
    assert convert(beta, "v1alpha1") == source


def test_v1beta1_on_delete_with_a_policy_round_trips_through_the_note() -> None:
    beta = obj("v1beta1", {"updateStrategy": {"type": "OnDelete", "rollingUpdate": {
        "podUpdatePolicy": "InPlaceIfPossible", "partition": 1}}})
    alpha = convert(beta, "v1alpha1")
    assert alpha["spec"]["updateStrategy"] == {"type": "OnDelete", "partition": 1}
    assert ORIGINAL_ANNOTATION in alpha["metadata"]["annotations"]
    assert convert(alpha, "v1beta1") == beta


def test_a_stale_note_is_ignored_and_the_edit_wins() -> None:
    beta = obj("v1beta1", {"updateStrategy": {"type": "OnDelete", "rollingUpdate": {
        "podUpdatePolicy": "InPlaceIfPossible", "partition": 1}}})
    alpha = convert(beta, "v1alpha1")
    alpha["spec"]["updateStrategy"] = {"type": "InPlaceOnly", "partition": 1}
    back = convert(alpha, "v1beta1")
    assert back["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {
        "podUpdatePolicy": "InPlaceOnly", "partition": 1}}
    assert ORIGINAL_ANNOTATION not in back["metadata"].get("annotations", {})


def test_status_is_copied_unchanged() -> None:
    source = dict(obj("v1alpha1", {}), status=copy.deepcopy(STATUS))
    assert convert(source, "v1beta1")["status"] == STATUS


def test_same_version_is_a_copy_and_bad_targets_are_refused() -> None:
    source = obj("v1beta1", {"replicas": 2})
    same = convert(source, "v1beta1")
    assert same == source and same is not source
    with pytest.raises(ValueError, match="v2"):
        convert(source, "v2")
    with pytest.raises(ValueError, match="apiVersion"):
        convert({"apiVersion": "apps/v1", "kind": "CloneSet"}, "v1beta1")


# --- generated objects: exact round trips and kept meaning ---------------------------

def _maybe(rng: random.Random, value: Any) -> Any:
    return value if rng.random() < 0.5 else None


def _int_or_percent(rng: random.Random) -> int | str:
    values: list[int | str] = [0, 1, 3, "0%", "20%", "50%", "100%"]
    return rng.choice(values)


def _rolling(rng: random.Random, version: str, valid: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "partition": _maybe(rng, _int_or_percent(rng)),
        "maxUnavailable": _maybe(rng, _int_or_percent(rng)),
        "maxSurge": _maybe(rng, _int_or_percent(rng)),
        "paused": _maybe(rng, rng.random() < 0.5),
        "priorityStrategy": _maybe(rng, rng.choice([
            {"weightPriority": [{"weight": 50, "matchSelector": {"matchLabels": {"a": "b"}}}]},
            {"orderPriority": [{"orderedKey": "rank"}]}])),
        "scatterStrategy": _maybe(rng, [{"key": "zone", "value": "z1"}]),
    }
    in_place = {"gracePeriodSeconds": _maybe(rng, rng.choice([0, 5]))}
    if version == "v1beta1":
        in_place.update({"imagePreDownloadParallelism": _maybe(rng, rng.choice([2, "10%"])),
                         "imagePreDownloadTimeoutSeconds": _maybe(rng, 600),
                         "imagePreDownloadMinUpdatedReadyPods": _maybe(rng, 1)})
    in_place = {k: v for k, v in in_place.items() if v is not None}
    if in_place or rng.random() < 0.2:
        fields["inPlaceUpdateStrategy"] = in_place
    if not valid and rng.random() < 0.3:
        fields["unknownKnob"] = "kept"
    return {k: v for k, v in fields.items() if v is not None}


def generate(rng: random.Random, version: str, *, valid: bool = True) -> dict[str, Any]:
    """A random CloneSet: every optional part present or absent, explicit or defaulted."""
    policies = [p.value for p in PodUpdatePolicy] + ([] if valid else ["Bogus"])
    spec: dict[str, Any] = {k: v for k, v in {
        "replicas": _maybe(rng, rng.randint(0, 9)),
        "revisionHistoryLimit": _maybe(rng, 10),
        "minReadySeconds": _maybe(rng, 3),
        "progressDeadlineSeconds": _maybe(rng, 600),
        "volumeClaimTemplates": _maybe(rng, [{"metadata": {"name": "data"}}]),
        "lifecycle": _maybe(rng, {"preDelete": {"finalizersHandler": ["f/x"]}}),
    }.items() if v is not None}
    scale: dict[str, Any] = {k: v for k, v in {
        "podsToDelete": _maybe(rng, ["web-abcde"]),
        "maxUnavailable": _maybe(rng, _int_or_percent(rng)),
    }.items() if v is not None}
    labels: dict[str, str] | None = _maybe(rng, {"app": "web"})
    annotations: dict[str, str] | None = _maybe(rng, {"note": "x"})
    if version == "v1alpha1":
        if rng.random() < 0.5:
            scale["disablePVCReuse"] = rng.random() < 0.5
        if rng.random() < 0.3:
            labels = {**(labels or {}), EXCLUDE_PREPARING_DELETE_LABEL: "true"}
        if rng.random() < 0.3:
            key = rng.choice(list(IMAGE_PREDOWNLOAD_ANNOTATIONS))
            annotations = {**(annotations or {}), key: rng.choice(["3", "25%"])
                           if key.endswith("parallelism") else "120"}
        strategy = _rolling(rng, version, valid)
        if rng.random() < 0.8:
            strategy["type"] = rng.choice(policies + ["OnDelete"])
    else:
        if rng.random() < 0.5:
            scale["enablePVCReuse"] = rng.random() < 0.5
        if rng.random() < 0.4:
            scale["excludePreparingDelete"] = rng.random() < 0.5
        if not valid and rng.random() < 0.2:
            labels = {**(labels or {}), EXCLUDE_PREPARING_DELETE_LABEL: "true"}
        rolling = _rolling(rng, version, valid)
        if rng.random() < 0.7:
            rolling["podUpdatePolicy"] = rng.choice(policies)
        strategy = {}
        if rng.random() < 0.8:
            strategy["type"] = rng.choice(["RollingUpdate", "OnDelete"])
        if rolling or rng.random() < 0.2:
            strategy["rollingUpdate"] = rolling
    if scale or rng.random() < 0.3:
        spec["scaleStrategy"] = scale
    if strategy or rng.random() < 0.3:
        spec["updateStrategy"] = strategy
    out = obj(version, spec, labels=labels, annotations=annotations)
    if rng.random() < 0.3:
        out["status"] = copy.deepcopy(STATUS)
    return out


def meaning(spec: CloneSetSpec) -> CloneSetSpec:
    # v1alpha1 cannot say how OnDelete pods would be updated; it means nothing then.
    if spec.update_type is UpdateType.ON_DELETE:
        return dataclasses.replace(spec, pod_update_policy=PodUpdatePolicy.RECREATE)
    return spec


@pytest.mark.parametrize("version", ["v1alpha1", "v1beta1"])
@pytest.mark.parametrize("valid", [True, False], ids=["valid", "odd"])
def test_generated_objects_round_trip_exactly(version: str, valid: bool) -> None:
    rng = random.Random(f"{version}-{valid}")
    for _ in range(400):
        source = generate(rng, version, valid=valid)
        before = copy.deepcopy(source)
        there = convert(source, OTHER[version])
        assert source == before, "convert must not change its argument"
        assert there["apiVersion"] == f"apps.kruise.io/{OTHER[version]}"
        assert convert(there, version) == source
        # Twice around is as exact as once.
        assert convert(convert(convert(there, version), OTHER[version]), version) == source


@pytest.mark.parametrize("version", ["v1alpha1", "v1beta1"])
def test_generated_objects_keep_their_meaning(version: str) -> None:
    rng = random.Random(f"meaning-{version}")
    for _ in range(400):
        source = generate(rng, version)
        converted = convert(source, OTHER[version])
        assert meaning(parse_spec(converted)) == meaning(parse_spec(source)), source


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("cloneset-0*.yaml")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not corpus_files(), reason="OpenKruise docs corpus not present")
@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_manifests_round_trip(path: Path) -> None:
    source = yaml.safe_load(path.read_text())
    version = source["apiVersion"].rpartition("/")[2]
    there = convert(source, OTHER[version])
    assert convert(there, version) == source
    assert parse_spec(there) == parse_spec(source)
    if version == "v1alpha1":
        # Only v1beta1's unset scaleStrategy (= no PVC reuse) needs the note.
        assert ORIGINAL_ANNOTATION not in there["metadata"].get("annotations", {})


DEFAULTED_ALPHA: dict[str, Any] = {"replicas": 1, "revisionHistoryLimit": 10, "updateStrategy": {
    "type": "ReCreate", "partition": 0, "maxUnavailable": "20%", "maxSurge": 0}}
DEFAULTED_BETA: dict[str, Any] = {"replicas": 1, "revisionHistoryLimit": 10,
                  "scaleStrategy": {"enablePVCReuse": False},
                  "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {
                      "podUpdatePolicy": "ReCreate", "partition": 0, "maxUnavailable": "20%",
                      "maxSurge": 0}}}


@pytest.mark.parametrize(("version", "spec"), [
    pytest.param("v1alpha1", DEFAULTED_ALPHA, id="v1alpha1 as the API server defaults it"),
    pytest.param("v1beta1", DEFAULTED_BETA, id="v1beta1 as the API server defaults it"),
    pytest.param("v1beta1", {**DEFAULTED_BETA, "updateStrategy": {
        "type": "OnDelete", "rollingUpdate": DEFAULTED_BETA["updateStrategy"]["rollingUpdate"]}},
                 id="v1beta1 OnDelete with the default ReCreate policy"),
])
def test_defaulted_objects_need_no_note(version: str, spec: dict[str, Any]) -> None:
    source = obj(version, spec)
    there = convert(source, OTHER[version])
    assert "annotations" not in there["metadata"]
    assert convert(there, version) == source
