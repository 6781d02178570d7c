"""Minimal, pure access to the header of an RFC 5322 message."""

from __future__ import annotations

import re

# Says why a message was filed as junk (gateway.bus.local); only this
# gateway writes it, so it is removed from mail arriving with it.
JUNK_FIELD = "X-Mailgateway-Junk"

_END_OF_HEADER = re.compile(rb"\r?\n\r?\n")
_FIELD_NAME = re.compile(rb"[!-9;-~]+")  # RFC 5322 3.6.8 ftext


def header_block(content: bytes, limit: int = 1 << 20) -> bytes:
    """The header section (without the empty line), at most ``limit`` bytes."""
    match = _END_OF_HEADER.search(content, 0, limit)
    return content[: match.start()] if match else content[:limit]


def header_fields(content: bytes) -> list[tuple[str, str]]:
    """``(name, unfolded value)`` of each header field, in order (RFC 5322 2.2)."""
    fields: list[tuple[str, str]] = []
    for line in re.split(rb"\r?\n", header_block(content)):
        if line[:1] in (b" ", b"\t") and fields:
            last_name, last_value = fields[-1]
            unfolded = line.strip().decode("utf-8", "replace")
            fields[-1] = (last_name, f"{last_value} {unfolded}")
            continue
        raw_name, sep, raw_value = line.partition(b":")
        if sep and _FIELD_NAME.fullmatch(raw_name):
            fields.append((raw_name.decode("ascii"), raw_value.strip().decode("utf-8", "replace")))
    return fields


def get_header(content: bytes, name: str) -> str | None:
    """The first field called ``name`` (case-insensitive), or None."""
    wanted = name.lower()
    for field_name, value in header_fields(content):
        if field_name.lower() == wanted:
            return value
    return None


# --- writing a message: header fields, line ends, MIME multiparts ------------

#: RFC 5322 2.1.1: lines SHOULD be at most 78 characters without the CRLF.
FOLD_WIDTH = 78
#: RFC 5322 2.1.1 (and RFC 2045 2.8 for 8bit data): at most 998 characters.
MAX_LINE = 998
_LINE_END = re.compile(rb"\r\n|\r|\n")


def fold_header_field(name: str, value: str, *, keep_spaces: bool = False) -> str:
    """``name: value`` ending in CRLF, folded before a space where a line
    would pass :data:`FOLD_WIDTH` columns (RFC 5322 2.2.3).  A word is never
    split, nor the name from the value's first word.

    By default the value is a list of words: runs of spaces count as one
    and leading or trailing ones go (a field the gateway writes itself).
    With ``keep_spaces`` nothing is added or removed: unfolding gives
    ``name: value`` back exactly (a value carried over from elsewhere, as
    the X.400 gateway must, RFC 2156).  Neither removes control characters:
    that is the caller's business."""
    lines: list[str] = []
    if not keep_spaces:
        line = f"{name}:"
        for word in value.split(" "):
            if not word:
                continue
            if len(line) + 1 + len(word) > FOLD_WIDTH and line.strip() and line != f"{name}:":
                lines.append(line)
                line = " " + word
            else:
                line += " " + word
        lines.append(line)
        return "\r\n".join(lines) + "\r\n"
    line, rest = f"{name}: ", value
    while len(line) + len(rest) > FOLD_WIDTH:
        room = FOLD_WIDTH - len(line)
        cut = rest.rfind(" ", 1, room + 1)
        if cut <= 0:
            cut = rest.find(" ", 1)
            if cut <= 0:
                break
        if not rest[:cut].strip():  # only spaces before the cut: go on
            cut = rest.find(" ", cut + 1)
            if cut <= 0:
                break
        lines.append(line + rest[:cut])
        line, rest = "", rest[cut:]
    lines.append(line + rest)
    return "\r\n".join(lines) + "\r\n"


def crlf(data: bytes) -> bytes:
    """Line ends as CRLF (RFC 5322 2.1), with a final one unless empty."""
    data = _LINE_END.sub(b"\r\n", data)
    return data if not data or data.endswith(b"\r\n") else data + b"\r\n"


def is_binary(data: bytes) -> bool:
    """Not valid as 7bit/8bit MIME data (RFC 2045 2.7, 2.8): a NUL or a line
    longer than :data:`MAX_LINE` (lines split at CRLF: see :func:`crlf`)."""
    return b"\x00" in data or any(len(line) > MAX_LINE for line in data.split(b"\r\n"))


def body_type(content: bytes) -> str:
    """The SMTP ``BODY=`` that ``content`` needs: ``7BIT``, ``8BITMIME``
    (RFC 6152) or ``BINARYMIME`` (RFC 3030: a NUL or an over-long line)."""
    if is_binary(content):
        return "BINARYMIME"
    return "7BIT" if content.isascii() else "8BITMIME"


def needs_smtputf8(content: bytes, addresses_utf8: bool) -> bool:
    """RFC 6531: an address with non-ASCII characters, or a header section
    with UTF-8 in it (RFC 6532 3), needs SMTPUTF8."""
    return addresses_utf8 or not header_block(content).isascii()


def unique_boundary(base: str, bodies: bytes) -> str:
    """*base*, or *base* ``_1``, ``_2``...: the first whose delimiter does
    not occur in *bodies* (RFC 2046 5.1.1)."""
    boundary, n = base, 0
    while f"--{boundary}".encode() in bodies:
        n += 1
        boundary = f"{base}_{n}"
    return boundary


def multipart_report_fields(report_type: str, boundary: str, *, eight_bit: bool) -> list[str]:
    """The Content-Type (RFC 6522 3) and Content-Transfer-Encoding fields of
    a multipart/report, each ending in CRLF."""
    return [
        f"Content-Type: multipart/report; report-type={report_type};\r\n"
        f'\tboundary="{boundary}"\r\n',
        f"Content-Transfer-Encoding: {'8bit' if eight_bit else '7bit'}\r\n",
    ]


def multipart_body(boundary: str, parts: list[tuple[str, bytes]]) -> bytes:
    """The body of a multipart entity (RFC 2046 5.1.1) without preamble:
    each part's header (its fields, each ending in CRLF) and body after a
    delimiter line, then the close delimiter."""
    out: list[bytes] = []
    for index, (header, body) in enumerate(parts):
        delimiter = f"--{boundary}\r\n" if index == 0 else f"\r\n--{boundary}\r\n"
        out += [f"{delimiter}{header}\r\n".encode(), body]
    out.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(out)
