"""Field errors: what validation returns, shaped like a Kubernetes ``StatusCause``.

Why shaped so: an admission webhook and the API server both report invalid
objects as a 422 ``Status`` whose ``details.causes`` are ``{reason, message,
field}``.  Validation returns exactly that data, as frozen values, so any
caller can render it without translating; the constructors below name the
reasons Kubernetes uses (``field.Invalid``, ``field.Required``, ...) so rules
read as they do upstream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DUPLICATE",
    "FORBIDDEN",
    "INVALID",
    "NOT_SUPPORTED",
    "REQUIRED",
    "TYPE_INVALID",
    "FieldError",
    "duplicate",
    "forbidden",
    "invalid",
    "not_supported",
    "required",
]

INVALID = "FieldValueInvalid"
REQUIRED = "FieldValueRequired"
FORBIDDEN = "FieldValueForbidden"
DUPLICATE = "FieldValueDuplicate"
NOT_SUPPORTED = "FieldValueNotSupported"
TYPE_INVALID = "FieldValueTypeInvalid"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field of an object."""

    # Dotted path with list indexes, e.g. "spec.updateStrategy.maxSurge",
    # "spec.template.spec.containers[1].name".
    field: str
    # A Kubernetes cause reason: FieldValueInvalid, FieldValueRequired, ...
    reason: str
    # Human-readable, without the field path.
    message: str

    def as_cause(self) -> dict[str, str]:
        """The error as a ``StatusCause`` (message prefixed with the field, as kube does)."""
        return {"reason": self.reason, "message": f"{self.field}: {self.message}",
                "field": self.field}


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(value)


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(field, INVALID, f"Invalid value: {_shown(value)}: {detail}")


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(field, REQUIRED, f"Required value{': ' + detail if detail else ''}")


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(field, FORBIDDEN, f"Forbidden: {detail}")


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(field, DUPLICATE, f"Duplicate value: {_shown(value)}")


def not_supported(field: str, value: Any, supported: list[str]) -> FieldError:
    options = ", ".join(f'"{s}"' for s in supported)
    return FieldError(field, NOT_SUPPORTED,
                      f"Unsupported value: {_shown(value)}: supported values: {options}")
