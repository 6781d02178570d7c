"""The POP3 command parser (RFC 1939 3, RFC 2449 3): examples and hypothesis."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gateway.pop3.parser import Command, POP3SyntaxError, parse_command

# Real lines seen from clients (Thunderbird, fetchmail, Outlook, poplib).
SEEDS = [
    b"CAPA",
    b"USER alice@example.test",
    b"PASS correct horse battery",
    b"APOP mrose c4c9334bac560ecc979e58001b3e22fb",
    b"AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3b25kZXJsYW5k",
    b"STAT",
    b"LIST 1",
    b"UIDL",
    b"TOP 1 0",
    b"RETR 1",
    b"DELE 1",
    b"QUIT",
    b"STLS",
]


def test_examples() -> None:
    assert parse_command(b"STAT") == Command("STAT", (), b"")
    assert parse_command(b"top 1 10") == Command("TOP", (b"1", b"10"), b"1 10")
    assert parse_command(b"Pass a  b ") == Command("PASS", (b"a", b"b"), b"a  b ")
    assert parse_command(b"LIST  2") == Command("LIST", (b"2",), b" 2")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"", "Empty command"),
        (b" STAT", "Unknown command"),
        (b"ST", "Unknown command"),
        (b"STATS", "Unknown command"),
        (b"ST4T", "Unknown command"),
        (b"\xc3\x9cSER x", "Unknown command"),
        (b"USER a\tb", "Control characters are not allowed in commands"),
        (b"USER \x00", "Control characters are not allowed in commands"),
        (b"NOOP\x7f", "Control characters are not allowed in commands"),
    ],
)
def test_syntax_errors(line: bytes, message: str) -> None:
    with pytest.raises(POP3SyntaxError, match=message):
        parse_command(line)


@given(st.binary(max_size=300))
@example(b"\r\n")
@example(b"USER \xff\xfe")
def test_any_bytes_give_a_command_or_our_error(line: bytes) -> None:
    try:
        command = parse_command(line)
    except POP3SyntaxError:
        return
    assert command.verb.isalpha() and command.verb.isupper() and 3 <= len(command.verb) <= 4
    assert all(arg and b" " not in arg for arg in command.args)


@given(st.sampled_from(SEEDS), st.binary(max_size=20), st.integers(min_value=0, max_value=60))
def test_mutated_real_lines(seed: bytes, junk: bytes, at: int) -> None:
    line = seed[:at] + junk + seed[at:]
    with contextlib.suppress(POP3SyntaxError):
        parse_command(line)


_ARG = st.binary(min_size=1, max_size=40).filter(
    lambda b: all(0x21 <= c <= 0x7E or c >= 0x80 for c in b)
)


@given(
    st.sampled_from(["USER", "pass", "Top", "LIST", "uidl", "XTND"]),
    st.lists(_ARG, max_size=4),
)
def test_round_trip(verb: str, args: list[bytes]) -> None:
    line = b" ".join([verb.encode(), *args])
    command = parse_command(line)
    assert command.verb == verb.upper()
    assert command.args == tuple(args)
    assert command.rest == b" ".join(args)
