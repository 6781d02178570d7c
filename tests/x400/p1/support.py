"""Two gateways, A and B, that know each other as X.400 peers, and the
pieces to run P1 between them over real loopback TCP (port 0)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Protocol
from twisted.trial import unittest

from gateway.bus.agents import DeliveryJob, Target
from gateway.config import X400Peer
from gateway.envelope import Address, Envelope, Origin, Recipient
from gateway.x400.context import Gateway
from gateway.x400.model import Message
from gateway.x400.p1.protocol import ListenerConfig, P1ServerFactory, P1ServerProtocol
from gateway.x400.p1codec import encode_apdu
from gateway.x400.p22codec import encode_content
from gateway.x400.translate import internet_to_message
from tests.x400.gateways import make_gateway

reactor: Any = _reactor
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

GW_A = make_gateway(
    "a.test",
    "/O=GwA/PRMD=A/ADMD= /C=GB/",
    admin="postmaster@a.test",
    now=NOW,
    mta_name="mta.a.test",
)
GW_B = make_gateway(
    "b.test",
    "/O=GwB/PRMD=B/ADMD= /C=GB/",
    admin="postmaster@b.test",
    now=NOW,
    mta_name="mta.b.test",
)

# B as A knows it (host and port filled in per test) ...
PEER_B = X400Peer(
    name="b",
    mta_name="mta.b.test",
    password="b-secret",  # what B must present to A
    our_password="a-secret",  # what A presents to B
    host="127.0.0.1",
    port=1,
    or_space=("/PRMD=B/ADMD= /C=GB/",),
    checkpoint_size=1,  # k-octets: several segments and checkpoints per message
    window_size=2,
    connect_timeout=10.0,
    bind_timeout=10.0,
    transfer_timeout=10.0,
    idle_timeout=5.0,
)
# ... and A as B knows it
PEER_A = X400Peer(name="a", mta_name="mta.a.test", password="a-secret", our_password="b-secret")

RCPT_B = '"/S=Smith/O=Lab/PRMD=B/ADMD= /C=GB/"@a.test'
CONTENT = (
    b"From: Alice <alice@example.test>\r\n"
    b"To: Smith <" + RCPT_B.encode() + b">\r\n"
    b"Subject: over P1\r\n"
    b"Message-ID: <p1.1@example.test>\r\n"
    b"Date: Fri, 02 Jan 2026 03:04:05 +0000\r\n"
    b"\r\n" + b"A line of text that fills the checkpoints.\r\n" * 80
)


def sample_apdu(gw: Gateway = GW_A, rcpt: str = RCPT_B, content: bytes = CONTENT) -> bytes:
    envelope, ipm = internet_to_message(content, "alice@example.test", [rcpt], gw)
    return encode_apdu(Message(envelope, encode_content(ipm)))


def job(
    *rcpts: str, content: bytes = CONTENT, sender: str | None = "alice@example.test"
) -> DeliveryJob:
    envelope = Envelope(
        Address.parse(sender) if sender else None,
        tuple(Recipient(Address.parse(r)) for r in rcpts),
        Origin("test"),
    )
    targets = tuple(Target(i, Address.parse(r)) for i, r in enumerate(rcpts))
    return DeliveryJob("Q1", envelope, 0.0, content, targets, False)


class FakeBus:
    """Records submissions; fires each at once, or holds them (``hold``)."""

    def __init__(self, hold: bool = False) -> None:
        self.hold = hold
        self.submitted: list[tuple[Envelope, bytes]] = []
        self.pending: list[Deferred[str]] = []
        self.arrived: Deferred[None] = Deferred()

    def submit(
        self, envelope: Envelope, content: bytes, qid: str | None = None, events: object = ()
    ) -> Deferred[str]:
        self.submitted.append((envelope, content))
        d: Deferred[str] = Deferred()
        if self.hold:
            self.pending.append(d)
        else:
            d.callback(f"Q{len(self.submitted)}")
        if not self.arrived.called:
            self.arrived.callback(None)
        return d


class TrackingFactory(P1ServerFactory):
    """Keeps its protocols so a test can close them all."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.protocols: list[P1ServerProtocol] = []
        self.lost: list[Deferred[None]] = []

    def buildProtocol(self, addr: object) -> P1ServerProtocol:
        protocol = super().buildProtocol(addr)
        self.protocols.append(protocol)
        lost: Deferred[None] = Deferred()
        self.lost.append(lost)
        original = protocol.connectionLost

        def connection_lost(reason: Any = None) -> None:
            original(reason) if reason is not None else original()
            lost.callback(None)

        protocol.connectionLost = connection_lost  # type: ignore[method-assign]
        return protocol


def listen(
    case: unittest.TestCase,
    handler: Any,
    *,
    peers: tuple[X400Peer, ...] = (PEER_A,),
    **config: Any,
) -> tuple[TrackingFactory, int]:
    """B's listener on a free loopback port; closed (and its connections cut) at the end."""
    settings = ListenerConfig(mta_name="mta.b.test", peers=peers, **config)
    factory = TrackingFactory(settings, handler, reactor)
    port: IListeningPort = reactor.listenTCP(0, factory, interface="127.0.0.1")

    def close() -> Deferred[Any]:
        for protocol in factory.protocols:
            if protocol.connected_:
                protocol._transport.abortConnection()
        return DeferredList([*factory.lost, Deferred.fromCoroutine(_stop(port))])

    case.addCleanup(close)
    return factory, port.getHost().port  # type: ignore[attr-defined]


async def _stop(port: IListeningPort) -> None:
    await port.stopListening()


def peer_at(port: int, **changes: Any) -> X400Peer:
    return replace(PEER_B, port=port, **changes)


class RawClient(Protocol):
    """A client that writes what it is given and notes when it is closed."""

    def __init__(self) -> None:
        self.received = b""
        self.closed: Deferred[None] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Any = None) -> None:
        self.closed.callback(None)
