"""SELECT / EXAMINE / CLOSE / UNSELECT / CHECK / NOOP (RFC 3501 6.3.1-2, 6.4.1-2,
RFC 3691, RFC 7162 3.1.8) and the untagged updates of RFC 3501 7.4.1."""

from __future__ import annotations

from pathlib import Path

from gateway.imap.server import State
from tests.imap.imap_harness import ALICE, Server


def test_select_responses(tmp_path: Path) -> None:
    server = Server(tmp_path)
    c = server.connect()
    c.login()
    inbox = server.store.folders(ALICE)["INBOX"]
    inbox.messages[0].flags = frozenset({"\\Seen", "$Junk"})
    inbox.keywords.add("$Junk")
    reply = c.command("SELECT inbox")
    v = inbox.uidvalidity
    assert reply.untagged == [
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk)",
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk \\*)]"
        " Flags permitted.",
        "* 3 EXISTS",
        "* 3 RECENT",
        "* OK [UNSEEN 2] First unseen.",
        f"* OK [UIDVALIDITY {v}] UIDs valid.",
        "* OK [UIDNEXT 4] Predicted next UID.",
    ]
    assert reply.tagged == "OK [READ-WRITE] Select completed."
    assert c.protocol.state is State.SELECTED
    # \Recent belongs to the first session only (RFC 3501 2.3.2)
    other = server.connect()
    other.login()
    assert "* 0 RECENT" in other.select()


def test_examine_is_read_only(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    c.login()
    reply = c.command("EXAMINE INBOX")
    assert reply.tagged == "OK [READ-ONLY] Examine completed."
    assert "* OK [PERMANENTFLAGS ()] Read-only mailbox." in reply.untagged
    assert c.no("STORE 1 +FLAGS (\\Seen)").tagged.startswith("NO [READ-ONLY]")
    assert c.no("EXPUNGE").tagged.startswith("NO [READ-ONLY]")
    # FETCH BODY[] does not set \Seen in a read-only mailbox
    lines = c.ok("FETCH 1 (BODY[HEADER])")
    assert "FLAGS" not in lines[-1]


def test_select_condstore(tmp_path: Path) -> None:
    server = Server(tmp_path)
    c = server.connect()
    c.login()
    lines = c.ok("SELECT INBOX (CONDSTORE)")
    modseq = server.store.folders(ALICE)["INBOX"].highest_modseq
    assert f"* OK [HIGHESTMODSEQ {modseq}] Highest" in lines
    lines = c.ok("FETCH 1 (FLAGS)")
    other = server.connect()
    other.login()
    other.select()
    other.ok("STORE 1 +FLAGS (\\Flagged)")
    lines = c.ok("NOOP")
    assert lines == [f"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent) MODSEQ ({modseq + 1}))"]


def test_select_failure_deselects(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    c.login()
    c.select()
    assert c.no("SELECT nosuch").tagged.startswith("NO [NONEXISTENT]")
    assert c.protocol.state is State.AUTHENTICATED
    assert c.bad("FETCH 1 FLAGS").tagged == "BAD No mailbox selected."
    assert c.no("SELECT &Jjo").tagged.startswith("NO [CANNOT] Invalid modified UTF-7")


def test_close_expunges_silently_unselect_does_not(tmp_path: Path) -> None:
    server = Server(tmp_path)
    c = server.connect()
    c.login()
    c.select()
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert c.ok("UNSELECT") == []
    assert len(server.store.folders(ALICE)["INBOX"].messages) == 3
    c.select()
    assert c.ok("CLOSE") == []  # no EXPUNGE responses (RFC 3501 6.4.2)
    assert len(server.store.folders(ALICE)["INBOX"].messages) == 2
    assert c.protocol.state is State.AUTHENTICATED
    assert c.bad("CLOSE").status == "BAD"


def test_noop_reports_delivery_and_expunge(tmp_path: Path) -> None:
    server = Server(tmp_path)
    c, other = server.connect(), server.connect()
    c.login()
    other.login()
    c.select()
    other.select()
    server.store.deliver(ALICE, b"Subject: new\r\n\r\nx\r\n")
    other.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    other.ok("EXPUNGE")
    # message 4 is \Recent in the other session, which saw it first (its EXPUNGE)
    assert c.ok("NOOP") == ["* 2 EXPUNGE", "* 3 EXISTS", "* 2 RECENT"]
    assert c.protocol.uids == [1, 3, 4]
    assert c.ok("CHECK") == []


def test_expunge_is_not_sent_during_fetch_store_search(tmp_path: Path) -> None:
    """RFC 3501 5.5 / 7.4.1: sequence numbers must not shift under FETCH,
    STORE or SEARCH; the UID forms may report the EXPUNGE."""
    server = Server(tmp_path)
    c, other = server.connect(), server.connect()
    c.login()
    other.login()
    c.select()
    other.select()
    other.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    other.ok("EXPUNGE")
    lines = c.ok("FETCH 1:3 (UID)")
    assert lines == ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)", "* 3 FETCH (UID 3)"]
    assert c.ok("SEARCH ALL") == ["* SEARCH 1 2 3"]
    assert c.ok("UID FETCH 2 (UID)") == ["* 2 FETCH (UID 2)", "* 1 EXPUNGE", "* 2 RECENT"]
    assert c.ok("FETCH 1:* (UID)") == ["* 1 FETCH (UID 2)", "* 2 FETCH (UID 3)"]
    # a message expunged elsewhere and read before the client knows
    other.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    other.ok("EXPUNGE")
    reply = c.command("FETCH 1 BODY.PEEK[]")
    assert reply.tagged.startswith("NO [EXPUNGEISSUED]")


def test_sequence_numbers_out_of_range(tmp_path: Path) -> None:
    server = Server(tmp_path)
    c = server.connect()
    c.login()
    c.select()
    assert c.bad("FETCH 4 FLAGS").tagged == "BAD Invalid message sequence number"
    assert c.ok("UID FETCH 4:10 FLAGS") == []
    assert c.ok("UID FETCH 10:* UID") == ["* 3 FETCH (UID 3)"]
    c.ok("CREATE Empty")
    c.select("Empty")
    assert c.bad("FETCH 1:* FLAGS").status == "BAD"
    assert c.ok("UID FETCH 1:* FLAGS") == []
