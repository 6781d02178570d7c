"""QUIT and the UPDATE state (RFC 1939 6): commit, commit failure, connection loss."""

from __future__ import annotations

from pathlib import Path

from pop3_harness import ALICE, MESSAGES, Session, captured_logs
from twisted.internet.defer import Deferred


def test_quit_commits_deleted_and_retrieved(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.login()
    s.send(b"RETR 1\r\nRETR 3\r\nDELE 1\r\nDELE 2\r\n")
    assert s.send(b"QUIT\r\n") == ["+OK pop.example.test signing off (1 messages left)"]
    assert s.closed
    drop = s.opener.last
    assert drop.commits == [(frozenset({0, 1}), frozenset({0, 2}))]
    assert s.opener.mailboxes[ALICE] == [MESSAGES[2]]
    s.lose()
    assert drop.released == 1  # by commit only


def test_rset_undoes_deletions_before_quit(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.login()
    s.send(b"DELE 1\r\nRSET\r\nDELE 3\r\nQUIT\r\n")
    assert s.opener.last.commits == [(frozenset({2}), frozenset())]


def test_quit_replies_only_after_the_commit(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.login()
    drop = s.opener.last
    held: Deferred[None] = Deferred()
    drop.commit = lambda deleted, retrieved: held  # type: ignore[method-assign]
    assert s.send(b"DELE 1\r\nQUIT\r\n") == ["+OK Message 1 deleted"]
    assert not s.closed
    held.callback(None)
    assert s.lines()[-1] == "+OK pop.example.test signing off (2 messages left)"
    assert s.closed


def test_commit_failure_is_reported(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.login()
    s.opener.broken_commit = True
    with captured_logs() as logs:
        assert s.status(b"DELE 1\r\nQUIT\r\n") == [
            "+OK Message 1 deleted",
            "-ERR [SYS/TEMP] Some deleted messages not removed, try again later",
        ]
    assert s.closed
    assert s.opener.mailboxes[ALICE] == MESSAGES
    assert logs[0].startswith(
        f"pop3: 192.0.2.10: {ALICE} logged out: 0 retrieved, commit of 1 deletions failed"
    )


def test_connection_loss_releases_and_deletes_nothing(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.login()
    s.send(b"RETR 1\r\nDELE 1\r\nDELE 2\r\n")
    with captured_logs() as logs:
        s.lose()
    drop = s.opener.last
    assert drop.commits == []
    assert drop.released == 1
    assert s.opener.mailboxes[ALICE] == MESSAGES
    assert s.opener.locked == set()
    assert logs == [
        f"pop3: 192.0.2.10: {ALICE} disconnected without QUIT: 1 retrieved, "
        "0 deleted (2 marked, kept)"
    ]


def test_connection_loss_during_a_pending_retrieve(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.login()
    s.opener.async_retrieve = True
    s.send(b"RETR 1\r\n")
    s.lose()
    s.transport.clear()
    s.opener.last.deliver_pending()  # arrives after the client left: not written
    assert s.transport.value() == b""
    assert s.opener.last.released == 1
