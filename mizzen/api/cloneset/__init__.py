"""CloneSet's API: the typed model, reading either version, conversion, validation, the CRD.

Why a package with a small surface: controllers, the webhook and the CLI
need a handful of entry points (``parse_spec``, ``convert``, ``validate``,
``clonesets_crd``) and the model types; how the versions are laid out stays
inside the submodules.  Import from here; the submodules may be reshaped.
"""

from __future__ import annotations

from mizzen.api.cloneset.conversion import ORIGINAL_ANNOTATION, convert
from mizzen.api.cloneset.crd import CRD_NAME, clonesets_crd, printer_columns, webhook_conversion
from mizzen.api.cloneset.parse import (
    EXCLUDE_PREPARING_DELETE_LABEL,
    ParseError,
    api_version_of,
    parse_spec,
)
from mizzen.api.cloneset.schema import openapi_schema
from mizzen.api.cloneset.types import (
    GROUP,
    KIND,
    PLURAL,
    SHORT_NAMES,
    STORAGE_VERSION,
    VERSIONS,
    CloneSetSpec,
    IntOrString,
    Lifecycle,
    LifecycleHook,
    PodUpdatePolicy,
    PriorityStrategy,
    ScatterTerm,
    UpdateType,
    WeightTerm,
)
from mizzen.api.cloneset.validation import FieldError, validate

__all__ = [
    "CRD_NAME",
    "EXCLUDE_PREPARING_DELETE_LABEL",
    "GROUP",
    "KIND",
    "ORIGINAL_ANNOTATION",
    "PLURAL",
    "SHORT_NAMES",
    "STORAGE_VERSION",
    "VERSIONS",
    "CloneSetSpec",
    "FieldError",
    "IntOrString",
    "Lifecycle",
    "LifecycleHook",
    "ParseError",
    "PodUpdatePolicy",
    "PriorityStrategy",
    "ScatterTerm",
    "UpdateType",
    "WeightTerm",
    "api_version_of",
    "clonesets_crd",
    "convert",
    "openapi_schema",
    "parse_spec",
    "printer_columns",
    "validate",
    "webhook_conversion",
]
