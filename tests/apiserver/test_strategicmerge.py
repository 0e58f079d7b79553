"""Tests for strategic merge patch (mizzen.apiserver.strategicmerge).

Rows are things users and clients do, with the bodies kubectl sends; each checks one path
of the result.  The expectations agree with kubectl 1.32 ``patch --local`` (upstream's Go
code) except where the module docstring names a deliberate difference.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mizzen.apiserver.errors import ApiError
from mizzen.apiserver.schema import SchemaSet
from mizzen.apiserver.strategicmerge import apply_strategic_merge, is_strategic_capable

Obj = dict[str, Any]
Path = tuple[str | int, ...]
DEPLOYMENT = ("apps", "v1", "Deployment")
POD_SPEC: Path = ("spec", "template", "spec")
CONTAINERS: Path = (*POD_SPEC, "containers")
MISSING = object()
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return SchemaSet()


def deployment() -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web", "namespace": "default",
            "labels": {"app": "web", "tier": "front"},
            "annotations": {"team": "a"},
            "finalizers": ["example.com/a", "example.com/b"],
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "web", "image": "nginx:1.25",
                         "ports": [{"containerPort": 80, "protocol": "TCP"}],
                         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                         "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
                        {"name": "sidecar", "image": "busybox:1.36", "args": ["sleep", "3600"]},
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}},
                                {"name": "cache", "emptyDir": {"medium": "Memory"}}],
                    "imagePullSecrets": [{"name": "regcred"}],
                    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web",
                                     "effect": "NoSchedule"}],
                },
            },
        },
    }


def with_unknown_fields() -> Obj:
    obj = deployment()
    obj["spec"]["extra"] = {"a": {"c": 2}, "items": [{"name": "a"}]}
    return obj


def with_injected_env() -> Obj:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "X", "value": "inj"})
    return obj


def service() -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080},
                               {"name": "https", "port": 443, "targetPort": 8443}]}}


def pdb() -> Obj:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}


def at(path: Path, value: Any) -> Obj:
    """The patch that puts ``value`` at ``path``."""
    return at(path[:-1], {path[-1]: value}) if path else dict(value)


def get(obj: Any, path: Path) -> Any:
    for key in path:
        obj = obj[key] if isinstance(key, int) else obj.get(key, MISSING)
    return obj


WEB = deployment()["spec"]["template"]["spec"]["containers"][0]
SIDECAR = deployment()["spec"]["template"]["spec"]["containers"][1]
ROLLING = {"maxSurge": "25%", "maxUnavailable": "25%"}


@dataclass(frozen=True)
class Case:
    name: str
    patch: Obj
    path: Path
    expected: Any
    original: Callable[[], Obj] = deployment
    kind: tuple[str, str, str] = DEPLOYMENT


CASES = [
    Case("kubectl set image changes one container's image",
         at(POD_SPEC, {"$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                       "containers": [{"image": "busybox:1.37", "name": "sidecar"}]}),
         CONTAINERS, [WEB, {**SIDECAR, "image": "busybox:1.37"}]),
    Case("a patch naming one container by name leaves the other in place",
         at(CONTAINERS, [{"name": "web", "image": "nginx:1.27"}]),
         CONTAINERS, [{**WEB, "image": "nginx:1.27"}, SIDECAR]),
    Case("kubectl rollout restart stamps the pod template",
         json.loads('{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/'
                    'restartedAt":"2025-01-15T10:30:00+01:00"}}}}}'),
         ("spec", "template", "metadata"),
         {"labels": {"app": "web"},
          "annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-15T10:30:00+01:00"}}),
    Case("kubectl scale sets replicas", {"spec": {"replicas": 5}}, ("spec", "replicas"), 5),
    Case("kubectl label adds a label and keeps the others",
         at(("metadata", "labels"), {"env": "prod"}), ("metadata", "labels"),
         {"app": "web", "tier": "front", "env": "prod"}),
    Case("null removes a label", at(("metadata", "labels"), {"tier": None}),
         ("metadata", "labels"), {"app": "web"}),
    Case("null on a field the object lacks changes nothing",
         at(("metadata", "labels"), {"nope": None}), ("metadata", "labels"),
         {"app": "web", "tier": "front"}),
    Case("kubectl apply adds an env var keeping order via $setElementOrder",
         at(POD_SPEC, {"$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                       "containers": [{"name": "web",
                                       "$setElementOrder/env": [{"name": "A"}, {"name": "NEW"},
                                                                {"name": "B"}],
                                       "env": [{"name": "NEW", "value": "x"}]}]}),
         (*CONTAINERS, 0, "env"),
         [{"name": "A", "value": "1"}, {"name": "NEW", "value": "x"}, {"name": "B", "value": "2"}]),
    Case("kubectl apply swaps env var B for C next to one a webhook injected (upstream order)",
         at(CONTAINERS, [{"name": "web", "$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
                          "env": [{"name": "B", "$patch": "delete"},
                                  {"name": "C", "value": "3"}]}]),
         (*CONTAINERS, 0, "env"),
         [{"name": "A", "value": "1"}, {"name": "X", "value": "inj"}, {"name": "C", "value": "3"}],
         original=with_injected_env),
    Case("$setElementOrder alone reorders containers",
         at(POD_SPEC, {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "web"}]}),
         CONTAINERS, [SIDECAR, WEB]),
    Case("kubectl patch adds an env var without $setElementOrder: it lands first, as upstream",
         at(CONTAINERS, [{"name": "web", "env": [{"name": "C", "value": "3"}]}]),
         (*CONTAINERS, 0, "env"),
         [{"name": "C", "value": "3"}, {"name": "A", "value": "1"}, {"name": "B", "value": "2"}]),
    Case("kubectl patch adds a container before the existing ones (the kubectl patch task page)",
         at(CONTAINERS, [{"name": "patch-demo-ctr-2", "image": "redis"}]),
         CONTAINERS, [{"name": "patch-demo-ctr-2", "image": "redis"}, WEB, SIDECAR]),
    Case("a new container's ports are kept as sent, duplicate containerPort included",
         at(CONTAINERS, [{"name": "dns", "image": "coredns", "ports": [
             {"containerPort": 53, "protocol": "UDP"}, {"containerPort": 53, "protocol": "TCP"}]}]),
         (*CONTAINERS, 0, "ports"),
         [{"containerPort": 53, "protocol": "UDP"}, {"containerPort": 53, "protocol": "TCP"}]),
    Case("delete a container with $patch: delete",
         at(CONTAINERS, [{"name": "sidecar", "$patch": "delete"}]), CONTAINERS, [WEB]),
    Case("delete an env var inside a container with $patch: delete",
         at(CONTAINERS, [{"name": "web", "env": [{"name": "A", "$patch": "delete"}]}]),
         (*CONTAINERS, 0, "env"), [{"name": "B", "value": "2"}]),
    Case("deleting a container the list lacks changes nothing",
         at(CONTAINERS, [{"name": "ghost", "$patch": "delete"}]), CONTAINERS, [WEB, SIDECAR]),
    Case("replace volumes with $patch: replace",
         at((*POD_SPEC, "volumes"), [{"$patch": "replace"},
                                     {"name": "config", "configMap": {"name": "cfg"}}]),
         (*POD_SPEC, "volumes"), [{"name": "config", "configMap": {"name": "cfg"}}]),
    Case("an empty list in a patch leaves a merge list alone", at(CONTAINERS, []), CONTAINERS,
         [WEB, SIDECAR]),
    Case("a lone $patch: replace element empties a merge list",
         at((*POD_SPEC, "imagePullSecrets"), [{"$patch": "replace"}]),
         (*POD_SPEC, "imagePullSecrets"), []),
    Case("replace the labels map with $patch: replace",
         at(("metadata", "labels"), {"$patch": "replace", "owner": "me"}),
         ("metadata", "labels"), {"owner": "me"}),
    Case("delete the annotations map with $patch: delete",
         at(("metadata", "annotations"), {"$patch": "delete"}),
         ("metadata", "annotations"), MISSING),
    Case("$patch: merge on a map is the ordinary merge",
         at(("metadata", "labels"), {"$patch": "merge", "env": "prod"}),
         ("metadata", "labels"), {"app": "web", "tier": "front", "env": "prod"}),
    Case("retainKeys switches strategy from RollingUpdate to Recreate",
         at(("spec", "strategy"), {"$retainKeys": ["type"], "type": "Recreate"}),
         ("spec", "strategy"), {"type": "Recreate"}),
    Case("without retainKeys, switching to Recreate keeps rollingUpdate",
         at(("spec", "strategy"), {"type": "Recreate"}),
         ("spec", "strategy"), {"type": "Recreate", "rollingUpdate": ROLLING}),
    Case("kubectl apply switches a volume's source with $retainKeys",
         at((*POD_SPEC, "volumes"), [{"name": "cache", "$retainKeys": ["configMap", "name"],
                                      "configMap": {"name": "cache-cfg"}}]),
         (*POD_SPEC, "volumes", 1), {"name": "cache", "configMap": {"name": "cache-cfg"}}),
    Case("deleteFromPrimitiveList on finalizers",
         at(("metadata",), {"$deleteFromPrimitiveList/finalizers": ["example.com/a"]}),
         ("metadata", "finalizers"), ["example.com/b"]),
    Case("kubectl apply drops a finalizer with $setElementOrder and $deleteFromPrimitiveList",
         at(("metadata",), {"$setElementOrder/finalizers": ["example.com/b"],
                            "$deleteFromPrimitiveList/finalizers": ["example.com/a"]}),
         ("metadata", "finalizers"), ["example.com/b"]),
    Case("adding a finalizer merges the list as a set",
         at(("metadata", "finalizers"), ["example.com/b", "example.com/c"]),
         ("metadata", "finalizers"), ["example.com/a", "example.com/b", "example.com/c"]),
    Case("$setElementOrder reorders finalizers",
         at(("metadata",), {"$setElementOrder/finalizers": ["example.com/b", "example.com/a"]}),
         ("metadata", "finalizers"), ["example.com/b", "example.com/a"]),
    Case("container ports merge by containerPort",
         at(CONTAINERS, [{"name": "web", "$setElementOrder/ports": [{"containerPort": 80},
                                                                    {"containerPort": 443}],
                          "ports": [{"containerPort": 80, "name": "http"},
                                    {"containerPort": 443, "name": "https"}]}]),
         (*CONTAINERS, 0, "ports"),
         [{"containerPort": 80, "protocol": "TCP", "name": "http"},
          {"containerPort": 443, "name": "https"}]),
    Case("volumeMounts merge by mountPath",
         at(CONTAINERS, [{"name": "web", "volumeMounts": [{"mountPath": "/data",
                                                           "readOnly": True}]}]),
         (*CONTAINERS, 0, "volumeMounts"),
         [{"name": "data", "mountPath": "/data", "readOnly": True}]),
    Case("imagePullSecrets merge by name",
         at((*POD_SPEC, "imagePullSecrets"), [{"name": "other"}]),
         (*POD_SPEC, "imagePullSecrets"), [{"name": "other"}, {"name": "regcred"}]),
    Case("tolerations have no patch strategy and are replaced whole",
         at((*POD_SPEC, "tolerations"), [{"effect": "NoSchedule", "key": "disktype",
                                          "value": "ssd"}]),
         (*POD_SPEC, "tolerations"), [{"effect": "NoSchedule", "key": "disktype",
                                       "value": "ssd"}]),
    Case("container args are an atomic list and are replaced whole",
         at(CONTAINERS, [{"name": "sidecar", "args": ["sleep", "60"]}]),
         (*CONTAINERS, 1, "args"), ["sleep", "60"]),
    Case("Service ports merge by port",
         at(("spec", "ports"), [{"port": 443, "targetPort": 9443}]), ("spec", "ports"),
         [{"name": "http", "port": 80, "targetPort": 8080},
          {"name": "https", "port": 443, "targetPort": 9443}],
         original=service, kind=("", "v1", "Service")),
    Case("a PodDisruptionBudget selector has patch strategy replace",
         at(("spec", "selector"), {"matchExpressions": [
             {"key": "app", "operator": "In", "values": ["web", "api"]}]}),
         ("spec", "selector"),
         {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]},
         original=pdb, kind=("policy", "v1", "PodDisruptionBudget")),
    Case("patch to an unknown field merges as a map",
         at(("spec", "extra"), {"a": {"b": 1}}), ("spec", "extra", "a"), {"b": 1, "c": 2},
         original=with_unknown_fields),
    Case("a list under an unknown field is replaced whole",
         at(("spec", "extra", "items"), [{"name": "b"}]), ("spec", "extra", "items"),
         [{"name": "b"}], original=with_unknown_fields),
    Case("a new subtree is taken as sent, less nulls and directives",
         at((*POD_SPEC, "securityContext"), {"runAsUser": 1000, "fsGroup": None,
                                             "$setElementOrder/supplementalGroups": [1],
                                             "supplementalGroups": [1]}),
         (*POD_SPEC, "securityContext"), {"runAsUser": 1000, "supplementalGroups": [1]}),
    Case("a map replacing a scalar is taken as sent",
         at(("spec", "replicas"), {"odd": True}), ("spec", "replicas"), {"odd": True}),
]


def walk(value: Any) -> Iterator[Any]:
    yield value
    for child in value.values() if isinstance(value, dict) else value if isinstance(
            value, list) else ():
        yield from walk(child)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_patch(case: Case, schemas: SchemaSet) -> None:
    original, patch = case.original(), case.patch
    original_before, patch_before = copy.deepcopy(original), copy.deepcopy(patch)

    result = apply_strategic_merge(original, patch, schemas, schemas.root(*case.kind))

    assert get(result, case.path) == case.expected
    assert original == original_before and patch == patch_before, "inputs were mutated"
    inputs = {id(v) for v in (*walk(original), *walk(patch)) if isinstance(v, (dict, list))}
    assert not any(id(v) in inputs for v in walk(result) if isinstance(v, (dict, list)))
    assert not any(k.startswith("$") for v in walk(result) if isinstance(v, dict) for k in v)


def test_kubectl_client_side_apply_of_a_deployment(schemas: SchemaSet) -> None:
    applied = json.dumps({"apiVersion": "apps/v1", "kind": "Deployment",
                          "metadata": {"name": "web", "namespace": "default"},
                          "spec": {"replicas": 3}}) + "\n"
    body = {
        "metadata": {"annotations": {LAST_APPLIED: applied}},
        "spec": {
            "replicas": 3,
            "template": {"spec": {
                "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                "containers": [
                    {"$setElementOrder/env": [{"name": "A"}, {"name": "B"}, {"name": "C"}],
                     "env": [{"name": "C", "value": "3"}], "image": "nginx:1.27", "name": "web"},
                    {"args": None, "name": "sidecar"},
                ],
            }},
        },
    }
    expected = deployment()
    expected["metadata"]["annotations"][LAST_APPLIED] = applied
    expected["spec"]["replicas"] = 3
    web, sidecar = expected["spec"]["template"]["spec"]["containers"]
    web["image"] = "nginx:1.27"
    web["env"].append({"name": "C", "value": "3"})
    del sidecar["args"]

    root = schemas.root(*DEPLOYMENT)
    assert apply_strategic_merge(deployment(), body, schemas, root) == expected


@dataclass(frozen=True)
class Bad:
    name: str
    patch: Any
    code: int
    message: str


BAD = [
    Bad("a JSON array as the body", [{"op": "add"}], 400, "must be a JSON object"),
    Bad("a container without its merge key", at(CONTAINERS, [{"image": "nginx"}]), 422,
        'map: {"image":"nginx"} does not contain declared merge key: name'),
    Bad("$patch: delete in a list without the merge key", at(CONTAINERS, [{"$patch": "delete"}]),
        422, "does not contain declared merge key: name"),
    Bad("an unknown $patch on a map", at(("metadata", "labels"), {"$patch": "remove"}), 422,
        "unknown patch type: remove"),
    Bad("an unknown $patch on a list element",
        at(CONTAINERS, [{"name": "web", "$patch": "drop"}]), 422, "unknown patch type: drop"),
    Bad("an unknown $patch in a list the object lacks",
        at((*POD_SPEC, "initContainers"), [{"name": "init", "$patch": "bogus"}]), 422,
        "unknown patch type: bogus"),
    Bad("$setElementOrder that is not a list",
        at(POD_SPEC, {"$setElementOrder/containers": {"name": "web"}}), 400,
        "invalid patch format of setElementOrder list"),
    Bad("$setElementOrder entries without the merge key",
        at(POD_SPEC, {"$setElementOrder/containers": ["web"]}), 400,
        "invalid patch format of setElementOrder list"),
    Bad("$setElementOrder without a list name", at(POD_SPEC, {"$setElementOrder": []}), 400,
        "invalid patch format of setElementOrder list"),
    Bad("$setElementOrder contradicting the patch list",
        at(POD_SPEC, {"$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                      "containers": [{"name": "sidecar"}, {"name": "web"}]}), 422,
        "doesn't match $setElementOrder list"),
    Bad("$setElementOrder on a map field", at(("spec",), {"$setElementOrder/selector": []}), 422,
        "needs a list"),
    Bad("$deleteFromPrimitiveList that is not a list",
        at(("metadata",), {"$deleteFromPrimitiveList/finalizers": "example.com/a"}), 400,
        "invalid patch format of primitive list"),
    Bad("$deleteFromPrimitiveList on a map field",
        at(("metadata",), {"$deleteFromPrimitiveList/labels": ["app"]}), 422, "needs a list"),
    Bad("$retainKeys that is not a list", at(("spec", "strategy"), {"$retainKeys": "type"}), 400,
        "invalid patch format of retainKeys"),
    Bad("$retainKeys not naming a field the patch sets",
        at(("spec", "strategy"), {"$retainKeys": ["type"], "type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": 1}}), 400,
        "invalid patch format of retainKeys"),
    Bad("strings where containers are expected", at(CONTAINERS, ["web"]), 422,
        'expected a map with merge key name: "web"'),
    Bad("mixed element types in a merge list", at(("metadata", "finalizers"), ["a", {"b": 1}]),
        422, "list element types are not identical"),
    Bad("a list of lists in a merge list", at(("metadata", "finalizers"), [["a"]]), 422,
        "lists of lists are not supported"),
]


@pytest.mark.parametrize("bad", BAD, ids=[b.name for b in BAD])
def test_malformed_patch_is_rejected(bad: Bad, schemas: SchemaSet) -> None:
    with pytest.raises(ApiError) as caught:
        apply_strategic_merge(deployment(), bad.patch, schemas, schemas.root(*DEPLOYMENT))
    assert caught.value.code == bad.code
    assert caught.value.reason == ("BadRequest" if bad.code == 400 else "Invalid")
    assert bad.message in caught.value.message


def test_only_kinds_with_a_schema_are_strategic_capable(schemas: SchemaSet) -> None:
    assert is_strategic_capable(schemas, schemas.root(*DEPLOYMENT))
    assert is_strategic_capable(schemas, schemas.root("", "v1", "ConfigMap"))
    assert not is_strategic_capable(schemas, schemas.root("stable.example.com", "v1", "CronTab"))
    assert not is_strategic_capable(schemas, None)


def test_patch_without_a_schema_still_merges_maps(schemas: SchemaSet) -> None:
    original = {"spec": {"a": 1, "list": [1, 2]}}
    patch = {"spec": {"b": 2, "list": [3]}}
    assert apply_strategic_merge(original, patch, schemas, None) == {
        "spec": {"a": 1, "b": 2, "list": [3]}}
