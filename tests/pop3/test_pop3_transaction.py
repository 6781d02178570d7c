"""STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP (RFC 1939 5, 7) and their arguments."""

from __future__ import annotations

from pathlib import Path

from pop3_harness import MESSAGES, Session


def logged_in(tmp_path: Path, **overrides: object) -> Session:
    s = Session(tmp_path, **overrides)
    s.login()
    return s


SIZES = [len(m) for m in MESSAGES]


def test_stat_list_uidl(tmp_path: Path) -> None:
    s = logged_in(tmp_path)
    assert s.send(b"STAT\r\n") == [f"+OK 3 {sum(SIZES)}"]
    assert s.send(b"LIST\r\n") == [
        "+OK 3 messages",
        f"1 {SIZES[0]}",
        f"2 {SIZES[1]}",
        f"3 {SIZES[2]}",
        ".",
    ]
    assert s.send(b"LIST 2\r\n") == [f"+OK 2 {SIZES[1]}"]
    assert s.send(b"UIDL\r\n") == [
        "+OK 3 messages",
        "1 uid-alice-0",
        "2 uid-alice-1",
        "3 uid-alice-2",
        ".",
    ]
    assert s.send(b"UIDL 3\r\n") == ["+OK 3 uid-alice-2"]


def test_retr_is_dot_stuffed_and_terminated(tmp_path: Path) -> None:
    s = logged_in(tmp_path)
    assert s.raw(b"RETR 1\r\n") == (
        b"+OK %d octets\r\n" % SIZES[0]
        + b"From: carol@example.test\r\nSubject: one\r\n\r\nHello\r\n..dot line\r\nbye\r\n.\r\n"
    )
    # a message starting with a dot is stuffed on its first line too
    assert s.raw(b"RETR 2\r\n") == (
        b"+OK %d octets\r\n" % SIZES[1]
        + b"..leading: dot\r\n\r\n...two dots\r\n..\r\nend\r\n.\r\n"
    )


def test_retr_of_a_message_without_final_crlf(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.opener.mailboxes["alice@example.test"] = [b"Subject: x\r\n\r\nno newline"]
    s.login()
    assert s.raw(b"RETR 1\r\n").endswith(b"\r\n\r\nno newline\r\n.\r\n")


def test_top(tmp_path: Path) -> None:
    s = logged_in(tmp_path)
    assert s.raw(b"TOP 3 0\r\n") == b"+OK\r\nSubject: three\r\n\r\n.\r\n"
    assert s.raw(b"TOP 3 2\r\n") == b"+OK\r\nSubject: three\r\n\r\nl1\r\nl2\r\n.\r\n"
    assert s.raw(b"TOP 3 99\r\n") == b"+OK\r\nSubject: three\r\n\r\nl1\r\nl2\r\nl3\r\nl4\r\n.\r\n"
    assert s.raw(b"TOP 1 2\r\n").endswith(b"\r\n\r\nHello\r\n..dot line\r\n.\r\n")
    # TOP does not count as retrieval
    s.send(b"QUIT\r\n")
    assert s.opener.last.commits == [(frozenset(), frozenset())]


def test_dele_rset(tmp_path: Path) -> None:
    s = logged_in(tmp_path)
    assert s.send(b"DELE 2\r\n") == ["+OK Message 2 deleted"]
    assert s.send(b"STAT\r\n") == [f"+OK 2 {SIZES[0] + SIZES[2]}"]
    assert s.send(b"LIST\r\n") == ["+OK 2 messages", f"1 {SIZES[0]}", f"3 {SIZES[2]}", "."]
    assert s.send(b"UIDL\r\n") == ["+OK 2 messages", "1 uid-alice-0", "3 uid-alice-2", "."]
    deleted = ["-ERR Message 2 already deleted"]
    for command in (b"DELE 2", b"RETR 2", b"TOP 2 0", b"LIST 2", b"UIDL 2"):
        assert s.status(command + b"\r\n") == deleted, command
    assert s.send(b"RSET\r\n") == [f"+OK Maildrop has 3 messages ({sum(SIZES)} octets)"]
    assert s.send(b"LIST 2\r\n") == [f"+OK 2 {SIZES[1]}"]


def test_message_numbers_are_validated(tmp_path: Path) -> None:
    s = logged_in(tmp_path, max_errors=100)
    none = ["-ERR No such message, only 3 in maildrop"]
    assert s.status(b"RETR 0\r\n") == none
    assert s.status(b"RETR 4\r\n") == none
    assert s.status(b"LIST 99999\r\n") == none
    assert s.status(b"RETR -1\r\n") == [
        "-ERR Invalid message number: '-1' is not a decimal number"
    ]
    assert s.status(b"RETR +1\r\n")[0].startswith("-ERR Invalid message number")
    assert s.status(b"RETR 0x1\r\n")[0].startswith("-ERR Invalid message number")
    assert s.status(b"RETR 12345678901\r\n")[0].startswith("-ERR Invalid message number")
    assert s.status(b"DELE \xd9\xa1\r\n")[0].startswith("-ERR Invalid message number")  # Arabic 1
    assert s.status(b"RETR\r\n") == ["-ERR Usage: RETR msg"]
    assert s.status(b"RETR 1 2\r\n") == ["-ERR Usage: RETR msg"]
    assert s.status(b"DELE\r\n") == ["-ERR Usage: DELE msg"]
    assert s.status(b"LIST 1 2\r\n") == ["-ERR Usage: LIST [msg]"]
    assert s.status(b"TOP 1\r\n") == ["-ERR Usage: TOP msg lines"]
    assert s.status(b"TOP 1 -1\r\n") == [
        "-ERR Invalid number of lines: '-1' is not a decimal number"
    ]
    assert s.status(b"STAT 1\r\n") == ["-ERR This command takes no arguments"]
    assert s.status(b"RSET 1\r\n") == ["-ERR This command takes no arguments"]
    assert not s.opener.last.commits and not s.closed


def test_empty_maildrop(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.login("bob@example.test", "builder")
    assert s.send(b"STAT\r\n") == ["+OK 0 0"]
    assert s.send(b"LIST\r\n") == ["+OK 0 messages", "."]
    assert s.status(b"RETR 1\r\n") == ["-ERR No such message, only 0 in maildrop"]


def test_asynchronous_retrieve_keeps_pipelined_replies_in_order(tmp_path: Path) -> None:
    s = logged_in(tmp_path)
    s.opener.async_retrieve = True
    drop = s.opener.last
    out = s.raw(b"RETR 1\r\nSTAT\r\nRETR 3\r\nNOOP\r\n")
    assert out == b""  # waiting for the store; nothing overtakes RETR 1
    assert len(drop.pending) == 1
    s.transport.clear()
    drop.deliver_pending()
    text = s.transport.value()
    assert text.startswith(b"+OK %d octets\r\n" % SIZES[0])
    assert text.endswith(b"+OK 3 %d\r\n" % sum(SIZES))
    assert len(drop.pending) == 1  # RETR 3 now pending, NOOP behind it
    s.transport.clear()
    drop.deliver_pending()
    assert s.transport.value().endswith(b"l4\r\n.\r\n+OK\r\n")


def test_store_read_failure(tmp_path: Path) -> None:
    s = logged_in(tmp_path)
    s.opener.broken_retrieve = True
    assert s.status(b"RETR 1\r\n") == ["-ERR [SYS/TEMP] Cannot read the message, try again later"]
    assert s.status(b"TOP 1 0\r\n") == ["-ERR [SYS/TEMP] Cannot read the message, try again later"]
    s.opener.broken_retrieve = False
    s.send(b"QUIT\r\n")
    assert s.opener.last.commits == [(frozenset(), frozenset())]  # a failed RETR is no retrieval
