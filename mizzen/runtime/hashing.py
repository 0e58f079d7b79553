"""Hashing pod templates into short, stable names, as Kubernetes controllers do.

Why one module: a Deployment names its ReplicaSets ``<name>-<pod-template-hash>``,
a CloneSet (and later Advanced StatefulSet and DaemonSet) its
ControllerRevisions ``<name>-<hash>``.  Both hash a canonical encoding of the
template with 32-bit FNV — upstream's ``ComputeHash`` uses FNV-1a,
``HashControllerRevision`` plain FNV-1 — mix in a collision count, and map the
decimal digits into an alphabet without vowels (``rand.SafeEncodeString``) so
the result is a valid, unoffending name suffix.

The canonical encoding is Mizzen's own (upstream hashes Go's struct dump,
which no Python program can reproduce): key-sorted compact JSON of the
template with empty values dropped, so a template and its API-server-
defaulted echo with ``null``/``{}``/``[]`` fields hash the same.  Hashes are
therefore stable across Mizzen versions and processes, not equal to
upstream's — nothing relies on that, since names are only compared with
names Mizzen itself computed or found on the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["canonical", "fnv1_32", "fnv1a_32", "normalised", "safe_encode"]

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


def normalised(value: Any) -> Any:
    """``value`` with ``None``, ``{}`` and ``[]`` members of objects dropped, recursively."""
    if isinstance(value, dict):
        out = {k: normalised(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    return value


def canonical(data: Mapping[str, Any]) -> bytes:
    """The bytes hashed for ``data``: normalised, key-sorted, compact JSON."""
    return orjson.dumps(normalised(dict(data)), option=orjson.OPT_SORT_KEYS)


def fnv1a_32(data: bytes, h: int = _FNV32_OFFSET) -> int:
    """32-bit FNV-1a of ``data``, continuing from ``h``."""
    for byte in data:
        h = ((h ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def fnv1_32(data: bytes, h: int = _FNV32_OFFSET) -> int:
    """32-bit FNV-1 of ``data``, continuing from ``h``."""
    for byte in data:
        h = ((h * _FNV32_PRIME) & 0xFFFFFFFF) ^ byte
    return h


def safe_encode(text: str) -> str:
    """Each character mapped into an alphabet with no vowels (upstream's SafeEncodeString)."""
    return "".join(_ALPHABET[ord(ch) % len(_ALPHABET)] for ch in text)
