"""Shared inputs for the DSN tests."""

from __future__ import annotations

import email
import email.message
from email import policy
from pathlib import Path

from gateway.dsn import Action, Kind, RecipientReport, build_report
from gateway.envelope import Address, Envelope, Recipient

FIXTURES = Path(__file__).parent / "fixtures"

ARRIVED = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 +0000
ATTEMPT = 1_700_000_100.0  # 22:15:00
NOW = 1_700_000_200.0  # 22:16:40
RETRY_UNTIL = 1_700_432_000.0  # Sun, 19 Nov 2023 22:13:20 +0000

ORIGINAL = (
    b"Received: from client.example.org (client.example.org [192.0.2.10])\r\n"
    b"\tby gw.example.org (mailgateway) with ESMTPSA id 018BCF3A1B2C30000\r\n"
    b"\tfor <bob@remote.test>; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    b"From: Alice <alice@example.org>\r\n"
    b"To: bob@remote.test\r\n"
    b"Subject: hello\r\n"
    b"Message-ID: <orig-1@example.org>\r\n"
    b"\r\n"
    b"The body line.\r\n"
)


def envelope(
    *,
    ret: str | None = None,
    envid: str | None = None,
    orcpt: tuple[str, str] | None = None,
    sender: str = "alice@example.org",
) -> Envelope:
    return Envelope(
        Address.parse(sender),
        (Recipient(Address.parse("bob@remote.test"), orcpt=orcpt),),
        envid=envid,
        ret=ret,
    )


def failed(orcpt: tuple[str, str] | None = None, rcpt: str = "bob@remote.test") -> RecipientReport:
    return RecipientReport(
        final_recipient=Address.parse(rcpt),
        action=Action.FAILED,
        status="5.1.1",
        original_recipient=orcpt,
        remote_mta="mx.remote.test",
        diagnostic="550 5.1.1 <bob@remote.test>: Recipient address rejected: User unknown",
        last_attempt=ATTEMPT,
    )


def delayed() -> RecipientReport:
    return RecipientReport(
        final_recipient=Address.parse("bob@remote.test"),
        action=Action.DELAYED,
        status="4.4.1",
        remote_mta="mx.remote.test",
        diagnostic="421 4.4.1 Connection timed out",
        last_attempt=ATTEMPT,
        will_retry_until=RETRY_UNTIL,
    )


def delivered(action: Action = Action.DELIVERED) -> RecipientReport:
    return RecipientReport(
        final_recipient=Address.parse("bob@remote.test"),
        action=action,
        status="2.0.0",
        remote_mta="mx.remote.test",
        diagnostic="250 2.0.0 Ok: queued as 4SVb2X0Yz1z9sT",
        last_attempt=ATTEMPT,
    )


def report(
    kind: Kind,
    recipients: list[RecipientReport],
    *,
    env: Envelope | None = None,
    content: bytes = ORIGINAL,
    **kwargs: object,
) -> bytes:
    return build_report(
        reporting_mta="gw.example.org",
        envelope=env or envelope(),
        arrival_date=ARRIVED,
        content=content,
        recipients=recipients,
        kind=kind,
        now=NOW,
        **kwargs,  # type: ignore[arg-type]
    )


def parsed(data: bytes) -> email.message.EmailMessage:
    msg = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def status_blocks(msg: email.message.EmailMessage) -> list[email.message.Message]:
    """The field groups of the message/delivery-status part, as the email
    package reads them (one Message per group)."""
    part = msg.get_payload()[1]
    assert part.get_content_type() == "message/delivery-status"
    blocks = part.get_payload()
    assert isinstance(blocks, list)
    return blocks
