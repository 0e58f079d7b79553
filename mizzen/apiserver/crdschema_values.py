"""How kube-apiserver spells custom-resource schema errors: paths, Go values, causes.

kube-apiserver validates custom resources with kube-openapi and converts each
result into a ``field.Error``; clients print the resulting ``details.causes``
verbatim, so the spelling is part of the API.  Three quirks shape this module:

* Two path spellings.  kube-openapi names a value ``spec.items[0].labels.app``
  (map keys joined with a dot, a map key at the root even gets a leading dot),
  while the list-type and embedded-resource checks use ``field.Path``
  (``spec.labels[app]``).  Paths are linked ``(parent, segment)`` tuples built
  for free while walking and formatted only when something is wrong: a ``str``
  segment is a property, a 1-tuple ``(key,)`` a map key, an ``int`` an index.
* Offending values are printed as Go prints them (``%q`` for strings, ``%v``
  for numbers, ``%#v`` for maps and slices), see :func:`go_value`.
* kube-openapi's combinator errors (anyOf/oneOf/allOf/not) are not field
  errors and land on the validator's root path with an empty value.

The :class:`Sink` collects causes of one validation run; ``prefix`` is the
field path the validated value lives at (empty for a custom resource, the
``...default`` path when a CRD's default values are checked).
"""

from __future__ import annotations

import math
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import orjson

from mizzen.apiserver.errors import Cause

Path = tuple[Any, Any] | None

_ESCAPES = MappingProxyType({
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
    "\v": "\\v", "\\": "\\\\", '"': '\\"'})


def _segments(path: Path) -> list[Any]:
    out: list[Any] = []
    while path is not None:
        path, seg = path
        out.append(seg)
    out.reverse()
    return out


def openapi_name(path: Path) -> str:
    """kube-openapi's spelling of a value's path (``spec.ports[0].name``, ``.key`` at the root)."""
    out = ""
    for seg in _segments(path):
        if type(seg) is int:
            out += f"[{seg}]"
        elif type(seg) is tuple:
            out += "." + seg[0]
        else:
            out = seg if not out else f"{out}.{seg}"
    return out


def field_path(path: Path, prefix: str = "") -> str:
    """``field.Path`` spelling: ``spec.labels[app]``, ``spec.ports[0]``."""
    out = prefix
    for seg in _segments(path):
        if type(seg) is int:
            out += f"[{seg}]"
        elif type(seg) is tuple:
            out += f"[{seg[0]}]"
        else:
            out = seg if not out else f"{out}.{seg}"
    return out


def strict_path(path: Path) -> str:
    """The strict decoder's spelling of an unknown field (``spec.items[0].bar``, ``a.b``)."""
    out = ""
    for seg in _segments(path):
        if type(seg) is int:
            out += f"[{seg}]"
        else:
            key = seg[0] if type(seg) is tuple else seg
            out = key if not out else f"{out}.{key}"
    return out


def go_quote(s: str) -> str:
    """Go's ``strconv.Quote`` (what ``%q`` prints)."""
    if s.isascii() and s.isprintable():
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def go_float(f: float) -> str:
    """Go's ``%v`` of a float64: shortest digits, exponent form outside [1e-4, 1e6)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    sign = "-" if f < 0 else ""
    tup = Decimal(repr(abs(f))).as_tuple()
    digits = "".join(map(str, tup.digits)).rstrip("0") or "0"
    exponent = int(tup.exponent) + len(tup.digits) - len(digits)
    point = len(digits) + exponent  # the value is 0.<digits> * 10**point
    exp = point - 1
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def go_sharp(value: Any) -> str:
    """Go's ``%#v`` of a decoded JSON value (``map[string]interface {}{"a":1}``)."""
    t = type(value)
    if t is dict:
        return "map[string]interface {}{" + ", ".join(
            f"{go_quote(k)}:{go_sharp(value[k])}" for k in sorted(value)) + "}"
    if t is list:
        return "[]interface {}{" + ", ".join(go_sharp(v) for v in value) + "}"
    if value is None:
        return "interface {}(nil)"
    return go_value(value)


def go_value(value: Any) -> str:
    """How ``field.Error`` prints a bad value."""
    t = type(value)
    if t is str:
        return go_quote(value)
    if t is bool:
        return "true" if value else "false"
    if t is int:
        return str(value)
    if t is float:
        return go_float(value)
    if value is None:
        return '"null"'
    return go_sharp(value)


def go_json(value: Any) -> str:
    """Go's ``json.Marshal`` of a scalar enum value (integral floats without ``.0``)."""
    if type(value) is float and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if type(value) is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if type(value) in (dict, list):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return str(value)


def invalid(field: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {go_value(value)}: {detail}", field)


def type_invalid(field: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueTypeInvalid", f"Invalid value: {go_value(value)}: {detail}", field)


def required(field: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", f"Required value: {detail}" if detail else "Required value",
                 field)


def forbidden(field: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", field)


def not_supported(field: str, value: Any, valid: list[str]) -> Cause:
    shown = ", ".join(go_quote(v) for v in valid)
    return Cause("FieldValueNotSupported", f"Unsupported value: {go_value(value)}: "
                 f"supported values: {shown}" if valid else
                 f"Unsupported value: {go_value(value)}", field)


def duplicate(field: str, value: Any) -> Cause:
    return Cause("FieldValueDuplicate", f"Duplicate value: {go_value(value)}", field)


def too_long(field: str, limit: int) -> Cause:
    unit = "byte" if limit == 1 else "bytes"
    return Cause("FieldValueTooLong", f"Too long: may not be more than {limit} {unit}", field)


def too_many(field: str, actual: int, limit: int) -> Cause:
    unit = "item" if limit == 1 else "items"
    return Cause("FieldValueTooMany", f"Too many: {actual}: must have at most {limit} {unit}",
                 field)


class Sink:
    """Causes found by one validation run, in the order upstream reports them."""

    __slots__ = ("causes", "late", "lists", "prefix")

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.causes: list[Cause] = []  # kube-openapi's
        self.late: list[Cause] = []  # embedded resources', reported after those
        self.lists: list[Cause] = []  # list-type uniqueness, reported last

    def all(self) -> list[Cause]:
        if not self.late and not self.lists:
            return self.causes
        return self.causes + self.late + self.lists

    def field(self, name: str) -> str:
        """The cause field for a kube-openapi error named ``name``."""
        if name.startswith("."):
            name = name[1:]
        if not name:
            return self.prefix
        return f"{self.prefix}.{name}" if self.prefix else name
