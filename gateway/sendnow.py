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

from typing import Any

from twisted.internet import tcp


def send_now(transport: Any, data: bytes) -> None:
    """Send ``data`` now if possible, else (or for the rest) queue it."""
    if (
        type(transport) is tcp.Server
        and not getattr(transport, "TLS", True)  # after startTLS: through the TLS layer
        and transport.connected
        and not transport.disconnecting
        and transport.producer is None
        and getattr(transport, "_tempDataLen", 1) == 0
        and len(getattr(transport, "dataBuffer", b"x")) == getattr(transport, "offset", -1)
    ):
        try:
            sent = transport.socket.send(data)
        except OSError:  # EAGAIN, or an error Twisted will meet and report
            sent = 0
        if sent >= len(data):
            return
        data = data[sent:]
    transport.write(data)
