"""The public surface of mizzen.api.cloneset and mizzen.api's helpers, pinned."""

from __future__ import annotations

import mizzen.api.cloneset as cloneset
from mizzen.api import crds, fielderrors, intstr, labels


def test_cloneset_all_is_pinned() -> None:
    assert sorted(cloneset.__all__) == sorted([
        "CRD_NAME", "EXCLUDE_PREPARING_DELETE_LABEL", "GROUP", "KIND", "ORIGINAL_ANNOTATION",
        "PLURAL", "SHORT_NAMES", "STORAGE_VERSION", "VERSIONS", "CloneSetSpec", "FieldError",
        "IntOrString", "Lifecycle", "LifecycleHook", "ParseError", "PodUpdatePolicy",
        "PriorityStrategy", "ScatterTerm", "UpdateType", "WeightTerm", "api_version_of",
        "clonesets_crd", "convert", "openapi_schema", "parse_spec", "printer_columns",
        "validate", "webhook_conversion",
    ])
    for name in cloneset.__all__:
        assert hasattr(cloneset, name), name


def test_helper_modules_all_are_pinned() -> None:
    assert sorted(intstr.__all__) == sorted([
        "DEFAULT_MAX_SURGE", "DEFAULT_MAX_UNAVAILABLE", "IntOrString", "is_percent",
        "max_surge_value", "max_unavailable_value", "parse_percent", "partition_value",
        "scale_max_unavailable_value", "scaled_value"])
    assert sorted(crds.__all__) == ["all_crds", "file_name", "main", "render", "write_all"]
    assert sorted(labels.__all__) == sorted([
        "OPERATORS", "label_value_errors", "qualified_name_errors", "selector_errors",
        "selector_is_empty", "selector_matches"])
    assert sorted(fielderrors.__all__) == sorted([
        "DUPLICATE", "FORBIDDEN", "INVALID", "NOT_SUPPORTED", "REQUIRED", "TYPE_INVALID",
        "FieldError", "duplicate", "forbidden", "invalid", "not_supported", "required"])
    for module in (intstr, crds, labels, fielderrors):
        for name in module.__all__:
            assert hasattr(module, name), (module.__name__, name)
