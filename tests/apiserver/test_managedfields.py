"""Tests for managedFields maintenance on non-apply writes (mizzen.apiserver.managedfields).

Rows are writes clients make (``kubectl create``, a controller's PUT, a status update,
``kubectl scale``); expectations follow kube-apiserver's field manager: an update always
forces, its entry gains what it changed and others lose it, identity metadata is never
owned, client-sent entries replace the stored ones only when valid.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from mizzen.apiserver.fieldpath import FieldSet, SchemaView
from mizzen.apiserver.fieldpath_elements import path_string
from mizzen.apiserver.fieldpath_views import SchemaViews
from mizzen.apiserver.managedfields import (
    ManagerKey,
    decode,
    reset_fields,
    set_managed_fields,
    update_managed_fields,
)
from mizzen.apiserver.schema import SchemaSet

Obj = dict[str, Any]
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def view() -> SchemaView:
    return SchemaViews(SchemaSet()).builtin("apps", "v1", "Deployment")


def created_deployment() -> Obj:
    """What ``kubectl create deployment web --image=nginx`` stores after defaulting."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "u1",
                     "creationTimestamp": "2024-05-01T12:00:00Z", "generation": 1,
                     "labels": {"app": "web"}},
        "spec": {
            "replicas": 1, "progressDeadlineSeconds": 600, "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"creationTimestamp": None, "labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "nginx", "image": "nginx", "resources": {},
                                    "imagePullPolicy": "Always",
                                    "terminationMessagePath": "/dev/termination-log",
                                    "terminationMessagePolicy": "File"}],
                    "dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
                    "schedulerName": "default-scheduler", "securityContext": {},
                    "terminationGracePeriodSeconds": 30,
                },
            },
        },
        "status": {},
    }


# Upstream's managedFields for kubectl create deployment (kubectl 1.32 against a real cluster).
KUBECTL_CREATE_FIELDS = {
    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
    "f:spec": {
        "f:progressDeadlineSeconds": {}, "f:replicas": {}, "f:revisionHistoryLimit": {},
        "f:selector": {},
        "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}},
                       "f:type": {}},
        "f:template": {
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:containers": {'k:{"name":"nginx"}': {
                    ".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {},
                    "f:resources": {}, "f:terminationMessagePath": {},
                    "f:terminationMessagePolicy": {}}},
                "f:dnsPolicy": {}, "f:restartPolicy": {}, "f:schedulerName": {},
                "f:securityContext": {}, "f:terminationGracePeriodSeconds": {},
            },
        },
    },
}


def write(live: Obj | None, new: Obj, manager: str, view: SchemaView, *,
          subresource: str = "", at: datetime = T0, ignored: FieldSet | None = None) -> Obj:
    new = copy.deepcopy(new)
    entries = update_managed_fields(live, new, manager=manager, api_version="apps/v1",
                                    subresource=subresource, now=at, view=view,
                                    ignored=ignored)
    set_managed_fields(new, entries)
    return new


def owners(obj: Obj) -> dict[str, list[str]]:
    """``manager[/subresource]`` → owned paths, from the stored entries."""
    out: dict[str, list[str]] = {}
    for key, own in decode(obj["metadata"].get("managedFields")).items():
        name = key.manager + (f"/{key.subresource}" if key.subresource else "")
        out[name] = [path_string(p) for p in own.fields.sorted()]
    return out


def test_kubectl_create_owns_what_it_sent_and_defaults_as_upstream(view: SchemaView) -> None:
    obj = write(None, created_deployment(), "kubectl-create", view)
    assert obj["metadata"]["managedFields"] == [{
        "manager": "kubectl-create", "operation": "Update", "apiVersion": "apps/v1",
        "time": "2024-05-01T12:00:00Z", "fieldsType": "FieldsV1",
        "fieldsV1": KUBECTL_CREATE_FIELDS}]
    # key order of the entry and of the trie is upstream's
    assert orjson.dumps(obj["metadata"]["managedFields"][0]).decode().startswith(
        '{"manager":"kubectl-create","operation":"Update","apiVersion":"apps/v1","time":')


def test_a_controller_changing_replicas_takes_them_over(view: SchemaView) -> None:
    created = write(None, created_deployment(), "kubectl-create", view)
    new = copy.deepcopy(created)
    new["spec"]["replicas"] = 3
    later = T0 + timedelta(minutes=5)
    updated = write(created, new, "hpa", view, at=later)
    assert owners(updated)["hpa"] == [".spec.replicas"]
    assert ".spec.replicas" not in owners(updated)["kubectl-create"]
    entries = updated["metadata"]["managedFields"]
    assert [(e["manager"], e["time"]) for e in entries] == [
        ("kubectl-create", "2024-05-01T12:00:00Z"), ("hpa", "2024-05-01T12:05:00Z")]


def test_an_update_that_changes_nothing_keeps_entries_and_times(view: SchemaView) -> None:
    created = write(None, created_deployment(), "kubectl-create", view)
    again = write(created, created, "other", view, at=T0 + timedelta(hours=1))
    assert again["metadata"]["managedFields"] == created["metadata"]["managedFields"]


def test_removing_a_field_removes_it_from_every_owner(view: SchemaView) -> None:
    created = write(None, created_deployment(), "kubectl-create", view)
    new = copy.deepcopy(created)
    del new["metadata"]["labels"]
    updated = write(created, new, "editor", view)
    assert not any(p.startswith(".metadata") for p in owners(updated)["kubectl-create"])
    assert "editor" not in owners(updated)  # it only removed: an empty entry is dropped


def test_client_resets_managed_fields_with_an_empty_list(view: SchemaView) -> None:
    created = write(None, created_deployment(), "kubectl-create", view)
    new = copy.deepcopy(created)
    new["metadata"]["managedFields"] = []
    new["spec"]["replicas"] = 2
    reset = write(created, new, "kubectl-edit", view)
    assert "managedFields" not in reset["metadata"]
    # ... and an untracked object stays untracked on later updates
    new = copy.deepcopy(reset)
    new["spec"]["replicas"] = 4
    assert "managedFields" not in write(reset, new, "kubectl-edit", view)["metadata"]


def test_client_sent_entries_replace_only_when_valid(view: SchemaView) -> None:
    created = write(None, created_deployment(), "kubectl-create", view)
    mine = [{"manager": "importer", "operation": "Update", "apiVersion": "apps/v1",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
    new = copy.deepcopy(created)
    new["metadata"]["managedFields"] = mine
    assert owners(write(created, new, "x", view)) == {"importer": [".spec.replicas"]}
    new["metadata"]["managedFields"] = [{**mine[0], "fieldsType": "FieldsV2"}]
    assert list(owners(write(created, new, "x", view))) == ["kubectl-create"]


def test_status_writes_are_tracked_with_subresource_status(view: SchemaView) -> None:
    created = write(None, created_deployment(), "kubectl-create", view)
    new = copy.deepcopy(created)
    new["status"] = {"replicas": 1, "observedGeneration": 1}
    new["metadata"]["managedFields"] = []  # ignored on a subresource
    updated = write(created, new, "kube-controller-manager", view, subresource="status")
    assert owners(updated)["kube-controller-manager/status"] == [
        ".status.observedGeneration", ".status.replicas"]
    entry, = (e for e in updated["metadata"]["managedFields"]
              if e["manager"] == "kube-controller-manager")
    assert entry["subresource"] == "status" and list(entry)[-1] == "subresource"


def test_main_resource_writes_never_own_status(view: SchemaView) -> None:
    new = created_deployment()
    new["status"] = {"replicas": 5}
    obj = write(None, new, "kubectl-create", view, ignored=reset_fields("", True))
    assert not any(p.startswith(".status") for p in owners(obj)["kubectl-create"])


def test_kubectl_scale_owns_replicas_through_the_scale_subresource(view: SchemaView) -> None:
    created = write(None, created_deployment(), "kubectl-create", view)
    new = copy.deepcopy(created)
    new["spec"]["replicas"] = 5
    scaled = write(created, new, "kubectl", view, subresource="scale")
    assert owners(scaled)["kubectl/scale"] == [".spec.replicas"]
    key = ManagerKey("kubectl", "Update", "apps/v1", "scale")
    assert key.describe() == '"kubectl" with subresource "scale" using apps/v1'
    assert key.identifier() == ('{"manager":"kubectl","operation":"Update",'
                                '"apiVersion":"apps/v1","subresource":"scale"}')


def test_more_than_ten_updaters_fold_into_ancient_changes(view: SchemaView) -> None:
    obj = write(None, created_deployment(), "kubectl-create", view)
    for i in range(11):
        new = copy.deepcopy(obj)
        new["metadata"]["labels"][f"l{i}"] = "x"
        obj = write(obj, new, f"ctl-{i}", view, at=T0 + timedelta(minutes=i + 1))
    names = [e["manager"] for e in obj["metadata"]["managedFields"]]
    assert len(names) == 10 and names[0] == "ancient-changes"
    assert "kubectl-create" not in names and "ctl-0" not in names
    assert ".metadata.labels.l0" in owners(obj)["ancient-changes"]


@pytest.mark.parametrize("entries", [
    "nope", [{"operation": "Patch", "apiVersion": "v1", "fieldsType": "FieldsV1"}],
    [{"operation": "Update", "fieldsType": "FieldsV1"}],
    [{"operation": "Update", "apiVersion": "v1"}],
    [{"operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": []}],
    [{"operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1", "time": "soon"}],
])
def test_invalid_entries_are_refused(entries: Any) -> None:
    with pytest.raises(ValueError):
        decode(entries)


def test_apply_operation_is_not_an_update(view: SchemaView) -> None:
    with pytest.raises(ValueError):
        update_managed_fields(None, {}, manager="m", operation="Apply", api_version="v1",
                              now=T0, view=view)
