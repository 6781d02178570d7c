"""MAIL and RCPT: parameters, relay policy, recipients, sender ownership."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from smtp_harness import Session, auth_plain


def ready(tmp: Path, **kw: object) -> Session:
    s = Session(tmp, **kw)  # type: ignore[arg-type]
    s.ehlo()
    return s


def test_mail_needs_helo_and_no_nesting(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.codes(b"MAIL FROM:<a@remote.test>\r\n") == ["503 5.5.1"]
    s.ehlo()
    assert s.codes(b"MAIL FROM:<a@remote.test>\r\n") == ["250 2.1.0"]
    assert s.codes(b"MAIL FROM:<a@remote.test>\r\n") == ["503 5.5.1"]


def test_rcpt_needs_mail(tmp_path: Path) -> None:
    s = ready(tmp_path)
    assert s.codes(b"RCPT TO:<alice@example.test>\r\n") == ["503 5.5.1"]


def test_each_recipient_answered_on_its_own(tmp_path: Path) -> None:
    s = ready(tmp_path)
    assert s.codes(
        b"MAIL FROM:<a@remote.test>\r\n"
        b"RCPT TO:<alice@example.test>\r\n"
        b"RCPT TO:<nobody@example.test>\r\n"
        b"RCPT TO:<someone@elsewhere.test>\r\n"
        b"RCPT TO:<sales@example.test>\r\n"
        b"RCPT TO:<loop1@example.test>\r\n"
        b"RCPT TO:<Postmaster>\r\n"
    ) == [
        "250 2.1.0",
        "250 2.1.5",
        "550 5.1.1",
        "554 5.7.1",
        "250 2.1.5",
        "554 5.4.6",
        "250 2.1.5",
    ]


def test_relay_probes_are_refused(tmp_path: Path) -> None:
    s = ready(tmp_path, max_errors=100)
    s.send(b"MAIL FROM:<spammer@remote.test>\r\n")
    probes = [
        b"<victim@elsewhere.test>",
        b"<@example.test:victim@elsewhere.test>",  # source route to a remote mailbox
        b"<victim%elsewhere.test@example.test>",  # the % hack
        b'<"victim@elsewhere.test"@example.test>',  # quoted local part
        b"<victim!elsewhere.test@example.test>",  # bang path
        b"<victim@elsewhere.test@example.test>",
        b"<victim>",  # unqualified
        b"<victim@[192.0.2.1]>",
    ]
    for probe in probes:
        (answer,) = s.codes(b"RCPT TO:" + probe + b"\r\n")
        assert answer[0] == "5", (probe, answer)
    assert s.codes(b"DATA\r\n") == ["554 5.5.1"]


def test_trusted_network_may_relay(tmp_path: Path) -> None:
    s = ready(tmp_path, trusted_networks=(ipaddress.ip_network("192.0.2.0/24"),))
    assert s.codes(b"MAIL FROM:<a@example.test>\r\nRCPT TO:<x@elsewhere.test>\r\n") == [
        "250 2.1.0",
        "250 2.1.5",
    ]


def test_recipient_limit(tmp_path: Path) -> None:
    s = ready(tmp_path, max_recipients=2)
    replies = s.codes(b"MAIL FROM:<a@remote.test>\r\n" + b"RCPT TO:<alice@example.test>\r\n" * 3)
    assert replies == ["250 2.1.0", "250 2.1.5", "250 2.1.5", "452 4.5.3"]


def test_declared_size_over_limit(tmp_path: Path) -> None:
    s = ready(tmp_path)
    assert s.codes(b"MAIL FROM:<a@remote.test> SIZE=10001\r\n") == ["552 5.3.4"]
    assert s.codes(b"MAIL FROM:<a@remote.test> SIZE=10000\r\n") == ["250 2.1.0"]


def test_parameters_need_ehlo(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.send(b"HELO client.example\r\n")
    assert s.codes(b"MAIL FROM:<a@remote.test> BODY=8BITMIME\r\n") == ["555 5.5.4"]


def test_unknown_parameter(tmp_path: Path) -> None:
    s = ready(tmp_path)
    assert s.codes(b"MAIL FROM:<a@remote.test> FROB=1\r\n") == ["555 5.5.4"]


def test_dsn_parameters_reach_the_envelope(tmp_path: Path) -> None:
    s = ready(tmp_path)
    s.send(
        b"MAIL FROM:<a@remote.test> RET=HDRS ENVID=QQ+2Bx\r\n"
        b"RCPT TO:<alice@example.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;Alice+40example.test\r\n"
        b"RCPT TO:<bob@example.test> NOTIFY=NEVER\r\n"
        b"DATA\r\n"
    )
    s.send(b"Subject: x\r\n\r\nhi\r\n.\r\n")
    ((envelope, _content, _qid),) = s.bus.submitted
    assert envelope.ret == "HDRS" and envelope.envid == "QQ+x"
    alice, bob = envelope.recipients
    assert alice.notify == frozenset({"SUCCESS", "DELAY"})
    assert alice.orcpt == ("rfc822", "Alice@example.test")
    assert bob.notify == frozenset()


def test_non_ascii_address_needs_smtputf8(tmp_path: Path) -> None:
    s = ready(tmp_path)
    assert s.codes("MAIL FROM:<josé@remote.test>\r\n".encode())[0].startswith("553 5.6.7")
    assert s.codes("MAIL FROM:<josé@remote.test> SMTPUTF8\r\n".encode()) == ["250 2.1.0"]


def test_submission_requires_tls_then_auth(tmp_path: Path) -> None:
    s = ready(tmp_path, kind="submission")
    assert s.codes(b"MAIL FROM:<alice@example.test>\r\n") == ["530 5.7.0"]


def test_authenticated_user_may_use_only_own_addresses(tmp_path: Path) -> None:
    from gateway.smtp.server import SMTPServerProtocol

    s = Session(
        tmp_path, kind="submissions", sender_grants={"alice@example.test": ("@shop.test",)}
    )
    assert isinstance(s.protocol, SMTPServerProtocol)
    s.ehlo()
    assert s.codes(b"AUTH PLAIN " + auth_plain("alice@example.test", "wonderland") + b"\r\n") == [
        "235 2.7.0"
    ]
    for sender, expected in [
        (b"<alice@example.test>", "250 2.1.0"),
        (b"<ALICE@example.test>", "250 2.1.0"),
        (b"<sales@example.test>", "250 2.1.0"),  # an alias of hers
        (b"<anything@shop.test>", "250 2.1.0"),  # granted in config
        (b"<>", "250 2.1.0"),
        (b"<bob@example.test>", "553 5.7.1"),
        (b"<ceo@remote.test>", "553 5.7.1"),
    ]:
        assert s.codes(b"MAIL FROM:" + sender + b"\r\n") == [expected], sender
        s.send(b"RSET\r\n")
    # and, authenticated, she may relay
    s.send(b"MAIL FROM:<alice@example.test>\r\n")
    assert s.codes(b"RCPT TO:<friend@remote.test>\r\n") == ["250 2.1.5"]
