"""The X.400 file channel in the running daemon: a legacy system that
exchanges MTS-APDU files ([x400.peers.<name>] file_in / file_out)."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.x400.model import (
    IPM,
    GlobalDomainId,
    Heading,
    IPMIdentifier,
    Message,
    MessageEnvelope,
    MTSIdentifier,
    ORDescriptor,
    ORName,
    RecipientSpecifier,
    TextPart,
    TraceElement,
    TransferRecipient,
)
from gateway.x400.orname import parse_std_or
from gateway.x400.p1codec import decode_apdu, encode_apdu
from gateway.x400.p22codec import decode_content, encode_content
from gateway.x400.timefmt import format_x400_time
from tests.integration.peers import SMTPDaemon

ALICE = "alice@example.test"
BOB = "bob@example.test"
LEGACY = GlobalDomainId("GB", " ", "Legacy")


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def start(tmp_path: Path, stack: ExitStack) -> tuple[SMTPDaemon, Path, Path]:
    inbox, outbox = tmp_path / "from-legacy", tmp_path / "to-legacy"
    (tmp_path / "gw").mkdir()
    gateway = SMTPDaemon(
        tmp_path / "gw",
        trusted_networks=("127.0.0.0/8",),
        extra_config=(
            "[x400]\n"
            'domain = "x400.example.test"\n'
            'or_address = "/O=mailgateway/PRMD=example/ADMD= /C=GB/"\n'
            'mta_name = "gw.example.test"\n'
            "[x400.peers.legacy]\n"
            'mta_name = "legacy.example.test"\n'
            f'file_in = "{inbox}"\n'
            f'file_out = "{outbox}"\n'
            'file_interval = "0.2s"\n'
            'or_space = ["/PRMD=Legacy/ADMD= /C=GB/"]\n'
        ),
    )
    gateway.add_user(ALICE, "pw")
    gateway.add_user(BOB, "pw")
    gateway.start()
    stack.callback(gateway.close)
    stack.callback(gateway.stop)
    return gateway, inbox, outbox


def test_mail_for_the_legacy_space_is_written_as_an_apdu_file(
    tmp_path: Path, stack: ExitStack
) -> None:
    gateway, _, outbox = start(tmp_path, stack)
    jones = '"/S=Jones/PRMD=Legacy/ADMD= /C=GB/"@x400.example.test'
    with smtplib.SMTP("127.0.0.1", gateway.smtp_port) as smtp:
        smtp.sendmail(
            ALICE,
            [jones],
            b"From: alice@example.test\r\nTo: " + jones.encode() + b"\r\n"
            b"Subject: to the legacy system\r\nMessage-ID: <f1@example.test>\r\n\r\nhello\r\n",
        )
    gateway.wait_for(lambda: list(outbox.glob("*.ber")), what="an APDU file in file_out")
    assert not list((outbox / "tmp").glob("*")), "only complete files are visible"
    (path,) = outbox.glob("*.ber")
    message = decode_apdu(path.read_bytes())
    assert isinstance(message, Message)
    (recipient,) = message.envelope.recipients
    assert (recipient.name.address.surname, recipient.name.address.prmd) == ("Jones", "Legacy")
    ipm = decode_content(message.content)
    assert isinstance(ipm, IPM) and ipm.heading.subject == "to the legacy system"
    # the outcome names the file, for `mailgateway track`
    gateway.wait_for(
        lambda: f"relayed to=<{jones}> status=2.0.0 ({path})" in gateway.log(),
        what="the relayed outcome in the log",
    )


def legacy_apdu() -> bytes:
    """A message from the legacy system to bob (his address carried in the
    RFC-822 attribute under the gateway's O/R address, RFC 2156 4.3.2)."""
    now = format_x400_time(datetime.now(UTC))
    bob = parse_std_or("/RFC-822=bob(a)example.test/O=mailgateway/PRMD=example/ADMD= /C=GB/")
    smith = ORName(parse_std_or("/S=Smith/PRMD=Legacy/ADMD= /C=GB/"))
    ipm = IPM(
        Heading(
            IPMIdentifier(None, "legacy.1"),
            originator=ORDescriptor(smith),
            primary=(RecipientSpecifier(ORDescriptor(ORName(bob))),),
            subject="from the legacy system",
        ),
        (TextPart("hello from X.400\r\n"),),
    )
    envelope = MessageEnvelope(
        identifier=MTSIdentifier(LEGACY, "legacy.1"),
        originator=smith,
        recipients=(TransferRecipient(ORName(bob), 1),),
        trace=(TraceElement(LEGACY, now),),
        original_eits=("ia5-text",),
    )
    return encode_apdu(Message(envelope, encode_content(ipm)))


def drop(inbox: Path, name: str, data: bytes) -> None:
    """As the legacy system does: write under another name, then rename."""
    inbox.mkdir(parents=True, exist_ok=True)
    partial = inbox / f"{name}.tmp"
    partial.write_bytes(data)
    partial.rename(inbox / f"{name}.ber")


def test_files_from_the_legacy_system_are_delivered_then_done(
    tmp_path: Path, stack: ExitStack
) -> None:
    gateway, inbox, _ = start(tmp_path, stack)
    drop(inbox, "m1", legacy_apdu())
    gateway.wait_for(lambda: gateway.messages(BOB), what="the message in bob's Maildir")
    (path,) = gateway.messages(BOB)
    data = path.read_bytes()
    assert b"Subject: from the legacy system" in data
    assert b"hello from X.400" in data
    assert b"X400-MTS-Identifier: [/PRMD=Legacy/ADMD= /C=GB/;legacy.1]" in data
    gateway.wait_for(lambda: (inbox / "done" / "m1.ber").exists(), what="m1 in done/")
    assert not (inbox / "m1.ber").exists()


def test_a_bad_file_goes_to_failed_with_a_reason_and_the_rest_goes_on(
    tmp_path: Path, stack: ExitStack
) -> None:
    gateway, inbox, _ = start(tmp_path, stack)
    drop(inbox, "junk", b"\xa0\x84\xff\xff\xff\xff not BER")
    drop(inbox, "good", legacy_apdu())
    gateway.wait_for(lambda: (inbox / "failed" / "junk.ber.reason").exists(), what="junk refused")
    reason = (inbox / "failed" / "junk.ber.reason").read_text()
    assert "not an MTS-APDU" in reason and "offset" in reason
    gateway.wait_for(lambda: gateway.messages(BOB), what="the good file delivered")
    assert "Traceback" not in gateway.log()
