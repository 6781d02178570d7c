"""GeneralString text of the X.420 general-text body part (7.4.11).

The data is a GeneralString: ISO/IEC 2022 text whose character sets are
listed in the parameters by ISO 2375 registration number (ISO-IR).  This
module decodes and encodes the sets a mail gateway meets: ASCII as G0
(ISO-IR 6), the C0 controls (1), the right halves of ISO 8859-1..9 and -15
as G1 (100, 101, 109, 110, 144, 127, 126, 138, 148, 203), and UTF-8 as the
ISO 2022 "other coding system" (196, ``ESC % G``).

Pure functions over bytes; a set or an escape sequence it does not know is a
:class:`GeneralTextError` naming it.
"""

from __future__ import annotations

__all__ = [
    "CHARSETS",
    "GeneralTextError",
    "decode_general_text",
    "encode_general_text",
]

ESC = 0x1B

# ISO-IR number -> (ISO 2022 final byte of "ESC - F" (96-set into G1), codec)
# ISO 8859 part n, right-hand part registrations (ISO-IR register).
RIGHT_HALVES: dict[int, tuple[int, str]] = {
    100: (0x41, "iso8859-1"),
    101: (0x42, "iso8859-2"),
    109: (0x43, "iso8859-3"),
    110: (0x44, "iso8859-4"),
    144: (0x4C, "iso8859-5"),
    127: (0x47, "iso8859-6"),
    126: (0x46, "iso8859-7"),
    138: (0x48, "iso8859-8"),
    148: (0x4D, "iso8859-9"),
    203: (0x62, "iso8859-15"),
}
C0, ASCII, UTF8 = 1, 6, 196
#: every registration number understood here
CHARSETS = frozenset({C0, ASCII, UTF8, *RIGHT_HALVES})
_BY_FINAL = {final: number for number, (final, _) in RIGHT_HALVES.items()}


class GeneralTextError(ValueError):
    """General text that cannot be converted."""


def _check(charsets: tuple[int, ...]) -> None:
    unknown = sorted(set(charsets) - CHARSETS)
    if unknown:
        raise GeneralTextError(f"character set ISO-IR {unknown[0]} is not supported")


def decode_general_text(data: bytes, charsets: tuple[int, ...]) -> str:
    """The text of a GeneralString, given the declared *charsets*.

    Without a designation, G1 is the one right-half set declared (if there
    is exactly one); ``ESC - F`` switches it, ``ESC % G`` starts UTF-8 and
    ``ESC % @`` returns to ISO 2022."""
    _check(charsets)
    halves = [c for c in charsets if c in RIGHT_HALVES]
    g1 = RIGHT_HALVES[halves[0]][1] if len(halves) == 1 else None
    if UTF8 in charsets and not halves and ESC not in data:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GeneralTextError(f"bad UTF-8 at octet {exc.start}") from None
    out: list[str] = []
    i = 0
    utf8 = False
    while i < len(data):
        byte = data[i]
        if byte == ESC:
            seq = data[i + 1 : i + 3]
            if seq == b"%G":
                utf8, i = True, i + 3
                continue
            if seq == b"%@":
                utf8, i = False, i + 3
                continue
            if seq[:1] == b"-" and len(seq) == 2 and seq[1] in _BY_FINAL:
                g1 = RIGHT_HALVES[_BY_FINAL[seq[1]]][1]
                i += 3
                continue
            if seq in (b"(B", b"!@"):  # ASCII into G0, C0 set
                i += 3
                continue
            raise GeneralTextError(f"unsupported escape sequence ESC {seq!r} at octet {i}")
        if utf8:
            end = data.find(bytes([ESC]), i)
            end = len(data) if end < 0 else end
            try:
                out.append(data[i:end].decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise GeneralTextError(f"bad UTF-8 at octet {i + exc.start}") from None
            i = end
            continue
        if byte < 0x80:
            out.append(chr(byte))
        elif byte >= 0xA0 and g1 is not None:
            out.append(bytes([byte]).decode(g1))
        else:
            raise GeneralTextError(f"octet 0x{byte:02x} at {i} is in no designated set")
        i += 1
    return "".join(out)


def encode_general_text(text: str, charsets: tuple[int, ...]) -> bytes:
    """*text* as a GeneralString in *charsets*: ASCII plain, the right half
    designated once at the start (``ESC - F``), or UTF-8 after ``ESC % G``."""
    _check(charsets)
    if "\x1b" in text:
        raise GeneralTextError("ESC cannot be carried in general text: it starts escape sequences")
    if text.isascii():
        return text.encode("ascii")
    halves = [c for c in charsets if c in RIGHT_HALVES]
    for number in halves:
        final, codec = RIGHT_HALVES[number]
        try:
            body = text.encode(codec)
        except UnicodeEncodeError:
            continue
        if any(0x80 <= b < 0xA0 for b in body):
            break  # C1 controls: no set for them here, UTF-8 may carry them
        return bytes([ESC, 0x2D, final]) + body
    if UTF8 in charsets:
        return b"\x1b%G" + text.encode("utf-8")
    raise GeneralTextError(f"the text needs a character set beyond ISO-IR {sorted(charsets)}")
