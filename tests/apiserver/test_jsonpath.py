"""JSONPath for printer columns: the forms CRDs use, and nothing found is not an error."""

from __future__ import annotations

from typing import Any

import pytest

from mizzen.apiserver.jsonpath import JsonPath, JsonPathError

OBJ: dict[str, Any] = {
    "spec": {"replicas": 3, "template": {"spec": {"containers": [
        {"name": "app", "image": "nginx:1"}, {"name": "side", "image": "envoy:2"}]}}},
    "status": {"conditions": [{"type": "Ready", "status": "True"},
                              {"type": "Progressing", "status": "False"}],
               "labels": {"app.kubernetes.io/name": "web"}},
}


CASES = [
    ("a printer column on a number", ".spec.replicas", [3]),
    ("a missing field prints nothing", ".spec.paused", []),
    ("an index into a list", ".spec.template.spec.containers[1].image", ["envoy:2"]),
    ("a negative index", ".spec.template.spec.containers[-1].name", ["side"]),
    ("every element", ".spec.template.spec.containers[*].name", ["app", "side"]),
    ("a condition by type", '.status.conditions[?(@.type=="Ready")].status', ["True"]),
    ("a filter that matches nothing", '.status.conditions[?(@.type=="Gone")].status', []),
    ("a not-equal filter", ".status.conditions[?(@.status!='True')].type", ["Progressing"]),
    ("kubectl braces and $", "{$.spec.replicas}", [3]),
    ("a quoted key with dots", ".status.labels['app.kubernetes.io/name']", ["web"]),
]


@pytest.mark.parametrize(("path", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_find(path: str, expected: list[Any]) -> None:
    assert JsonPath(path).find(OBJ) == expected


def test_first_and_errors() -> None:
    assert JsonPath(".spec.replicas").first(OBJ) == 3
    assert JsonPath(".nope").first(OBJ) is None
    with pytest.raises(JsonPathError):
        JsonPath(".spec[?(@.a>1)]")
