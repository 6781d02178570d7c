"""The X.400 channel (A) sending to a real P1 listener (B) whose inbound
side translates back and submits to a fake bus: outcomes both ways."""

from __future__ import annotations

from typing import Any

from twisted.trial import unittest
from zope.interface.verify import verifyObject

from gateway.bus.agents import Outcome, Result
from gateway.config import X400Peer
from gateway.envelope import Address
from gateway.interfaces import IDeliveryAgent
from gateway.x400.outbound import outgoing
from gateway.x400.p1.channel import X400Agent
from gateway.x400.p1.inbound import InboundTransfers
from gateway.x400.p1.routing import PeerRoutes
from tests.x400.p1.support import GW_A, GW_B, RCPT_B, FakeBus, job, listen, peer_at, reactor

LIMITS = {"max_depth": 64, "max_length": 1 << 20, "max_total": 1 << 20}


class ChannelTests(unittest.TestCase):
    def agent(self, peer: X400Peer, **kwargs: Any) -> X400Agent:
        agent = X400Agent(PeerRoutes(GW_A, [peer]), reactor, ber_limits=LIMITS, **kwargs)
        self.addCleanup(agent.pool.close)
        return agent

    def b_side(self, bus: FakeBus, **listener: Any) -> tuple[Any, int]:
        return listen(self, InboundTransfers(bus, GW_B, reactor, LIMITS), **listener)

    async def test_relayed_and_translated_back(self) -> None:
        bus = FakeBus()
        factory, port = self.b_side(bus)
        agent = self.agent(peer_at(port))
        verifyObject(IDeliveryAgent, agent)
        outcomes: list[Outcome] = await agent.deliver(job(RCPT_B))
        [outcome] = outcomes
        assert (outcome.result, outcome.code, outcome.status) == (Result.RELAYED, 250, "2.0.0")
        assert outcome.text == "transferred to X.400 MTA mta.b.test"
        assert outcome.detail == f"mta.b.test (127.0.0.1:{port})"
        [(envelope, content)] = bus.submitted
        assert envelope.sender == Address.parse("alice@example.test")
        assert [str(r.address) for r in envelope.recipients] == [
            '"/S=Smith/O=Lab/PRMD=B/ADMD= /C=GB/"@b.test'
        ]
        assert envelope.origin.protocol == "x400-p1"
        assert envelope.origin.helo == "mta.a.test"
        assert envelope.origin.client_address == "127.0.0.1"
        assert envelope.envid is not None and envelope.envid.startswith("X400-MTS-Identifier: ")
        assert b"Subject: over P1\r\n" in content
        assert b"A line of text that fills the checkpoints." in content
        # the association stays bound for the next message, then is reused
        assert len(agent.pool._idle["b"]) == 1
        await agent.deliver(job(RCPT_B))
        assert len(bus.submitted) == 2
        assert len(factory.protocols) == 1

    async def test_held_submit_holds_the_outcome(self) -> None:
        bus = FakeBus(hold=True)
        factory, port = self.b_side(bus)
        agent = self.agent(peer_at(port))
        delivering = agent.deliver(job(RCPT_B))
        await bus.arrived
        assert not delivering.called
        bus.pending[0].callback("Q1")
        [outcome] = await delivering
        assert outcome.result is Result.RELAYED
        assert len(factory.protocols) == 1

    async def test_spool_failure_defers(self) -> None:
        from gateway.errors import SPOOL_UNAVAILABLE

        bus = FakeBus(hold=True)
        _, port = self.b_side(bus)
        agent = self.agent(peer_at(port))
        delivering = agent.deliver(job(RCPT_B))
        await bus.arrived
        bus.pending[0].errback(SPOOL_UNAVAILABLE)
        [outcome] = await delivering
        assert (outcome.result, outcome.status) == (Result.DEFERRED, "4.4.2")

    async def test_peer_closing_mid_transfer_defers(self) -> None:
        bus = FakeBus(hold=True)
        factory, port = self.b_side(bus)
        agent = self.agent(peer_at(port))
        delivering = agent.deliver(job(RCPT_B))
        await bus.arrived
        factory.protocols[0]._transport.abortConnection()
        [outcome] = await delivering
        assert (outcome.result, outcome.code, outcome.status) == (Result.DEFERRED, 451, "4.4.2")
        bus.pending[0].callback("Q1")  # queued too late: the peer was never told

    async def test_unreachable_peer_defers(self) -> None:
        agent = self.agent(peer_at(1))
        [outcome] = await agent.deliver(job(RCPT_B))
        assert (outcome.result, outcome.status) == (Result.DEFERRED, "4.4.1")

    async def test_bind_refused_defers(self) -> None:
        _, port = self.b_side(FakeBus())
        agent = self.agent(peer_at(port, our_password="wrong"))
        [outcome] = await agent.deliver(job(RCPT_B))
        assert (outcome.result, outcome.status) == (Result.DEFERRED, "4.7.0")

    async def test_loop_fails(self) -> None:
        mixer = (
            b"Received: by gw.test (MIXER Conversion following RFC 2156);"
            b" Fri, 02 Jan 2026 03:04:05 +0000\r\n"
        )
        agent = self.agent(peer_at(1))  # never contacted
        [outcome] = await agent.deliver(
            job(RCPT_B, content=mixer * 6 + b"Subject: x\r\n\r\nx\r\n")
        )
        assert (outcome.result, outcome.code, outcome.status) == (Result.FAILED, 554, "5.4.6")

    async def test_too_big_fails(self) -> None:
        agent = self.agent(peer_at(1), max_apdu=1000)
        [outcome] = await agent.deliver(job(RCPT_B))
        assert (outcome.result, outcome.status) == (Result.FAILED, "5.3.4")

    async def test_target_without_peer_fails(self) -> None:
        agent = self.agent(peer_at(1))
        [outcome] = await agent.deliver(job("bob@elsewhere.test"))
        assert (outcome.result, outcome.status) == (Result.FAILED, "5.4.4")

    async def test_peer_that_never_answers_the_bind(self) -> None:
        from twisted.internet.protocol import Factory, Protocol

        silent = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
        self.addCleanup(silent.stopListening)
        agent = self.agent(peer_at(silent.getHost().port, bind_timeout=0.1))
        [outcome] = await agent.deliver(job(RCPT_B))
        assert (outcome.result, outcome.status) == (Result.DEFERRED, "4.4.1")
        assert "did not complete the MTA-bind" in outcome.text
        await _settle()


async def _settle() -> None:
    from twisted.internet.task import deferLater

    await deferLater(reactor, 0.05, lambda: None)


def test_dsn_for_an_x400_originator_becomes_a_report() -> None:
    from gateway.x400.model import Report
    from gateway.x400.p1codec import decode_apdu

    originator = '"/S=Jones/O=Lab/PRMD=B/ADMD= /C=GB/"@a.test'
    dsn = (
        b"From: postmaster@a.test\r\n"
        b"To: " + originator.encode() + b"\r\n"
        b"Subject: Delivery Status Notification (Failure)\r\n"
        b"Date: Fri, 02 Jan 2026 03:04:05 +0000\r\n"
        b"Message-ID: <dsn.1@a.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n'
        b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; a.test\r\n\r\n"
        b"Final-Recipient: rfc822; bob@example.test\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n"
    )
    [item] = outgoing(
        job(originator, content=dsn, sender=None), list(job(originator).targets), GW_A
    )
    assert item.kind == "report" and item.error is None and item.apdu is not None
    report = decode_apdu(item.apdu)
    assert isinstance(report, Report)
    assert [r.outcome.reason for r in report.recipients] == [1]  # type: ignore[union-attr]
