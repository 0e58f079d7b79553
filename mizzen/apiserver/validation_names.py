"""Names, labels and selectors, checked and worded as kube-apiserver does.

These are the format rules of ``k8s.io/apimachinery/pkg/util/validation`` (DNS
labels and subdomains, qualified names, label values, config keys, IANA port names)
and of metav1's ``ValidateLabels``/``ValidateLabelSelector``, plus the helpers that
print a cause's value the way upstream's Go does (``%q`` strings, ``%#v`` maps and
selectors).  They sit apart from the per-kind rules in
:mod:`mizzen.apiserver.validation_rules` because every kind uses them, and apart
from the schema walk in :mod:`mizzen.apiserver.validation` because they are plain
string checks that need no schema.

Each ``name(value) -> list[str]`` check returns upstream's error details (empty when
the value is fine) so callers can wrap them in a cause at their own path.  The
``check_*`` functions append causes for a raw, possibly ill-typed, dict: they read
defensively because they run even when the schema walk has reported type errors.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

import orjson

from mizzen.apiserver.errors import Cause, field_forbidden, field_invalid

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = _LABEL + r"(\." + _LABEL + r")*"
_DNS1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QNAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(" + _QNAME + ")?"
_CONFIG_KEY = r"[-._a-zA-Z0-9]+"
_RE = MappingProxyType({p: re.compile(p) for p in (
    _LABEL, _SUBDOMAIN, _DNS1035, _QNAME, _LABEL_VALUE, _CONFIG_KEY, r"[-a-z0-9]+", r".*[a-z].*")})
_ANNOTATIONS_LIMIT = 256 * 1024
_QUALIFIED = re.compile(f"(?:{_SUBDOMAIN}/)?{_QNAME}")  # no part holds a "/"


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _matches(fmt: str, value: str, max_len: int, msg: str, *examples: str) -> list[str]:
    if len(value) <= max_len and _RE[fmt].fullmatch(value):
        return []
    errs = [f"must be no more than {max_len} characters"] if len(value) > max_len else []
    if not _RE[fmt].fullmatch(value):
        errs.append(_regex_error(msg, fmt, *examples))
    return errs


def dns1123_label(value: str) -> list[str]:
    return _matches(_LABEL, value, 63, "a lowercase RFC 1123 label must consist of lower case "
                    "alphanumeric characters or '-', and must start and end with an alphanumeric "
                    "character", "my-name", "123-abc")


def dns1123_subdomain(value: str) -> list[str]:
    return _matches(_SUBDOMAIN, value, 253, "a lowercase RFC 1123 subdomain must consist of lower "
                    "case alphanumeric characters, '-' or '.', and must start and end with an "
                    "alphanumeric character", "example.com")


def dns1035_label(value: str) -> list[str]:
    return _matches(_DNS1035, value, 63, "a DNS-1035 label must consist of lower case alphanumeric "
                    "characters or '-', start with an alphabetic character, and end with an "
                    "alphanumeric character", "my-name", "abc-123")


def qualified_name(value: str) -> list[str]:
    """Label keys, annotation keys and finalizers: ``[prefix/]name``."""
    if len(value) <= 63 and _QUALIFIED.fullmatch(value):
        return []  # the common case in one match: both parts valid, neither too long
    parts = value.split("/")
    if len(parts[-1]) <= 63 and _RE[_QNAME].fullmatch(parts[-1]) and (len(parts) == 1 or (
            len(parts) == 2 and len(parts[0]) <= 253 and _RE[_SUBDOMAIN].fullmatch(parts[0]))):
        return []
    msg = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
           "with an alphanumeric character")
    if len(parts) > 2:
        return ["a qualified name " + _regex_error(msg, _QNAME, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    errs: list[str] = []
    if len(parts) == 2:
        if not parts[0]:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in dns1123_subdomain(parts[0])]
    name = parts[-1]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _RE[_QNAME].fullmatch(name):
        errs.append("name part " + _regex_error(msg, _QNAME, "MyName", "my.name", "123-abc"))
    return errs


def label_value(value: str) -> list[str]:
    return _matches(_LABEL_VALUE, value, 63, "a valid label must be an empty string or consist "
                    "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                    "alphanumeric character", "MyValue", "my_value", "12345")


def config_key(value: str) -> list[str]:
    errs = _matches(_CONFIG_KEY, value, 253, "a valid config key must consist of alphanumeric "
                    "characters, '-', '_' or '.'", "key.name", "KEY_NAME", "key-name")
    if value in (".", ".."):
        errs.append(f"must not be '{value}'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def port_name(value: str) -> list[str]:
    """IANA service names (container and target ports)."""
    errs = ["must be no more than 15 characters"] if len(value) > 15 else []
    if not _RE["[-a-z0-9]+"].fullmatch(value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _RE[".*[a-z].*"].fullmatch(value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def not_supported(path: str, value: Any, valid: list[str]) -> Cause:
    shown = value if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else _goq(str(value))
    return Cause("FieldValueNotSupported", f"Unsupported value: {shown}: supported values: "
                 + ", ".join(_goq(v) for v in valid), path)


def duplicate(path: str, value: str) -> Cause:
    return Cause("FieldValueDuplicate", f"Duplicate value: {_goq(value)}", path)


def invalid_go(path: str, shown: str, detail: str) -> Cause:
    """An Invalid cause whose value upstream prints with Go's ``%#v``."""
    return Cause("FieldValueInvalid", f"Invalid value: {shown}: {detail}", path)


def _goq(s: str) -> str:
    return orjson.dumps(s).decode()


def go_map(m: Any) -> str:
    if not isinstance(m, dict):
        return "map[string]string(nil)"
    return "map[string]string{" + ", ".join(
        f"{_goq(str(k))}:{_goq(str(v))}" for k, v in sorted(m.items())) + "}"


def go_strings(items: Any) -> str:
    if not isinstance(items, list):
        return "[]string(nil)"
    return "[]string{" + ", ".join(_goq(str(v)) for v in items) + "}"


def go_selector(sel: dict[str, Any]) -> str:
    exprs = sel.get("matchExpressions")
    shown = "[]v1.LabelSelectorRequirement(nil)" if not isinstance(exprs, list) else (
        "[]v1.LabelSelectorRequirement{" + ", ".join(
            f"v1.LabelSelectorRequirement{{Key:{_goq(str(e.get('key', '')))}, Operator:"
            f"{_goq(str(e.get('operator', '')))}, Values:{go_strings(e.get('values'))}}}"
            for e in exprs if isinstance(e, dict)) + "}")
    return (f"v1.LabelSelector{{MatchLabels:{go_map(sel.get('matchLabels'))}, "
            f"MatchExpressions:{shown}}}")


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def check_labels(labels: Any, at: str, causes: list[Cause]) -> None:
    for key, value in as_dict(labels).items():
        if errs := qualified_name(key):
            causes += [field_invalid(at, key, m) for m in errs]
        if isinstance(value, str) and (errs := label_value(value)):
            causes += [field_invalid(at, value, m) for m in errs]


def check_meta(meta: Any, at: str, causes: list[Cause]) -> None:
    """Labels, annotations and finalizers of ``metadata`` (object or template)."""
    meta = as_dict(meta)
    check_labels(meta.get("labels"), f"{at}.labels", causes)
    annotations = as_dict(meta.get("annotations"))
    for key in annotations:
        causes += [field_invalid(f"{at}.annotations", key, m) for m in qualified_name(key.lower())]
    _check_annotations_size(annotations, at, causes)
    for fin in as_list(meta.get("finalizers")):
        if isinstance(fin, str):
            causes += [field_invalid(f"{at}.finalizers", fin, m) for m in qualified_name(fin)]


def _check_annotations_size(annotations: dict[str, Any], at: str, causes: list[Cause]) -> None:
    size = sum(len(k) + (len(v) if isinstance(v, str) else 0) for k, v in annotations.items())
    if size > _ANNOTATIONS_LIMIT:
        causes.append(Cause("FieldValueTooLong",
                            f"Too long: may not be more than {_ANNOTATIONS_LIMIT} bytes",
                            f"{at}.annotations"))


class CleanMeta:
    """:func:`check_meta` remembering the label sets, annotation keys and finalizers that
    passed lately (the last ``entries`` combinations), so an object whose names were seen
    before costs one tuple lookup: pods of one workload, and every update of an object,
    carry the same ones again.  The annotations' total size is checked every time (their
    values are not part of what is remembered).  Owned by a validator, never global."""

    def __init__(self, entries: int = 1024) -> None:
        self.entries = entries
        self._clean: dict[tuple[Any, ...], None] = {}  # oldest first

    def check(self, meta: Any, at: str, causes: list[Cause]) -> None:
        meta = as_dict(meta)
        labels, annotations = meta.get("labels"), as_dict(meta.get("annotations"))
        finalizers = meta.get("finalizers")
        try:
            key = (tuple(labels.items()) if type(labels) is dict else labels,
                   tuple(annotations), tuple(finalizers) if type(finalizers) is list else None)
            seen = key in self._clean
        except TypeError:  # something unhashable where a string belongs: not valid anyway
            check_meta(meta, at, causes)
            return
        if seen:
            _check_annotations_size(annotations, at, causes)
            return
        before = len(causes)
        check_meta(meta, at, causes)
        if len(causes) == before:
            if len(self._clean) >= self.entries:
                del self._clean[next(iter(self._clean))]
            self._clean[key] = None


def check_selector(sel: dict[str, Any], at: str, causes: list[Cause]) -> None:
    check_labels(sel.get("matchLabels"), f"{at}.matchLabels", causes)
    for i, expr in enumerate(as_list(sel.get("matchExpressions"))):
        here, expr = f"{at}.matchExpressions[{i}]", as_dict(expr)
        op, values = expr.get("operator"), expr.get("values")
        if op in ("In", "NotIn") and not values:
            causes.append(Cause("FieldValueRequired", "Required value: must be specified when "
                                "`operator` is 'In' or 'NotIn'", f"{here}.values"))
        elif op in ("Exists", "DoesNotExist") and values:
            causes.append(field_forbidden(f"{here}.values", "may not be specified when "
                                          "`operator` is 'Exists' or 'DoesNotExist'"))
        elif op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            causes.append(field_invalid(f"{here}.operator", op, "not a valid selector operator"))
        if isinstance(expr.get("key"), str):
            causes += [field_invalid(f"{here}.key", expr["key"], m)
                       for m in qualified_name(expr["key"])]


def selector_matches(sel: dict[str, Any], labels: dict[str, Any]) -> bool:
    """Whether a ``LabelSelector`` selects ``labels`` (an empty selector selects everything)."""
    if any(labels.get(k) != v for k, v in as_dict(sel.get("matchLabels")).items()):
        return False
    for expr in as_list(sel.get("matchExpressions")):
        expr = as_dict(expr)
        key, op, values = str(expr.get("key")), expr.get("operator"), as_list(expr.get("values"))
        present = key in labels
        ok = {"In": present and labels.get(key) in values,
              "NotIn": not present or labels.get(key) not in values,
              "Exists": present, "DoesNotExist": not present}.get(str(op), False)
        if not ok:
            return False
    return True
