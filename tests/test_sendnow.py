"""send_now over a real loopback TCP connection: order kept, nothing lost."""

from __future__ import annotations

from twisted.internet import defer, protocol, reactor
from twisted.internet.interfaces import IListeningPort
from twisted.trial.unittest import TestCase

from gateway.sendnow import send_now

BIG = bytes(range(256)) * 20_000  # 5 MB: more than the socket takes at once


class Sender(protocol.Protocol):
    def connectionMade(self) -> None:
        send_now(self.transport, b"first;")  # empty queue: straight to the socket
        self.transport.write(b"queued;")  # Twisted's queue, sent on the next turn
        send_now(self.transport, b"behind-it;")  # the socket has room, but the queue comes first
        send_now(self.transport, BIG)  # partly sent, the rest queued
        send_now(self.transport, b";after-queue")  # queue not empty: must wait its turn
        self.transport.loseConnection()


class Collector(protocol.Protocol):
    def __init__(self, done: defer.Deferred[bytes]) -> None:
        self.chunks: list[bytes] = []
        self.done = done

    def dataReceived(self, data: bytes) -> None:
        self.chunks.append(data)

    def connectionLost(self, reason: object = None) -> None:
        self.done.callback(b"".join(self.chunks))


class SendNowTests(TestCase):
    def setUp(self) -> None:
        factory = protocol.Factory.forProtocol(Sender)
        self.port: IListeningPort = reactor.listenTCP(0, factory, interface="127.0.0.1")  # type: ignore[attr-defined]
        self.addCleanup(self.port.stopListening)

    async def test_bytes_arrive_in_order(self) -> None:
        done: defer.Deferred[bytes] = defer.Deferred()
        creator = protocol.ClientCreator(reactor, Collector, done)
        await creator.connectTCP("127.0.0.1", self.port.getHost().port)  # type: ignore[attr-defined]
        data = await done
        assert data == b"first;queued;behind-it;" + BIG + b";after-queue"


class Recording:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


def test_other_transports_get_write() -> None:
    transport = Recording()  # a TLS wrapper, a StringTransport, a UNIX socket...
    send_now(transport, b"reply\r\n")
    assert transport.written == [b"reply\r\n"]
