"""Drive SMTPClientProtocol over a StringTransport (not a test module).

The test plays the server: :meth:`Client.server` feeds reply lines,
:meth:`Client.sent` takes the command lines the client wrote.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import task
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from gateway.envelope import Address, Recipient
from gateway.smtp.client import (
    ClientSettings,
    Outcome,
    RelayTransaction,
    SessionError,
    SMTPClientProtocol,
)

HELO = "relay.example.test"
REMOTE = "mx.remote.test"

EHLO_ALL = (
    "PIPELINING",
    "SIZE 10240000",
    "8BITMIME",
    "DSN",
    "SMTPUTF8",
    "ENHANCEDSTATUSCODES",
)
EHLO_BARE = ("ENHANCEDSTATUSCODES",)


class FakeTLSConnection:
    """What ``getHandle()`` answers once TLS is on."""

    def get_protocol_version_name(self) -> str:
        return "TLSv1.3"

    def get_cipher_name(self) -> str:
        return "TLS_AES_256_GCM_SHA384"


class ClientTransport(StringTransport):
    """Records startTLS instead of doing it."""

    tls_started = False
    tls_options: Any = None

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        super().write(data)

    def startTLS(self, options: Any) -> None:
        self.tls_started = True
        self.tls_options = options

    def getHandle(self) -> Any:
        return FakeTLSConnection() if self.tls_started else None


def ehlo(*keywords: str, name: str = REMOTE) -> list[str]:
    """A multi-line 250 EHLO reply."""
    lines = [name, *keywords]
    return [f"250{'-' if i < len(lines) - 1 else ' '}{line}" for i, line in enumerate(lines)]


def rcpt(address: str, **kw: Any) -> Recipient:
    return Recipient(Address.parse(address), **kw)


def transaction(
    *recipients: str | Recipient, content: bytes | None = None, **kw: Any
) -> RelayTransaction:
    rcpts = tuple(r if isinstance(r, Recipient) else rcpt(r) for r in recipients)
    body = content if content is not None else b"Subject: hi\r\n\r\nHello.\r\n"
    sender = kw.pop("sender", Address.parse("bob@example.test"))
    return RelayTransaction(sender, rcpts, body, **kw)


class Client:
    """One client protocol over a :class:`ClientTransport` and a task.Clock."""

    def __init__(self, settings: ClientSettings | None = None) -> None:
        self.clock = task.Clock()
        self.settings = settings or ClientSettings(HELO, tls_policy="none")
        self.protocol = SMTPClientProtocol(self.settings, self.clock, REMOTE)
        self.transport = ClientTransport()
        self.ready: list[Any] = []
        self.protocol.ready.addBoth(self.ready.append)
        self.protocol.makeConnection(self.transport)

    def server(self, *lines: str) -> None:
        """The server sends these reply lines (in one segment)."""
        self.protocol.dataReceived(b"".join(line.encode() + b"\r\n" for line in lines))

    def sent(self) -> list[str]:
        """The lines written since the last call."""
        data = self.transport.value().decode("utf-8", "replace")
        self.transport.clear()
        self.transport.writes.clear()
        return data.split("\r\n")[:-1] if data else []

    def raw(self) -> bytes:
        data = self.transport.value()
        self.transport.clear()
        self.transport.writes.clear()
        return data

    def pump_body(self) -> None:
        """Let the body producer run to its end, as the reactor would."""
        while self.transport.producer is not None:
            self.transport.producer.resumeProducing()

    def lose(self, reason: Exception | None = None) -> None:
        self.protocol.connectionLost(Failure(reason or ConnectionDone("closed by peer")))

    @property
    def ready_error(self) -> SessionError:
        (result,) = self.ready
        assert isinstance(result, Failure), result
        error = result.value
        assert isinstance(error, SessionError)
        return error

    def send(self, tx: RelayTransaction) -> list[list[Outcome]]:
        """Start a transaction; the list gets the outcomes when done."""
        box: list[list[Outcome]] = []
        self.protocol.send(tx).addCallback(box.append)
        return box


def session(*keywords: str, settings: ClientSettings | None = None) -> Client:
    """A client past greeting and EHLO (with these extensions), ready."""
    c = Client(settings)
    c.server(f"220 {REMOTE} ESMTP")
    assert c.sent() == [f"EHLO {HELO}"]
    c.server(*ehlo(*keywords))
    assert c.ready == [c.protocol], c.ready
    c.sent()
    return c
