"""The relay client against real servers on loopback: Postfix's smtp-sink
(scripted 4xx/5xx, no 8BITMIME) and our own gateway over STARTTLS."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.trial import unittest

from gateway.envelope import Address, Envelope, Recipient
from gateway.smtp.client import ClientSettings, Outcome, RelayTransaction, connect, relay
from tests.integration.peers import LOOPBACK, SMTP_SINK, SMTPDaemon, SMTPSink, have

pytestmark = pytest.mark.integration

HELO = "relay.example.test"
MESSAGE = b"From: bob@example.test\r\nSubject: relay\r\n\r\nHello.\r\n.leading dot\r\n"


def tx(*recipients: str, content: bytes = MESSAGE) -> RelayTransaction:
    return RelayTransaction.from_envelope(
        Envelope(
            Address.parse("bob@example.test"),
            tuple(Recipient(Address.parse(r)) for r in recipients),
        ),
        content,
    )


def codes(outcomes: list[Outcome]) -> list[int]:
    return [o.reply.code for o in outcomes]


class SinkTests(unittest.TestCase):
    def sink(self, *options: str) -> SMTPSink:
        if not have(SMTP_SINK):
            raise unittest.SkipTest("smtp-sink is not installed")
        sink = SMTPSink(options=options)
        sink.start()
        self.addCleanup(sink.stop)
        return sink

    @inlineCallbacks
    def test_two_transactions_on_one_connection(self) -> Any:
        sink = self.sink()
        settings = ClientSettings(HELO, tls_policy="may")
        protocol = yield connect(reactor, LOOPBACK, sink.port, settings)
        assert {"PIPELINING", "8BITMIME", "DSN"} <= set(protocol.extensions)
        first = yield protocol.send(tx("a@remote.test", "b@remote.test", "c@remote.test"))
        assert codes(first) == [250, 250, 250]
        assert all(o.dsn and o.action == "delivered" and o.remote for o in first)
        second = yield protocol.send(tx("d@remote.test"))
        assert codes(second) == [250]
        yield protocol.quit()

    @inlineCallbacks
    def test_hard_error_at_rcpt(self) -> Any:
        sink = self.sink("-f", "RCPT")
        outcomes = yield relay(
            reactor,
            LOOPBACK,
            sink.port,
            ClientSettings(HELO),
            tx("a@remote.test", "b@remote.test"),
        )
        assert codes(outcomes) == [500, 500] or all(o.permanent for o in outcomes)
        assert all(o.phase == "RCPT" and o.remote for o in outcomes)

    @inlineCallbacks
    def test_soft_error_at_rcpt(self) -> Any:
        sink = self.sink("-r", "RCPT")
        outcomes = yield relay(
            reactor, LOOPBACK, sink.port, ClientSettings(HELO), tx("a@remote.test")
        )
        assert outcomes[0].temporary and outcomes[0].phase == "RCPT"

    @inlineCallbacks
    def test_soft_error_at_end_of_data(self) -> Any:
        sink = self.sink("-r", ".")
        outcomes = yield relay(
            reactor, LOOPBACK, sink.port, ClientSettings(HELO), tx("a@remote.test")
        )
        assert outcomes[0].temporary and outcomes[0].phase == "end of data"

    @inlineCallbacks
    def test_8bit_downgraded_for_a_server_without_8bitmime(self) -> Any:
        # smtp-sink runs as nobody: a directory it can reach and write
        directory = Path(tempfile.mkdtemp(prefix="smtp-sink-"))
        self.addCleanup(shutil.rmtree, directory, True)
        directory.chmod(0o777)
        dump = directory / "dump"
        sink = self.sink("-8", "-D", str(dump))
        content = "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße\r\n".encode()
        outcomes = yield relay(
            reactor,
            LOOPBACK,
            sink.port,
            ClientSettings(HELO),
            tx("a@remote.test", content=content),
        )
        assert codes(outcomes) == [250], outcomes
        deadline = time.monotonic() + 10
        while not (dump.exists() and b"Gr=C3=BC=C3=9Fe" in dump.read_bytes()):
            assert time.monotonic() < deadline, "nothing dumped"
            time.sleep(0.05)
        assert b"BODY=8BITMIME" not in dump.read_bytes()

    @inlineCallbacks
    def test_connection_refused_defers_everyone(self) -> Any:
        sink = SMTPSink()  # a free port, nothing listening
        outcomes = yield relay(
            reactor,
            LOOPBACK,
            sink.port,
            ClientSettings(HELO),
            tx("a@remote.test", "b@remote.test"),
        )
        assert [(o.reply.code, o.status, o.phase) for o in outcomes] == [
            (421, "4.4.1", "connect")
        ] * 2


class GatewayTests(unittest.TestCase):
    @inlineCallbacks
    def test_starttls_to_our_own_gateway(self) -> Any:
        directory = Path(self.mktemp())  # type: ignore[no-untyped-call]
        directory.mkdir(parents=True)
        gateway = SMTPDaemon(directory)
        self.addCleanup(gateway.close)
        gateway.start()
        gateway.add_user("alice@example.test", "wonderland")
        settings = ClientSettings(HELO, tls_policy="encrypt")
        outcomes = yield relay(
            reactor,
            LOOPBACK,
            gateway.smtp_port,
            settings,
            tx("alice@example.test", "nobody@example.test"),
        )
        ok, unknown = outcomes
        assert ok.success and ok.tls is not None and ok.tls.version.startswith("TLSv1.")
        assert ok.dsn  # our server offers DSN
        assert unknown.permanent and unknown.phase == "RCPT"

        def delivered() -> list[bytes]:
            return [p.read_bytes() for p in gateway.messages("alice@example.test")]

        gateway.wait_for(delivered, what="delivery")
        (data,) = delivered()
        assert data.endswith(b"Hello.\n.leading dot\n")  # dot-unstuffed, intact
