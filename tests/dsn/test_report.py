"""RFC 3464 report generation, read back with Python's email package."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

import pytest

from gateway.bus.agents import Outcome, Result, Target
from gateway.dsn import (
    SUBJECTS,
    Action,
    Kind,
    RecipientReport,
    dsn_envelope,
    is_delivery_report,
    kind_for,
    never_for,
    parse_dsn,
    returns_full,
    should_notify,
)
from gateway.envelope import Address, Envelope, Recipient
from tests.dsn.factory import (
    ARRIVED,
    ATTEMPT,
    NOW,
    ORIGINAL,
    RETRY_UNTIL,
    delayed,
    delivered,
    envelope,
    failed,
    parsed,
    report,
    status_blocks,
)


def assert_wire_clean(data: bytes) -> None:
    """CRLF only (RFC 5322 2.1), no line over 998 octets (RFC 5322 2.1.1)."""
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))


KINDS = [
    (Kind.FAILURE, failed(), "failed", "5.1.1"),
    (Kind.DELAY, delayed(), "delayed", "4.4.1"),
    (Kind.SUCCESS, delivered(), "delivered", "2.0.0"),
    (Kind.RELAY, delivered(Action.RELAYED), "relayed", "2.0.0"),
]


@pytest.mark.parametrize(("kind", "rcpt", "action", "status"), KINDS)
def test_top_level_header(kind: Kind, rcpt: RecipientReport, action: str, status: str) -> None:
    data = report(kind, [rcpt])
    assert_wire_clean(data)
    msg = parsed(data)
    sender = msg["From"].addresses[0]
    assert sender.display_name == "Mail Delivery System"
    assert sender.addr_spec == "MAILER-DAEMON@gw.example.org"
    assert msg["To"].addresses[0].addr_spec == "alice@example.org"
    assert msg["Subject"] == SUBJECTS[kind]
    assert parsedate_to_datetime(msg["Date"]).timestamp() == NOW
    assert re.fullmatch(r"<[^<>@\s]+@gw\.example\.org>", msg["Message-ID"])
    assert msg["MIME-Version"] == "1.0"
    assert msg["Auto-Submitted"] == "auto-replied"  # RFC 3834 5
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    assert not msg.defects


def test_subjects() -> None:
    assert SUBJECTS == {
        Kind.FAILURE: "Undelivered Mail Returned to Sender",
        Kind.DELAY: "Delayed Mail (still being retried)",
        Kind.SUCCESS: "Successful Mail Delivery Report",
        Kind.RELAY: "Relayed Mail Delivery Report",
    }


@pytest.mark.parametrize(("kind", "rcpt", "action", "status"), KINDS)
def test_parts(kind: Kind, rcpt: RecipientReport, action: str, status: str) -> None:
    msg = parsed(report(kind, [rcpt]))
    parts = msg.get_payload()
    assert [p.get_content_type() for p in parts][:2] == ["text/plain", "message/delivery-status"]
    assert len(parts) == 3
    human = parts[0].get_content()
    assert "gw.example.org" in human
    assert "bob@remote.test" in human
    assert status in human


@pytest.mark.parametrize(("kind", "rcpt", "action", "status"), KINDS)
def test_delivery_status_fields(
    kind: Kind, rcpt: RecipientReport, action: str, status: str
) -> None:
    env = envelope(envid="QQ+314159", orcpt=("rfc822", "Bob@Remote.test"))
    rcpt = RecipientReport(
        rcpt.final_recipient,
        rcpt.action,
        rcpt.status,
        ("rfc822", "Bob@Remote.test"),
        rcpt.remote_mta,
        rcpt.diagnostic,
        rcpt.last_attempt,
        rcpt.will_retry_until,
    )
    blocks = status_blocks(parsed(report(kind, [rcpt], env=env)))
    assert len(blocks) == 2
    per_message, per_rcpt = blocks
    assert per_message["Reporting-MTA"] == "dns; gw.example.org"
    assert per_message["Original-Envelope-Id"] == "QQ+314159"
    assert parsedate_to_datetime(per_message["Arrival-Date"]).timestamp() == ARRIVED
    assert per_rcpt["Original-Recipient"] == "rfc822;Bob@Remote.test"
    assert per_rcpt["Final-Recipient"] == "rfc822; bob@remote.test"
    assert per_rcpt["Action"] == action
    assert per_rcpt["Status"] == status
    assert per_rcpt["Remote-MTA"] == "dns; mx.remote.test"
    assert per_rcpt["Diagnostic-Code"] == f"smtp; {rcpt.diagnostic}"
    assert parsedate_to_datetime(per_rcpt["Last-Attempt-Date"]).timestamp() == ATTEMPT
    if action == "delayed":
        assert parsedate_to_datetime(per_rcpt["Will-Retry-Until"]).timestamp() == RETRY_UNTIL
    else:
        assert per_rcpt["Will-Retry-Until"] is None


def test_optional_fields_absent() -> None:
    """RFC 3461 6.3: no Original-Envelope-Id without ENVID, no
    Original-Recipient without ORCPT; no Remote-MTA for a local outcome."""
    rcpt = RecipientReport(Address.parse("bob@remote.test"), Action.FAILED, "5.1.1")
    per_message, per_rcpt = status_blocks(parsed(report(Kind.FAILURE, [rcpt])))
    assert per_message["Original-Envelope-Id"] is None
    assert per_message["Reporting-MTA"] == "dns; gw.example.org"
    for name in ("Original-Recipient", "Remote-MTA", "Diagnostic-Code", "Last-Attempt-Date"):
        assert per_rcpt[name] is None
    assert per_rcpt["Final-Recipient"] == "rfc822; bob@remote.test"


def test_several_recipients_in_order() -> None:
    a = failed(rcpt="a@remote.test")
    b = failed(rcpt="b@remote.test", orcpt=("x400", "/G=B/S=Smith/O=Org/PRMD=P/ADMD=A/C=GB/"))
    c = failed(rcpt="c@remote.test")
    blocks = status_blocks(parsed(report(Kind.FAILURE, [a, b, c])))
    assert [blk["Final-Recipient"] for blk in blocks[1:]] == [
        "rfc822; a@remote.test",
        "rfc822; b@remote.test",
        "rfc822; c@remote.test",
    ]
    # ORCPT keeps its address type (RFC 3464 2.3.1).
    assert blocks[2]["Original-Recipient"] == "x400;/G=B/S=Smith/O=Org/PRMD=P/ADMD=A/C=GB/"
    assert blocks[1]["Original-Recipient"] is None


def test_long_diagnostic_is_folded_and_unfolds_to_the_same() -> None:
    text = "550 5.7.1 " + " ".join(f"word{i}" for i in range(300))
    rcpt = RecipientReport(
        Address.parse("bob@remote.test"), Action.FAILED, "5.7.1", diagnostic=text
    )
    data = report(Kind.FAILURE, [rcpt])
    assert_wire_clean(data)
    assert all(len(line) <= 200 for line in data.split(b"\r\n"))
    per_rcpt = status_blocks(parsed(data))[1]
    assert " ".join(per_rcpt["Diagnostic-Code"].split()) == f"smtp; {text}"[:906].strip()


def test_diagnostic_cannot_inject_fields() -> None:
    evil = "550 no\r\nAction: delivered\r\n\r\nFinal-Recipient: rfc822; x@y"
    rcpt = RecipientReport(
        Address.parse("bob@remote.test"), Action.FAILED, "5.0.0", diagnostic=evil
    )
    blocks = status_blocks(parsed(report(Kind.FAILURE, [rcpt])))
    assert len(blocks) == 2
    assert blocks[1]["Action"] == "failed"


# --- RET (RFC 3461 4.3) ------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "ret", "full"),
    [
        (Kind.FAILURE, None, True),
        (Kind.FAILURE, "FULL", True),
        (Kind.FAILURE, "HDRS", False),
        (Kind.DELAY, None, False),
        (Kind.DELAY, "HDRS", False),
        (Kind.DELAY, "FULL", True),
        (Kind.SUCCESS, None, False),
        (Kind.SUCCESS, "FULL", True),
        (Kind.RELAY, None, False),
    ],
)
def test_ret(kind: Kind, ret: str | None, full: bool) -> None:
    assert returns_full(kind, ret) is full
    rcpt = {Kind.FAILURE: failed(), Kind.DELAY: delayed()}.get(kind, delivered())
    msg = parsed(report(kind, [rcpt], env=envelope(ret=ret)))
    third = msg.get_payload()[2]
    if full:
        assert third.get_content_type() == "message/rfc822"
        inner = third.get_payload()[0]
        assert inner["Message-ID"] == "<orig-1@example.org>"
        assert inner.get_payload() == "The body line.\r\n"
    else:
        assert third.get_content_type() == "text/rfc822-headers"
        text = third.get_payload(decode=True)
        assert text == ORIGINAL[: ORIGINAL.index(b"\r\n\r\n") + 2]
        assert b"The body line." not in text


def test_returned_message_is_byte_exact() -> None:
    data = report(Kind.FAILURE, [failed()])
    assert ORIGINAL in data


def test_bare_lf_original_is_returned_with_crlf() -> None:
    data = report(Kind.FAILURE, [failed()], content=ORIGINAL.replace(b"\r\n", b"\n"))
    assert_wire_clean(data)
    assert ORIGINAL in data


def test_too_large_original_returns_header_with_note() -> None:
    big = ORIGINAL + (b"x" * 70 + b"\r\n") * 1000
    msg = parsed(report(Kind.FAILURE, [failed()], content=big, return_limit=10_000))
    assert msg.get_payload()[2].get_content_type() == "text/rfc822-headers"
    assert "only its header" in msg.get_payload()[0].get_content()


def test_binary_original_returns_header() -> None:
    data = report(Kind.FAILURE, [failed()], content=ORIGINAL + b"\x00\x01binary\r\n")
    assert_wire_clean(data)
    assert b"\x00" not in data
    assert parsed(data).get_payload()[2].get_content_type() == "text/rfc822-headers"


def test_empty_original_has_no_third_part() -> None:
    msg = parsed(report(Kind.FAILURE, [failed()], content=b""))
    assert len(msg.get_payload()) == 2


# --- 8-bit originals (RFC 2046 5.2.1, RFC 6532 3.7, RFC 6533) ---------------


def test_7bit_original_is_labelled_7bit() -> None:
    data = report(Kind.FAILURE, [failed()])
    msg = parsed(data)
    assert msg["Content-Transfer-Encoding"] == "7bit"
    assert msg.get_payload()[2]["Content-Transfer-Encoding"] == "7bit"
    assert data.isascii()
    assert dsn_envelope(envelope(), data).body == "7BIT"


def test_8bit_body_is_message_rfc822_8bit() -> None:
    content = ORIGINAL.replace(b"The body line.", "Grüße aus Köln".encode())
    data = report(Kind.FAILURE, [failed()], content=content)
    assert_wire_clean(data)
    msg = parsed(data)
    assert msg["Content-Transfer-Encoding"] == "8bit"
    third = msg.get_payload()[2]
    assert third.get_content_type() == "message/rfc822"
    assert third["Content-Transfer-Encoding"] == "8bit"
    assert content in data
    env = dsn_envelope(envelope(), data)
    assert env.body == "8BITMIME"
    assert not env.smtputf8


def test_utf8_header_is_message_global() -> None:
    content = ORIGINAL.replace(b"Subject: hello", "Subject: Grüße".encode())
    msg = parsed(report(Kind.FAILURE, [failed()], content=content))
    third = msg.get_payload()[2]
    assert third.get_content_type() == "message/global"
    assert third["Content-Transfer-Encoding"] == "8bit"


def test_utf8_header_only_is_message_global_headers() -> None:
    content = ORIGINAL.replace(b"Subject: hello", "Subject: Grüße".encode())
    msg = parsed(report(Kind.DELAY, [delayed()], content=content))
    third = msg.get_payload()[2]
    assert third.get_content_type() == "message/global-headers"
    assert third["Content-Transfer-Encoding"] == "8bit"


def test_latin1_header_stays_message_rfc822_8bit() -> None:
    content = ORIGINAL.replace(b"Subject: hello", b"Subject: Gr\xfc\xdfe")
    msg = parsed(report(Kind.FAILURE, [failed()], content=content))
    third = msg.get_payload()[2]
    assert third.get_content_type() == "message/rfc822"
    assert third["Content-Transfer-Encoding"] == "8bit"


def test_utf8_recipient_uses_global_delivery_status() -> None:
    """RFC 6533: Final-Recipient of type utf-8 in a
    message/global-delivery-status part."""
    rcpt = RecipientReport(
        Address.parse("jürgen@bücher.example"),
        Action.FAILED,
        "5.1.1",
        original_recipient=("utf-8", "Jürgen@bücher.example"),
    )
    data = report(Kind.FAILURE, [rcpt])
    msg = parsed(data)
    assert msg.get_param("report-type") == "global-delivery-status"
    part = msg.get_payload()[1]
    assert part.get_content_type() == "message/global-delivery-status"
    assert part["Content-Transfer-Encoding"] == "8bit"
    # The email package reads message/global-delivery-status as an
    # encapsulated message: the per-message group becomes its header.
    inner = part.get_payload()[0]
    assert inner["Reporting-MTA"] == "dns; gw.example.org"
    assert "Final-Recipient: utf-8; jürgen@bücher.example\r\n".encode() in data
    assert "Original-Recipient: utf-8;Jürgen@bücher.example\r\n".encode() in data
    assert dsn_envelope(envelope(), data).body == "8BITMIME"
    result = parse_dsn(data)
    assert result is not None
    assert result.report_type == "global-delivery-status"
    assert result.reporting_mta == "dns; gw.example.org"
    assert result.recipients[0]["Final-Recipient"] == "utf-8; jürgen@bücher.example"
    assert result.recipients[0]["Original-Recipient"] == "utf-8;Jürgen@bücher.example"


def test_utf8_original_reads_back() -> None:
    content = ORIGINAL.replace(b"Subject: hello", "Subject: Grüße".encode())
    for kind, rcpt in ((Kind.FAILURE, failed()), (Kind.DELAY, delayed())):
        result = parse_dsn(report(kind, [rcpt], content=content))
        assert result is not None
        assert result.returned_type in ("message/global", "message/global-headers")
        assert result.original_message_id == "<orig-1@example.org>"
        assert result.queue_ids == ("018BCF3A1B2C30000",)


def test_non_ascii_orcpt_in_ascii_report_is_xtext() -> None:
    rcpt = failed(orcpt=("rfc822", "b\x01b@remote.test"))
    per_rcpt = status_blocks(parsed(report(Kind.FAILURE, [rcpt])))[1]
    assert per_rcpt["Original-Recipient"] == "rfc822;b+01b@remote.test"


def test_utf8_sender_needs_smtputf8() -> None:
    env = envelope(sender="jürgen@bücher.example")
    data = report(Kind.FAILURE, [failed()], env=env)
    # RFC 6532 3.2: raw UTF-8 in the header (the email package cannot read it back).
    assert "To: <jürgen@bücher.example>\r\n".encode() in data
    assert dsn_envelope(env, data).smtputf8


# --- determinism, envelope, errors --------------------------------------------


def test_same_inputs_same_bytes_and_explicit_message_id() -> None:
    assert report(Kind.FAILURE, [failed()]) == report(Kind.FAILURE, [failed()])
    data = report(Kind.FAILURE, [failed()], message_id="<dsn-1@gw.example.org>")
    assert parsed(data)["Message-ID"] == "<dsn-1@gw.example.org>"


def test_queue_id_extension_field() -> None:
    blocks = status_blocks(parsed(report(Kind.FAILURE, [failed()], queue_id="018BC")))
    assert blocks[0]["X-Mailgateway-Queue-ID"] == "018BC"


def test_boundary_not_in_bodies() -> None:
    data = report(Kind.FAILURE, [failed()])
    boundary = parsed(data).get_boundary()
    assert boundary
    # Three part delimiters and the close delimiter, nothing else.
    assert data.count(f"--{boundary}".encode()) == 4


def test_dsn_envelope() -> None:
    env = dsn_envelope(envelope(), report(Kind.FAILURE, [failed()]))
    assert env.sender is None  # RFC 5321 4.5.5
    assert env.recipients == (Recipient(Address.parse("alice@example.org"), frozenset()),)
    with pytest.raises(ValueError):
        dsn_envelope(Envelope(None, env.recipients), b"")


def test_null_sender_and_no_recipients_are_refused() -> None:
    env = Envelope(None, (Recipient(Address.parse("bob@remote.test")),))
    with pytest.raises(ValueError):
        report(Kind.FAILURE, [failed()], env=env)
    with pytest.raises(ValueError):
        report(Kind.FAILURE, [])


def test_bad_status_is_refused() -> None:
    with pytest.raises(ValueError):
        RecipientReport(Address.parse("a@b.example"), Action.FAILED, "550")


def test_from_outcome() -> None:
    target = Target(0, Address.parse("bob@remote.test"))
    recipient = Recipient(target.address, orcpt=("rfc822", "Bob@remote.test"))
    outcome = Outcome(target, Result.DEFERRED, 451, "4.4.1", "Connection timed out")
    r = RecipientReport.from_outcome(
        recipient, outcome, remote_mta="mx.remote.test", will_retry_until=RETRY_UNTIL
    )
    assert r.action is Action.DELAYED
    assert r.status == "4.4.1"
    assert r.original_recipient == ("rfc822", "Bob@remote.test")
    assert r.diagnostic == "451 4.4.1 Connection timed out"
    assert r.will_retry_until == RETRY_UNTIL
    assert kind_for(r.action) is Kind.DELAY
    assert kind_for(Action.FAILED) is Kind.FAILURE
    assert kind_for(Action.EXPANDED) is Kind.SUCCESS
    assert kind_for(Action.RELAYED) is Kind.RELAY


# --- policy -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notify", "expected"),
    [
        # RFC 3461 4.1: absent NOTIFY -> FAILURE,DELAY (our choice of the two).
        (None, {Kind.FAILURE, Kind.DELAY}),
        (frozenset(), set()),  # NEVER
        (frozenset({"SUCCESS"}), {Kind.SUCCESS, Kind.RELAY}),
        (frozenset({"FAILURE"}), {Kind.FAILURE}),
        (frozenset({"DELAY"}), {Kind.DELAY}),
        (frozenset({"SUCCESS", "FAILURE", "DELAY"}), set(Kind)),
    ],
)
def test_should_notify(notify: frozenset[str] | None, expected: set[Kind]) -> None:
    assert {k for k in Kind if should_notify(k, notify)} == expected


def test_never_for() -> None:
    alice = Address.parse("alice@example.org")
    assert never_for(None)
    assert not never_for(alice)
    assert not never_for(alice, ORIGINAL)
    ours = report(Kind.FAILURE, [failed()])
    assert is_delivery_report(ours)
    assert never_for(None, ours)
    assert never_for(alice, ours)  # a report is never reported on
    mdn = b'Content-Type: multipart/report; report-type="disposition-notification"\r\n\r\n'
    assert not is_delivery_report(mdn)
    assert not never_for(alice, mdn)
    quoted = (
        b'Content-Type: Multipart/Report; boundary=x;\r\n REPORT-TYPE="delivery-status"\r\n\r\n'
    )
    assert is_delivery_report(quoted)
