"""diff_templates: which template changes an in-place update can take, as a table."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from mizzen.workloads.inplace import InPlaceChange, RefMetadata, diff_templates

Obj = dict[str, Any]


def template(*containers: Obj, labels: dict[str, str] | None = None,
             annotations: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"labels": dict(labels or {"app": "web"})}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"metadata": meta, "spec": {"containers": [dict(c) for c in containers or (
        {"name": "nginx", "image": "nginx:1.25"},)]}}


def res(cpu_req: str | None = None, cpu_lim: str | None = None, mem_req: str | None = None,
        mem_lim: str | None = None) -> Obj:
    out: Obj = {}
    for kind, name, value in (("requests", "cpu", cpu_req), ("limits", "cpu", cpu_lim),
                              ("requests", "memory", mem_req), ("limits", "memory", mem_lim)):
        if value is not None:
            out.setdefault(kind, {})[name] = value
    return out


NGINX: Obj = {"name": "nginx", "image": "nginx:1.25"}
SIDECAR: Obj = {"name": "sidecar", "image": "envoy:1.0"}
ENV_FROM_LABEL: Obj = {"name": "version", "valueFrom": {
    "fieldRef": {"fieldPath": "metadata.labels['version']"}}}


def edit(base: Obj, change: Callable[[Obj], object]) -> Obj:
    out = copy.deepcopy(base)
    change(out)
    return out


def containers(t: Obj) -> list[Obj]:
    return t["spec"]["containers"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Case:
    name: str
    old: Obj
    new: Obj
    # Expected change (None: recreate).
    change: InPlaceChange | None
    # Expected recreate reason.
    reason: str = ""
    options: dict[str, Any] = field(default_factory=dict)


BASE = template(NGINX)
TWO = template(NGINX, SIDECAR)
WITH_ENV = template({**NGINX, "env": [ENV_FROM_LABEL]}, labels={"app": "web", "version": "1"})
SIZED = template({**NGINX, "resources": res("100m", "200m", "64Mi", "128Mi")})
GUARANTEED = template({**NGINX, "resources": res("1", "1", "1Gi", "1Gi")})

CASES = [
    Case("nothing changed -> in place, empty change", BASE, copy.deepcopy(BASE),
         InPlaceChange()),
    Case("image only -> in place, one image", BASE,
         edit(BASE, lambda t: containers(t)[0].update(image="nginx:1.26")),
         InPlaceChange(images={"nginx": "nginx:1.26"})),
    Case("metadata only: label added, annotation changed, label removed -> merged",
         template(NGINX, labels={"app": "web", "old": "x"}, annotations={"a": "1"}),
         template(NGINX, labels={"app": "web", "tier": "front"}, annotations={"a": "2"}),
         InPlaceChange(labels={"tier": "front", "old": None}, annotations={"a": "2"})),
    Case("two containers, both images -> in place, both", TWO,
         edit(TWO, lambda t: [containers(t)[0].update(image="nginx:1.26"),
                              containers(t)[1].update(image="envoy:1.1")]),
         InPlaceChange(images={"nginx": "nginx:1.26", "sidecar": "envoy:1.1"})),
    Case("two containers, one image -> only that one", TWO,
         edit(TWO, lambda t: containers(t)[1].update(image="envoy:1.1")),
         InPlaceChange(images={"sidecar": "envoy:1.1"})),
    Case("env change -> recreate naming the container", BASE,
         edit(BASE, lambda t: containers(t)[0].update(env=[{"name": "A", "value": "1"}])),
         None, "spec.containers[nginx].env changed"),
    Case("image and env change -> recreate (env is not in-place)", BASE,
         edit(BASE, lambda t: containers(t)[0].update(image="nginx:1.26",
                                                      env=[{"name": "A", "value": "1"}])),
         None, "spec.containers[nginx].env changed"),
    Case("volumes change -> recreate naming spec.volumes", BASE,
         edit(BASE, lambda t: t["spec"].update(volumes=[{"name": "v", "emptyDir": {}}])),
         None, "spec.volumes changed"),
    Case("container added -> recreate", BASE, TWO, None,
         "spec.containers changed: [nginx] -> [nginx, sidecar] (added, removed or reordered)"),
    Case("containers reordered -> recreate", TWO, template(SIDECAR, NGINX), None,
         "spec.containers changed: [nginx, sidecar] -> [sidecar, nginx] "
         "(added, removed or reordered)"),
    Case("second container's ports change -> recreate naming it", TWO,
         edit(TWO, lambda t: containers(t)[1].update(ports=[{"containerPort": 80}])),
         None, "spec.containers[sidecar].ports changed"),
    Case("metadata.finalizers in the template -> recreate", BASE,
         edit(BASE, lambda t: t["metadata"].update(finalizers=["x"])),
         None, "metadata.finalizers changed"),
    Case("resources change, resize off (default) -> recreate", SIZED,
         edit(SIZED, lambda t: containers(t)[0].update(resources=res("200m", "400m", "64Mi",
                                                                     "128Mi"))),
         None, "spec.containers[nginx].resources changed (in-place resize is off)"),
    Case("resources, same QoS (Burstable), resize on -> in place", SIZED,
         edit(SIZED, lambda t: containers(t)[0].update(resources=res("200m", "400m", "64Mi",
                                                                     "128Mi"))),
         InPlaceChange(resources={"nginx": res("200m", "400m", "64Mi", "128Mi")}),
         options={"vertical_scaling": True}),
    Case("resources, Burstable -> Guaranteed, resize on -> recreate", SIZED,
         edit(SIZED, lambda t: containers(t)[0].update(resources=res("1", "1", "1Gi", "1Gi"))),
         None, "spec.containers[nginx].resources changed the pod's QoS class "
               "(Burstable -> Guaranteed)", {"vertical_scaling": True}),
    Case("resources, Guaranteed stays Guaranteed ('2' == '2000m'), resize on -> in place",
         GUARANTEED,
         edit(GUARANTEED, lambda t: containers(t)[0].update(
             resources=res("2", "2000m", "2Gi", "2Gi"))),
         InPlaceChange(resources={"nginx": res("2", "2000m", "2Gi", "2Gi")}),
         options={"vertical_scaling": True}),
    Case("resources, a GPU limit changes, resize on -> recreate",
         template({**NGINX, "resources": {"limits": {"nvidia.com/gpu": "1"}}}),
         template({**NGINX, "resources": {"limits": {"nvidia.com/gpu": "2"}}}),
         None, "spec.containers[nginx].resources.limits.nvidia.com/gpu changed "
               "(only cpu and memory resize in place)", {"vertical_scaling": True}),
    Case("image + the label its env reads -> in place, label moves with the container",
         WITH_ENV,
         edit(WITH_ENV, lambda t: [containers(t)[0].update(image="nginx:1.26"),
                                   t["metadata"]["labels"].update(version="2")]),
         InPlaceChange(images={"nginx": "nginx:1.26"},
                       env_metadata={"nginx": RefMetadata(labels={"version": "2"})})),
    Case("only the label an env reads -> recreate (nothing would restart it)", WITH_ENV,
         edit(WITH_ENV, lambda t: t["metadata"]["labels"].update(version="2")),
         None, "spec.containers[nginx].env reads metadata.labels['version'], which changed; "
               "without a new image nothing restarts the container in place"),
    Case("a label no env reads, beside an env-reading container -> plain metadata", WITH_ENV,
         edit(WITH_ENV, lambda t: t["metadata"]["labels"].update(tier="front")),
         InPlaceChange(labels={"tier": "front"})),
    Case("empty env list vs no env -> no difference", BASE,
         edit(BASE, lambda t: containers(t)[0].update(env=[])), InPlaceChange()),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_diff_templates(case: Case) -> None:
    diff = diff_templates(case.old, case.new, **case.options)
    assert diff.change == case.change
    assert diff.in_place is (case.change is not None)
    assert diff.reason == case.reason


def test_change_lists_touched_containers_and_emptiness() -> None:
    change = InPlaceChange(images={"a": "x"}, resources={"b": {}},
                           env_metadata={"a": RefMetadata(labels={"k": "v"})})
    assert change.containers == frozenset({"a", "b"})
    assert not change.empty and InPlaceChange().empty
    assert InPlaceChange(labels={"k": None}).containers == frozenset()


def test_inputs_are_not_modified() -> None:
    old, new = copy.deepcopy(WITH_ENV), edit(WITH_ENV, lambda t: [
        containers(t)[0].update(image="nginx:1.26"), t["metadata"]["labels"].update(version="2")])
    frozen_old, frozen_new = copy.deepcopy(old), copy.deepcopy(new)
    diff_templates(old, new)
    assert (old, new) == (frozen_old, frozen_new)
