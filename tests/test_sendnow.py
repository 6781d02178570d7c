"""send_now over a real loopback TCP connection: order kept, nothing lost."""

from __future__ import annotations

from twisted.internet import defer, protocol, reactor
from twisted.internet.interfaces import IListeningPort
from twisted.trial.unittest import TestCase

from gateway.sendnow import _unsent, send_now

BIG = bytes(range(256)) * 20_000  # 5 MB: more than the socket takes at once


class Sender(protocol.Protocol):
    def connectionMade(self) -> None:
        send_now(self.transport, b"first;")  # empty queue: straight to the socket
        self.transport.write(b"queued;")  # Twisted's queue, sent on the next turn
        send_now(self.transport, b"behind-it;")  # the socket has room, but the queue comes first
        send_now(self.transport, BIG)  # partly sent, the rest queued
        send_now(self.transport, b";after-queue")  # queue not empty: must wait its turn
        self.transport.loseConnection()


class PieceSender(protocol.Protocol):
    def connectionMade(self) -> None:
        # pieces, gathered by one sendmsg; the kernel takes part of BIG, the rest is queued
        send_now(self.transport, [b"status;", BIG, b";stuffed;", b"end"])
        send_now(self.transport, [b";next", b";reply"])  # behind the queued rest
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

    async def test_pieces_arrive_whole_and_in_order(self) -> None:
        port: IListeningPort = reactor.listenTCP(  # type: ignore[attr-defined]
            0, protocol.Factory.forProtocol(PieceSender), interface="127.0.0.1"
        )
        self.addCleanup(port.stopListening)
        done: defer.Deferred[bytes] = defer.Deferred()
        creator = protocol.ClientCreator(reactor, Collector, done)
        await creator.connectTCP("127.0.0.1", port.getHost().port)  # type: ignore[attr-defined]
        data = await done
        assert data == b"status;" + BIG + b";stuffed;end;next;reply"


def test_unsent_is_what_follows_the_sent_bytes() -> None:
    parts = [b"abc", b"", b"defg", b"h"]
    assert _unsent(parts, 0) == [b"abc", b"", b"defg", b"h"]
    assert _unsent(parts, 2) == [b"c", b"", b"defg", b"h"]
    assert _unsent(parts, 3) == [b"defg", b"h"]
    assert _unsent(parts, 5) == [b"fg", b"h"]
    assert _unsent(parts, 7) == [b"h"]
    assert list(_unsent(parts, 8)) == []


class Recording:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


def test_other_transports_get_write() -> None:
    transport = Recording()  # a TLS wrapper, a StringTransport, a UNIX socket...
    send_now(transport, b"reply\r\n")
    assert transport.written == [b"reply\r\n"]


class StartTLSSender(protocol.Protocol):
    """Says "go" in the clear, starts TLS, then sends through send_now."""

    context: object = None

    def connectionMade(self) -> None:
        send_now(self.transport, b"go\n")
        self.transport.startTLS(self.context)  # type: ignore[attr-defined]
        send_now(self.transport, b"secret")  # must go through the TLS layer
        self.transport.loseConnection()


class TLSCollector(Collector):
    def dataReceived(self, data: bytes) -> None:
        if not self.chunks and data.startswith(b"go\n"):
            from twisted.internet.ssl import CertificateOptions

            self.chunks.append(b"go\n")
            self.transport.startTLS(CertificateOptions(verify=False))  # type: ignore[attr-defined]
            if data[3:]:  # cleartext after "go": sent around the TLS layer
                self.chunks.append(b"LEAKED:" + data[3:])
            return
        self.chunks.append(data)


class SendNowAfterStartTLSTests(TestCase):
    async def test_bytes_after_starttls_are_encrypted(self) -> None:
        import tempfile
        from pathlib import Path

        from gateway.tls import build_context, generate_self_signed

        directory = Path(tempfile.mkdtemp())
        cert, key = generate_self_signed("localhost")
        (directory / "c.pem").write_bytes(cert)
        (directory / "k.pem").write_bytes(key)
        context = build_context(directory / "c.pem", directory / "k.pem", "1.2")

        class Factory:
            def getContext(self) -> object:
                return context

        StartTLSSender.context = Factory()
        port = reactor.listenTCP(  # type: ignore[attr-defined]
            0, protocol.Factory.forProtocol(StartTLSSender), interface="127.0.0.1"
        )
        self.addCleanup(port.stopListening)
        done: defer.Deferred[bytes] = defer.Deferred()
        await protocol.ClientCreator(reactor, TLSCollector, done).connectTCP(
            "127.0.0.1", port.getHost().port
        )
        assert await done == b"go\nsecret"
