"""Reading DSNs: ours, and reports in the format of Postfix and Exim."""

from __future__ import annotations

import email
from email import policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dsn import Kind, parse_dsn, split_typed
from tests.dsn.factory import FIXTURES, delayed, envelope, failed, report


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


REAL = ["postfix_bounce.eml", "postfix_delay.eml", "exim_bounce.eml"]


def test_postfix_bounce() -> None:
    r = parse_dsn(fixture("postfix_bounce.eml"))
    assert r is not None
    assert r.report_type == "delivery-status"
    assert r.message_id == "<4SVb2X1kDCz9sV@mx.example.com>"
    assert r.reporting_mta == "dns; mx.example.com"
    assert r.arrival_date == "Tue, 14 Nov 2023 22:13:20 +0000 (UTC)"
    assert r.original_envelope_id is None
    assert r.per_message["X-Postfix-Queue-Id"] == "4SVb2X0Yz1z9sT"
    assert r.recipients == (
        {
            "Final-Recipient": "rfc822; carol@example.com",
            "Original-Recipient": "rfc822;carol@example.com",
            "Action": "failed",
            "Status": "5.1.1",
            "Remote-MTA": "dns; mail.example.com",
            "Diagnostic-Code": "smtp; 550 5.1.1 <carol@example.com>: Recipient address "
            "rejected: User unknown in local recipient table",
        },
    )
    assert r.returned_type == "message/rfc822"
    assert r.original_message_id == "<figures-2023-q3@example.org>"
    # Postfix's own Received: id is not ours; ours is the mailgateway one.
    assert r.queue_ids == ("018BCF3A1B2C30000",)


def test_postfix_delay() -> None:
    r = parse_dsn(fixture("postfix_delay.eml"))
    assert r is not None
    assert r.original_envelope_id == "GW-018BCF3A1B2C30001"
    (rcpt,) = r.recipients
    assert rcpt["Action"] == "delayed"
    assert rcpt["Status"] == "4.4.1"
    assert rcpt["Original-Recipient"] == "rfc822;Dave@slow.example.net"
    assert rcpt["Diagnostic-Code"] == (
        "X-Postfix; connect to mx.slow.example.net[203.0.113.9]:25: Connection timed out"
    )
    assert rcpt["Will-Retry-Until"] == "Sun, 19 Nov 2023 22:13:30 +0000 (UTC)"
    assert r.returned_type == "text/rfc822-headers"
    assert r.original_message_id == "<lunch-1@example.org>"
    assert r.queue_ids == ("018BCF3A1B2C30001",)


def test_exim_bounce() -> None:
    r = parse_dsn(fixture("exim_bounce.eml"))
    assert r is not None
    assert r.per_message == {"Reporting-MTA": "dns; mail.example.net"}
    (rcpt,) = r.recipients
    assert rcpt["Action"] == "failed"
    assert rcpt["Final-Recipient"] == "rfc822;nobody@example.net"
    assert rcpt["Status"] == "5.0.0"
    assert rcpt["X-Exim-Diagnostic"].startswith("X-str; SMTP error")
    assert r.original_message_id == "<hello-42@example.org>"
    assert r.queue_ids == ("018BCF3A1B2C30002",)
    assert r.message_id == "<E1r32Zc-000Dq1-0K@mail.example.net>"


@pytest.mark.parametrize("name", REAL)
def test_line_ends_do_not_matter(name: str) -> None:
    lf = fixture(name).replace(b"\r\n", b"\n")
    assert parse_dsn(lf) == parse_dsn(lf.replace(b"\n", b"\r\n"))


@pytest.mark.parametrize("name", REAL)
def test_fixtures_read_by_the_email_package(name: str) -> None:
    """The fixtures are well-formed for the email package too."""
    msg = email.message_from_bytes(fixture(name), policy=policy.default)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    status = msg.get_payload()[1]
    assert status.get_content_type() == "message/delivery-status"
    blocks = status.get_payload()
    assert blocks[0]["Reporting-MTA"]
    assert blocks[1]["Action"] in ("failed", "delayed")


def test_not_dsns() -> None:
    assert parse_dsn(fixture("not_a_dsn.eml")) is None
    assert parse_dsn(b"") is None
    assert parse_dsn(b"Subject: hi\r\n\r\nbody\r\n") is None
    # An MDN is a multipart/report too, of another type (RFC 8098).
    mdn = (
        b'Content-Type: multipart/report; report-type=disposition-notification; boundary="b"\r\n'
        b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nread\r\n"
        b"--b\r\nContent-Type: message/disposition-notification\r\n\r\n"
        b"Final-Recipient: rfc822; a@b.example\r\nDisposition: manual-action/MDN-sent-manually;"
        b" displayed\r\n--b--\r\n"
    )
    assert parse_dsn(mdn) is None
    # A report without recipient groups says nothing.
    empty = (
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n'
        b"\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; x.example\r\n--b--\r\n"
    )
    assert parse_dsn(empty) is None


def test_original_id_from_hint_header() -> None:
    data = (
        b"X-Original-Message-ID: <orig-9@example.org>\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n'
        b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; x.example\r\n\r\n"
        b"Final-Recipient: rfc822; a@b.example\r\nAction: failed\r\nStatus: 5.0.0\r\n"
        b"--b--\r\n"
    )
    r = parse_dsn(data)
    assert r is not None
    assert r.original_message_id == "<orig-9@example.org>"
    assert r.returned_type is None
    assert r.queue_ids == ()


def test_split_typed() -> None:
    assert split_typed("rfc822; a@b.example") == ("rfc822", "a@b.example")
    assert split_typed("RFC822;a@b.example") == ("rfc822", "a@b.example")
    assert split_typed("dns; mx.example") == ("dns", "mx.example")
    assert split_typed("a@b.example") == ("", "a@b.example")


def test_reads_our_reports() -> None:
    env = envelope(envid="GW-1", orcpt=("rfc822", "Bob@Remote.test"))
    for kind, rcpt in (
        (Kind.FAILURE, failed(("rfc822", "Bob@Remote.test"))),
        (Kind.DELAY, delayed()),
    ):
        r = parse_dsn(report(kind, [rcpt], env=env, queue_id="018BC"))
        assert r is not None
        assert r.original_envelope_id == "GW-1"
        assert r.per_message["X-Mailgateway-Queue-Id"] == "018BC"
        assert r.original_message_id == "<orig-1@example.org>"
        assert r.queue_ids == ("018BCF3A1B2C30000",)
        assert r.recipients[0]["Action"] == rcpt.action


# --- robustness ---------------------------------------------------------------


@settings(max_examples=300)
@given(st.binary(max_size=4096))
def test_never_raises_on_bytes(data: bytes) -> None:
    result = parse_dsn(data)
    assert result is None or result.recipients


@settings(max_examples=300)
@given(
    st.sampled_from(REAL),
    st.integers(min_value=0, max_value=4000),
    st.integers(min_value=0, max_value=4000),
    st.binary(max_size=64),
)
def test_never_raises_on_mangled_reports(name: str, start: int, stop: int, junk: bytes) -> None:
    """Fuzz seeded with real reports: cut a slice out and splice in junk."""
    data = fixture(name)
    mangled = data[:start] + junk + data[max(start, stop) :]
    result = parse_dsn(mangled)
    assert result is None or result.recipients


@settings(max_examples=200)
@given(
    st.lists(
        st.sampled_from(
            [
                b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
                b"Content-Type: message/delivery-status\r\n",
                b"Content-Type: message/global-delivery-status\r\n",
                b"Content-Type: message/rfc822\r\n",
                b"Content-Transfer-Encoding: base64\r\n",
                b"Content-Transfer-Encoding: quoted-printable\r\n",
                b"--b\r\n",
                b"--b--\r\n",
                b"\r\n",
                b" folded\r\n",
                b"Final-Recipient: rfc822; a@b\r\n",
                b"Action: failed\r\n",
                b"Status: 5.0.0\r\n",
                b"Message-ID: <x@y>\r\n",
                b"Received: by h (mailgateway) with ESMTP id Q\r\n",
                b"=?utf-8?q?=FF?=\r\n",
                b"\xff\xfe\r\n",
                b"\x00\r\n",
            ]
        ),
        max_size=40,
    )
)
def test_never_raises_on_report_shaped_input(lines: list[bytes]) -> None:
    result = parse_dsn(b"".join(lines))
    assert result is None or result.recipients
