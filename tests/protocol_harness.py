"""What the SMTP, POP3 and IMAP test harnesses share (not a test module).

A protocol over a :class:`TLSStringTransport` from a client address, a
``task.Clock`` at a fixed time, a portal whose password checks run at once
(:mod:`tests.syncthreads`), and reading what the server wrote.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from twisted.cred.portal import Portal
from twisted.internet import task
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.logger import formatEvent, globalLogPublisher

from gateway.auth.realm import build_portal
from gateway.limits import AuthThrottle, ConnectionLimiter
from gateway.store.users import UserFile
from tests.syncthreads import SyncPool, SyncReactor

__all__ = [
    "Connection",
    "SyncPool",
    "SyncReactor",
    "TLSStringTransport",
    "captured_logs",
    "clock",
    "connect",
    "listener_fields",
    "portal",
]

NOW = 1_800_000_000


class TLSStringTransport(StringTransport):
    """Records startTLS instead of doing it."""

    tls_started = False

    def startTLS(self, context: Any) -> None:
        self.tls_started = True


def clock() -> task.Clock:
    """A clock at a fixed, realistic time."""
    c = task.Clock()
    c.advance(NOW)
    return c


def portal(users: UserFile, tmp: Path) -> Portal:
    """The real portal over ``users``, verifying passwords at once."""
    return build_portal(users, tmp / "mail", SyncReactor(), SyncPool())  # type: ignore[arg-type]


def listener_fields(
    clock: task.Clock, secure: bool, tls: Any, max_connections: int, max_connections_per_ip: int
) -> dict[str, Any]:
    """The :class:`gateway.session.ListenerConfig` fields of a POP3 or IMAP
    test listener: ``secure`` makes it implicit TLS (so plaintext logins are
    allowed) and offers no STLS/STARTTLS unless ``tls`` is given."""
    return {
        "clock": clock,
        "connections": ConnectionLimiter(max_connections, max_connections_per_ip),
        "auth_throttle": AuthThrottle(clock, 900.0),
        "tls": tls if tls is not None else (None if secure else object()),
        "implicit_tls": secure,
    }


def connect(protocol: Protocol, client_ip: str) -> TLSStringTransport:
    """Connect ``protocol`` to a new transport from ``client_ip``."""
    transport = TLSStringTransport(peerAddress=IPv4Address("TCP", client_ip, 40000))
    protocol.makeConnection(transport)
    return transport


class Connection:
    """Feed a connected protocol, read the lines it wrote."""

    protocol: Any
    transport: TLSStringTransport

    @staticmethod
    def split(data: bytes) -> list[str]:
        """CRLF-terminated lines."""
        return data.decode("utf-8", "replace").split("\r\n")[:-1]

    def raw(self, data: bytes) -> bytes:
        """Feed ``data``; return everything written meanwhile."""
        self.transport.clear()
        self.protocol.dataReceived(data)
        return bytes(self.transport.value())

    def send(self, data: bytes) -> list[str]:
        """Feed ``data``; return the lines written meanwhile."""
        return self.split(self.raw(data))

    def lines(self) -> list[str]:
        """What the server wrote since the last send (pushes, timers)."""
        return self.split(self.transport.value())

    @property
    def closed(self) -> bool:
        return bool(self.transport.disconnecting)

    def lose(self) -> None:
        self.protocol.connectionLost()


@contextlib.contextmanager
def captured_logs(prefix: str) -> Iterator[list[str]]:
    """The formatted log lines starting with ``prefix`` emitted inside the block."""
    lines: list[str] = []

    def observer(event: dict[str, Any]) -> None:
        text = formatEvent(event)
        if text.startswith(prefix):
            lines.append(text)

    globalLogPublisher.addObserver(observer)
    try:
        yield lines
    finally:
        globalLogPublisher.removeObserver(observer)
