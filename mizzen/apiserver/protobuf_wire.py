"""The protobuf wire format, read by hand: varints, lengths, skipping, small messages.

Only reading is needed (the server answers in JSON), and only the parts of the
format Kubernetes messages use: varint (wire type 0), 64-bit (1),
length-delimited (2) and 32-bit (5) fields.  Zig-zag integers and groups never
occur; groups are rejected.  Every malformed input raises
:class:`ProtobufError` with the byte offset, which
:func:`mizzen.apiserver.protobuf.decode_object` turns into a 400.
"""

from __future__ import annotations

_U64 = (1 << 64) - 1


class ProtobufError(ValueError):
    """Malformed protobuf input."""


def varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """Read a varint at ``pos``; return (value, position after it)."""
    result = 0
    shift = 0
    start = pos
    while True:
        if pos >= end:
            raise ProtobufError(f"truncated varint at byte {start}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError(f"varint at byte {start} is longer than 10 bytes")


def length(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """Read a length prefix at ``pos``; return (start, stop) of the payload."""
    n, start = varint(buf, pos, end)
    stop = start + n
    if stop > end:
        raise ProtobufError(f"length {n} at byte {pos} runs past the end of its message "
                            f"({end - start} bytes left)")
    return start, stop


def skip(buf: bytes, pos: int, end: int, wire: int, where: str) -> int:
    """Skip the value of a field of wire type ``wire``; return the position after it.

    ``where`` (a field path, or empty) prefixes the error messages.
    """
    if wire == 0:
        return varint(buf, pos, end)[1]
    if wire == 2:
        return length(buf, pos, end)[1]
    prefix = f"{where}: " if where else ""
    if wire in (1, 5):
        stop = pos + (8 if wire == 1 else 4)
        if stop > end:
            raise ProtobufError(f"{prefix}truncated fixed-size field at byte {pos}")
        return stop
    raise ProtobufError(f"{prefix}unsupported wire type {wire} at byte {pos}")


def int64(v: int) -> int:
    """A varint as Go's ``int64`` (two's complement)."""
    v &= _U64
    return v - (1 << 64) if v >= 1 << 63 else v


def int32(v: int) -> int:
    """A varint as Go's ``int32`` (truncated, two's complement)."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


RawFields = dict[int, int | bytes]


def raw_fields(buf: bytes, pos: int, end: int, where: str) -> RawFields:
    """The fields of a small fixed message: numbers to ints (varint) or bytes (length)."""
    out: RawFields = {}
    try:
        while pos < end:
            tag, pos = varint(buf, pos, end)
            number, wire = tag >> 3, tag & 7
            if number == 0:
                raise ProtobufError(f"invalid field number 0 at byte {pos}")
            if wire == 0:
                out[number], pos = varint(buf, pos, end)
            elif wire == 2:
                start, pos = length(buf, pos, end)
                out[number] = buf[start:pos]
            else:
                pos = skip(buf, pos, end, wire, "")
    except ProtobufError as exc:
        raise ProtobufError(f"{where}: {exc}") from None
    return out


def get_int(fields: RawFields, number: int, where: str) -> int:
    value = fields.get(number, 0)
    if not isinstance(value, int):
        raise ProtobufError(f"{where}: field {number} has wire type 2, expected 0 (varint)")
    return value


def get_bytes(fields: RawFields, number: int, where: str) -> bytes:
    value = fields.get(number, b"")
    if not isinstance(value, bytes):
        raise ProtobufError(f"{where}: field {number} has wire type 0, expected 2 "
                            f"(length-delimited)")
    return value


def get_text(fields: RawFields, number: int, where: str) -> str:
    return get_bytes(fields, number, where).decode("utf-8", "replace")


def get_fields(fields: RawFields, number: int, where: str) -> RawFields:
    data = get_bytes(fields, number, where)
    return raw_fields(data, 0, len(data), where)
