"""COPY / MOVE and their UID forms (RFC 3501 6.4.7, RFC 6851), COPYUID (RFC 4315),
EXPUNGE and UID EXPUNGE (RFC 3501 6.4.3, RFC 4315 2.1)."""

from __future__ import annotations

from pathlib import Path

from tests.imap.imap_harness import ALICE, Client, Server


def selected(tmp_path: Path) -> tuple[Server, Client]:
    server = Server(tmp_path)
    c = server.connect()
    c.login()
    c.select()
    return server, c


def test_copy_with_copyuid(tmp_path: Path) -> None:
    server, c = selected(tmp_path)
    trash = server.store.folders(ALICE)["Trash"]
    reply = c.command("COPY 1,3 Trash")
    assert reply.tagged == f"OK [COPYUID {trash.uidvalidity} 1,3 1:2] Copy completed."
    assert [m.data for m in trash.messages] == [
        m.data for m in server.store.folders(ALICE)["INBOX"].messages[::2]
    ]
    reply = c.command("UID COPY 2:9 Trash")
    assert reply.tagged == f"OK [COPYUID {trash.uidvalidity} 2:3 3:4] Copy completed."
    assert c.ok("UID COPY 7:9 Trash") == []


def test_copy_to_missing_folder_says_trycreate(tmp_path: Path) -> None:
    _, c = selected(tmp_path)
    assert c.no("COPY 1 Nowhere").tagged.startswith("NO [TRYCREATE]")
    assert c.no("COPY 1 &Jjo").tagged.startswith("NO [CANNOT]")


def test_move_expunges_with_copyuid_first(tmp_path: Path) -> None:
    server, c = selected(tmp_path)
    sent = server.store.folders(ALICE)["Sent"]
    reply = c.command("MOVE 1:2 Sent")
    assert reply.untagged == [
        f"* OK [COPYUID {sent.uidvalidity} 1:2 1:2] Moved UIDs.",
        "* 2 EXPUNGE",
        "* 1 EXPUNGE",
        "* 1 RECENT",  # RFC 3501 7.3.2: the number changed (as Dovecot says it)
    ]
    assert reply.tagged == "OK Move completed."
    assert c.protocol.uids == [3]
    assert c.ok("UID MOVE 3 Sent") == [
        f"* OK [COPYUID {sent.uidvalidity} 3 3] Moved UIDs.",
        "* 1 EXPUNGE",
        "* 0 RECENT",
    ]


def test_move_in_read_only_refused(tmp_path: Path) -> None:
    _, c = selected(tmp_path)
    c.select(examine=True)
    assert c.no("MOVE 1 Sent").tagged.startswith("NO [READ-ONLY]")
    c.ok("COPY 1 Sent")


def test_expunge_and_uid_expunge(tmp_path: Path) -> None:
    server, c = selected(tmp_path)
    c.ok("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
    assert c.ok("UID EXPUNGE 2") == ["* 2 EXPUNGE", "* 2 RECENT"]
    assert c.ok("EXPUNGE") == ["* 2 EXPUNGE", "* 1 EXPUNGE", "* 0 RECENT"]
    assert server.store.folders(ALICE)["INBOX"].messages == []
    assert c.ok("UID EXPUNGE 1:*") == []
