"""Message bodies on the POP3 wire: dot-stuffing (RFC 1939 3) and TOP (RFC 1939 7).

Pure and cheap: C-level ``bytes`` operations only, and no copy of the
message for a RETR reply. Messages come from the store with CRLF line ends,
not stuffed.
"""

from __future__ import annotations

from gateway.pop3.replies import CRLF, TERMINATOR

__all__ = ["multiline", "multiline_parts", "top"]

_BLANK_LINE = b"\r\n\r\n"
_DOT_LINE = b"\r\n."
_STUFFED = b"\r\n.."


def multiline_parts(status: bytes, message: bytes) -> list[bytes]:
    """``status`` then ``message`` dot-stuffed, ended by ``.`` CRLF, as
    pieces to send one after the other (no copy of the message is made).

    RFC 1939 3: every line that starts with "." gets one more, the first
    line included; a message that does not end with CRLF gets one, so that
    the terminator stands on a line of its own. The message is cut where a
    line starts with "." (``split`` is faster than ``replace`` here, and the
    pieces go to the socket as they are: :func:`gateway.sendnow.send_now`).
    """
    pieces = message.split(_DOT_LINE)
    # the pieces with _STUFFED between them, interleaved by slice assignment
    stuffed = [_STUFFED] * (2 * len(pieces) - 1)
    stuffed[::2] = pieces
    parts = [status, b"."] if message.startswith(b".") else [status]
    parts += stuffed
    if message and not message.endswith(CRLF):
        parts.append(CRLF)
    parts.append(TERMINATOR)
    return parts


def multiline(status: bytes, message: bytes) -> bytes:
    """:func:`multiline_parts` as one reply."""
    return b"".join(multiline_parts(status, message))


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
