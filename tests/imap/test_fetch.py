"""FETCH and UID FETCH (RFC 3501 6.4.5, 7.4.2; RFC 7162 CHANGEDSINCE)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.imap import message
from tests.imap.imap_harness import ALICE, MESSAGES, Client, Server


def selected(tmp_path: Path, **overrides: Any) -> tuple[Server, Client]:
    server = Server(tmp_path, **overrides)
    c = server.connect()
    c.login()
    c.select()
    return server, c


def test_simple_items(tmp_path: Path) -> None:
    _, c = selected(tmp_path)
    lines = c.ok("FETCH 1,3 (UID RFC822.SIZE INTERNALDATE FLAGS)")
    date = 'INTERNALDATE "0{}-Jan-2024 10:00:00 +0000"'
    assert lines == [
        f"* 1 FETCH (UID 1 RFC822.SIZE {len(MESSAGES[0])} {date.format(1)} FLAGS (\\Recent))",
        f"* 3 FETCH (UID 3 RFC822.SIZE {len(MESSAGES[2])} {date.format(3)} FLAGS (\\Recent))",
    ]


def test_uid_fetch_always_returns_uid(tmp_path: Path) -> None:
    _, c = selected(tmp_path)
    assert c.ok("UID FETCH 2 FLAGS") == ["* 2 FETCH (UID 2 FLAGS (\\Recent))"]
    assert c.ok("UID FETCH 3:2 (FLAGS UID)") == [
        "* 2 FETCH (FLAGS (\\Recent) UID 2)",
        "* 3 FETCH (FLAGS (\\Recent) UID 3)",
    ]


def test_body_peek_does_not_set_seen_body_does(tmp_path: Path) -> None:
    server, c = selected(tmp_path)
    raw = c.raw(b"a FETCH 2 BODY.PEEK[]\r\n")
    assert (
        raw
        == b"* 2 FETCH (BODY[] {%d}\r\n" % len(MESSAGES[1])
        + MESSAGES[1]
        + b")\r\na OK Fetch completed.\r\n"
    )
    inbox = server.store.folders(ALICE)["INBOX"]
    assert inbox.messages[1].flags == frozenset()
    raw = c.raw(b"b FETCH 2 BODY[]<6.4>\r\n")
    assert (
        raw == b"* 2 FETCH (BODY[]<6> {4}\r\ndave FLAGS (\\Seen \\Recent))\r\n"
        b"b OK Fetch completed.\r\n"
    )
    assert inbox.messages[1].flags == {"\\Seen"}
    # already seen: no FLAGS added
    assert c.raw(b"c FETCH 2 RFC822.SIZE\r\n").count(b"FLAGS") == 0
    lines = c.ok("FETCH 2 (FLAGS BODY[TEXT])")
    assert lines[0].count("FLAGS") == 1


def test_partial_beyond_end_is_empty(tmp_path: Path) -> None:
    _, c = selected(tmp_path)
    raw = c.raw(b"a FETCH 1 BODY.PEEK[]<10000.5>\r\n")
    assert raw.startswith(b"* 1 FETCH (BODY[]<10000> {0}\r\n)")


def test_sections_go_through_the_message_module(tmp_path: Path) -> None:
    _, c = selected(tmp_path)
    raw = c.raw(b"a FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)] RFC822.HEADER)\r\n")
    fields = message.section(MESSAGES[0], (), "HEADER.FIELDS", ("SUBJECT",))
    header = message.section(MESSAGES[0], (), "HEADER")
    assert raw.startswith(
        b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {%d}\r\n" % len(fields)
        + fields
        + b" RFC822.HEADER {%d}\r\n" % len(header)
        + header
        + b")\r\n"
    )


def test_envelope_and_bodystructure_are_cached_per_uid(tmp_path: Path) -> None:
    server, c = selected(tmp_path)
    lines = c.ok("FETCH 1:* (UID ENVELOPE BODYSTRUCTURE)")
    assert lines[0] == (
        "* 1 FETCH (UID 1 ENVELOPE "
        + message.envelope(MESSAGES[0]).decode()
        + " BODYSTRUCTURE "
        + message.bodystructure(MESSAGES[0]).decode()
        + ")"
    )
    assert server.store.reads == [1, 2, 3]
    inbox = server.store.folders(ALICE)["INBOX"]
    assert inbox.cache[(1, "envelope")] == message.envelope(MESSAGES[0]).decode("latin-1")
    # a second session (and a second FETCH) renders from the cache
    other = server.connect()
    other.login()
    other.select()
    assert other.ok("FETCH 1:* (UID ENVELOPE BODYSTRUCTURE)") == lines
    assert server.store.reads == [1, 2, 3]
    other.ok("FETCH 1 BODY")
    assert server.store.reads == [1, 2, 3, 1]


def test_fetch_of_many_messages_is_one_write_when_cached(tmp_path: Path) -> None:
    server = Server(
        tmp_path,
        messages=[b"Subject: m%d\r\n\r\nbody\r\n" % i for i in range(300)],
        fetch_batch=50,
    )
    c = server.connect()
    c.login()
    c.select()
    c.ok("FETCH 1:* (ENVELOPE)")
    writes: list[bytes] = []
    c.transport.write = writes.append  # type: ignore[method-assign]
    c.protocol.dataReceived(b"a FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)\r\n")
    assert len(writes) == 1
    assert writes[0].count(b" FETCH (") == 300 and writes[0].endswith(b"a OK Fetch completed.\r\n")


def test_changedsince(tmp_path: Path) -> None:
    server, c = selected(tmp_path)
    inbox = server.store.folders(ALICE)["INBOX"]
    modseq = inbox.highest_modseq
    c.ok("STORE 2 +FLAGS.SILENT (\\Answered)")
    lines = c.ok(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq})")
    # RFC 7162 3.1: the first CONDSTORE-enabling command announces HIGHESTMODSEQ
    assert lines == [
        f"* OK [HIGHESTMODSEQ {modseq + 1}] Highest",
        f"* 2 FETCH (FLAGS (\\Answered \\Recent) MODSEQ ({modseq + 1}))",
    ]
    assert c.protocol.condstore


def test_macros(tmp_path: Path) -> None:
    _, c = selected(tmp_path)
    line = c.ok("FETCH 1 FAST")[0]
    assert line.startswith("* 1 FETCH (FLAGS (\\Recent) INTERNALDATE ") and "RFC822.SIZE" in line
    full = c.ok("FETCH 1 FULL")[0]
    assert " ENVELOPE (" in full and " BODY (" in full
