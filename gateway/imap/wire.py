"""Encoding IMAP responses (RFC 3501 4, 7, 9): pure, bytes out.

Strings go out quoted when they can (RFC 3501 4.3: no CR, LF, NUL or 8-bit
octets, not too long) and as literals otherwise; mailbox names in modified
UTF-7 (RFC 3501 5.1.3) with Twisted's ``imap4-utf-7`` codec.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

import twisted.mail.imap4  # noqa: F401  (registers the "imap4-utf-7" codec)

__all__ = [
    "CRLF",
    "InvalidMailboxName",
    "astring",
    "decode_mailbox",
    "encode_mailbox",
    "flag_list",
    "internal_date",
    "literal",
    "nstring",
    "quoted_or_literal",
    "sequence_set",
    "status_line",
]

CRLF = b"\r\n"
MAX_QUOTED = 1024  # longer strings go out as literals

_NEEDS_LITERAL = re.compile(rb"[\x00\r\n\x80-\xff]")
_ATOM_SAFE = re.compile(rb"[!#$&'+,\-./0-9:;<=>?@A-Z\[^_`a-z|}~]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class InvalidMailboxName(ValueError):
    """Not valid modified UTF-7 (RFC 3501 5.1.3): answered with NO."""


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


def quoted_or_literal(data: bytes) -> bytes:
    """RFC 3501 9 string: quoted when it may be, else a literal."""
    if len(data) > MAX_QUOTED or _NEEDS_LITERAL.search(data):
        return literal(data)
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def nstring(data: bytes | None) -> bytes:
    return b"NIL" if data is None else quoted_or_literal(data)


def astring(data: bytes) -> bytes:
    """An atom when safe (and not NIL), else a string."""
    if _ATOM_SAFE.fullmatch(data) and data.upper() != b"NIL":
        return data
    return quoted_or_literal(data)


def flag_list(flags: Iterable[str]) -> bytes:
    return b"(" + " ".join(flags).encode("ascii", "replace") + b")"


def sequence_set(numbers: Iterable[int]) -> bytes:
    """Ascending numbers as a compact RFC 3501 sequence-set (``1:3,7``);
    the order given is kept where it is not ascending (COPYUID pairs must
    stay aligned), so pass sorted numbers unless order matters."""
    out: list[bytes] = []
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    for start, end in runs:
        out.append(b"%d" % start if start == end else b"%d:%d" % (start, end))
    return b",".join(out)


def encode_mailbox(name: str) -> bytes:
    """A mailbox name for a response: modified UTF-7, then an astring."""
    return quoted_or_literal(name.encode("imap4-utf-7"))


def decode_mailbox(raw: bytes) -> str:
    """A mailbox name from a command as Unicode (RFC 3501 5.1.3).

    Strict: only what our own encoder would produce is accepted, so there
    is one spelling per name; control characters are refused too.
    """
    try:
        name = raw.decode("imap4-utf-7")
        canonical = name.encode("imap4-utf-7")
    except (UnicodeError, ValueError, TypeError):
        raise InvalidMailboxName("Invalid modified UTF-7 in mailbox name") from None
    if canonical != raw:
        raise InvalidMailboxName("Invalid modified UTF-7 in mailbox name")
    if _CONTROL.search(name):
        raise InvalidMailboxName("Control characters in mailbox name")
    if name.upper() == "INBOX":
        return "INBOX"  # RFC 3501 5.1: case-insensitive
    if name[:6].upper() == "INBOX." and name[:6] != "INBOX.":
        return "INBOX." + name[6:]
    return name


def internal_date(timestamp: float) -> bytes:
    """RFC 3501 9 date-time, in UTC: ``"17-Jul-1996 09:44:25 +0000"``."""
    t = time.gmtime(timestamp)
    return b'"%02d-%s-%04d %02d:%02d:%02d +0000"' % (
        t.tm_mday,
        _MONTHS[t.tm_mon - 1].encode(),
        t.tm_year,
        t.tm_hour,
        t.tm_min,
        t.tm_sec,
    )


def status_line(tag: bytes, status: bytes, text: str, code: str | None = None) -> bytes:
    """A status response (RFC 3501 7.1): ``tag OK [CODE] text``."""
    resp = b"[" + code.encode("utf-8", "replace") + b"] " if code else b""
    return tag + b" " + status + b" " + resp + _CONTROL.sub("?", text).encode("utf-8") + CRLF
