"""Suspect mail against the running daemon: filed in Junk, or tagged in INBOX.

Sender authentication (which sets ``Envelope.junk``) is not what is tested
here: the message is handed to the daemon over its control socket with the
envelope already carrying the reason, as ``mailgateway sendmail`` submits,
so it takes the daemon's real path from there (spool, bus, local delivery,
store, IMAP, POP3, ``mailgateway track``).
"""

from __future__ import annotations

import imaplib
import poplib
import re
import ssl
from collections.abc import Iterator

import pytest

from gateway.envelope import Address, Envelope, Recipient
from tests.integration.peers import SMTPDaemon

ALICE = "alice@example.test"  # IMAP user: Junk folder (the default)
CAROL = "carol@example.test"  # POP3 user: INBOX, Subject tagged
PASSWORD = "junk-secret"
UNVERIFIED = ssl._create_unverified_context()  # the daemon's self-signed certificate
REASON = "DMARC fail (p=quarantine) for bad.test"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SMTPDaemon]:
    gateway = SMTPDaemon(
        tmp_path_factory.mktemp("junk"),
        imap=True,
        pop3=True,
        extra_config='[delivery]\njunk_subject_tag = "[SPAM]"\n',
    )
    gateway.add_user(ALICE, PASSWORD)
    gateway.add_user(CAROL, PASSWORD)
    gateway.cli("user", "set", CAROL, "--junk", "inbox", check=True)
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()
        gateway.close()


def submit(daemon: SMTPDaemon, to: str, message: bytes, junk: str | None = REASON) -> str:
    envelope = Envelope(
        Address.parse("spammer@bad.test"), (Recipient(Address.parse(to)),), junk=junk
    )
    qid = daemon.request({"op": "submit", "envelope": envelope.to_json()}, message)
    assert isinstance(qid, str)
    return qid


def imap_login(daemon: SMTPDaemon) -> imaplib.IMAP4_SSL:
    assert daemon.imaps_port is not None
    client = imaplib.IMAP4_SSL("127.0.0.1", daemon.imaps_port, ssl_context=UNVERIFIED)
    client.login(ALICE, PASSWORD)
    return client


def junk_files(daemon: SMTPDaemon, user: str) -> list[str]:
    root = daemon.maildir(user) / ".Junk"
    return sorted(
        p.name for sub in ("new", "cur") if (root / sub).is_dir() for p in (root / sub).iterdir()
    )


def test_junk_lands_in_the_junk_folder_seen_by_an_imap_session(daemon: SMTPDaemon) -> None:
    client = imap_login(daemon)
    try:
        typ, listing = client.list('""', "*")
        assert typ == "OK"
        junk_line = next(
            line for line in listing if isinstance(line, bytes) and line.endswith(b'"Junk"')
        )
        assert b"\\Junk" in junk_line
        typ, data = client.select("Junk")
        assert (typ, data) == ("OK", [b"0"])

        qid = submit(daemon, ALICE, b"From: spammer@bad.test\r\nSubject: pills\r\n\r\ncheap\r\n")
        daemon.wait_for(lambda: len(junk_files(daemon, ALICE)) == 1, what="delivery to Junk")
        assert daemon.messages(ALICE) == []  # nothing in INBOX

        # the selected session hears of it (NOOP reports EXISTS)
        daemon.wait_for(
            lambda: client.noop()[0] == "OK" and b"1" in (client.response("EXISTS")[1] or []),
            what="EXISTS in the selected Junk folder",
        )
        typ, fetched = client.fetch("1", "(BODY.PEEK[HEADER])")
        assert typ == "OK" and isinstance(fetched[0], tuple)
        header = fetched[0][1]
        assert header.startswith(
            b"Return-Path: <spammer@bad.test>\r\nDelivered-To: alice@example.test\r\n"
            b"X-Mailgateway-Junk: DMARC fail (p=quarantine) for bad.test\r\n"
        )
        assert b"Subject: pills\r\n" in header  # not tagged in the folder
    finally:
        client.logout()

    tracked = daemon.cli("track", qid, check=True).stdout.decode()
    assert "Delivered to mailbox (Junk)" in tracked, tracked
    assert "/.Junk/new/" in tracked, tracked


def test_a_deleted_junk_folder_comes_back(daemon: SMTPDaemon) -> None:
    client = imap_login(daemon)
    try:
        assert client.delete("Junk")[0] == "OK"
        before = len(daemon.messages(ALICE))
        submit(daemon, ALICE, b"Subject: again\r\n\r\nx\r\n")
        daemon.wait_for(lambda: len(junk_files(daemon, ALICE)) == 1, what="delivery to Junk")
        assert len(daemon.messages(ALICE)) == before
        typ, listing = client.list('""', "Junk")
        assert typ == "OK" and isinstance(listing[0], bytes), listing
        assert b"\\Junk" in listing[0], listing
        typ, subscribed = client.lsub('""', "Junk")
        assert typ == "OK" and isinstance(subscribed[0], bytes), subscribed
        assert b'"Junk"' in subscribed[0], subscribed
        typ, status = client.status("Junk", "(MESSAGES)")
        assert typ == "OK" and isinstance(status[0], bytes), status
        assert b"MESSAGES 1" in status[0], status
    finally:
        client.logout()


def test_pop3_user_gets_junk_in_inbox_with_a_tagged_subject(daemon: SMTPDaemon) -> None:
    qid = submit(
        daemon,
        CAROL,
        b"From: spammer@bad.test\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\r\nhi\r\n",
    )
    daemon.wait_for(
        lambda: len(daemon.messages(CAROL)) + len(junk_files(daemon, CAROL)) == 1,
        what="delivery",
    )
    assert junk_files(daemon, CAROL) == []
    client = poplib.POP3_SSL("127.0.0.1", daemon.pop3s_port or 0, context=UNVERIFIED)
    try:
        client.user(CAROL)
        client.pass_(PASSWORD)
        _response, lines, _octets = client.retr(1)
    finally:
        client.quit()
    assert b"Subject: [SPAM] =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=" in lines
    assert b"X-Mailgateway-Junk: " + REASON.encode() in lines
    tracked = daemon.cli("track", qid, check=True).stdout.decode()
    assert re.search(r"Delivered to mailbox \(INBOX, Subject tagged", tracked), tracked


def test_clean_mail_is_untouched(daemon: SMTPDaemon) -> None:
    before = len(daemon.messages(CAROL))
    submit(daemon, CAROL, b"Subject: hello\r\n\r\nfine\r\n", junk=None)
    daemon.wait_for(lambda: len(daemon.messages(CAROL)) == before + 1, what="delivery")
    newest = max(daemon.messages(CAROL), key=lambda p: p.stat().st_mtime_ns)
    data = newest.read_bytes()
    assert b"Subject: hello\n" in data and b"X-Mailgateway-Junk" not in data
