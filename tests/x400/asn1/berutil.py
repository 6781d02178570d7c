"""Test helpers: rewrite a definite-length encoding the way PP sends it."""

from __future__ import annotations

# OCTET STRING, which PP sends constructed (``24 80 04 .. 04 .. 00 00``).
# Restricted character strings may be split too (X.690 8.23.6), but pyasn1
# only accepts segments carrying the string's own tag, not the OCTET STRING
# segments X.690 prescribes, so they are left alone here.
OCTET_STRING = 0x04


def _tlv(data: bytes, pos: int) -> tuple[int, int, int, int]:
    """(identifier end, contents start, contents end, tag octet) of the
    definite-length element at *pos* (low tag numbers only)."""
    ident = data[pos]
    assert ident & 0x1F != 0x1F, "test helper handles low tag numbers only"
    first = data[pos + 1]
    if first < 0x80:
        return pos + 1, pos + 2, pos + 2 + first, ident
    n = first & 0x7F
    length = int.from_bytes(data[pos + 2 : pos + 2 + n], "big")
    return pos + 1, pos + 2 + n, pos + 2 + n + length, ident


def to_indefinite(
    der: bytes,
    *,
    chunk: int = 3,
    keep: frozenset[bytes] = frozenset(),
    strings: frozenset[int] = frozenset({OCTET_STRING}),
) -> bytes:
    """Every constructed encoding with an indefinite length; every primitive
    whose identifier octet is in *strings* and whose contents are longer than
    *chunk* split into a constructed encoding of OCTET STRING segments; an
    element whose whole encoding is in *keep* (an open type's value, which
    the decoder keeps as sent) copied as is."""
    out = bytearray()
    pos = 0
    while pos < len(der):
        _, start, end, ident = _tlv(der, pos)
        whole = der[pos:end]
        contents = der[start:end]
        if whole in keep:
            out += whole
        elif ident & 0x20:
            out += (
                bytes([ident, 0x80])
                + to_indefinite(contents, chunk=chunk, keep=keep, strings=strings)
                + b"\0\0"
            )
        elif ident in strings and len(contents) > chunk:
            out += bytes([ident | 0x20, 0x80])
            for i in range(0, len(contents), chunk):
                piece = contents[i : i + chunk]
                out += bytes([0x04, len(piece)]) + piece
            out += b"\0\0"
        else:
            out += whole
        pos = end
    return bytes(out)


def extension_types_1988(der: bytes, *, inside: bool = False) -> bytes:
    """Every ExtensionField's type rewritten to the 1988 form PP sends
    (P1-WIRE.md): ``80 01 17`` becomes ``a0 03 02 01 17``, the [0]
    constructed around a universal INTEGER.  An ExtensionField is taken to be
    a SEQUENCE, directly inside a context-specific constructed element (the
    ``extensions [n] SET OF``), whose first element is ``[0]`` primitive;
    lengths are recomputed (definite form)."""
    out = bytearray()
    pos = 0
    while pos < len(der):
        _, start, end, ident = _tlv(der, pos)
        contents = der[start:end]
        if ident & 0x20:
            if inside and ident == 0x30 and contents[:1] == b"\x80":
                _, t_start, t_end, _ = _tlv(contents, 0)
                number = contents[t_start:t_end]
                legacy = bytes([0xA0, len(number) + 2, 0x02, len(number)]) + number
                contents = legacy + contents[t_end:]
            else:
                contents = extension_types_1988(contents, inside=ident & 0xE0 == 0xA0)
            out += bytes([ident]) + _length(len(contents)) + contents
        else:
            out += der[pos:end]
        pos = end
    return bytes(out)


def _length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body
