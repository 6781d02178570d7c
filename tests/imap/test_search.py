"""SEARCH / UID SEARCH (RFC 3501 6.4.4), ESEARCH (RFC 4731), MODSEQ (RFC 7162),
and the evaluator reading a message only when a key needs it."""

from __future__ import annotations

import datetime
from pathlib import Path

from gateway.imap.search import Context, evaluate
from gateway.imap.syntax import (
    DateKey,
    FlagKey,
    HeaderKey,
    NotKey,
    OrKey,
    SequenceSet,
    SetKey,
)
from gateway.store.imapview import MessageInfo
from tests.imap.imap_harness import ALICE, Client, Server


def selected(tmp_path: Path) -> tuple[Server, Client]:
    server = Server(tmp_path)
    inbox = server.store.folders(ALICE)["INBOX"]
    inbox.messages[0].flags = frozenset({"\\Seen", "\\Flagged"})
    inbox.messages[1].flags = frozenset({"\\Seen", "$Work"})
    c = server.connect()
    c.login()
    c.select()
    return server, c


def search(c: Client, criteria: str) -> list[int]:
    lines = c.ok("SEARCH " + criteria)
    assert lines[0].startswith("* SEARCH"), lines
    return [int(n) for n in lines[0].split()[2:]]


def test_flag_keys(tmp_path: Path) -> None:
    _, c = selected(tmp_path)
    assert search(c, "ALL") == [1, 2, 3]
    assert search(c, "SEEN") == [1, 2]
    assert search(c, "UNSEEN") == [3]
    assert search(c, "FLAGGED") == [1]
    assert search(c, "UNFLAGGED SEEN") == [2]
    assert search(c, "KEYWORD $Work") == [2]
    assert search(c, "UNKEYWORD $Work") == [1, 3]
    assert search(c, "NEW") == [3]
    assert search(c, "RECENT") == [1, 2, 3]
    assert search(c, "OLD") == []
    assert search(c, "NOT (SEEN FLAGGED)") == [2, 3]
    assert search(c, "OR FLAGGED OR KEYWORD $Work DELETED") == [1, 2]


def test_sets_sizes_dates(tmp_path: Path) -> None:
    _, c = selected(tmp_path)
    assert search(c, "2:*") == [2, 3]
    assert search(c, "*") == [3]
    assert search(c, "UID 1,3") == [1, 3]
    assert search(c, "1:2 UID 2:*") == [2]
    assert search(c, "LARGER 120") == [1, 3]
    assert search(c, "SMALLER 120") == [2]
    assert search(c, "SINCE 2-Jan-2024") == [2, 3]
    assert search(c, "BEFORE 2-Jan-2024") == [1]
    assert search(c, 'ON "3-Jan-2024"') == [3]
    assert search(c, "SENTSINCE 2-Jan-2024 SENTBEFORE 3-Jan-2024") == [2]
    assert search(c, "SENTON 1-Jan-2024") == [1]


def test_header_and_text_keys(tmp_path: Path) -> None:
    _, c = selected(tmp_path)
    assert search(c, "FROM carol") == [1]
    assert search(c, "FROM CAROL") == [1]  # case-insensitive
    assert search(c, "TO bob@example.test") == [3]
    assert search(c, "SUBJECT t") == [2, 3]
    assert search(c, 'HEADER Subject ""') == [1, 2, 3]
    assert search(c, 'HEADER X-Missing ""') == []
    assert search(c, "BODY longer") == [3]
    assert search(c, "BODY subject") == []  # header text is not body
    assert search(c, "TEXT subject") == [1, 2, 3]
    assert search(c, "CHARSET UTF-8 BODY {5+}\r\nHELLO") == [1]
    assert search(c, "OR BODY world FROM dave") == [1, 2]


def test_messages_read_only_when_needed(tmp_path: Path) -> None:
    server, c = selected(tmp_path)
    search(c, "SEEN SINCE 1-Jan-2020 UID 1:*")
    assert server.store.reads == []
    # FLAGGED decides message 1 (OR is true), 2 and 3 need the header
    search(c, "OR FLAGGED FROM dave")
    assert server.store.header_reads == [2, 3]  # the header is enough
    assert server.store.reads == []
    server.store.header_reads.clear()
    search(c, "UNSEEN FROM erin")
    assert server.store.header_reads == []  # From: of 2 and 3 is cached now
    search(c, "UNSEEN SUBJECT hello")
    assert server.store.header_reads == [3]  # another field: read once more
    search(c, "UNSEEN BODY hello")  # the body: the whole message
    assert server.store.reads == [3]


def test_uid_search_and_esearch(tmp_path: Path) -> None:
    _, c = selected(tmp_path)
    assert c.ok("UID SEARCH SEEN") == ["* SEARCH 1 2"]
    assert c.ok("SEARCH RETURN (MIN MAX COUNT) SEEN") == [
        '* ESEARCH (TAG "a4") MIN 1 MAX 2 COUNT 2'
    ]
    assert c.ok("UID SEARCH RETURN () ALL") == ['* ESEARCH (TAG "a5") UID ALL 1:3']
    assert c.ok("SEARCH RETURN (COUNT ALL) DELETED") == ['* ESEARCH (TAG "a6") COUNT 0']


def test_modseq_and_charset(tmp_path: Path) -> None:
    server, c = selected(tmp_path)
    modseq = server.store.folders(ALICE)["INBOX"].highest_modseq
    c.ok("STORE 3 +FLAGS (\\Answered)")
    lines = c.ok(f"SEARCH MODSEQ {modseq + 1}")
    assert lines[-1] == f"* SEARCH 3 (MODSEQ {modseq + 1})"
    reply = c.no("SEARCH CHARSET KOI8-R ALL")
    assert reply.tagged.startswith("NO [BADCHARSET (US-ASCII UTF-8)]")
    assert c.bad("SEARCH FOO").status == "BAD"


def test_evaluate_is_three_valued() -> None:
    info = MessageInfo(5, frozenset({"\\Seen"}), 100, 1_704_103_200.0, 3)
    ctx = Context(10, 20)
    header = HeaderKey("From", "x")
    assert evaluate(header, 1, info, ctx, None) is None
    assert evaluate(OrKey(FlagKey("\\Seen"), header), 1, info, ctx, None) is True
    assert evaluate(NotKey(header), 1, info, ctx, None) is None
    assert evaluate(SetKey(SequenceSet(((0, 0),)), False), 10, info, ctx, None) is True
    assert evaluate(SetKey(SequenceSet(((0, 0),)), True), 10, info, ctx, None) is False
    since = DateKey("SINCE", datetime.date(2024, 1, 1))
    assert evaluate(since, 1, info, ctx, None) is True
