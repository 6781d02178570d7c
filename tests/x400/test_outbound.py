"""gateway.x400.outbound: one conversion for P1 and the file channel."""

from __future__ import annotations

import pytest

from gateway.errors import GatewayError
from gateway.x400.mapping import MappingError
from gateway.x400.model import Message
from gateway.x400.outbound import conversion_error, is_dsn, outgoing
from gateway.x400.p1codec import decode_apdu
from gateway.x400.translate import TranslationError
from tests.x400.p1.support import GW_A, RCPT_B, job


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TranslationError("5.4.6", "loop"), (554, "5.4.6", "loop")),
        (TranslationError("4.3.0", "later"), (451, "4.3.0", "later")),
        (TranslationError("5.1.3", "bad"), (550, "5.1.3", "bad")),
        (MappingError("no table"), (550, "5.1.3", "address does not map to X.400: no table")),
        (ValueError("too deep"), (554, "5.6.5", "cannot convert the message for X.400: too deep")),
    ],
)
def test_conversion_error(error: Exception, expected: tuple[int, str, str]) -> None:
    got = conversion_error(error)
    assert isinstance(got, GatewayError)
    assert (got.code, got.status, got.text) == expected


def test_is_dsn() -> None:
    dsn = b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
    mdn = dsn.replace(b"delivery-status", b"disposition-notification")
    assert is_dsn(dsn) and not is_dsn(mdn) and not is_dsn(b"Subject: x\r\n\r\n")


def test_null_sender_that_is_no_dsn_goes_as_a_message() -> None:
    """An MDN from <> is an ordinary message for X.400 (RFC 2156 5.3.5 is
    the other way), one APDU for all targets."""
    content = b"From: a@example.test\r\nSubject: read\r\n\r\nread\r\n"
    queued = job(RCPT_B, content=content, sender=None)
    [item] = outgoing(queued, list(queued.targets), GW_A)
    assert item.kind == "message" and item.error is None and item.apdu is not None
    assert isinstance(decode_apdu(item.apdu), Message)
    assert item.targets == queued.targets
