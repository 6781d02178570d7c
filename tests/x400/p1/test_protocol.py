"""P1 between two real associations over loopback TCP: the bind, a transfer
confirmed only once the bus has it, refusals, broken peers."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.task import deferLater
from twisted.trial import unittest

from gateway.config import X400Peer
from gateway.errors import GatewayError
from gateway.x400.p1.protocol import P1ClientProtocol, TransferRefused, open_association
from tests.x400.p1.support import (
    PEER_A,
    RawClient,
    listen,
    peer_at,
    reactor,
    sample_apdu,
)


class Handler:
    """Records transfers; answers each with a Deferred the test fires."""

    def __init__(self) -> None:
        self.calls: list[tuple[X400Peer, bytes, str]] = []
        self.answers: list[Deferred[None]] = []
        self.called: Deferred[None] = Deferred()

    def __call__(self, peer: X400Peer, apdu: bytes, client: str) -> Deferred[None]:
        self.calls.append((peer, apdu, client))
        d: Deferred[None] = Deferred()
        self.answers.append(d)
        if not self.called.called:
            self.called.callback(None)
        return d


async def _failure(d: Deferred[Any]) -> GatewayError:
    try:
        await d
    except GatewayError as e:
        return e
    raise AssertionError("expected a GatewayError")


class BindTests(unittest.TestCase):
    async def test_bind_and_release(self) -> None:
        factory, port = listen(self, Handler())
        client = await open_association(reactor, peer_at(port), "mta.a.test", 1 << 20, {})
        assert client.peer_name == "mta.b.test"
        assert client.alive
        server = factory.protocols[0]
        assert server.peer is not None and server.peer.name == "a"
        await client.release()
        await client.lost
        assert client.released
        await factory.lost[0]
        assert factory.active == 0

    async def test_wrong_password_is_refused(self) -> None:
        factory, port = listen(self, Handler())
        error = await _failure(
            open_association(
                reactor, peer_at(port, our_password="guess"), "mta.a.test", 1 << 20, {}
            )
        )
        assert (error.code, error.status) == (451, "4.7.0")
        assert "refused the MTA-bind" in error.text
        assert factory.protocols[0].peer is None

    async def test_unknown_mta_is_refused(self) -> None:
        factory, port = listen(self, Handler())
        error = await _failure(open_association(reactor, peer_at(port), "mta.x.test", 1 << 20, {}))
        assert error.status == "4.7.0"
        await factory.lost[0]
        assert factory.active == 0

    async def test_responder_with_wrong_credentials_is_not_trusted(self) -> None:
        # B answers with "b-secret"; A expects something else
        _, port = listen(self, Handler())
        error = await _failure(
            open_association(reactor, peer_at(port, password="other"), "mta.a.test", 1 << 20, {})
        )
        assert error.status == "4.7.0"

    async def test_mta_names_compare_without_case(self) -> None:
        _, port = listen(self, Handler())
        client = await open_association(reactor, peer_at(port), "MTA.A.TEST", 1 << 20, {})
        await client.release()

    async def test_too_many_connections_are_cut(self) -> None:
        factory, port = listen(self, Handler(), max_connections=1)
        first = await open_association(reactor, peer_at(port), "mta.a.test", 1 << 20, {})
        error = await _failure(open_association(reactor, peer_at(port), "mta.a.test", 1 << 20, {}))
        assert error.status == "4.4.2"
        assert "before the bind" in error.text
        assert factory.active == 1
        await first.release()


class TransferTests(unittest.TestCase):
    async def _bound(self, handler: Any, **listener: Any) -> tuple[Any, P1ClientProtocol]:
        factory, port = listen(self, handler, **listener)
        client = await open_association(reactor, peer_at(port), "mta.a.test", 1 << 20, {})
        self.addCleanup(client.release)
        return factory, client

    async def test_confirmed_only_after_the_submit_fires(self) -> None:
        handler = Handler()
        _, client = await self._bound(handler)
        apdu = sample_apdu()
        assert len(apdu) > 3 * 1024  # several checkpointed segments
        done = client.transfer(apdu)
        await handler.called
        peer, received, where = handler.calls[0]
        assert (peer, received) == (PEER_A, apdu)
        assert where.startswith("127.0.0.1:")
        # the peer holds the transfer unconfirmed while the bus works
        await deferLater(reactor, 0.05, lambda: None)
        assert not done.called
        handler.answers[0].callback(None)
        await done
        # and the association carries the next one
        second = client.transfer(apdu)
        await deferLater(reactor, 0, lambda: None)
        while len(handler.answers) < 2:
            await deferLater(reactor, 0.01, lambda: None)
        handler.answers[1].callback(None)
        await second

    async def test_refused_transfer_aborts_it_and_keeps_the_association(self) -> None:
        handler = Handler()
        _, client = await self._bound(handler)
        done = client.transfer(sample_apdu())
        await handler.called
        handler.answers[0].errback(TransferRefused("554 5.4.6 MIXER loop"))
        error = await _failure(done)
        assert error.status == "4.4.2"
        assert "aborted the transfer" in error.text
        assert client.alive

    async def test_peer_closing_mid_transfer(self) -> None:
        handler = Handler()
        factory, client = await self._bound(handler)
        done = client.transfer(sample_apdu())
        await handler.called
        factory.protocols[0]._transport.loseConnection()  # B goes away unconfirmed
        error = await _failure(done)
        assert (error.code, error.status) == (451, "4.4.2")
        assert not client.alive
        handler.answers[0].callback(None)  # the bus answers late: nothing to confirm any more

    async def test_handler_that_breaks_rejects(self) -> None:
        def broken(peer: X400Peer, apdu: bytes, client: str) -> Deferred[None]:
            raise RuntimeError("boom")

        _, client = await self._bound(broken)
        error = await _failure(client.transfer(sample_apdu()))
        assert error.status == "4.4.2"
        self.flushLoggedErrors(RuntimeError)

    async def test_transfer_timeout(self) -> None:
        _, port = listen(self, Handler())
        client = await open_association(
            reactor, peer_at(port, transfer_timeout=0.2), "mta.a.test", 1 << 20, {}
        )
        error = await _failure(client.transfer(sample_apdu()))
        assert error.status == "4.4.2"
        assert "did not confirm" in error.text
        await client.lost


class RobustnessTests(unittest.TestCase):
    async def test_garbage_is_cut_and_the_listener_serves_the_next(self) -> None:
        factory, port = listen(self, Handler())
        raw = RawClient()
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
        await connectProtocol(endpoint, raw)
        raw.transport.write(b"\x03\x00\x00\x0bGARBAGE")  # type: ignore[union-attr]
        await raw.closed
        client = await open_association(reactor, peer_at(port), "mta.a.test", 1 << 20, {})
        await client.release()
        await factory.lost[0]

    async def test_silence_before_the_bind_is_cut(self) -> None:
        factory, port = listen(self, Handler(), bind_timeout=0.1)
        raw = RawClient()
        await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), raw)
        await raw.closed
        await factory.lost[0]
        assert factory.active == 0

    async def test_nobody_listening(self) -> None:
        closed = peer_at(1)  # port 1 on loopback: refused
        error = await _failure(open_association(reactor, closed, "mta.a.test", 1 << 20, {}))
        assert (error.code, error.status) == (451, "4.4.1")
        assert "cannot connect to X.400 MTA mta.b.test at 127.0.0.1:1" in error.text


class FileChannelPeerTests(unittest.TestCase):
    def test_a_file_channel_peer_cannot_bind(self) -> None:
        """A peer configured only by files has no password: a bind naming it
        (with the empty password, or any) is refused."""
        from twisted.internet import reactor

        from gateway.x400.p1.protocol import ListenerConfig, P1ServerFactory

        legacy = X400Peer("legacy", "legacy.test", "", "")
        factory = P1ServerFactory(
            ListenerConfig(mta_name="mta.b.test", peers=(legacy,)), None, reactor
        )
        for password in ("", b"", "guess"):
            peer, why = factory.authenticate("legacy.test", password)
            assert (peer, why) == (None, "a file channel peer (no password): it may not bind")
