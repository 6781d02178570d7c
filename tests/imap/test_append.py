"""APPEND (RFC 3501 6.3.11) with APPENDUID (RFC 4315), literals and LITERAL+."""

from __future__ import annotations

from pathlib import Path

from tests.imap.imap_harness import ALICE, Server

MESSAGE = b"From: a@example.test\r\nSubject: appended\r\n\r\nbody\r\n"


def test_append_with_flags_and_date(tmp_path: Path) -> None:
    server = Server(tmp_path)
    c = server.connect()
    c.login()
    sent = server.store.folders(ALICE)["Sent"]
    assert c.send(
        b'a APPEND Sent (\\Seen $Sent) "05-Feb-2024 10:20:30 +0100" {%d}\r\n' % len(MESSAGE)
    ) == ["+ Ready for literal data"]
    assert c.send(MESSAGE + b"\r\n") == [
        f"a OK [APPENDUID {sent.uidvalidity} 1] Append completed."
    ]
    m = sent.messages[0]
    assert m.data == MESSAGE and m.flags == {"\\Seen", "$Sent"}
    assert m.internal_date == 1707124830.0


def test_append_without_flags_or_date_non_synchronising(tmp_path: Path) -> None:
    server = Server(tmp_path)
    c = server.connect()
    c.login()
    lines = c.send(b"a APPEND Sent {%d+}\r\n" % len(MESSAGE) + MESSAGE + b"\r\n")
    assert len(lines) == 1 and lines[0].startswith("a OK [APPENDUID ")
    assert server.store.folders(ALICE)["Sent"].messages[0].internal_date == server.store.now


def test_append_to_selected_mailbox_reports_exists(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    c.login()
    c.select()
    reply = c.command(b"APPEND INBOX {%d+}\r\n" % len(MESSAGE) + MESSAGE)
    assert reply.untagged == ["* 4 EXISTS", "* 4 RECENT"]
    assert c.ok("UID FETCH 4 RFC822.SIZE") == [f"* 4 FETCH (UID 4 RFC822.SIZE {len(MESSAGE)})"]


def test_append_errors(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    c.login()
    assert c.no(b"APPEND Nosuch {1+}\r\nx").tagged.startswith("NO [TRYCREATE]")
    assert c.no(b"APPEND Sent {0+}\r\n").tagged == "NO Cannot append an empty message"
    assert c.bad(b"APPEND Sent (\\Recent) {1+}\r\nx").status == "BAD"
    assert c.bad(b'APPEND Sent "yesterday" {1+}\r\nx').status == "BAD"
    assert c.no(b"APPEND &Jjo {1+}\r\nx").tagged.startswith("NO [CANNOT]")
