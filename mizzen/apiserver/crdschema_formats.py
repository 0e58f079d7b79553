"""String formats and patterns of CRD schemas, checked the way kube-apiserver checks them.

Formats: kube-apiserver keeps only the formats of its ``supportedFormats`` list
(names compared with dashes removed, so ``date-time`` is ``datetime``) and
silently drops every other format before validating — ``int32``, ``int64``,
``float`` and ``double`` included, so their ranges are *not* enforced.  The
checkers below mirror go-openapi's ``strfmt`` registry and govalidator,
approximately where Go's parsers (``net/mail``, ``net/url``) are involved; they
err on the lenient side there.

Patterns: upstream compiles ``pattern`` with Go's RE2 and *searches* (the pattern
is not implicitly anchored).  :func:`compile_pattern` translates the RE2 syntax
CRDs use into Python's ``re``: ``$`` means end of text (``\\Z``), ``\\z``
likewise, ``\\d``/``\\s``/``\\w`` are ASCII, POSIX classes ``[[:alpha:]]`` are
expanded, inline flags ``(?i)`` are hoisted to the front, ``(?<name>`` becomes
``(?P<name>``, and Unicode classes ``\\p{L}`` are approximated (ASCII part plus
all of non-ASCII).  A pattern that still does not compile raises ``re.error``.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import ipaddress
import re
from collections.abc import Callable
from types import MappingProxyType

_PERL = MappingProxyType({"d": "0-9", "s": "\\t\\n\\f\\r ", "w": "0-9A-Za-z_"})
_POSIX = MappingProxyType({
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z",
    "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z",
    "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f"})
_NON_ASCII = "\\u0080-\\U0010ffff"


def _unicode_class(name: str) -> str:
    """An approximation of ``\\p{name}`` as the inside of a character class."""
    if name.startswith("L"):
        return "A-Za-z" + _NON_ASCII
    if name.startswith("N"):
        return "0-9" + _NON_ASCII
    if name[:1] in ("P", "S"):
        return _POSIX["punct"] + _NON_ASCII
    if name[:1] == "Z":
        return " " + _NON_ASCII
    return _NON_ASCII


def translate_pattern(pattern: str) -> str:
    """RE2 syntax (as CRD authors write it) to Python ``re`` syntax."""
    out: list[str] = []
    flags: set[str] = set()
    in_class = False
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            d = pattern[i + 1]
            i += 2
            if d in _PERL:
                out.append(_PERL[d] if in_class else f"[{_PERL[d]}]")
            elif d.lower() in _PERL and not in_class:
                out.append(f"[^{_PERL[d.lower()]}]")
            elif d == "z":
                out.append("\\Z")
            elif d in "pP":
                if i < n and pattern[i] == "{":
                    end = pattern.find("}", i)
                    name, i = pattern[i + 1:end], end + 1
                else:
                    name, i = pattern[i:i + 1], i + 1
                body = _unicode_class(name)
                if in_class:
                    out.append(body if d == "p" else "")
                else:
                    out.append(f"[{'^' if d == 'P' else ''}{body}]")
            else:
                out.append(c + d)
            continue
        if in_class:
            if c == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                name = pattern[i + 2:end] if end > 0 else ""
                if name.lstrip("^") in _POSIX:
                    if name.startswith("^") and out[-1] == "[":
                        out[-1] = "[^"  # [[:^digit:]]; negated inside a larger class: not kept
                    out.append(_POSIX[name.lstrip("^")])
                    i = end + 2
                    continue
                out.append("\\[")
            elif c == "]":
                in_class = False
                out.append(c)
            else:
                out.append("\\[" if c == "[" else c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if c == "$" and "m" not in flags:
            out.append("\\Z")
        elif pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        elif pattern.startswith("(?", i) and (m := re.match(r"\(\?([imsU-]+)\)", pattern[i:])):
            flags.update(f for f in m.group(1) if f in "ims")
            i += m.end()
            continue
        else:
            out.append(c)
        i += 1
    return ("(?" + "".join(sorted(flags)) + ")" if flags else "") + "".join(out)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(translate_pattern(pattern))


_HOST_CHAR = "a-zA-Z0-9" + _NON_ASCII
_HOSTNAME = re.compile(
    f"([{_HOST_CHAR}]((-?[{_HOST_CHAR}]{{0,62}})?)|([{_HOST_CHAR}](([-{_HOST_CHAR}]{{0,61}}"
    f"[{_HOST_CHAR}])?)(\\.)){{1,}}([{_HOST_CHAR}])(-?[{_HOST_CHAR}]){{1,62}})")
_UUID = MappingProxyType({v: re.compile(p, re.I) for v, p in (
    ("uuid", r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}"),
    ("uuid3", r"[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}"),
    ("uuid4", r"[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}"),
    ("uuid5", r"[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}"))})
_DATE_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
                        r"(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))")
_GO_DURATION = re.compile(r"[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+|[-+]?0")
_DURATION_WORD = re.compile(r"([0-9]+)\s*([A-Za-zµ]+)")
_UNITS = (("ns", "nano"), ("us", "µs", "micro"), ("ms", "milli"), ("s", "sec"), ("m", "min"),
          ("h", "hr", "hour"), ("d", "day"), ("w", "wk", "week"))
_URI = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.\-]*:|/)[^\x00-\x20\x7f]*")
_ADDR = r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\".][^@\s<>()\[\],;:\"]*"
_EMAIL = re.compile(f"{_ADDR}|[^<>]*<{_ADDR}>")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|"
                     r"[A-Za-z0-9+/]{4})")
_SSN = re.compile(r"[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}")
_HEX_COLOR = re.compile(r"#?(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_BYTE = r"\s*(0|[1-9][0-9]?|1[0-9][0-9]?|2[0-4][0-9]|25[0-5])\s*"
_RGB_COLOR = re.compile(f"rgb\\({_BYTE},{_BYTE},{_BYTE}\\)")
_CREDIT_CARD = re.compile(r"4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|"
                          r"3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11}")


def _valid_date(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year or 2000, month)[1]


def is_date(s: str) -> bool:
    if len(s) != 10 or s[4] != "-" or s[7] != "-" or not (s[:4] + s[5:7] + s[8:]).isdigit():
        return False
    return _valid_date(int(s[:4]), int(s[5:7]), int(s[8:]))


def is_date_time(s: str) -> bool:
    m = _DATE_TIME.fullmatch(s)
    if m is not None:  # the usual spelling: same verdict as the general case below, faster
        return m.group(4) <= "23" and m.group(5) <= "59" and m.group(6) <= "59" and _valid_date(
            int(m.group(1)), int(m.group(2)), int(m.group(3)))
    parts = s.lower().split("t")
    if len(s) < 4 or len(parts) < 2 or not is_date(parts[0]):
        return False
    m = _TIME.fullmatch(parts[1])
    return m is not None and m.group(1) <= "23" and m.group(2) <= "59" and m.group(3) <= "59"


def is_duration(s: str) -> bool:
    if _GO_DURATION.fullmatch(s):
        return True
    for m in _DURATION_WORD.finditer(s):
        unit = m.group(2).lower()
        for variants in _UNITS:
            if unit in variants or unit.startswith(variants[-1]):
                return True
    return False


def _ip(s: str, sep: str) -> bool:
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return sep in s and "%" not in s


def is_cidr(s: str) -> bool:
    try:
        ipaddress.ip_network(s, strict=False)
    except ValueError:
        return False
    return "/" in s


def is_mac(s: str) -> bool:
    for sep, width, counts in ((":", 2, (6, 8, 20)), ("-", 2, (6, 8, 20)), (".", 4, (3, 4, 10))):
        groups = s.split(sep)
        if len(groups) in counts and all(len(g) == width and _hex(g) for g in groups):
            return True
    return False


def _hex(s: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in s)


def is_hostname(s: str) -> bool:
    return bool(_HOSTNAME.fullmatch(s)) and len(s) <= 255 and all(
        len(p) <= 63 for p in s.split("."))


def is_isbn10(s: str) -> bool:
    s = re.sub(r"[\s-]+", "", s)
    if not re.fullmatch(r"[0-9]{9}X|[0-9]{10}", s):
        return False
    total = sum((i + 1) * int(c) for i, c in enumerate(s[:9]))
    return (total + 10 * (10 if s[9] == "X" else int(s[9]))) % 11 == 0


def is_isbn13(s: str) -> bool:
    s = re.sub(r"[\s-]+", "", s)
    if not re.fullmatch(r"[0-9]{13}", s):
        return False
    total = sum((1, 3)[i % 2] * int(c) for i, c in enumerate(s[:12]))
    return int(s[12]) == (10 - total % 10) % 10


def is_credit_card(s: str) -> bool:
    digits = re.sub(r"[^0-9]+", "", s)
    if not _CREDIT_CARD.fullmatch(digits):
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def is_base64(s: str) -> bool:
    if not _BASE64.fullmatch(s):
        return False
    try:
        base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_CHECKS: MappingProxyType[str, Callable[[str], object]] = MappingProxyType({
    "bsonobjectid": lambda s: len(s) == 24 and _hex(s),
    "uri": lambda s: bool(_URI.fullmatch(s)),
    "email": lambda s: bool(_EMAIL.fullmatch(s.strip())),
    "hostname": is_hostname,
    "ipv4": lambda s: _ip(s, "."),
    "ipv6": lambda s: _ip(s, ":"),
    "cidr": is_cidr,
    "mac": is_mac,
    **{name: rx.fullmatch for name, rx in _UUID.items()},
    "isbn": lambda s: is_isbn10(s) or is_isbn13(s),
    "isbn10": is_isbn10,
    "isbn13": is_isbn13,
    "creditcard": is_credit_card,
    "ssn": lambda s: len(s) == 11 and bool(_SSN.fullmatch(s)),
    "hexcolor": lambda s: bool(_HEX_COLOR.fullmatch(s)),
    "rgbcolor": lambda s: bool(_RGB_COLOR.fullmatch(s)),
    "byte": is_base64,
    "password": lambda s: True,
    "date": is_date,
    "duration": is_duration,
    "datetime": is_date_time,
})


def format_checker(fmt: object) -> Callable[[str], object] | None:
    """The checker kube-apiserver applies for ``format`` (``None``: the format is ignored).

    A checker's result is truthy when the string is valid.
    """
    if not isinstance(fmt, str) or not fmt:
        return None
    return _CHECKS.get(fmt.replace("-", ""))
