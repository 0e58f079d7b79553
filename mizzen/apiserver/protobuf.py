"""Decoding Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``).

kubectl's typed clients (``create configmap``, ``create deployment``,
``create token``, ``debug``, ...) and every client-go program that opts into
protobuf send their writes in this form, and kube-apiserver accepts them.  This
module turns such a body into exactly the JSON-shaped dict the JSON decoder
would have produced for the same object, so everything after
:func:`~mizzen.apiserver.rest.decode_body` stays JSON-only.

The body is the magic ``k8s\\x00`` followed by a ``runtime.Unknown`` envelope
``{1: typeMeta {1: apiVersion, 2: kind}, 2: raw, 3: contentEncoding,
4: contentType}`` whose ``raw`` is the object's own message.  The wire-format
reader (:mod:`mizzen.apiserver.protobuf_wire`) is written here on purpose: it
is small, and no maintained package ships the Kubernetes message definitions,
which live as hand-written tables in :mod:`mizzen.apiserver.protobuf_types` and
the modules it imports.  Decoding walks those tables directly into dicts, with
no intermediate objects, which keeps a typical Deployment well under 1 ms.

Conversions follow the Go JSON encoding of the same types: ``bytes`` become
base64 strings, ``metav1.Time`` an RFC 3339 string to the second (``MicroTime``
to the microsecond), ``IntOrString`` an int or a string, ``resource.Quantity``
its string, ``RawExtension``/``FieldsV1`` the embedded JSON.  Zero scalars that
Go would omit are dropped; unset messages and empty lists or maps are absent.
Unknown field numbers are skipped (newer clients may send fields this server
does not know) and can be collected by passing a list.  Anything malformed
raises a 400 :class:`~mizzen.apiserver.errors.ApiError`, never anything else.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from mizzen.apiserver import errors
from mizzen.apiserver.protobuf_types import (
    ANY_VERSION_KINDS,
    K_BOOL,
    K_BYTES,
    K_INT32,
    K_INT64,
    K_INTORSTRING,
    K_MESSAGE,
    K_MICROTIME,
    K_QUANTITY,
    K_RAWEXTENSION,
    K_STRING,
    K_TIME,
    KINDS,
    MESSAGES,
    OP_BOOL,
    OP_BYTES,
    OP_INLINE,
    OP_INT32,
    OP_INT64,
    OP_MAP,
    OP_MESSAGE,
    OP_MESSAGES,
    OP_NUMBERS,
    OP_PACKED,
    OP_SPECIALS,
    OP_STRING,
    OP_STRINGS,
    Field,
    Message,
)
from mizzen.apiserver.protobuf_wire import (
    ProtobufError,
    get_bytes,
    get_fields,
    get_int,
    get_text,
    int32,
    int64,
    length,
    raw_fields,
    skip,
    varint,
)

__all__ = ["MAGIC", "MEDIA_TYPE", "ProtobufError", "decode_message", "decode_object",
           "is_protobuf"]

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
MAX_DEPTH = 100

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FAILURES = (ProtobufError, IndexError, ValueError, OverflowError, TypeError, RecursionError)


def is_protobuf(content_type: str) -> bool:
    """Whether a ``Content-Type`` header names the Kubernetes protobuf encoding."""
    return content_type.split(";", 1)[0].strip().lower() == MEDIA_TYPE


def decode_object(body: bytes | bytearray | memoryview,
                  unknown: list[str] | None = None) -> dict[str, Any]:
    """Decode one protobuf-encoded object (envelope included) into its JSON form.

    ``unknown``, when given, collects a line per skipped unknown field, such as
    ``"spec.template.spec: unknown field 99 (wire type 2) in PodSpec"``.
    """
    try:
        return _decode_object(bytes(body), unknown, 0)
    except _FAILURES as exc:
        raise errors.bad_request(f"unable to decode the protobuf request body: "
                                 f"{_describe(exc)}") from None


def decode_message(type_name: str, data: bytes | bytearray | memoryview,
                   unknown: list[str] | None = None) -> dict[str, Any]:
    """Decode a bare message (no envelope) of a named type, e.g. ``"PodSpec"``."""
    message = MESSAGES.get(type_name)
    if message is None:
        raise errors.bad_request(f"no protobuf message type {type_name!r}")
    buf = bytes(data)
    try:
        return _message(buf, 0, len(buf), message, "", unknown, 0)
    except _FAILURES as exc:
        raise errors.bad_request(f"unable to decode protobuf {type_name}: "
                                 f"{_describe(exc)}") from None


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, ProtobufError) else f"malformed input ({exc!r})"


def _decode_object(body: bytes, unknown: list[str] | None, depth: int) -> dict[str, Any]:
    if not body.startswith(MAGIC):
        raise ProtobufError('the body does not start with the protobuf magic number "k8s\\x00"')
    envelope = raw_fields(body, len(MAGIC), len(body), "envelope")
    type_meta = get_fields(envelope, 1, "envelope.typeMeta")
    api_version = get_text(type_meta, 1, "envelope.typeMeta.apiVersion")
    kind = get_text(type_meta, 2, "envelope.typeMeta.kind")
    raw = get_bytes(envelope, 2, "envelope.raw")
    encoding = get_text(envelope, 3, "envelope.contentEncoding")
    content_type = get_text(envelope, 4, "envelope.contentType")
    if encoding:
        raise ProtobufError(f'unsupported content encoding "{encoding}"')
    if content_type and content_type != MEDIA_TYPE:
        raise ProtobufError(f'unsupported content type "{content_type}" inside the envelope')
    if not kind:
        raise ProtobufError("the envelope names no kind")
    name = KINDS.get((api_version, kind)) or (kind if kind in ANY_VERSION_KINDS else None)
    if name is None:
        raise ProtobufError(f'no kind "{kind}" is registered for version "{api_version}" '
                            f"in the protobuf decoder; send it as application/json")
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    obj.update(_message(raw, 0, len(raw), MESSAGES[name], "", unknown, depth))
    return obj


def _where(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _message(buf: bytes, pos: int, end: int, msg: Message, path: str,
             unknown: list[str] | None, depth: int) -> dict[str, Any]:
    """Decode the fields of ``msg`` in ``buf[pos:end]`` into a JSON-shaped dict.

    The hot loop of the decoder: one lookup by tag, one dispatch on the
    operation, one-byte varints read inline.
    """
    if depth > MAX_DEPTH:
        raise ProtobufError(f"{path or msg.name}: messages nested more than {MAX_DEPTH} deep")
    out: dict[str, Any] = {}
    by_tag = msg.by_tag
    value: Any
    while pos < end:
        tag = buf[pos]
        if tag < 0x80:
            pos += 1
        else:
            tag, pos = _located(varint, buf, pos, end, path or msg.name)
        spec = by_tag.get(tag)
        if spec is None:
            pos = _unexpected(buf, pos, end, tag, msg, path, unknown)
            continue
        op, name, sub, keep, field = spec
        if op >= OP_INT32 and op <= OP_NUMBERS:  # a varint
            v = buf[pos] if pos < end else 0x80
            if v < 0x80:
                pos += 1
            else:
                v, pos = _located(varint, buf, pos, end, _where(path, name))
            if op == OP_INT32:
                value = v if v < 0x80000000 else int32(v)
            elif op == OP_INT64:
                value = v if v < 0x8000000000000000 else int64(v)
            elif op == OP_BOOL:
                value = v != 0
            else:
                out.setdefault(name, []).append(_number(field.kind, v))
                continue
            if value or keep:
                out[name] = value
            elif name in out:  # a later zero overrides an earlier value
                del out[name]
            continue
        n = buf[pos] if pos < end else 0x80
        if n < 0x80 and pos + 1 + n <= end:
            start = pos + 1
            pos = start + n
        else:
            start, pos = _located(length, buf, pos, end, _where(path, name))
        if op == OP_STRING:
            value = buf[start:pos].decode("utf-8", "replace")
            if value or keep:
                out[name] = value
            elif name in out:
                del out[name]
        elif op == OP_MESSAGE:
            where = f"{path}.{name}" if path else name
            value = _message(buf, start, pos, sub, where, unknown, depth + 1)
            previous = out.get(name)
            if isinstance(previous, dict):  # a message seen twice merges, as in protobuf
                previous.update(value)
            else:
                out[name] = value
        elif op == OP_MESSAGES:
            items = out.setdefault(name, [])
            where = f"{path}.{name}[{len(items)}]" if path else f"{name}[{len(items)}]"
            items.append(_message(buf, start, pos, sub, where, unknown, depth + 1))
        elif op == OP_STRINGS:
            out.setdefault(name, []).append(buf[start:pos].decode("utf-8", "replace"))
        elif op == OP_MAP:
            where = f"{path}.{name}" if path else name
            item_key, item = _map_entry(buf, start, pos, field, where, unknown, depth)
            out.setdefault(name, {})[item_key] = item
        elif op == OP_INLINE:
            out.update(_message(buf, start, pos, sub, path, unknown, depth + 1))
        elif op == OP_BYTES:
            value = base64.b64encode(buf[start:pos]).decode("ascii")
            if value or keep:
                out[name] = value
            elif name in out:
                del out[name]
        elif op == OP_PACKED:
            values = out.setdefault(name, [])
            while start < pos:
                v, start = varint(buf, start, pos)
                values.append(_number(field.kind, v))
        else:  # OP_SPECIAL, OP_SPECIALS
            where = f"{path}.{name}" if path else name
            value = _special(field.kind, buf[start:pos], where, unknown, depth)
            if value is None:  # a zero Time or an empty RawExtension: JSON null
                if name in out:
                    del out[name]
            elif op == OP_SPECIALS:
                out.setdefault(name, []).append(value)
            elif value or keep or field.kind != K_INTORSTRING:
                out[name] = value
            elif name in out:  # an IntOrString zero Go would omit
                del out[name]
    return out


def _located(read: Callable[[bytes, int, int], tuple[int, int]], buf: bytes, pos: int,
             end: int, where: str) -> tuple[int, int]:
    """Read a varint or a length; on failure, say which field it belonged to."""
    try:
        return read(buf, pos, end)
    except ProtobufError as exc:
        raise ProtobufError(f"{where}: {exc}") from None


def _unexpected(buf: bytes, pos: int, end: int, tag: int, msg: Message, path: str,
                unknown: list[str] | None) -> int:
    """A tag with no operation: a known field with the wrong wire type, or an unknown one."""
    number, wire = tag >> 3, tag & 7
    where = path or msg.name
    if number == 0:
        raise ProtobufError(f"{where}: invalid field number 0 at byte {pos}")
    field = msg.fields.get(number)
    if field is not None:
        raise ProtobufError(f"{_where(path, field.name)}: field {number} of {msg.name} has wire "
                            f"type {wire}, expected {field.wire} ({field.type_name})")
    pos = skip(buf, pos, end, wire, where)
    if unknown is not None and number not in msg.ignored:
        unknown.append(f"{path or '<object>'}: unknown field {number} (wire type {wire}) "
                       f"in {msg.name}")
    return pos


def _number(kind: int, v: int) -> int | bool:
    if kind == K_INT32:
        return int32(v)
    if kind == K_INT64:
        return int64(v)
    if kind == K_BOOL:
        return v != 0
    raise ProtobufError(f"internal: kind {kind} is not a number")  # pragma: no cover


def _map_entry(buf: bytes, pos: int, end: int, field: Field, where: str,
               unknown: list[str] | None, depth: int) -> tuple[str, Any]:
    """One ``map<string, T>`` entry: a message ``{1: key, 2: value}``."""
    key = ""
    value: Any = None
    kind = field.kind
    while pos < end:
        tag, pos = varint(buf, pos, end)
        number, wire = tag >> 3, tag & 7
        if number not in (1, 2):
            pos = skip(buf, pos, end, wire, where)
            if unknown is not None:
                unknown.append(f"{where}: unknown map entry field {number} (wire type {wire})")
            continue
        if wire != 2:
            raise ProtobufError(f"{where}: map entry field {number} has wire type {wire}, "
                                f"expected 2")
        start, pos = length(buf, pos, end)
        if number == 1:
            key = buf[start:pos].decode("utf-8", "replace")
        elif kind == K_STRING:
            value = buf[start:pos].decode("utf-8", "replace")
        elif kind == K_BYTES:
            value = base64.b64encode(buf[start:pos]).decode("ascii")
        elif kind == K_MESSAGE:
            assert field.message is not None
            value = _message(buf, start, pos, field.message, f"{where}[{key}]", unknown, depth + 1)
        else:
            value = _special(kind, buf[start:pos], f"{where}[{key}]", unknown, depth)
    if value is None:
        value = "0" if kind == K_QUANTITY else {} if kind == K_MESSAGE else ""
    return key, value


# --- apimachinery types with their own JSON form ----------------------------------------

def _special(kind: int, data: bytes, where: str, unknown: list[str] | None,
             depth: int) -> Any:
    """Time, MicroTime, Quantity, IntOrString, RawExtension or FieldsV1 as Go's JSON has it."""
    if kind in (K_TIME, K_MICROTIME):
        return _timestamp(data, where, kind == K_MICROTIME)
    fields = raw_fields(data, 0, len(data), where)
    if kind == K_QUANTITY:
        return get_text(fields, 1, f"{where}.string") or "0"
    if kind == K_INTORSTRING:
        if get_int(fields, 1, f"{where}.type") == 1:
            return get_text(fields, 3, f"{where}.strVal")
        return int32(get_int(fields, 2, f"{where}.intVal"))
    raw = get_bytes(fields, 1, f"{where}.raw")
    if not raw:
        return None
    if kind == K_RAWEXTENSION and raw.startswith(MAGIC):  # an embedded protobuf object
        if depth > MAX_DEPTH:
            raise ProtobufError(f"{where}: objects nested more than {MAX_DEPTH} deep")
        return _decode_object(raw, unknown, depth + 1)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        label = "RawExtension" if kind == K_RAWEXTENSION else "FieldsV1"
        raise ProtobufError(f"{where}: embedded {label} is not valid JSON ({exc})") from None


def _timestamp(data: bytes, where: str, micro: bool) -> str | None:
    if not data:  # a zero metav1.Time travels as an empty message: JSON null
        return None
    fields = raw_fields(data, 0, len(data), where)
    seconds = int64(get_int(fields, 1, f"{where}.seconds"))
    nanos = int32(get_int(fields, 2, f"{where}.nanos"))
    if not 0 <= nanos <= 999_999_999:
        raise ProtobufError(f"{where}: nanos {nanos} out of range")
    try:
        t = _EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        raise ProtobufError(f"{where}: timestamp {seconds} out of range") from None
    text = (f"{t.year:04d}-{t.month:02d}-{t.day:02d}"
            f"T{t.hour:02d}:{t.minute:02d}:{t.second:02d}")
    # metav1.Time keeps whole seconds (as its Go Unmarshal does); MicroTime keeps µs.
    return f"{text}.{nanos // 1000:06d}Z" if micro else f"{text}Z"
