"""The SMTP server end to end, with real peers, against the running daemon.

- swaks (Debian 20201014): STARTTLS on the MX port, AUTH PLAIN and LOGIN on
  submission after STARTTLS, implicit TLS with AUTH on submissions,
  PIPELINING, an 8-bit body; AUTH refused before TLS, MAIL refused without
  AUTH on submission.
- smtplib where this swaks cannot (it has no BDAT and sends no MAIL
  parameters): CHUNKING/BDAT, BODY=8BITMIME, SMTPUTF8 with a non-ASCII local
  part.
- A private Postfix with the gateway as its relayhost, TLS required.
- nmap's ``smtp-open-relay`` script: no open relay.

Every delivered message is compared byte for byte with what was sent, after
the trace fields added on the way (Return-Path, Delivered-To, Received).
Needs Debian's swaks, postfix and nmap (``.ci/run`` installs them).
"""

from __future__ import annotations

import itertools
import os
import re
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.peers import (
    LOOPBACK,
    NO_RELAY_ALL_FAILED,
    NO_RELAY_AUTH_NEEDED,
    PostfixInstance,
    SMTPDaemon,
    assert_intact,
    open_relay_probe,
    split_trace,
    swaks,
    trace_named,
    wait_for_message,
)

pytestmark = pytest.mark.integration

ALICE = "alice@example.test"
BOB = "bob@example.test"
JOSE = "josé@example.test"
PASSWORD = "secret"
HOSTNAME = "mail.example.test"  # tests/integration/daemon.py

_ids = itertools.count(1)


def message(
    kind: str,
    *,
    sender: str = "sender@client.test",
    to: str = ALICE,
    subject: str | None = None,
    headers: tuple[str, ...] = (),
    body: tuple[str, ...] = (),
) -> tuple[str, bytes]:
    """A unique Message-ID and a CRLF message (UTF-8 where not ASCII)."""
    mid = f"<{kind}-{next(_ids)}-{os.getpid()}@client.test>"
    lines = [
        f"From: <{sender}>",
        f"To: <{to}>",
        f"Subject: {subject or kind + ' test'}",
        f"Message-ID: {mid}",
        "Date: Thu, 01 Jan 2026 00:00:00 +0000",
        *headers,
        "",
        *(body or (f"body of {kind}", ".a line that starts with a dot", "", "last line")),
    ]
    return mid, ("\r\n".join(lines) + "\r\n").encode()


EIGHT_BIT = (
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
)
EIGHT_BIT_BODY = ("Grüße aus Köln, ça va ?", "日本語のテキスト", ".dot", "", "end — fin")


def delivered(gateway: SMTPDaemon, user: str, mid: str) -> tuple[list[bytes], bytes]:
    """The trace fields and the rest of the message ``mid`` in ``user``'s Maildir."""
    data = wait_for_message(gateway.maildir(user), mid.encode(), timeout=60)
    return split_trace(data)


def check_trace(
    fields: list[bytes], sender: str, recipient: str, protocol: str | None = None
) -> str:
    """Our delivery fields are right; returns our (top) Received field."""
    assert fields, "no trace fields"
    assert trace_named(fields, "Return-Path") == [f"Return-Path: <{sender}>"]
    assert trace_named(fields, "Delivered-To") == [f"Delivered-To: {recipient}"]
    received = trace_named(fields, "Received")
    assert received, fields
    ours = received[0]
    assert f"by {HOSTNAME}" in ours, ours
    if protocol is not None:
        # RFC 3848 keyword; \b keeps ESMTPS from matching ESMTPSA.
        assert re.search(rf"\bwith {protocol}\b", ours), ours
    return ours


def run_swaks(
    port: int,
    tmp_path: Path,
    content: bytes,
    *args: str,
    sender: str = "sender@client.test",
    to: tuple[str, ...] = (ALICE,),
) -> str:
    """swaks sends ``content`` (it turns LF into CRLF, dot-stuffs and adds the
    final CRLF.CRLF itself); returns the transcript, asserting success."""
    data = tmp_path / "swaks-data.eml"
    text = content.replace(b"\r\n", b"\n")
    data.write_bytes(text[:-1])  # swaks ends the last line itself
    result = swaks(
        port, "--ehlo", "client.test", "--from", sender, "--to", ",".join(to),
        "--data", f"@{data}", *args,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def ehlo_keywords(transcript: str, tls: bool) -> set[str]:
    """Extension keywords of the last EHLO reply in a swaks transcript, the
    one before TLS or the one inside it (swaks writes `` -> ``/``<-  `` for
    plaintext lines, `` ~> ``/``<~  `` inside TLS, ``<-* ``/``<~* `` for an
    error reply)."""
    sent, received = (" ~>", "<~") if tls else (" ->", "<-")
    keywords: set[str] = set()
    first = False
    for line in transcript.splitlines():
        if line.startswith(f"{sent} EHLO "):
            keywords, first = set(), True
            continue
        match = re.match(rf"^{received}\s+250[- ](\S+)", line)
        if match is None:
            continue
        if first:  # the greeting line: "250-hostname ..."
            first = False
        else:
            keywords.add(match.group(1).upper())
    return keywords


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SMTPDaemon]:
    # nmap's smtp-open-relay makes 16 attempts in one session, each refused:
    # allow as many errors per session as Postfix does (smtpd_hard_error_limit).
    daemon = SMTPDaemon(tmp_path_factory.mktemp("gateway"), smtp_config="max_errors = 20\n")
    for user in (ALICE, BOB, JOSE):
        daemon.add_user(user, PASSWORD)
    daemon.start()
    try:
        yield daemon
    finally:
        if daemon.process is not None and daemon.process.poll() is None:
            daemon.stop()
        daemon.close()


# --------------------------------------------------------------------------
# swaks


def test_swaks_starttls_on_mx(gateway: SMTPDaemon, tmp_path: Path) -> None:
    mid, content = message("starttls")
    transcript = run_swaks(gateway.smtp_port, tmp_path, content, "--tls")
    assert re.search(r"^ -> STARTTLS$", transcript, re.M), transcript
    assert re.search(r"^<-\s+220 ", transcript, re.M), transcript
    assert re.search(r"=== TLS started with cipher TLSv1\.[23]", transcript), transcript
    fields, rest = delivered(gateway, ALICE, mid)
    check_trace(fields, "sender@client.test", ALICE, "ESMTPS")
    assert_intact(rest, content)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_swaks_submission_auth_after_starttls(
    gateway: SMTPDaemon, tmp_path: Path, mechanism: str
) -> None:
    mid, content = message(f"auth-{mechanism.lower()}", sender=ALICE, to=BOB)
    transcript = run_swaks(
        gateway.submission_port, tmp_path, content,
        "--tls", "--auth", mechanism, "--auth-user", ALICE, "--auth-password", PASSWORD,
        sender=ALICE, to=(BOB,),
    )  # fmt: skip
    assert "AUTH" not in ehlo_keywords(transcript, tls=False), transcript
    assert re.search(rf"^ ~> AUTH {mechanism}", transcript, re.M), transcript
    assert re.search(r"^<~\s+235 ", transcript, re.M), transcript
    fields, rest = delivered(gateway, BOB, mid)
    check_trace(fields, ALICE, BOB, "ESMTPSA")
    assert_intact(rest, content)


def test_swaks_submissions_implicit_tls_auth(gateway: SMTPDaemon, tmp_path: Path) -> None:
    mid, content = message("implicit-tls", sender=ALICE, to=BOB)
    transcript = run_swaks(
        gateway.submissions_port, tmp_path, content,
        "--tls-on-connect", "--auth", "PLAIN", "--auth-user", ALICE, "--auth-password", PASSWORD,
        sender=ALICE, to=(BOB,),
    )  # fmt: skip
    assert re.search(r"=== TLS started with cipher TLSv1\.[23]", transcript), transcript
    assert re.search(r"^<~\s+220 ", transcript, re.M), transcript  # banner inside TLS
    assert re.search(r"^<~\s+235 ", transcript, re.M), transcript
    fields, rest = delivered(gateway, BOB, mid)
    check_trace(fields, ALICE, BOB, "ESMTPSA")
    assert_intact(rest, content)


def test_swaks_submission_offers_no_auth_before_tls(gateway: SMTPDaemon, tmp_path: Path) -> None:
    _mid, content = message("auth-plaintext", sender=ALICE, to=BOB)
    data = tmp_path / "data.eml"
    data.write_bytes(content)
    result = swaks(
        gateway.submission_port, "--ehlo", "client.test", "--from", ALICE, "--to", BOB,
        "--auth", "PLAIN", "--auth-user", ALICE, "--auth-password", PASSWORD,
        "--data", f"@{data}",
    )  # fmt: skip
    assert result.returncode != 0, result.stdout
    assert "AUTH" not in ehlo_keywords(result.stdout, tls=False), result.stdout
    assert not re.search(r"^<\S*\s+235 ", result.stdout, re.M), result.stdout


def test_swaks_submission_requires_auth(gateway: SMTPDaemon, tmp_path: Path) -> None:
    mid, content = message("no-auth", sender=ALICE, to=BOB)
    data = tmp_path / "data.eml"
    data.write_bytes(content)
    result = swaks(
        gateway.submission_port, "--ehlo", "client.test", "--from", ALICE, "--to", BOB,
        "--tls", "--data", f"@{data}",
    )  # fmt: skip
    assert result.returncode != 0, result.stdout
    # swaks marks TLS replies "<~", error replies with a "*".
    assert re.search(r"^<~\*?\s+530 5\.7\.0", result.stdout, re.M), result.stdout
    assert not any(mid.encode() in p.read_bytes() for p in gateway.messages(BOB))


def test_swaks_pipelining(gateway: SMTPDaemon, tmp_path: Path) -> None:
    mid, content = message("pipelining", to=BOB)
    transcript = run_swaks(gateway.smtp_port, tmp_path, content, "--pipeline", to=(ALICE, BOB))
    assert "PIPELINING" in ehlo_keywords(transcript, tls=False), transcript
    # The whole group went out before the first reply came back.
    assert re.search(
        r"^ -> MAIL FROM:.*\n -> RCPT TO:<alice@.*\n -> RCPT TO:<bob@.*\n -> DATA\n"
        r"<-\s+250 .*\n<-\s+250 .*\n<-\s+250 .*\n<-\s+354 ",
        transcript,
        re.M,
    ), transcript
    for user in (ALICE, BOB):
        fields, rest = delivered(gateway, user, mid)
        check_trace(fields, "sender@client.test", user, "ESMTP")
        assert_intact(rest, content)


def test_swaks_8bit_body(gateway: SMTPDaemon, tmp_path: Path) -> None:
    """8-bit data as most clients send it. This swaks cannot add
    ``BODY=8BITMIME`` to MAIL; like Postfix, the server takes the data as is
    (test_8bitmime_declared has the parameter)."""
    mid, content = message("8bit-swaks", subject="Grüße", headers=EIGHT_BIT, body=EIGHT_BIT_BODY)
    transcript = run_swaks(gateway.smtp_port, tmp_path, content, "--tls")
    assert "8BITMIME" in ehlo_keywords(transcript, tls=True), transcript
    fields, rest = delivered(gateway, ALICE, mid)
    check_trace(fields, "sender@client.test", ALICE, "ESMTPS")
    assert_intact(rest, content)


# --------------------------------------------------------------------------
# smtplib: BDAT, BODY=8BITMIME, SMTPUTF8


def test_8bitmime_declared(gateway: SMTPDaemon) -> None:
    mid, content = message("8bitmime", headers=EIGHT_BIT, body=EIGHT_BIT_BODY)
    with smtplib.SMTP(
        LOOPBACK, gateway.smtp_port, local_hostname="client.test", timeout=30
    ) as client:
        client.ehlo()
        assert client.has_extn("8bitmime")
        refused = client.sendmail(
            "sender@client.test", [ALICE], content, mail_options=["BODY=8BITMIME"]
        )
    assert refused == {}
    fields, rest = delivered(gateway, ALICE, mid)
    check_trace(fields, "sender@client.test", ALICE, "ESMTP")
    assert_intact(rest, content)


@pytest.mark.parametrize("ending", ["last-with-data", "bdat-0-last"])
def test_bdat_chunks(gateway: SMTPDaemon, ending: str) -> None:
    """RFC 3030: chunks are taken as is (no dot-stuffing, no end-of-data
    line), split anywhere, even inside a CRLF."""
    mid, content = message(
        f"bdat-{ending}",
        body=("first line", "", ".", "a lone dot above ends nothing in BDAT", "..two dots", "end"),
    )
    cut = content.index(b"\r\n.\r\n") + 1  # between CR and LF
    chunks = [content[:40], content[40:cut], content[cut:]]
    if ending == "bdat-0-last":
        chunks.append(b"")
    with smtplib.SMTP(
        LOOPBACK, gateway.smtp_port, local_hostname="client.test", timeout=30
    ) as client:
        client.ehlo()
        assert client.has_extn("chunking")
        assert client.mail("sender@client.test")[0] == 250
        assert client.rcpt(ALICE)[0] == 250
        for i, chunk in enumerate(chunks):
            last = " LAST" if i == len(chunks) - 1 else ""
            client.send(f"BDAT {len(chunk)}{last}\r\n".encode() + chunk)
            code, reply = client.getreply()
            assert code == 250, (i, code, reply)
    fields, rest = delivered(gateway, ALICE, mid)
    check_trace(fields, "sender@client.test", ALICE)
    assert rest == content or rest == content.replace(b"\r\n", b"\n"), rest


def test_smtputf8_non_ascii_addresses(gateway: SMTPDaemon) -> None:
    sender = "rené@client.test"
    mid, content = message(
        "smtputf8",
        sender=sender,
        to=JOSE,
        subject="Grüße an José",
        headers=EIGHT_BIT,
        body=EIGHT_BIT_BODY,
    )
    with smtplib.SMTP(
        LOOPBACK, gateway.smtp_port, local_hostname="client.test", timeout=30
    ) as client:
        client.ehlo()
        assert client.has_extn("smtputf8")
        refused = client.sendmail(
            sender, [JOSE], content, mail_options=["SMTPUTF8", "BODY=8BITMIME"]
        )
    assert refused == {}
    fields, rest = delivered(gateway, JOSE, mid)
    check_trace(fields, sender, JOSE)
    assert_intact(rest, content)


# --------------------------------------------------------------------------
# Postfix as a real peer


def test_postfix_relays_into_gateway_over_starttls(gateway: SMTPDaemon, tmp_path: Path) -> None:
    """Postfix (relayhost = the gateway's MX port, TLS required) delivers
    into alice's Maildir; the gateway says ESMTPS, Postfix's log shows TLS."""
    postfix = PostfixInstance(
        tmp_path / "postfix",
        relayhost=(LOOPBACK, gateway.smtp_port),
        tls_security_level="encrypt",
    )
    mid, content = message("via-postfix", headers=EIGHT_BIT, body=EIGHT_BIT_BODY)
    port = gateway.smtp_port
    with postfix:
        with smtplib.SMTP(
            LOOPBACK, postfix.port, local_hostname="client.test", timeout=30
        ) as client:
            refused = client.sendmail(
                "sender@client.test", [ALICE], content, mail_options=["BODY=8BITMIME"]
            )
        assert refused == {}
        try:
            fields, rest = delivered(gateway, ALICE, mid)
        except AssertionError as error:
            raise AssertionError(f"{error}\npostfix log:\n{postfix.log()[-4000:]}") from None
        postfix.wait_queue_empty()
        tls = postfix.wait_log(
            rf"TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:{port}: (TLSv1\.[23])"
        )
        postfix.wait_log(
            rf"to=<{re.escape(ALICE)}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:{port},.*status=sent"
        )
    assert_intact(rest, content)
    ours = check_trace(fields, "sender@client.test", ALICE, "ESMTPS")
    assert postfix.hostname in ours, ours  # Postfix's EHLO name
    assert re.search(r"TLS ?v?1[._]?[23]", ours), (tls.group(1), ours)
    received = trace_named(fields, "Received")
    assert len(received) == 2, received  # ours, then Postfix's
    assert f"by {postfix.hostname} (Postfix)" in received[1], received[1]


# --------------------------------------------------------------------------
# nmap's smtp-open-relay


@pytest.mark.parametrize(
    ("domain", "to"),
    [
        # As documented: targets are relaytest@example.test (a local domain
        # without that user) and tricks on it: %-hack, quoted local parts,
        # source routes, "!" paths, [127.0.0.1] and the banner host name.
        ("example.test", None),
        # A foreign domain, with a local part that exists here: alice%elsewhere
        # @[127.0.0.1], @[127.0.0.1]:alice@elsewhere.test, ... must all fail.
        ("elsewhere.test", "alice"),
    ],
)
def test_nmap_finds_no_open_relay_on_mx(gateway: SMTPDaemon, domain: str, to: str | None) -> None:
    verdict = open_relay_probe(gateway.smtp_port, domain, ip=LOOPBACK, to=to)
    assert verdict == NO_RELAY_ALL_FAILED, verdict
    assert not any(b"antispam@" in p.read_bytes() for p in gateway.messages(ALICE))


def test_nmap_submission_needs_authentication(gateway: SMTPDaemon) -> None:
    verdict = open_relay_probe(gateway.submission_port, "elsewhere.test", ip=LOOPBACK)
    assert verdict == NO_RELAY_AUTH_NEEDED, verdict
