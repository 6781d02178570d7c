"""The IMAP command parser (RFC 3501 9 and extensions): examples and hypothesis."""

from __future__ import annotations

import contextlib
import datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.imap.parser import parse_command
from gateway.imap.syntax import (
    STAR,
    AllKey,
    AndKey,
    Append,
    Authenticate,
    DateKey,
    Expunge,
    Fetch,
    FetchAtt,
    FlagKey,
    HeaderKey,
    Id,
    ListArgs,
    Login,
    ModSeqKey,
    NoArgs,
    NotKey,
    OrKey,
    ParseError,
    RecentKey,
    Search,
    Section,
    Select,
    SequenceSet,
    SetKey,
    SizeKey,
    Status,
    Store,
    TextKey,
)

# Real commands seen from clients (Thunderbird, mutt, mbsync, imaptest, iOS Mail).
SEEDS = [
    b"a001 CAPABILITY",
    b'a002 LOGIN "alice@example.test" "pass word"',
    b"3 AUTHENTICATE PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=",
    b"4 SELECT INBOX (CONDSTORE)",
    b'5 LIST (SUBSCRIBED) "" ("INBOX" "Sent") RETURN (CHILDREN SPECIAL-USE)',
    b'6 LSUB "" "*"',
    b"7 STATUS Drafts (MESSAGES UNSEEN UIDNEXT HIGHESTMODSEQ)",
    b"8 UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE "
    b"BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date Message-ID)])",
    b"9 UID FETCH 12 (BODY.PEEK[1.2.MIME] BODY[TEXT]<0.2048>)",
    b"10 FETCH 1:5,7 (ENVELOPE BODYSTRUCTURE) (CHANGEDSINCE 12345)",
    b"11 UID STORE 3,5:7 +FLAGS.SILENT (\\Seen $Forwarded)",
    b"12 STORE 1 (UNCHANGEDSINCE 200) FLAGS ()",
    b'13 UID SEARCH RETURN (MIN MAX) CHARSET UTF-8 OR (FROM "bob" UNSEEN) NOT SINCE 1-Jan-2024',
    b"14 SEARCH MODSEQ 620162338",
    b'15 APPEND Sent (\\Seen) " 7-Feb-2024 13:01:02 +0100" {11+}\r\nhello world',
    b"16 UID MOVE 4:2 Trash",
    b"17 UID EXPUNGE 3:4",
    b'18 ID ("name" "Thunderbird" "version" "115.0")',
    b"19 ENABLE CONDSTORE QRESYNC",
    b"20 IDLE",
    b"21 RENAME {3}\r\nold new",
]


def test_seeds_parse() -> None:
    for line in SEEDS:
        parse_command(line)


def test_login_and_authenticate() -> None:
    cmd = parse_command(b'a1 login {5}\r\nalice "p\\"w"')
    assert (cmd.tag, cmd.name, cmd.args) == ("a1", "LOGIN", Login(b"alice", b'p"w'))
    assert parse_command(b"a AUTHENTICATE plain").args == Authenticate("PLAIN", None)
    assert parse_command(b"a AUTHENTICATE PLAIN =").args == Authenticate("PLAIN", b"=")
    with pytest.raises(ParseError):
        parse_command(b"a AUTHENTICATE PLAIN !!!")


def test_sequence_sets() -> None:
    args = parse_command(b"a FETCH 5:3,9,*,2:* FLAGS").args
    assert isinstance(args, Fetch)
    assert args.set == SequenceSet(((5, 3), (9, 9), (STAR, STAR), (2, STAR)))
    assert args.set.sequence_numbers(10) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert SequenceSet(((7, 5),)).sequence_numbers(10) == [5, 6, 7]
    # RFC 3501 6.4.8: n:* includes the highest UID even when n is above it
    assert SequenceSet(((559, STAR),)).uid_indexes([3, 10, 20]) == [2]
    assert SequenceSet(((4, 15),)).uid_indexes([3, 10, 20]) == [1]
    for bad in (b"a FETCH 0 FLAGS", b"a FETCH 1: FLAGS", b"a FETCH 4294967296 FLAGS"):
        with pytest.raises(ParseError):
            parse_command(bad)


def test_fetch_items() -> None:
    args = parse_command(b"a FETCH 1 FAST").args
    assert isinstance(args, Fetch)
    assert [a.name for a in args.items] == ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]
    full = parse_command(b"a FETCH 1 full").args
    assert isinstance(full, Fetch) and full.items[-1] == FetchAtt("BODY")
    args = parse_command(
        b'a FETCH 1 (BODY[] BODY.PEEK[HEADER.FIELDS.NOT (X-A "x b")]<10.20> BODY[2.1.TEXT])'
    ).args
    assert isinstance(args, Fetch)
    body, peek, text = args.items
    assert body == FetchAtt("BODY", Section(), False, None)
    assert peek == FetchAtt(
        "BODY", Section((), "HEADER.FIELDS.NOT", ("X-A", "X B")), True, (10, 20)
    )
    assert peek.response_name() == 'BODY[HEADER.FIELDS.NOT (X-A "X B")]<10>'
    assert text.section == Section((2, 1), "TEXT")
    assert body.sets_seen and not peek.sets_seen
    for bad in (
        b"a FETCH 1 BODY[MIME]",  # MIME needs a part number
        b"a FETCH 1 BODY[1.]",
        b"a FETCH 1 BODY[HEADER.FIELDS ()]",
        b"a FETCH 1 BODY[]<0.0>",
        b"a FETCH 1 (FLAGS",
        b"a FETCH 1 RFC822.FOO",
        b"a FETCH 1 BINARY[]",
    ):
        with pytest.raises(ParseError):
            parse_command(bad)


def test_store() -> None:
    args = parse_command(b"a STORE 1:2 -FLAGS.SILENT \\deleted \\SEEN kw").args
    assert args == Store(
        SequenceSet(((1, 2),)), "-", True, frozenset({"\\Deleted", "\\Seen", "kw"})
    )
    args = parse_command(b"a STORE 1 (UNCHANGEDSINCE 5) FLAGS (\\Answered)").args
    assert isinstance(args, Store) and args.unchanged_since == 5 and args.mode == ""
    for bad in (
        b"a STORE 1 +FLAGS (\\Recent)",
        b"a STORE 1 +FLAGS (\\Bogus)",
        b"a STORE 1 FLAGZ x",
    ):
        with pytest.raises(ParseError):
            parse_command(bad)


def test_search_keys() -> None:
    args = parse_command(
        b"a SEARCH CHARSET utf-8 1:3 UID 5 (OR NEW DELETED) NOT LARGER 100 "
        b'HEADER X-Spam "yes" SENTON "2-Feb-2024" BODY {4}\r\nw\xc3\xb6r '
        b'MODSEQ "/flags/\\\\draft" all 7'
    ).args
    assert isinstance(args, Search) and args.charset == "UTF-8"
    assert args.key == AndKey(
        (
            SetKey(SequenceSet(((1, 3),)), False),
            SetKey(SequenceSet(((5, 5),)), True),
            OrKey(AndKey((RecentKey(True), FlagKey("\\Seen", False))), FlagKey("\\Deleted")),
            NotKey(SizeKey(True, 100)),
            HeaderKey("X-Spam", "yes"),
            DateKey("ON", datetime.date(2024, 2, 2), sent=True),
            TextKey("wör", headers=False),
            ModSeqKey(7),
        )
    )
    assert parse_command(b"a SEARCH ALL").args == Search(AllKey())
    ret = parse_command(b"a SEARCH RETURN () OLD").args
    assert ret == Search(RecentKey(False), None, ())
    for bad in (
        b"a SEARCH",
        b"a SEARCH FOO",
        b"a SEARCH SINCE 32-Jan-2024",
        b"a SEARCH SINCE 1-Foo-2024",
        b"a SEARCH OR SEEN",
        b"a SEARCH (SEEN",
        b"a SEARCH RETURN (SAVE) ALL",
        b"a SEARCH " + b"(" * 200 + b"ALL" + b")" * 200,
        b"a SEARCH " + b"NOT " * 200 + b"ALL",
    ):
        with pytest.raises(ParseError):
            parse_command(bad)


def test_list_status_append_select() -> None:
    assert parse_command(b'a LIST "" %').args == ListArgs(b"", (b"%",))
    args = parse_command(b'a LIST (SUBSCRIBED RECURSIVEMATCH) "" "*" RETURN (CHILDREN)').args
    assert args == ListArgs(
        b"", (b"*",), frozenset({"SUBSCRIBED", "RECURSIVEMATCH"}), frozenset({"CHILDREN"}), True
    )
    with pytest.raises(ParseError):
        parse_command(b'a LIST (RECURSIVEMATCH) "" "*"')  # RFC 5258 3.1
    assert parse_command(b"a STATUS x (unseen messages)").args == Status(
        b"x", ("UNSEEN", "MESSAGES")
    )
    with pytest.raises(ParseError):
        parse_command(b"a STATUS x (SIZE)")
    args = parse_command(b"a APPEND x {3}\r\nabc").args
    assert args == Append(b"x", frozenset(), None, b"abc")
    dated = parse_command(b'a APPEND x "01-Jan-2024 00:00:00 -0100" {1}\r\nz').args
    assert isinstance(dated, Append) and dated.date == 1704070800.0
    for bad in (b'a APPEND x "abc"', b'a APPEND x "31-Feb-2024 00:00:00 +0000" {1}\r\nz'):
        with pytest.raises(ParseError):
            parse_command(bad)
    assert parse_command(b"a EXAMINE x (CONDSTORE)").args == Select(b"x", True)
    with pytest.raises(ParseError):
        parse_command(b"a SELECT x (QRESYNC)")


def test_misc_commands() -> None:
    assert parse_command(b"a noop").args == NoArgs()
    assert parse_command(b"a ID NIL").args == Id(None)
    assert parse_command(b"a UID EXPUNGE 1:3").args == Expunge(SequenceSet(((1, 3),)))
    for bad in (
        b"",
        b"a",
        b"+ NOOP",
        b"a NOOP x",
        b"a EXPUNGE 1",
        b"a UID EXPUNGE",
        b"a UID LOGIN x y",
        b"a FOO",
        b'a LOGIN "unterminated',
        b"a LOGIN {10}\r\nshort",
    ):
        with pytest.raises(ParseError):
            parse_command(bad)


def test_errors_carry_the_tag() -> None:
    with pytest.raises(ParseError) as e:
        parse_command(b"x17 FETCH 1 (BOGUS)")
    assert e.value.tag == "x17"
    with pytest.raises(ParseError) as e:
        parse_command(b"(bad NOOP")
    assert e.value.tag is None


@settings(max_examples=600)
@given(st.sampled_from(SEEDS), st.integers(0, 200), st.binary(max_size=8))
def test_mutated_seeds_only_raise_parse_error(seed: bytes, cut: int, junk: bytes) -> None:
    """Any input: a Command or our own ParseError, never anything else."""
    data = seed[:cut] + junk + seed[cut:]
    with contextlib.suppress(ParseError):
        parse_command(data)


@settings(max_examples=600)
@given(st.binary(max_size=200))
@example(b"a SEARCH " + b"OR " * 500 + b"ALL")
@example(b"a FETCH 1 BODY[" + b"1." * 500 + b"]")
@example(b"a STORE 1 +FLAGS \\")
@example(b'a ID ("a" "b" ' * 40)
def test_any_bytes_only_raise_parse_error(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_command(data)
