"""Table responses: the envelope, ``includeObject``, Accept negotiation, and lists of rows
encoded from cells cached per stored object version.

:func:`to_table` builds a ``Table`` as a dict, for one object (a GET, a watch event).  A
LIST of thousands of objects (``kubectl get pods``) goes through :func:`encode_table`
instead, which returns the body as bytes and does the per-object work once per stored
version: a printer's cells depend on the object alone (:mod:`~mizzen.apiserver.tables`),
so they are kept with the store's entry (:meth:`~mizzen.apiserver.store_log.Entry.memo`)
together with where the object's ``metadata`` lies inside its stored JSON.  A later list
of the same versions parses nothing: it renders the ages at its ``now``, encodes the small
cell lists, and copies the ``metadata`` (``includeObject=Metadata``, the default) or the
whole object (``Object``) straight from the stored bytes.  The bytes are exactly
``orjson.dumps(to_table(...))`` of the same objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import orjson

from mizzen.apiserver.discovery import JSON_MEDIA, media_ranges
from mizzen.apiserver.resources import ResourceInfo
from mizzen.apiserver.store_log import Entry
from mizzen.apiserver.tables import Printer, printer_for, render_cells

__all__ = ["encode_table", "parse_accept", "to_table"]

Obj = dict[str, Any]
_PARTIAL = b'{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":'
_META_KEY = b'"metadata":'


def _row(printer: Printer, obj: Obj, include_object: str, now: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {"cells": render_cells(printer.cells(obj), now)}
    if include_object == "Object":
        row["object"] = obj
    elif include_object != "None":
        row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                         "metadata": obj.get("metadata") or {}}
    return row


def _envelope(printer: Printer, resource_version: str, continue_token: str,
              remaining: int | None) -> dict[str, Any]:
    extra = {"continue": continue_token or None, "remainingItemCount": remaining}
    metadata = {"resourceVersion": resource_version,
                **{k: v for k, v in extra.items() if v is not None}}
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
            "columnDefinitions": [asdict(c) for c in printer.columns]}


def to_table(info: ResourceInfo, objects: list[dict[str, Any]], *, resource_version: str,
             continue_token: str = "", remaining: int | None = None,
             include_object: str = "Metadata", now: datetime,
             printer: Printer | None = None) -> dict[str, Any]:
    """A ``Table`` of ``objects``; ``include_object`` is the ``includeObject`` parameter."""
    printer = printer or printer_for(info)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    table = _envelope(printer, resource_version, continue_token, remaining)
    table["rows"] = [_row(printer, obj, include_object, now) for obj in objects]
    return table


class _Row:
    """What a row needs of one stored version: its cells (with ``Since`` in them) and its
    ``metadata`` as JSON — a ``(start, end)`` span of the stored bytes when found there
    (nothing to keep), else the encoded bytes."""

    __slots__ = ("cells", "metadata")

    def __init__(self, cells: list[Any], metadata: tuple[int, int] | bytes) -> None:
        self.cells = cells
        self.metadata = metadata


def _row_of(entry: Entry, printer: Printer, convert: Callable[[Obj], Obj] | None) -> _Row:
    obj = entry.parsed()
    if convert is not None:
        obj = convert(obj)
    meta = orjson.dumps(obj.get("metadata") or {})
    if convert is None and entry.raw:
        at = entry.raw.find(_META_KEY + meta)
        if at >= 0:
            start = at + len(_META_KEY)
            return _Row(printer.cells(obj), (start, start + len(meta)))
    return _Row(printer.cells(obj), meta)


def encode_table(info: ResourceInfo, entries: Sequence[Entry], *, resource_version: str,
                 continue_token: str = "", remaining: int | None = None,
                 include_object: str = "Metadata", now: datetime,
                 printer: Printer | None = None,
                 convert: Callable[[Obj], Obj] | None = None,
                 present: Callable[[Entry], bytes] | None = None) -> bytes:
    """The JSON of ``to_table`` over the objects of ``entries``, from rows cached per entry.

    ``convert`` turns a stored object into the served version's (custom resources) and
    ``present`` gives its bytes; a printer and a served version make one cache key, so a
    changed CRD printer or another version computes its own rows.
    """
    printer = printer or printer_for(info)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    key = ("table-row", info.api_version, printer)

    def make(entry: Entry) -> _Row:
        return _row_of(entry, printer, convert)

    dumps = orjson.dumps
    parts: list[bytes | memoryview] = [
        dumps(_envelope(printer, resource_version, continue_token, remaining))[:-1],
        b',"rows":[']
    add = parts.append
    for i, entry in enumerate(entries):
        row = entry.memo(key, make)
        add(b'{"cells":' if not i else b',{"cells":')
        add(dumps(render_cells(row.cells, now)))
        if include_object == "Object":
            add(b',"object":')
            add(present(entry) if present is not None else entry.raw)
        elif include_object != "None":
            add(b',"object":' + _PARTIAL)
            meta = row.metadata
            add(meta if isinstance(meta, bytes) else memoryview(entry.raw)[meta[0]:meta[1]])
            add(b"}")
        add(b"}")
    add(b"]}")
    return b"".join(parts)


_AS = MappingProxyType({"Table": "table", "PartialObjectMetadata": "partial",
                       "PartialObjectMetadataList": "partial"})


def parse_accept(accept: str) -> str:
    """``"table"``, ``"partial"`` or ``"json"``: what the first acceptable range asks for."""
    for mime, params in media_ranges(accept or "application/json"):
        if mime not in JSON_MEDIA:
            continue
        if "as" not in params or (params.get("g"), params.get("v")) == ("meta.k8s.io", "v1"):
            return _AS.get(params.get("as", ""), "json")
    return "json"
