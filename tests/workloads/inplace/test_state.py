"""The in-place update annotations: upstream's JSON keys, round trips, malformed input."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from mizzen.api.kruise import INPLACE_UPDATE_GRACE, INPLACE_UPDATE_STATE
from mizzen.workloads.inplace import (
    ContainerBatch,
    ContainerRecord,
    InPlaceUpdateState,
    PendingSpec,
    RefMetadata,
    StateError,
    read_grace,
    read_state,
)

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
T1 = datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC)

FULL = InPlaceUpdateState(
    revision="web-6d8f9c7b5",
    update_timestamp=T0,
    last_container_statuses={"app": ContainerRecord("docker.io/library/nginx@sha256:aa"),
                             "side": ContainerRecord("", {"limits": {"cpu": "1"}})},
    update_env_from_metadata=True,
    update_images=True,
    update_resources=True,
    next_container_images={"proxy": "envoy:1.1"},
    next_container_ref_metadata={"proxy": RefMetadata({"version": "2"}, {"note": "x"})},
    next_container_resources={"proxy": {"requests": {"memory": "1Gi"}}},
    pre_check_before_next=("app", "side"),
    container_batches_record=(ContainerBatch(T0, ("app", "side")),),
)


def test_state_serialises_with_upstream_keys() -> None:
    assert json.loads(FULL.to_json()) == {
        "revision": "web-6d8f9c7b5",
        "updateTimestamp": "2024-05-01T12:00:00Z",
        "lastContainerStatuses": {
            "app": {"imageID": "docker.io/library/nginx@sha256:aa"},
            "side": {"resources": {"limits": {"cpu": "1"}}}},
        "updateEnvFromMetadata": True,
        "updateImages": True,
        "updateResources": True,
        "verticalUpdateOnly": False,
        "nextContainerImages": {"proxy": "envoy:1.1"},
        "nextContainerRefMetadata": {"proxy": {"labels": {"version": "2"},
                                               "annotations": {"note": "x"}}},
        "nextContainerResources": {"proxy": {"requests": {"memory": "1Gi"}}},
        "preCheckBeforeNext": {"containersRequiredReady": ["app", "side"]},
        "containerBatchesRecord": [{"timestamp": "2024-05-01T12:00:00Z",
                                    "containers": ["app", "side"]}],
    }


def test_state_round_trips() -> None:
    assert InPlaceUpdateState.from_json(FULL.to_json()) == FULL
    minimal = InPlaceUpdateState("r1", T1)
    assert InPlaceUpdateState.from_json(minimal.to_json()) == minimal


def test_empty_fields_are_omitted_as_go_omitempty_does() -> None:
    assert json.loads(InPlaceUpdateState("r1", T0).to_json()) == {
        "revision": "r1", "updateTimestamp": "2024-05-01T12:00:00Z",
        "lastContainerStatuses": {}, "verticalUpdateOnly": False}


def test_an_upstream_written_annotation_is_read() -> None:
    # As kruise-manager writes it (older versions omit the newer keys).
    text = ('{"revision":"web-7c9d","updateTimestamp":"2024-05-01T12:00:00Z",'
            '"lastContainerStatuses":{"main":{"imageID":"docker-pullable://nginx@sha256:1"}}}')
    state = InPlaceUpdateState.from_json(text)
    assert state.revision == "web-7c9d" and state.update_timestamp == T0
    assert state.last_container_statuses == {
        "main": ContainerRecord("docker-pullable://nginx@sha256:1")}
    assert not state.has_next_batch and state.pre_check_before_next is None


def test_pending_spec_round_trips_with_a_base64_metadata_patch() -> None:
    spec = PendingSpec("web-7c9d", {"app": "nginx:1.26"},
                       {"app": RefMetadata({"version": "2"})}, {},
                       labels={"tier": "front", "old": None}, annotations={"a": "1"},
                       update_env_from_metadata=True, grace_seconds=30)
    raw = json.loads(spec.to_json())
    assert set(raw) == {"revision", "containerImages", "containerRefMetadata",
                        "metaDataPatch", "updateEnvFromMetadata", "graceSeconds"}
    assert json.loads(base64.b64decode(raw["metaDataPatch"])) == {
        "metadata": {"labels": {"tier": "front", "old": None}, "annotations": {"a": "1"}}}
    assert PendingSpec.from_json(spec.to_json()) == spec


def test_read_from_pod_annotations() -> None:
    pod = {"metadata": {"annotations": {INPLACE_UPDATE_STATE: FULL.to_json(),
                                        INPLACE_UPDATE_GRACE: PendingSpec("r").to_json()}}}
    assert read_state(pod) == FULL
    assert read_grace(pod) == PendingSpec("r")
    assert read_state({"metadata": {}}) is None and read_grace({}) is None


@pytest.mark.parametrize("text", [
    "not json",
    "[]",
    '{"revision":"r","updateTimestamp":"yesterday"}',
    '{"revision":"r","updateTimestamp":"2024-05-01T12:00:00Z","lastContainerStatuses":[]}',
], ids=["not JSON", "a list", "a bad time", "statuses as a list"])
def test_malformed_state_raises(text: str) -> None:
    with pytest.raises(StateError):
        InPlaceUpdateState.from_json(text)


def test_malformed_metadata_patch_raises() -> None:
    with pytest.raises(StateError):
        PendingSpec.from_json('{"revision":"r","metaDataPatch":"***"}')
