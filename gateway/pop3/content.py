"""Message bodies on the POP3 wire: dot-stuffing (RFC 1939 3) and TOP (RFC 1939 7).

Pure and cheap: C-level ``bytes`` operations only, one copy of the message
per reply. Messages come from the store with CRLF line ends, not stuffed.
"""

from __future__ import annotations

from gateway.pop3.replies import CRLF, TERMINATOR

__all__ = ["multiline", "top"]

_BLANK_LINE = b"\r\n\r\n"


def multiline(status: bytes, message: bytes) -> bytes:
    """``status`` then ``message`` dot-stuffed, ended by ``.`` CRLF.

    RFC 1939 3: every line that starts with "." gets one more, the first
    line included; a message that does not end with CRLF gets one, so that
    the terminator stands on a line of its own.
    """
    parts = [status]
    if message.startswith(b"."):
        parts.append(b".")
    parts.append(message.replace(b"\r\n.", b"\r\n.."))
    if message and not message.endswith(CRLF):
        parts.append(CRLF)
    parts.append(TERMINATOR)
    return b"".join(parts)


def top(message: bytes, lines: int) -> bytes:
    """RFC 1939 7 TOP: the header, the blank line after it and the first
    ``lines`` lines of the body. A message without a blank line is all
    header and comes back whole."""
    if message.startswith(CRLF):  # no header at all
        end = 0
    else:
        end = message.find(_BLANK_LINE)
        if end == -1:
            return message
        end += 2
    head, body = message[: end + 2], message[end + 2 :]
    if lines <= 0 or not body:
        return head
    pieces = body.split(CRLF, min(lines, len(body)))
    if len(pieces) <= lines:
        return message  # the body has no more lines than asked for
    return head + CRLF.join(pieces[:lines]) + CRLF
