"""The JSONPath subset of ``additionalPrinterColumns`` (and kubectl's ``-o jsonpath``).

CRD printer columns are simple paths such as ``.spec.replicas`` or
``.status.conditions[?(@.type=="Ready")].status``.  A full JSONPath library
would bring a grammar we do not need and different semantics for missing
fields (kubectl prints nothing; most libraries raise), so the few forms
upstream documents are evaluated here: dotted fields, ``[n]``, ``[*]`` and
equality filters ``[?(@.field=="value")]``.  Paths are parsed once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Step = Callable[[list[Any]], list[Any]]

_TOKEN = re.compile(r"""\.(?P<field>[A-Za-z0-9_\-$/]+)
                       |\[(?P<index>-?\d+)\]
                       |\[(?P<star>\*)\]
                       |\[\?\(@\.(?P<ffield>[A-Za-z0-9_.\-]+)\s*(?P<op>==|!=)\s*
                          (?P<fval>"[^"]*"|'[^']*'|[^)\s]+)\)\]
                       |\['(?P<quoted>[^']+)'\]""", re.VERBOSE)


class JsonPathError(ValueError):
    """A path this evaluator cannot parse."""


def _field(name: str) -> Step:
    def step(values: list[Any]) -> list[Any]:
        out: list[Any] = []
        for v in values:
            if isinstance(v, dict) and name in v:
                out.append(v[name])
        return out
    return step


def _index(i: int) -> Step:
    def step(values: list[Any]) -> list[Any]:
        out: list[Any] = []
        for v in values:
            if isinstance(v, list) and -len(v) <= i < len(v):
                out.append(v[i])
        return out
    return step


def _star(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if isinstance(v, list):
            out.extend(v)
        elif isinstance(v, dict):
            out.extend(v.values())
    return out


def _filter(path: str, op: str, raw: str) -> Step:
    if raw[:1] in ("'", '"'):
        expected: Any = raw[1:-1]
    else:
        try:
            expected = int(raw)
        except ValueError:
            expected = {"true": True, "false": False}.get(raw, raw)
    keys = path.split(".")

    def matches(item: Any) -> bool:
        cur = item
        for k in keys:
            if not isinstance(cur, dict) or k not in cur:
                return False
            cur = cur[k]
        return bool((cur == expected) == (op == "=="))

    def step(values: list[Any]) -> list[Any]:
        out: list[Any] = []
        for v in values:
            if isinstance(v, list):
                out.extend(item for item in v if matches(item))
        return out
    return step


class JsonPath:
    """A compiled path; :meth:`find` returns every match (possibly none)."""

    def __init__(self, path: str) -> None:
        text = path.strip()
        if text.startswith("{") and text.endswith("}"):
            text = text[1:-1]
        if text.startswith("$"):
            text = text[1:]
        if not text.startswith((".", "[")):
            text = "." + text
        self.path = path
        self._steps: list[Step] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise JsonPathError(f"unsupported JSONPath {path!r} at {text[pos:]!r}")
            if m.group("field") is not None:
                self._steps.append(_field(m.group("field")))
            elif m.group("quoted") is not None:
                self._steps.append(_field(m.group("quoted")))
            elif m.group("index") is not None:
                self._steps.append(_index(int(m.group("index"))))
            elif m.group("star") is not None:
                self._steps.append(_star)
            else:
                self._steps.append(_filter(m.group("ffield"), m.group("op"), m.group("fval")))
            pos = m.end()

    def find(self, obj: Any) -> list[Any]:
        values = [obj]
        for step in self._steps:
            values = step(values)
            if not values:
                return []
        return values

    def first(self, obj: Any) -> Any:
        found = self.find(obj)
        return found[0] if found else None
