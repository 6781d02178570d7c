"""DATA: durable acknowledgement, trace, size, smuggling, pipelining order."""

from __future__ import annotations

from pathlib import Path

import pytest
from smtp_harness import Session
from twisted.internet.defer import Deferred

from gateway import errors

BODY = b"From: a@remote.test\r\nSubject: hi\r\n\r\nhello\r\n..dot\r\n"


def transaction(s: Session) -> None:
    s.ehlo()
    assert s.codes(b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n") == [
        "250 2.1.0",
        "250 2.1.5",
        "354",
    ]


def test_message_queued_with_received_header(tmp_path: Path) -> None:
    s = Session(tmp_path)
    transaction(s)
    assert s.send(BODY + b".\r\n") == ["250 2.0.0 Ok: queued as Q1"]
    ((envelope, content, qid),) = s.bus.submitted
    assert qid == "Q1"
    assert str(envelope.sender) == "a@remote.test"
    assert [str(r.address) for r in envelope.recipients] == ["alice@example.test"]
    assert envelope.origin.client_address == "192.0.2.10"
    assert envelope.origin.helo == "client.example"
    head, _, rest = content.partition(b"From: a@remote.test")
    assert head.startswith(b"Received: from client.example")
    assert b"with ESMTP id Q1" in head
    assert b"for <alice@example.test>" in head
    assert rest.endswith(b"hello\r\n.dot\r\n")  # dot-unstuffed


def test_reply_waits_for_the_bus(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.bus.hold = Deferred()
    transaction(s)
    assert s.send(BODY + b".\r\nNOOP\r\n") == []  # nothing, not even the NOOP, before durable
    s.transport.clear()
    s.bus.hold.callback("Q1")
    assert s.lines() == ["250 2.0.0 Ok: queued as Q1", "250 2.0.0 Ok"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (errors.SPOOL_UNAVAILABLE, "452 4.3.1"),
        (errors.GatewayError(451, "4.3.0", "x"), "451 4.3.0"),
    ],
)
def test_spool_failure_is_temporary(
    tmp_path: Path, error: errors.GatewayError, expected: str
) -> None:
    s = Session(tmp_path)
    s.bus.refuse = error
    transaction(s)
    assert s.codes(BODY + b".\r\n") == [expected]


def test_data_without_recipients(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.ehlo()
    assert s.codes(b"DATA\r\n") == ["503 5.5.1"]
    assert s.codes(b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<x@nowhere.test>\r\nDATA\r\n") == [
        "250 2.1.0",
        "554 5.7.1",
        "554 5.5.1",
    ]


def test_message_too_big(tmp_path: Path) -> None:
    s = Session(tmp_path, max_message_size=100)
    transaction(s)
    assert s.codes(b"x" * 98 + b"\r\n" + b"y" * 50 + b"\r\n.\r\n") == ["552 5.3.4"]
    assert s.bus.submitted == []
    assert s.codes(b"NOOP\r\n") == ["250 2.0.0"]


SMUGGLING = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\r", b"\r\n.\n", b"\r.\r\n", b"\n.\r"]


@pytest.mark.parametrize("fake_end", SMUGGLING)
@pytest.mark.parametrize("bytewise", [False, True])
def test_smuggled_second_message_is_never_split_off(
    tmp_path: Path, fake_end: bytes, bytewise: bool
) -> None:
    s = Session(tmp_path)
    transaction(s)
    attack = (
        b"Subject: one\r\n\r\nfirst"
        + fake_end
        + b"MAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
        + b"Subject: smuggled\r\n\r\nsecond\r\n.\r\n"
    )
    s.transport.clear()
    if bytewise:
        for i in range(len(attack)):
            s.protocol.dataReceived(attack[i : i + 1])
    else:
        s.protocol.dataReceived(attack)
    replies = s.lines()
    assert replies == ["550 5.5.2 Error: bare <LF> or <CR> received"], replies
    assert s.bus.submitted == []


def test_nul_in_data_is_refused(tmp_path: Path) -> None:
    s = Session(tmp_path)
    transaction(s)
    (reply,) = s.codes(b"Subject: x\r\n\r\na\x00b\r\n.\r\n")
    assert reply.startswith("5")
    assert s.bus.submitted == []


def test_pipelined_transaction_replies_in_order(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.ehlo()
    replies = s.codes(
        b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
        b"RCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
        + BODY
        + b".\r\n"
        b"MAIL FROM:<b@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
        + BODY
        + b".\r\nQUIT\r\n"
    )
    assert replies == [
        "250 2.1.0",
        "250 2.1.5",
        "550 5.1.1",
        "250 2.1.5",
        "354",
        "250 2.0.0",
        "250 2.1.0",
        "250 2.1.5",
        "354",
        "250 2.0.0",
        "221 2.0.0",
    ]
    assert [len(e.recipients) for e, _, _ in s.bus.submitted] == [2, 1]


def test_data_timeout_is_longer(tmp_path: Path) -> None:
    s = Session(tmp_path, command_timeout=300.0, data_timeout=600.0)
    transaction(s)
    s.clock.advance(500)
    assert not s.closed
    s.clock.advance(101)
    assert s.closed


def test_received_names_the_user_only_when_configured(tmp_path: Path) -> None:
    from smtp_harness import auth_plain

    for shown in (False, True):
        s = Session(tmp_path, kind="submissions", received_auth=shown)
        s.ehlo()
        s.send(b"AUTH PLAIN " + auth_plain("alice@example.test", "wonderland") + b"\r\n")
        s.send(b"MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        s.send(BODY + b".\r\n")
        content = s.bus.submitted[-1][1]
        head = content.split(b"From: a@remote.test")[0]
        assert b"with ESMTPSA id" in head
        assert (b"alice@example.test" in head) is shown
