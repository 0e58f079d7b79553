"""Name, label, annotation and selector formats (``validation_names``), via the Validator."""

from __future__ import annotations

import pytest

from mizzen.apiserver.errors import Cause
from mizzen.apiserver.schema import SchemaSet
from mizzen.apiserver.validation import Validator, Verdict
from mizzen.apiserver.validation_names import CleanMeta, check_meta
from tests.apiserver.test_validation import Obj, check, fields, pod, sample, workload

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    r"used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(SchemaSet())


@pytest.mark.parametrize(("kind", "name", "fragment"), [
    ("ConfigMap", "Foo_Bar", SUBDOMAIN_MSG),
    ("ConfigMap", "a" * 254, "must be no more than 253 characters"),
    ("Namespace", "team.a", "a lowercase RFC 1123 label must consist of lower case alphanumeric"
                            " characters or '-', and must start and end with an alphanumeric "
                            "character (e.g. 'my-name',  or '123-abc', regex used"),
    ("Namespace", "a" * 64, "must be no more than 63 characters"),
    ("Service", "1web", "a DNS-1035 label must consist of lower case alphanumeric characters"),
    ("Pod", "Web", "a lowercase RFC 1123 subdomain"),
])
def test_name_rules(validator: Validator, kind: str, name: str, fragment: str) -> None:
    obj = sample(kind)
    obj["metadata"]["name"] = name
    verdict = check(validator, obj)
    assert [c.field for c in verdict.causes] == ["metadata.name"]
    assert verdict.causes[0].message.startswith(f'Invalid value: "{name}": ')
    assert fragment in verdict.causes[0].message


def test_exact_subdomain_message(validator: Validator) -> None:
    obj = sample("ConfigMap")
    obj["metadata"]["name"] = "Foo_Bar"
    assert check(validator, obj).causes == [
        Cause("FieldValueInvalid", f'Invalid value: "Foo_Bar": {SUBDOMAIN_MSG}', "metadata.name")]


def test_name_is_required(validator: Validator) -> None:
    obj = pod()
    del obj["metadata"]["name"]
    assert check(validator, obj).causes == [Cause(
        "FieldValueRequired", "Required value: name or generateName is required", "metadata.name")]


@pytest.mark.parametrize(("labels", "shown"), [
    ({"bad key": "x"}, "bad key"),
    ({"Example.com/app": "x"}, "Example.com/app"),
    ({"a/b/c": "x"}, "a/b/c"),
    ({"app": "-web"}, "-web"),
    ({"app": "v" * 64}, "v" * 64),
])
def test_label_rules(validator: Validator, labels: Obj, shown: str) -> None:
    obj = pod()
    obj["metadata"]["labels"] = labels
    verdict = check(validator, obj)
    assert {c.field for c in verdict.causes} == {"metadata.labels"}
    assert all(c.message.startswith(f'Invalid value: "{shown}": ') for c in verdict.causes)


def test_annotation_rules(validator: Validator) -> None:
    obj = pod()
    obj["metadata"]["annotations"] = {"bad key": "x"}
    assert fields(check(validator, obj)) == [("metadata.annotations", "FieldValueInvalid")]
    obj["metadata"]["annotations"] = {"big": "x" * (256 * 1024)}
    assert check(validator, obj).causes == [Cause(
        "FieldValueTooLong", "Too long: may not be more than 262144 bytes", "metadata.annotations")]


def test_selector_expressions(validator: Validator) -> None:
    obj = workload("ReplicaSet")
    obj["spec"]["selector"] = {"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["web", "api"]},
        {"key": "tier", "operator": "DoesNotExist"}]}
    assert check(validator, obj) == Verdict([], [])
    obj["spec"]["selector"]["matchExpressions"] = [
        {"key": "app", "operator": "In"}, {"key": "app", "operator": "Exists", "values": ["x"]},
        {"key": "app", "operator": "Near"}]
    assert fields(check(validator, obj))[:3] == [
        ("spec.selector.matchExpressions[0].values", "FieldValueRequired"),
        ("spec.selector.matchExpressions[1].values", "FieldValueForbidden"),
        ("spec.selector.matchExpressions[2].operator", "FieldValueInvalid")]


def test_clean_meta_remembers_only_names_that_passed() -> None:
    memo = CleanMeta(entries=2)
    good = {"labels": {"app": "web"}, "annotations": {"a.io/x": "1"}, "finalizers": ["a.io/f"]}
    bad = {"labels": {"app": "-web-"}, "annotations": {"a b": "1"}}
    for _ in range(2):  # the second time from the memo: same (empty) answer
        causes: list[Cause] = []
        memo.check(good, "metadata", causes)
        assert causes == []
    assert len(memo._clean) == 1
    for _ in range(2):  # never remembered: reported every time, as check_meta does
        expected: list[Cause] = []
        causes = []
        memo.check(bad, "metadata", causes)
        check_meta(bad, "metadata", expected)
        assert causes == expected and len(causes) == 2
    assert len(memo._clean) == 1
    huge = dict(good, annotations={"a.io/x": "x" * (256 * 1024)})  # same keys, new values
    causes = []
    memo.check(huge, "metadata", causes)
    assert [c.field for c in causes] == ["metadata.annotations"]
    odd = {"labels": {"app": ["not", "a", "string"]}}  # unhashable: checked as usual
    causes, expected = [], []
    memo.check(odd, "metadata", causes)
    check_meta(odd, "metadata", expected)
    assert causes == expected
    for i in range(3):  # bounded: the oldest goes
        memo.check({"labels": {"n": str(i)}}, "metadata", [])
    assert len(memo._clean) == 2
