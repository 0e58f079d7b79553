"""Tests for server-side apply (mizzen.apiserver.apply).

Each scenario is a table of user steps (``kubectl apply --server-side`` by one manager,
``kubectl scale``, a controller's update, ...) run in order against one object; a step
checks the object's value and owners afterwards, or the error it fails with.  The
expectations are worked out from structured-merge-diff's ``merge.Updater`` semantics
and kube-apiserver's messages.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from mizzen.apiserver.apply import LAST_APPLIED, apply_config
from mizzen.apiserver.errors import ApiError
from mizzen.apiserver.fieldpath import FieldSet, SchemaView
from mizzen.apiserver.fieldpath_elements import path_string
from mizzen.apiserver.fieldpath_views import SchemaViews
from mizzen.apiserver.managedfields import (
    decode,
    reset_fields,
    set_managed_fields,
    update_managed_fields,
)
from mizzen.apiserver.schema import SchemaSet

Obj = dict[str, Any]
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def views() -> SchemaViews:
    return SchemaViews(SchemaSet())


def deployment(**spec: Any) -> Obj:
    """An apply configuration for Deployment ``web``; ``spec`` keys override the template."""
    containers = spec.pop("containers", [{"name": "web", "image": "nginx:1.25"}])
    pod: Obj = {"containers": containers}
    for k in ("tolerations",):
        if k in spec:
            pod[k] = spec.pop(k)
    meta = {"name": "web", **spec.pop("meta", {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {**spec, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod}}}


@dataclass
class World:
    """One object and the clock, changed by the steps."""

    view: SchemaView
    obj: Obj | None = None
    now: datetime = T0
    error: ApiError | None = None
    kind: str = "Deployment"
    api_version: str = "apps/v1"

    def tick(self) -> datetime:
        self.now += timedelta(seconds=10)
        return self.now

    def apply(self, manager: str, config: Obj, force: bool = False,
              subresource: str = "") -> None:
        self.obj = apply_config(self.obj, copy.deepcopy(config), manager=manager,
                                api_version=self.api_version, force=force, view=self.view,
                                now=self.tick(), kind=self.kind, subresource=subresource,
                                ignored=reset_fields(subresource, True, config))

    def update(self, manager: str, change: Callable[[Obj], None],
               subresource: str = "") -> None:
        live = self.obj
        new = copy.deepcopy(live) if live is not None else {}
        change(new)
        entries = update_managed_fields(live, new, manager=manager,
                                        api_version=self.api_version,
                                        subresource=subresource, now=self.tick(),
                                        view=self.view)
        set_managed_fields(new, entries)
        self.obj = new

    def get(self, dotted: str) -> Any:
        cur: Any = self.obj
        for part in dotted.split("."):
            cur = cur[int(part)] if isinstance(cur, list) else cur.get(part)
            if cur is None:
                return None
        return cur

    def owners(self, path: str) -> set[str]:
        assert self.obj is not None
        found = set()
        for key, own in decode(self.obj["metadata"].get("managedFields")).items():
            if any(path_string(p) == path for p in own.fields.paths):
                found.add(key.manager + ("/" + key.subresource if key.subresource else ""))
        return found


Action = Callable[[World], None]
Check = Callable[[World], None]


@dataclass
class Step:
    name: str
    do: Action
    check: Check = field(default=lambda w: None)
    fails: str = ""  # the start of the error message the step must fail with


def apply(manager: str, config: Obj, force: bool = False) -> Action:
    return lambda w: w.apply(manager, config, force)


def owned(path: str, *managers: str) -> Check:
    def check(w: World) -> None:
        assert w.owners(path) == set(managers), f"owners of {path}"
    return check


def value(path: str, expected: Any) -> Check:
    def check(w: World) -> None:
        assert w.get(path) == expected, f"value of {path}"
    return check


def both(*checks: Check) -> Check:
    def check(w: World) -> None:
        for c in checks:
            c(w)
    return check


def set_path(dotted: str, v: Any) -> Callable[[Obj], None]:
    def change(obj: Obj) -> None:
        *parents, last = dotted.split(".")
        cur: Any = obj
        for p in parents:
            cur = cur[int(p)] if isinstance(cur, list) else cur.setdefault(p, {})
        cur[last] = v
    return change


CONTAINERS = ".spec.template.spec.containers"
TOLERATIONS = ".spec.template.spec.tolerations"
T1 = {"key": "a", "operator": "Exists"}
T2 = {"key": "b", "operator": "Exists"}


def created_by_kubectl_create(w: World) -> None:
    obj = deployment(replicas=1)
    obj["metadata"]["namespace"] = "default"
    w.update("kubectl-create", lambda new: new.update(obj))


def migrate_client_side_entry(w: World) -> None:
    """What kubectl's ``csaupgrade`` does after its first server-side apply."""
    def change(obj: Obj) -> None:
        entries = obj["metadata"]["managedFields"]
        csa = next(e for e in entries if e["manager"] == "kubectl-client-side-apply")
        ssa = next(e for e in entries if e["manager"] == "kubectl")
        union = FieldSet.from_fields_v1(csa["fieldsV1"]) | \
            FieldSet.from_fields_v1(ssa["fieldsV1"])
        ssa["fieldsV1"] = union.to_fields_v1()
        entries.remove(csa)
    w.update("kubectl", change)


SCENARIOS: dict[str, list[Step]] = {
    "shared owners": [
        Step("A applies replicas 3", apply("a", deployment(replicas=3)),
             owned(".spec.replicas", "a")),
        Step("B applies replicas 3 too: no conflict, both own it",
             apply("b", deployment(replicas=3)), owned(".spec.replicas", "a", "b")),
        Step("A stops applying replicas: the field stays, B owns it",
             apply("a", deployment()),
             both(value("spec.replicas", 3), owned(".spec.replicas", "b"))),
    ],
    "force takes ownership": [
        Step("A applies replicas 3", apply("a", deployment(replicas=3))),
        Step("B applies replicas 5: conflict", apply("b", deployment(replicas=5)),
             fails='Apply failed with 1 conflict: conflict with "a": .spec.replicas'),
        Step("B applies replicas 5 with --force-conflicts",
             apply("b", deployment(replicas=5), force=True),
             both(value("spec.replicas", 5), owned(".spec.replicas", "b"))),
        Step("A re-applies 3 and now conflicts with B", apply("a", deployment(replicas=3)),
             fails='Apply failed with 1 conflict: conflict with "b": .spec.replicas'),
    ],
    "removing a field owned by two managers": [
        Step("A applies label tier", apply("a", deployment(meta={"labels": {"tier": "x"}}))),
        Step("B applies the same label", apply("b", deployment(meta={"labels": {"tier": "x"}})),
             owned(".metadata.labels.tier", "a", "b")),
        Step("A stops applying it: it stays", apply("a", deployment()),
             both(value("metadata.labels.tier", "x"), owned(".metadata.labels.tier", "b"))),
        Step("B stops applying it too: it is removed", apply("b", deployment()),
             value("metadata.labels", None)),
    ],
    "removing a field owned only by the applier": [
        Step("A applies minReadySeconds", apply("a", deployment(minReadySeconds=5))),
        Step("A applies without it: removed", apply("a", deployment()),
             value("spec.minReadySeconds", None)),
    ],
    "associative list by key": [
        Step("A applies container a", apply("a", deployment(containers=[
            {"name": "a", "image": "1"}]))),
        Step("B applies container b", apply("b", deployment(containers=[
            {"name": "b", "image": "2"}])),
             both(owned(CONTAINERS + '[name="a"]', "a"), owned(CONTAINERS + '[name="b"]', "b"),
                  value("spec.template.spec.containers",
                        [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]))),
        Step("A applies container c instead of a: only a goes", apply("a", deployment(
            containers=[{"name": "c", "image": "3"}])),
             value("spec.template.spec.containers",
                   [{"name": "b", "image": "2"}, {"name": "c", "image": "3"}])),
        Step("A changes B's image: conflict on that field only", apply("a", deployment(
            containers=[{"name": "c", "image": "3"}, {"name": "b", "image": "9"}])),
             fails='Apply failed with 1 conflict: conflict with "b": '
                   '.spec.template.spec.containers[name="b"].image'),
    ],
    "atomic list": [
        Step("A applies tolerations [a]", apply("a", deployment(tolerations=[T1])),
             owned(TOLERATIONS, "a")),
        Step("B applies tolerations [b]: conflict on the whole list",
             apply("b", deployment(tolerations=[T2])),
             fails=f'Apply failed with 1 conflict: conflict with "a": {TOLERATIONS}'),
        Step("B forces: the list is replaced whole", apply("b", deployment(tolerations=[T2]),
                                                           force=True),
             both(value("spec.template.spec.tolerations", [T2]), owned(TOLERATIONS, "b"))),
    ],
    "set list (finalizers)": [
        Step("A applies finalizer x", apply("a", deployment(meta={"finalizers": ["x"]}))),
        Step("B applies finalizer y: both kept", apply("b", deployment(
            meta={"finalizers": ["y"]})),
             both(value("metadata.finalizers", ["x", "y"]),
                  owned('.metadata.finalizers[="x"]', "a"),
                  owned('.metadata.finalizers[="y"]', "b"))),
        Step("A drops x", apply("a", deployment()), value("metadata.finalizers", ["y"])),
    ],
    "kubectl apply --server-side after kubectl create": [
        Step("kubectl create deployment", created_by_kubectl_create,
             owned(".spec.replicas", "kubectl-create")),
        Step("apply changing replicas conflicts with the creator",
             apply("kubectl", deployment(replicas=4)),
             fails='Apply failed with 1 conflict: conflict with "kubectl-create" using '
                   'apps/v1: .spec.replicas'),
        Step("apply with the same values: no conflict, shared ownership",
             apply("kubectl", deployment(replicas=1)),
             both(owned(".spec.replicas", "kubectl-create", "kubectl"),
                  owned(CONTAINERS + '[name="web"].image', "kubectl-create", "kubectl"))),
    ],
    "kubectl scale after apply": [
        Step("kubectl apply --server-side replicas 2", apply("kubectl", deployment(replicas=2))),
        Step("kubectl scale --replicas=5", lambda w: w.update(
            "kubectl", set_path("spec.replicas", 5), subresource="scale"),
             both(value("spec.replicas", 5), owned(".spec.replicas", "kubectl/scale"))),
        Step("the next apply without force conflicts", apply("kubectl", deployment(replicas=2)),
             fails='Apply failed with 1 conflict: conflict with "kubectl" with subresource '
                   '"scale" using apps/v1: .spec.replicas'),
        Step("an apply that leaves replicas out keeps the scaled value",
             apply("kubectl", deployment()), value("spec.replicas", 5)),
    ],
    "status writes": [
        Step("apply with a status: status is ignored on the main resource",
             apply("a", {**deployment(), "status": {"replicas": 9}}),
             owned(".status.replicas")),
        Step("the controller writes status through /status", lambda w: w.update(
            "kube-controller-manager", set_path("status.replicas", 1), subresource="status"),
             owned(".status.replicas", "kube-controller-manager/status")),
        Step("a status apply through /status", lambda w: w.apply(
            "kcm", {**deployment(), "status": {"readyReplicas": 1}}, subresource="status"),
             both(owned(".status.readyReplicas", "kcm/status"), owned(".spec.replicas"))),
    ],
    "client-side apply upgraded to server-side apply": [
        Step("kubectl apply (client side) created replicas 2", lambda w: w.update(
            "kubectl-client-side-apply", lambda new: new.update(deployment(
                replicas=2, meta={"annotations": {LAST_APPLIED: orjson.dumps(
                    deployment(replicas=2)).decode()}})))),
        Step("kubectl apply --server-side replicas 3: forgiven, annotation follows",
             apply("kubectl", deployment(replicas=3)),
             both(value("spec.replicas", 3), owned(".spec.replicas", "kubectl"),
                  lambda w: orjson.loads(w.get("metadata.annotations")[LAST_APPLIED])
                  ["spec"].__getitem__("replicas") == 3 or pytest.fail("annotation"))),
        Step("another manager does not get that grace", apply("other", deployment(
            replicas=4)), fails='Apply failed with 1 conflict: conflict with "kubectl"'),
        Step("kubectl keeps the annotation under kubectl-last-applied", lambda w: w.apply(
            "kubectl-last-applied", {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "metadata": {"name": "web", "annotations": {
                                         LAST_APPLIED: w.get("metadata.annotations")[
                                             LAST_APPLIED]}}})),
        Step("kubectl migrates the client-side entry into its Apply entry",
             migrate_client_side_entry),
        Step("kubectl re-applies: what only the old client-side entry held is pruned, "
             "the labels it applies stay",
             apply("kubectl", deployment(replicas=3)),
             both(value("spec.template.metadata.labels", {"app": "web"}),
                  value("spec.replicas", 3))),
    ],
    "object without managedFields": [
        Step("a legacy object has no managedFields", lambda w: setattr(w, "obj", deployment(
            replicas=1))),
        Step("applying another value conflicts with before-first-apply",
             apply("a", deployment(replicas=2)),
             fails='Apply failed with 1 conflict: conflict with "before-first-apply" using '
                   'apps/v1: .spec.replicas'),
    ],
}


@pytest.mark.parametrize(("steps",), [pytest.param(v, id=k) for k, v in SCENARIOS.items()])
def test_scenario(views: SchemaViews, steps: list[Step]) -> None:
    w = World(views.builtin("apps", "v1", "Deployment"))
    for step in steps:
        before = copy.deepcopy(w.obj)
        if step.fails:
            with pytest.raises(ApiError) as err:
                step.do(w)
            assert err.value.message.startswith(step.fails), step.name
            assert w.obj == before, f"{step.name}: a failed apply changes nothing"
        else:
            step.do(w)
        step.check(w)


def test_conflict_error_details(views: SchemaViews) -> None:
    w = World(views.builtin("apps", "v1", "Deployment"))
    w.apply("zed", deployment(replicas=1, minReadySeconds=1))
    w.update("alpha", set_path("spec.paused", False))
    with pytest.raises(ApiError) as err:
        w.apply("me", deployment(replicas=2, minReadySeconds=2, paused=True))
    e = err.value
    assert (e.code, e.reason) == (409, "Conflict")
    assert e.message == ('Apply failed with 3 conflicts: conflicts with "alpha" using apps/v1:\n'
                         "- .spec.paused\n"
                         'conflicts with "zed":\n'
                         "- .spec.minReadySeconds\n"
                         "- .spec.replicas")
    assert e.status()["details"]["causes"][0] == {
        "reason": "FieldManagerConflict", "message": 'conflict with "alpha" using apps/v1',
        "field": ".spec.paused"}


def test_a_no_op_apply_returns_the_same_object(views: SchemaViews) -> None:
    w = World(views.builtin("apps", "v1", "Deployment"))
    w.apply("a", deployment(replicas=2))
    first = copy.deepcopy(w.obj)
    w.apply("a", deployment(replicas=2))
    assert w.obj == first  # same entries, same time: the registry writes nothing
