"""8-bit to 7-bit conversion for relaying to a server without 8BITMIME.

RFC 6152 3: an 8BITMIME message relayed to a server that does not offer the
extension must be converted to 7 bit MIME (RFC 2045 6) or returned; we
convert. The body of every leaf part that carries 8-bit octets is re-encoded:
``text/*`` as quoted-printable (RFC 2045 6.7: stays readable), anything else
as base64 (RFC 2045 6.8). Headers cannot be converted: 8-bit octets in a
header are either RFC 6532 UTF-8 (the message needs SMTPUTF8, RFC 6531 3.5:
status 5.6.7) or plain invalid (no conversion exists: RFC 3463 X.6.3
"conversion required but not supported").

Pure: bytes in, bytes out, no I/O. Content is CRLF throughout, as stored.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
from email.generator import BytesGenerator
from email.message import Message
from io import BytesIO

from gateway.smtp.codes import Reply, reply

__all__ = [
    "DowngradeError",
    "downgrade",
    "has_8bit",
    "header_section",
    "headers_need_smtputf8",
]

# compat32 keeps the parsed headers as they were and does not re-fold them
# (max_line_length=None), so only the converted parts change.
_POLICY = email.policy.compat32.clone(linesep="\r\n", max_line_length=None)

# RFC 6531 3.5: an SMTPUTF8 message to a server without SMTPUTF8.
UTF8_HEADERS = reply(
    550, "5.6.7", "Message has UTF-8 headers and the server does not offer SMTPUTF8"
)
# RFC 3463 X.6.3: 8-bit octets in a header (not UTF-8) cannot be made 7-bit.
RAW_8BIT_HEADERS = reply(
    554, "5.6.3", "Message has 8-bit headers: conversion to 7 bit required but not possible"
)


class DowngradeError(Exception):
    """The message cannot be converted; ``reply`` says why (5.6.3 / 5.6.7)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(str(reply))
        self.reply = reply


def has_8bit(data: bytes) -> bool:
    """Any octet with the high bit set (RFC 6152 2)."""
    return not data.isascii()


def header_section(content: bytes) -> bytes:
    """The top-level header section (up to the first empty line)."""
    end = content.find(b"\r\n\r\n")
    if content.startswith(b"\r\n"):
        return b""
    return content if end < 0 else content[: end + 2]


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def headers_need_smtputf8(content: bytes) -> bool:
    """True if the top-level header section has non-ASCII UTF-8 (RFC 6532 3)."""
    headers = header_section(content)
    return has_8bit(headers) and _utf8(headers)


def _check_headers(raw: bytes) -> None:
    if has_8bit(raw):
        raise DowngradeError(UTF8_HEADERS if _utf8(raw) else RAW_8BIT_HEADERS)


def _raw_payload(part: Message) -> bytes:
    """The part's body octets as they were on the wire. The parser keeps
    them as a surrogate-escaped str; ``get_payload()`` would decode the
    escapes by the declared charset, so read the stored value."""
    payload = getattr(part, "_payload", "")
    assert isinstance(payload, str)
    return payload.encode("ascii", "surrogateescape")


def _decoded(part: Message, raw: bytes) -> bytes:
    """The body octets with the declared transfer encoding undone; 8bit,
    binary, 7bit (mislabelled) and unknown encodings are taken as they are."""
    cte = str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()
    if cte == "base64":
        try:
            return base64.b64decode(raw)
        except binascii.Error:
            return raw
    if cte == "quoted-printable":
        return binascii.a2b_qp(raw)
    return raw


def _quoted_printable(data: bytes) -> bytes:
    """RFC 2045 6.7 with CRLF line breaks kept as line breaks."""
    lines = data.split(b"\r\n")
    encoded = [binascii.b2a_qp(line, quotetabs=False, istext=False) for line in lines]
    # b2a_qp with istext=False encodes a lone CR/LF as =0D/=0A; soft breaks
    # come out as "=\n": make them CRLF.
    return b"\r\n".join(e.replace(b"=\n", b"=\r\n") for e in encoded)


def _base64(data: bytes) -> bytes:
    """RFC 2045 6.8: lines of at most 76 characters, CRLF."""
    encoded = base64.b64encode(data)
    return b"".join(encoded[i : i + 76] + b"\r\n" for i in range(0, len(encoded), 76))


def _convert_leaf(part: Message) -> None:
    raw = _raw_payload(part)
    if not has_8bit(raw):
        return
    data = _decoded(part, raw)
    if part.get_content_maintype() == "text":
        encoded, cte = _quoted_printable(data), "quoted-printable"
    else:
        encoded, cte = _base64(data), "base64"
    if "Content-Transfer-Encoding" in part:
        part.replace_header("Content-Transfer-Encoding", cte)
    else:
        part["Content-Transfer-Encoding"] = cte
    part.set_payload(encoded.decode("ascii"))


def _walk_headers(part: Message) -> None:
    for name, value in part.raw_items():
        _check_headers(f"{name}: {value}".encode("ascii", "surrogateescape"))


def downgrade(content: bytes) -> bytes:
    """``content`` converted to 7 bit MIME, or raise :class:`DowngradeError`.

    A message that is already 7-bit is returned unchanged.
    """
    if not has_8bit(content):
        return content
    _check_headers(header_section(content))
    message = email.message_from_bytes(content, policy=_POLICY)
    for part in message.walk():
        _walk_headers(part)
        if part.is_multipart():
            # A preamble or epilogue is not shown to readers (RFC 2046 5.1.1);
            # 8-bit octets there have no encoding to go into: drop them.
            for attr in ("preamble", "epilogue"):
                text = getattr(part, attr)
                if text is not None and not text.isascii():
                    setattr(part, attr, None)
            continue
        if part.get_content_type() == "message/rfc822":  # pragma: no cover - walk() recurses
            continue
        _convert_leaf(part)
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=_POLICY).flatten(message)
    result = out.getvalue()
    if not result.endswith(b"\r\n"):
        result += b"\r\n"
    if has_8bit(result):  # defensive: a part the walk could not reach
        raise DowngradeError(RAW_8BIT_HEADERS)
    return result
