"""Path elements of field sets: how one step into an object is named, ordered and printed.

Server-side apply names every field an object sets by a path of *elements*, as
``sigs.k8s.io/structured-merge-diff`` (``fieldpath/pathelement.go``,
``serialize-pe.go``) does.  This module keeps an element in its FieldsV1
spelling, a plain string, because that is what every consumer needs:

* ``f:<name>``: a field of a map or struct;
* ``k:<json>``: an item of an associative list, by its key fields
  (``k:{"containerPort":80,"protocol":"TCP"}``, keys sorted, compact JSON);
* ``v:<json>``: an item of a set list (``v:"example.com/finalizer"``);
* ``i:<index>``: a list item by position, which upstream only uses for lists
  it cannot key (Kubernetes schemas never produce them; decoded and kept).

Strings hash and compare fast, so a field set can be a ``frozenset`` of
tuples of them, and FieldsV1 encoding needs no re-serialisation.  The
canonical JSON here is Go's: ``encoding/json`` escaping of ``<``, ``>``, ``&``
and U+2028/U+2029, integral floats as integers, keys sorted.  What upstream
orders by typed value (element kinds ``f < k < v < i``; numbers before
strings before booleans) is reproduced by :func:`sort_key`, and the
``.spec.containers[name="web"].image`` form of error messages by
:func:`path_string`.

Hand-written, as the rest of server-side apply: no maintained Python
implementation of structured-merge-diff exists.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from types import MappingProxyType
from typing import Any

import orjson

__all__ = ["Path", "field", "go_json", "index", "key", "parse_element", "path_string",
           "pe_string", "sort_key", "sorted_elements", "value"]

# A path from the object's root: a tuple of elements in their FieldsV1 spelling.
Path = tuple[str, ...]

_GO_ESCAPES = MappingProxyType(str.maketrans({
    "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}))
_SPECIAL = re.compile("[<>&\u2028\u2029]")
_PLAIN = frozenset({str, int, bool, type(None)})  # values JSON spells as Go does
_INT64 = 2 ** 63


def _normalise(v: Any) -> Any:
    """Values as Go's typed JSON would print them (integral floats lose their ``.0``)."""
    if isinstance(v, float) and math.isfinite(v) and v.is_integer() and abs(v) < _INT64:
        return int(v)
    if isinstance(v, list):
        return [_normalise(x) for x in v]
    if isinstance(v, dict):
        return {k: _normalise(x) for k, x in v.items()}
    return v


def go_json(v: Any) -> str:
    """Compact JSON with sorted keys and Go's escaping, the way FieldsV1 spells values."""
    t = type(v)
    if t is dict:
        if any(type(x) not in _PLAIN for x in v.values()):
            v = _normalise(v)
    elif t is not str and t is not int:
        v = _normalise(v)
    text = orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode()
    if _SPECIAL.search(text):
        text = text.translate(_GO_ESCAPES)
    return text


def field(name: str) -> str:
    return "f:" + name


def key(fields: dict[str, Any]) -> str:
    """An associative-list item named by its key fields (sorted by name)."""
    return "k:" + go_json(fields)


def value(v: Any) -> str:
    """A set-list item named by its value."""
    return "v:" + go_json(v)


def index(i: int) -> str:
    return "i:" + str(i)


def parse_element(pe: str) -> str:
    """Validate an element read from FieldsV1 and return its canonical spelling.

    Raises :class:`ValueError` for an element upstream cannot parse and
    :class:`LookupError` for an unknown kind, which upstream silently drops.
    """
    kind, body = pe[:2], pe[2:]
    if kind == "f:":
        return pe
    if kind == "k:":
        try:
            fields = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ValueError(f"invalid key element {pe!r}") from None
        if not isinstance(fields, dict):
            raise ValueError(f"invalid key element {pe!r}: not an object")
        return key(fields)
    if kind == "v:":
        try:
            return value(orjson.loads(body))
        except orjson.JSONDecodeError:
            raise ValueError(f"invalid value element {pe!r}") from None
    if kind == "i:":
        try:
            return index(int(body))
        except ValueError:
            raise ValueError(f"invalid index element {pe!r}") from None
    raise LookupError(pe)


def _rank(v: Any) -> tuple[Any, ...]:
    """Upstream's total order of values: numbers < strings < booleans < lists < maps < null."""
    if isinstance(v, bool):
        return (2, v)
    if isinstance(v, (int, float)):
        return (0, v)
    if isinstance(v, str):
        return (1, v)
    if isinstance(v, list):
        return (3, tuple(_rank(x) for x in v))
    if isinstance(v, dict):
        return (4, tuple(sorted((k, _rank(x)) for k, x in v.items())))
    return (5,)


def sort_key(pe: str) -> tuple[Any, ...]:
    """Where an element sorts among its siblings (fields, then keys, values, indexes)."""
    kind, body = pe[0], pe[2:]
    if kind == "f":
        return (0, body)
    if kind == "k":
        return (1, tuple((k, _rank(v)) for k, v in orjson.loads(body).items()))
    if kind == "v":
        return (2, _rank(orjson.loads(body)))
    return (3, int(body))


def sorted_elements(level: Iterable[str]) -> list[str]:
    """Elements in upstream order; field names sort as their ``f:`` spelling does."""
    fields: list[str] = []
    others: list[str] = []
    for pe in level:
        (fields if pe[0] == "f" else others).append(pe)
    fields.sort()
    if others:
        others.sort(key=sort_key)
        fields.extend(others)
    return fields


def _go_string(v: Any) -> str:
    """``value.ToString``: strings quoted as Go's ``%q``, other scalars as ``%v``."""
    if isinstance(v, str):
        return orjson.dumps(v).decode()
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(_normalise(v)) if v.is_integer() else repr(v)
    if isinstance(v, list):
        return "[" + ",".join(_go_string(x) for x in v) + "]"
    if isinstance(v, dict):
        return "".join(f"{k}={_go_string(x)}" for k, x in v.items())
    return str(v)


def pe_string(pe: str) -> str:
    """One element as upstream prints it: ``.name``, ``[name="web"]``, ``[="x"]``, ``[0]``."""
    kind, body = pe[0], pe[2:]
    if kind == "f":
        return "." + body
    if kind == "k":
        fields = orjson.loads(body)
        return "[" + ",".join(f"{k}={_go_string(v)}" for k, v in fields.items()) + "]"
    if kind == "v":
        return "[=" + _go_string(orjson.loads(body)) + "]"
    return "[" + body + "]"


def path_string(path: Path) -> str:
    """A path as conflict messages print it: ``.spec.template.spec.containers[name="web"]``."""
    return "".join(pe_string(pe) for pe in path)
