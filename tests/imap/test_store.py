"""STORE / UID STORE (RFC 3501 6.4.6), keywords and FLAGS updates (7.2.6),
UNCHANGEDSINCE and MODIFIED (RFC 7162 3.1.3)."""

from __future__ import annotations

from pathlib import Path

from tests.imap.imap_harness import ALICE, Client, Server


def selected(tmp_path: Path) -> tuple[Server, Client]:
    server = Server(tmp_path)
    c = server.connect()
    c.login()
    c.select()
    return server, c


def test_add_remove_replace(tmp_path: Path) -> None:
    server, c = selected(tmp_path)
    inbox = server.store.folders(ALICE)["INBOX"]
    assert c.ok("STORE 1:2 +FLAGS (\\Seen \\Flagged)") == [
        "* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent))",
        "* 2 FETCH (FLAGS (\\Flagged \\Seen \\Recent))",
    ]
    assert c.ok("STORE 1 -FLAGS \\Flagged") == ["* 1 FETCH (FLAGS (\\Seen \\Recent))"]
    assert c.ok("STORE 2 FLAGS (\\Answered)") == ["* 2 FETCH (FLAGS (\\Answered \\Recent))"]
    assert [m.flags for m in inbox.messages[:2]] == [{"\\Seen"}, {"\\Answered"}]
    assert c.ok("STORE 3 +FLAGS.SILENT (\\Draft)") == []
    assert inbox.messages[2].flags == {"\\Draft"}


def test_uid_store_includes_uid(tmp_path: Path) -> None:
    _, c = selected(tmp_path)
    assert c.ok("UID STORE 2 +FLAGS (\\Deleted)") == [
        "* 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent))"
    ]
    assert c.ok("UID STORE 9 +FLAGS (\\Deleted)") == []


def test_new_keyword_sends_flags(tmp_path: Path) -> None:
    _, c = selected(tmp_path)
    lines = c.ok("STORE 1 +FLAGS ($Forwarded)")
    assert lines[0] == "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)"
    assert "$Forwarded \\*)]" in lines[1]
    assert lines[2] == "* 1 FETCH (FLAGS ($Forwarded \\Recent))"
    assert c.ok("STORE 2 +FLAGS ($Forwarded)") == ["* 2 FETCH (FLAGS ($Forwarded \\Recent))"]


def test_other_sessions_see_flag_changes(tmp_path: Path) -> None:
    server, c = selected(tmp_path)
    other = server.connect()
    other.login()
    other.select()
    c.ok("STORE 3 +FLAGS.SILENT (\\Seen)")
    assert other.ok("NOOP") == ["* 3 FETCH (FLAGS (\\Seen))"]


def test_unchangedsince(tmp_path: Path) -> None:
    server, c = selected(tmp_path)
    inbox = server.store.folders(ALICE)["INBOX"]
    modseq = inbox.highest_modseq
    c.ok("STORE 2 +FLAGS.SILENT (\\Answered)")
    reply = c.command(f"STORE 1:3 (UNCHANGEDSINCE {modseq}) +FLAGS.SILENT (\\Flagged)")
    assert reply.tagged == "OK [MODIFIED 2] Conditional store failed."
    assert reply.untagged == [f"* OK [HIGHESTMODSEQ {modseq + 1}] Highest"]
    assert "\\Flagged" not in inbox.messages[1].flags
    assert "\\Flagged" in inbox.messages[0].flags
    reply = c.command(f"UID STORE 2 (UNCHANGEDSINCE {modseq}) FLAGS ()")
    assert reply.tagged == "OK [MODIFIED 2] Conditional store failed."
    # with CONDSTORE on, FETCH responses carry UID and MODSEQ
    line = c.ok("STORE 3 -FLAGS (\\Flagged)")[0]
    assert line.startswith("* 3 FETCH (UID 3 FLAGS (\\Recent) MODSEQ (")


def test_store_syntax_errors(tmp_path: Path) -> None:
    _, c = selected(tmp_path)
    assert c.bad("STORE 1 +FLAGS (\\Recent)").tagged == "BAD Invalid system flag \\Recent"
    assert c.bad("STORE 1 XFLAGS (\\Seen)").status == "BAD"
