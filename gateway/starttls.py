"""Switching a line-based session to TLS in mid-stream (SMTP STARTTLS, POP3 STLS).

RFC 3207 4.2 and RFC 2595 4 / CVE-2011-0411: anything the client sent after
the command and before the handshake was sent in the clear and may have been
injected by a man in the middle; it is discarded, never executed inside TLS.
"""

from __future__ import annotations

from typing import Any, Protocol

from twisted.logger import Logger

__all__ = ["start_tls"]

log = Logger()


class PipelineBuffer(Protocol):
    """What holds the client's unprocessed input (SMTP/POP3's
    ``CommandBuffer``, IMAP's ``Framer``)."""

    def take_rest(self) -> bytes: ...


def start_tls(
    transport: Any, buffer: PipelineBuffer, context: Any, go_ahead: bytes, who: str
) -> None:
    """Drop what ``buffer`` holds, send ``go_ahead`` in the clear, start TLS.

    ``who`` names the session in the log line (``"smtp: 192.0.2.1"``).
    """
    discarded = buffer.take_rest()
    if discarded:
        log.warn(
            "{who}: discarded {n} bytes pipelined before the TLS handshake",
            who=who,
            n=len(discarded),
        )
    transport.write(go_ahead)
    transport.startTLS(context)
