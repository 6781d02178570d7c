"""gateway.message.body_type / needs_smtputf8, and the ingresses that use them."""

from __future__ import annotations

from gateway.envelope import Address, Origin, Recipient
from gateway.message import MAX_LINE, body_type, needs_smtputf8
from gateway.x400.p1.inbound import Submission


def test_body_type() -> None:
    assert body_type(b"Subject: a\r\n\r\nplain\r\n") == "7BIT"
    assert body_type("Subject: a\r\n\r\nGrüße\r\n".encode()) == "8BITMIME"
    assert body_type(b"Subject: a\r\n\r\nnul \x00 byte\r\n") == "BINARYMIME"
    assert body_type(b"Subject: a\r\n\r\n" + b"x" * (MAX_LINE + 1) + b"\r\n") == "BINARYMIME"
    assert body_type(b"Subject: a\r\n\r\n" + b"x" * MAX_LINE + b"\r\n") == "7BIT"


def test_needs_smtputf8() -> None:
    assert not needs_smtputf8("Subject: a\r\n\r\nGrüße\r\n".encode(), False)  # body only
    assert needs_smtputf8("Subject: Grüße\r\n\r\nx\r\n".encode(), False)  # RFC 6532
    assert needs_smtputf8(b"Subject: a\r\n\r\nx\r\n", True)


def test_p1_submission_envelope_like_the_file_channel() -> None:
    """P1 used to say 8BITMIME for binary content and never SMTPUTF8."""
    rcpt = (Recipient(Address.parse("alice@example.test")),)
    binary = Submission(None, rcpt, b"Subject: a\r\n\r\n\x00\r\n")
    assert binary.envelope(Origin("x400-p1")).body == "BINARYMIME"
    utf8 = Submission(None, rcpt, "Subject: Grüße\r\n\r\nx\r\n".encode())
    envelope = utf8.envelope(Origin("x400-p1"))
    assert (envelope.body, envelope.smtputf8) == ("8BITMIME", True)
    plain = Submission(Address.parse("bob@x400.test"), rcpt, b"Subject: a\r\n\r\nx\r\n")
    assert (plain.envelope(Origin("x400-p1")).body, plain.envelope(Origin("x")).smtputf8) == (
        "7BIT",
        False,
    )
