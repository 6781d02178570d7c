"""Write a reply straight to the socket when nothing is waiting to be sent.

Twisted's ``transport.write`` only queues: the bytes go out on the next
reactor iteration, after registering the socket for writability and
deregistering it again (two ``epoll_ctl`` calls and a loop turn per reply).
A request/response protocol (SMTP, POP3, IMAP) answers one reply at a time,
and profiling the SMTP ingest benchmark put about a fifth of the reactor
thread in that bookkeeping. :func:`send_now` does one ``send(2)`` instead
when the transport is a plain TCP connection (not after ``startTLS``, whose
layer must see every byte) with an empty queue, and hands
whatever the kernel did not take (and every other case: TLS, a queue not
empty, an error) to ``transport.write`` as usual, so ordering and error
handling stay Twisted's.

It reads ``FileDescriptor``'s buffer attributes (``dataBuffer``, ``offset``,
``_tempDataLen``), which have been stable across Twisted releases; if they
are missing it quietly uses ``transport.write``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.internet import tcp

#: Most buffers one sendmsg(2) takes (Linux's IOV_MAX).
MAX_PARTS = 1024


def send_now(transport: Any, data: bytes | Sequence[bytes]) -> None:
    """Send ``data`` now if possible, else (or for the rest) queue it.

    ``data`` may be a sequence of pieces (a POP3 RETR reply is a status
    line, the message cut at its dot-stuffing points, and the terminator):
    they go out with one ``sendmsg(2)``, gathered by the kernel, so the
    message is never copied into one buffer first unless the kernel leaves
    part of it for later.
    """
    parts = [data] if isinstance(data, bytes) else data
    if (
        type(transport) is tcp.Server
        and not getattr(transport, "TLS", True)  # after startTLS: through the TLS layer
        and transport.connected
        and not transport.disconnecting
        and transport.producer is None
        and getattr(transport, "_tempDataLen", 1) == 0
        and len(getattr(transport, "dataBuffer", b"x")) == getattr(transport, "offset", -1)
        and len(parts) <= MAX_PARTS
    ):
        try:
            sent = transport.socket.sendmsg(parts)
        except OSError:  # EAGAIN, or an error Twisted will meet and report
            sent = 0
        parts = _unsent(parts, sent)
        if not parts:
            return
    # one buffer for Twisted's queue (writeSequence checks every piece in Python)
    transport.write(parts[0] if len(parts) == 1 else b"".join(parts))


def _unsent(parts: Sequence[bytes], sent: int) -> Sequence[bytes]:
    """What is left of ``parts`` once the first ``sent`` bytes are gone."""
    if sent == sum(map(len, parts)):  # the usual case, counted at C speed
        return ()
    for i, part in enumerate(parts):
        if sent < len(part):
            return [part[sent:], *parts[i + 1 :]]
        sent -= len(part)
    return ()
