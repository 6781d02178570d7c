"""Inbound transfers: what each kind of MTS-APDU becomes for the bus, and
what is refused (with its RFC 3463 status)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from twisted.internet.task import Clock

from gateway.envelope import Address
from gateway.x400.model import Message, Probe
from gateway.x400.p1.inbound import InboundTransfers, to_internet
from gateway.x400.p1.protocol import TransferRefused
from gateway.x400.p1codec import decode_apdu, encode_apdu
from gateway.x400.reports import dsn_to_reports
from tests.x400.p1.support import GW_A, GW_B, PEER_A, FakeBus, sample_apdu

LIMITS = {"max_depth": 64, "max_length": 1 << 20, "max_total": 1 << 20}


def refusal(bus: FakeBus, apdu: bytes) -> str:
    inbound = InboundTransfers(bus, GW_B, Clock(), LIMITS)
    failures: list[BaseException] = []
    inbound(PEER_A, apdu, "127.0.0.1:4000").addErrback(lambda f: failures.append(f.value))
    [error] = failures
    assert isinstance(error, TransferRefused)
    assert bus.submitted == []
    return error.reason


def test_message_is_submitted_with_the_peer_as_origin() -> None:
    bus = FakeBus()
    inbound = InboundTransfers(bus, GW_B, Clock(), LIMITS)
    done: list[object] = []
    inbound(PEER_A, sample_apdu(), "127.0.0.1:4000").addCallback(done.append)
    assert done == [None]
    [(envelope, content)] = bus.submitted
    assert envelope.sender == Address.parse("alice@example.test")
    assert envelope.origin.protocol == "x400-p1"
    assert (envelope.origin.client_address, envelope.origin.helo) == ("127.0.0.1", "mta.a.test")
    assert b"(MIXER Conversion following RFC 2156)" in content


def test_unreadable_apdu_is_refused() -> None:
    assert refusal(FakeBus(), b"\x30\x03\x02\x01").startswith("554 5.6.0 unreadable MTS-APDU")


def non_delivered(apdu: bytes) -> tuple[bytes, object]:
    """The transfer is taken (confirmed) and a non-delivery report goes to
    the originator: the DSN queued, and the X.400 report it maps back to."""
    bus = FakeBus()
    done: list[object] = []
    InboundTransfers(bus, GW_B, Clock(), LIMITS)(PEER_A, apdu, "127.0.0.1:4000").addCallback(
        done.append
    )
    assert done == [None], "the transfer is confirmed: the gateway took responsibility"
    [(envelope, content)] = bus.submitted
    assert envelope.sender is None  # a report, from the null path
    (rcpt,) = envelope.recipients
    assert rcpt.address == Address.parse("alice@example.test")  # the originator
    report, _ = dsn_to_reports(content, str(rcpt.address), GW_B)
    return content, report


def test_loop_is_non_delivered_with_a_report() -> None:
    msg = decode_apdu(sample_apdu())
    assert isinstance(msg, Message)
    trace = msg.envelope.trace * 6  # six MIXER conversions already
    looping = replace(msg, envelope=replace(msg.envelope, trace=trace))
    content, report = non_delivered(encode_apdu(looping))
    assert (
        b"Status: 5.4.6" in content
        and b"X-400; Reason 1 (unable-to-transfer); Diagnostic 3" in content
    )
    assert report is not None
    assert report.subject == msg.envelope.identifier  # type: ignore[attr-defined]
    (rcpt,) = report.recipients  # type: ignore[attr-defined]
    assert (rcpt.outcome.reason, rcpt.outcome.diagnostic) == (1, 3)  # loop-detected
    assert rcpt.supplementary_info.startswith("5.4.6 MIXER loop")


def test_content_that_is_not_interpersonal_is_non_delivered() -> None:
    msg = decode_apdu(sample_apdu())
    assert isinstance(msg, Message)
    other = replace(msg, envelope=replace(msg.envelope, content_type=35))
    content, report = non_delivered(encode_apdu(other))
    assert b"Status: 5.6.1" in content
    assert b"5.6.1 content type 35 is not interpersonal mail" in content
    assert report is not None
    (rcpt,) = report.recipients  # type: ignore[attr-defined]
    assert rcpt.outcome.reason == 1  # X.6.1 -> 1/6 (RFC 2156 5.1.8.4)
    assert rcpt.outcome.diagnostic == 6


def test_probe_is_confirmed_and_nothing_delivered() -> None:
    msg = decode_apdu(sample_apdu())
    assert isinstance(msg, Message)
    probe = Probe(msg.envelope, 1234)
    assert to_internet(probe, GW_B, LIMITS) is None
    bus = FakeBus()
    done: list[object] = []
    InboundTransfers(bus, GW_B, Clock(), LIMITS)(PEER_A, encode_apdu(probe), "h:1").addCallback(
        done.append
    )
    assert done == [None] and bus.submitted == []


def test_report_becomes_a_dsn_from_the_null_sender() -> None:
    dsn = (
        b"From: postmaster@a.test\r\n"
        b"To: alice@example.test\r\n"
        b"Subject: failed\r\n"
        b"Date: Fri, 02 Jan 2026 03:04:05 +0000\r\n"
        b"Message-ID: <dsn.2@a.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n'
        b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; a.test\r\n\r\n"
        b'Final-Recipient: rfc822; "/S=Smith/O=Lab/PRMD=B/ADMD= /C=GB/"@a.test\r\n'
        b"Action: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n"
    )
    report, _ = dsn_to_reports(dsn, "alice@example.test", GW_A)
    assert report is not None
    submission = to_internet(decode_apdu(encode_apdu(report)), GW_B, LIMITS)
    assert submission is not None and submission.kind == "report"
    assert submission.sender is None
    assert [str(r.address) for r in submission.recipients] == ["alice@example.test"]
    assert submission.recipients[0].notify == frozenset()  # NOTIFY=NEVER
    assert b"report-type=delivery-status" in submission.content


@pytest.mark.parametrize("status", ["5.4.6", "5.1.3"])
def test_refusal_reasons_carry_a_reply_code(status: str) -> None:
    from gateway.x400.p1.inbound import _code

    assert str(_code(status))[0] == status[0]


def test_probe_is_answered_with_a_report_per_recipient() -> None:
    """RFC 2156 5.3.9: the gateway services the probe; the report (queued as
    the DSN to the originator, converted back to X.400 on the way out) says
    per recipient whether a message would be taken, and that the gateway
    answered."""
    msg = decode_apdu(sample_apdu())
    assert isinstance(msg, Message)
    probe = Probe(msg.envelope, 1234)
    judged: list[str] = []

    def judge(address: str) -> tuple[str, str] | None:
        judged.append(address)
        return None

    bus = FakeBus()
    done: list[object] = []
    inbound = InboundTransfers(bus, GW_B, Clock(), LIMITS, judge=judge, max_size=10_000)
    inbound(PEER_A, encode_apdu(probe), "h:1").addCallback(done.append)
    assert done == [None]
    [(envelope, content)] = bus.submitted
    assert envelope.sender is None
    assert [str(r.address) for r in envelope.recipients] == ["alice@example.test"]
    assert judged  # every responsible recipient was asked about
    report, _ = dsn_to_reports(content, "alice@example.test", GW_B)
    assert report is not None
    assert report.subject == msg.envelope.identifier  # the probe's identifier
    for rcpt in report.recipients:
        assert type(rcpt.outcome).__name__ == "Delivered"
        assert rcpt.supplementary_info == "probe serviced by the MIXER gateway " + GW_B.mta_name


def test_probe_refusals_become_non_delivery() -> None:
    msg = decode_apdu(sample_apdu())
    assert isinstance(msg, Message)
    bus = FakeBus()
    inbound = InboundTransfers(
        bus, GW_B, Clock(), LIMITS, judge=lambda a: ("5.1.1", "no such user"), max_size=100
    )
    inbound(PEER_A, encode_apdu(Probe(msg.envelope, 50)), "h:1")
    inbound(PEER_A, encode_apdu(Probe(msg.envelope, 5000)), "h:1")
    (_, unknown), (_, too_big) = bus.submitted
    # content-too-long comes back as 5.2.3 (RFC 2156 5.1.8.4 table)
    assert b"Status: 5.1.1" in unknown and b"Status: 5.2.3" in too_big
    report, _ = dsn_to_reports(unknown, "alice@example.test", GW_B)
    assert report is not None
    rcpt = report.recipients[0]
    assert (rcpt.outcome.reason, rcpt.outcome.diagnostic) == (1, 0)  # unrecognised-OR-name
    assert rcpt.supplementary_info.startswith(
        f"probe serviced by the MIXER gateway {GW_B.mta_name}: 5.1.1 no such user"
    )
    report, _ = dsn_to_reports(too_big, "alice@example.test", GW_B)
    assert report is not None
    assert report.recipients[0].outcome.diagnostic == 7  # content-too-long
