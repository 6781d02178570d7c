# mypy: disallow-subclassing-any=False
# (pyasn1 ships no type information; its encoder is specialised by subclassing.)
"""Bounded BER decoding and definite-length encoding for the X.400 modules.

Real MTAs send BER, not DER: PP writes indefinite lengths and constructed
OCTET STRINGs (``28 80 ... 24 80 ... 00 00``, P1-WIRE.md), so the decoder
accepts both.  Bytes from a peer are hostile until proved otherwise, so
:func:`decode` first walks the TLV structure itself -- iteratively, in one
pass, with a stack no deeper than ``max_depth`` -- and refuses, with a
:class:`BERError` naming the offset and the reason:

- input longer than ``max_total``;
- nesting deeper than ``max_depth`` (constructed encodings inside each other);
- an element whose length exceeds ``max_length``, the bytes that remain, or
  the element that encloses it (this covers 2^63-style long-form lengths,
  which are refused from their length octets, before anything is allocated);
- truncated data, a missing end-of-contents, an indefinite length on a
  primitive encoding, reserved or over-long length and tag octets;
- anything after the one top-level element.

A second walk rewrites the input with definite lengths (:func:`definite`),
because pyasn1 cannot find the end of an indefinite-length open type (ANY)
full of context-specific tags.  Only then does pyasn1's decoder run, on input
that is known to be bounded; its own errors come back as :class:`BERError`
too.  The walks cost O(len(data)) time; the stack is at most ``max_depth``
deep.  X.690 clause numbers are cited inline.

:func:`encode` uses pyasn1's DER encoder: definite lengths, primitive
strings, defaults omitted.  One caveat: pyasn1 orders SET components by
their innermost tag, so an EXPLICIT-tagged component (Heading's subject
[8]) may sort before an [APPLICATION n] one; that is valid BER (X.690 8.11.2:
any order) but not strict DER.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any

from pyasn1.codec.ber import decoder as ber_decoder
from pyasn1.codec.ber import encoder as ber_encoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import useful

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_MAX_TOTAL",
    "BERError",
    "check",
    "decode",
    "definite",
    "encode",
]

#: Deepest nesting of constructed encodings accepted.  A P1 message with a
#: forwarded IPM inside a message body part is about 20 deep; 64 leaves room.
DEFAULT_MAX_DEPTH = 64
#: Largest single element (content octets), and largest input: 64 MiB, well
#: above the gateway's message size limit.
DEFAULT_MAX_LENGTH = 64 * 1024 * 1024
DEFAULT_MAX_TOTAL = 64 * 1024 * 1024

# A tag number needs at most this many base-128 octets (X.690 8.1.2.4); four
# give 2^28, beyond any tag in the X.400 modules.
_MAX_TAG_OCTETS = 4
# Long-form length octets beyond this many are refused outright: eight octets
# already reach 2^64, more than any buffer.
_MAX_LENGTH_OCTETS = 8


class BERError(ValueError):
    """Bytes that are not one acceptable BER encoding of the expected type."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"BER error at offset {offset}: {reason}")
        self.offset = offset
        self.reason = reason


_OPEN, _PRIMITIVE, _CLOSE = 0, 1, 2


def _walk(
    data: bytes, max_depth: int, max_length: int, max_total: int
) -> Iterator[tuple[int, int, int, int]]:
    """Walk the TLV structure of *data*, which must be exactly one well-formed
    BER element within the limits, and yield events in document order:
    ``(_OPEN, start, identifier end, 0)`` for a constructed element,
    ``(_PRIMITIVE, start, identifier end, content length)`` for a primitive
    one (its contents follow its length octets), ``(_CLOSE, 0, 0, 0)`` when a
    constructed element ends.  Raises BERError at the first fault."""
    total = len(data)
    if total > max_total:
        raise BERError(0, f"input of {total} octets exceeds the limit of {max_total}")
    if total == 0:
        raise BERError(0, "no data")

    # One entry per open constructed encoding: the offset where its contents
    # end, or -1 while it is indefinite (ended by end-of-contents octets).
    # ``limits`` holds, in parallel, the offset nothing inside may pass: the
    # nearest enclosing definite end.
    ends: list[int] = []
    limits: list[int] = []
    pos = 0
    while True:
        limit = limits[-1] if limits else total
        if ends:
            end = ends[-1]
            closed = end >= 0 and pos == end
            if end < 0 and pos + 2 <= limit and data[pos : pos + 2] == b"\x00\x00":
                # X.690 8.1.5: end-of-contents closes the indefinite element
                pos += 2
                closed = True
            if closed:
                ends.pop()
                limits.pop()
                yield _CLOSE, 0, 0, 0
                if not ends:
                    break
                continue
            if pos >= limit:
                what = "end-of-contents octets" if end < 0 else "contents"
                raise BERError(pos, f"truncated: {what} missing")
        start = pos
        ident_end, pos, constructed, length = _header(data, pos, limit, max_length)
        if data[start] == 0 and length == 0 and not constructed:
            raise BERError(start, "end-of-contents octets where no indefinite length is open")
        if constructed:
            if len(ends) >= max_depth:
                raise BERError(start, f"nesting deeper than {max_depth}")
            if length is None:
                ends.append(-1)
                limits.append(limit)
            else:
                ends.append(pos + length)
                limits.append(pos + length)
            yield _OPEN, start, ident_end, 0
        else:
            assert length is not None  # _header refuses indefinite primitives
            yield _PRIMITIVE, start, ident_end, length
            pos += length
            if not ends:
                break
    if pos != total:
        raise BERError(pos, f"{total - pos} octets after the end of the element")


def _length_octets(length: int) -> bytes:
    """X.690 10.1: the definite form, in the fewest octets."""
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def check(
    data: bytes,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_total: int = DEFAULT_MAX_TOTAL,
) -> None:
    """Raise BERError unless *data* is exactly one well-formed BER element
    within the limits."""
    for _ in _walk(data, max_depth, max_length, max_total):
        pass


def definite(
    data: bytes,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_total: int = DEFAULT_MAX_TOTAL,
) -> bytes:
    """*data* checked as :func:`check` does and rewritten with definite
    lengths in their shortest form; tags, contents and constructed strings are
    kept as they are.

    pyasn1 finds the end of an indefinite-length open type (ANY: EXTERNAL
    contents, extension values, the IPM in a message body part) by decoding
    it without a schema, which fails on the context-specific tags that the
    X.400 types are full of; after this rewrite it never has to.  Two passes,
    O(len(data)) time; the one array holds a length per constructed element."""
    # Pass 1: the definite content length of every constructed element, in
    # document order (pre-order), summed bottom-up.
    lengths = array("q")
    open_index: list[int] = []
    open_ident: list[int] = []
    sums: list[int] = []
    for kind, start, ident_end, length in _walk(data, max_depth, max_length, max_total):
        if kind == _OPEN:
            open_index.append(len(lengths))
            lengths.append(0)
            open_ident.append(ident_end - start)
            sums.append(0)
        elif kind == _PRIMITIVE:
            size = ident_end - start + len(_length_octets(length)) + length
            if sums:
                sums[-1] += size
        else:
            content = sums.pop()
            lengths[open_index.pop()] = content
            size = open_ident.pop() + len(_length_octets(content)) + content
            if sums:
                sums[-1] += size
    # Pass 2: emit.
    out = bytearray()
    index = 0
    for kind, start, ident_end, length in _walk(data, max_depth, max_length, max_total):
        if kind == _OPEN:
            out += data[start:ident_end]
            out += _length_octets(lengths[index])
            index += 1
        elif kind == _PRIMITIVE:
            out += data[start:ident_end]
            out += _length_octets(length)
            content_start = ident_end + len(_length_octets_at(data, ident_end))
            out += data[content_start : content_start + length]
    return bytes(out)


def _length_octets_at(data: bytes, pos: int) -> bytes:
    """The length octets as sent at *pos* (already validated by _walk)."""
    first = data[pos]
    if first < 0x80:
        return data[pos : pos + 1]
    return data[pos : pos + 1 + (first & 0x7F)]


def _header(
    data: bytes, pos: int, limit: int, max_length: int
) -> tuple[int, int, bool, int | None]:
    """Parse the identifier and length octets at *pos*; return the offset
    where the identifier ends, the offset of the contents, whether the
    encoding is constructed, and the length (None for indefinite).  The
    contents must end by *limit*."""
    start = pos
    if pos >= limit:
        raise BERError(pos, "truncated: identifier octets missing")
    first = data[pos]
    pos += 1
    constructed = bool(first & 0x20)
    if first & 0x1F == 0x1F:
        # X.690 8.1.2.4: high tag number form, base 128, bit 8 set on all
        # but the last octet; the first may not be 0x80 (8.1.2.4.2 c).
        count = 0
        while True:
            if pos >= limit:
                raise BERError(start, "truncated: tag number octets missing")
            octet = data[pos]
            if count == 0 and octet == 0x80:
                raise BERError(pos, "tag number with a leading zero octet")
            pos += 1
            count += 1
            if not octet & 0x80:
                break
            if count >= _MAX_TAG_OCTETS:
                raise BERError(start, f"tag number longer than {_MAX_TAG_OCTETS} octets")
    ident_end = pos
    if pos >= limit:
        raise BERError(pos, "truncated: length octets missing")
    first_length = data[pos]
    pos += 1
    length: int | None
    if first_length < 0x80:
        length = first_length  # X.690 8.1.3.4 short form
    elif first_length == 0x80:
        # X.690 8.1.3.6 indefinite form, for constructed encodings only
        if not constructed:
            raise BERError(start, "indefinite length on a primitive encoding")
        return ident_end, pos, constructed, None
    elif first_length == 0xFF:
        raise BERError(pos - 1, "reserved length octet 0xFF")  # X.690 8.1.3.5 c
    else:
        count = first_length & 0x7F
        if count > _MAX_LENGTH_OCTETS:
            raise BERError(pos - 1, f"length of {count} octets is out of range")
        if pos + count > limit:
            raise BERError(pos, "truncated: length octets missing")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if length > max_length:
        raise BERError(start, f"element length {length} exceeds the limit of {max_length}")
    if pos + length > limit:
        raise BERError(
            start,
            f"element length {length} runs past the end of its container"
            f" ({limit - pos} octets remain)",
        )
    return ident_end, pos, constructed, length


def decode(
    data: bytes,
    spec: Any,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_total: int = DEFAULT_MAX_TOTAL,
) -> Any:
    """Decode *data*, exactly one BER encoding of the pyasn1 type *spec*.

    Raises BERError for anything :func:`check` refuses and for every error
    pyasn1 reports (wrong tags, bad contents, constraint violations)."""
    data = definite(bytes(data), max_depth=max_depth, max_length=max_length, max_total=max_total)
    try:
        value, rest = ber_decoder.decode(data, asn1Spec=spec)
    except PyAsn1Error as exc:
        raise BERError(0, f"does not decode as {type(spec).__name__}: {_brief(exc)}") from exc
    if rest:
        # check() has proved there is one element; kept as a safety net
        raise BERError(len(data) - len(rest), f"{len(rest)} octets after the value")
    return value


class _TimeAsGiven(ber_encoder.OctetStringEncoder):
    """UTCTime/GeneralizedTime written as given: X.400 keeps a time's own
    zone offset (RFC 2156 3.3.5), which DER (Z only) would refuse."""


class _SingleItemEncoder(der_encoder.SingleItemEncoder):
    TAG_MAP = {
        **der_encoder.TAG_MAP,
        useful.UTCTime.tagSet: _TimeAsGiven(),
        useful.GeneralizedTime.tagSet: _TimeAsGiven(),
    }
    TYPE_MAP = {
        **der_encoder.TYPE_MAP,
        useful.UTCTime.typeId: _TimeAsGiven(),
        useful.GeneralizedTime.typeId: _TimeAsGiven(),
    }


class _Encoder(der_encoder.Encoder):
    SINGLE_ITEM_ENCODER = _SingleItemEncoder


_encode = _Encoder()


def encode(value: Any) -> bytes:
    """Encode a pyasn1 value with definite lengths: DER, except that times
    are written as given (with their zone offset, as X.400 keeps them)."""
    try:
        return bytes(_encode(value))
    except PyAsn1Error as exc:
        raise BERError(0, f"cannot encode {type(value).__name__}: {_brief(exc)}") from exc


def _brief(exc: Exception, limit: int = 300) -> str:
    """pyasn1's messages embed the repr of whole schemas (tens of kilobytes);
    the cause is at the end."""
    text = str(exc)
    return text if len(text) <= limit else "..." + text[-limit:]
