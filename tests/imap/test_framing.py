"""Assembling commands from lines and literals (RFC 3501 7.5, RFC 7888)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.imap.framing import Complete, Continue, Framer, Refused


def events(framer: Framer) -> list[object]:
    out = []
    while (e := framer.next_event()) is not None:
        out.append(e)
    return out


def test_lines_and_bare_lf() -> None:
    f = Framer(100, 1000)
    f.feed(b"a NOOP\r\nb NOOP\nc NO")
    assert events(f) == [Complete(b"a NOOP"), Complete(b"b NOOP")]
    f.feed(b"OP\r\n")
    assert events(f) == [Complete(b"c NOOP")]


def test_synchronising_literal_asks_for_continuation() -> None:
    f = Framer(100, 1000)
    f.feed(b"a LOGIN {5}\r\n")
    assert events(f) == [Continue()]
    f.feed(b"ali")
    assert events(f) == []
    f.feed(b"ce {2+}\r\npw\r\n")
    assert events(f) == [Complete(b"a LOGIN {5}\r\nalice {2+}\r\npw")]


def test_literal_data_is_not_split_into_lines() -> None:
    f = Framer(100, 1000)
    f.feed(b"a APPEND x {12+}\r\nline\r\nline\r\n\r\n")
    assert events(f) == [Complete(b"a APPEND x {12+}\r\nline\r\nline\r\n")]


def test_oversized_synchronising_literal_refused_before_data() -> None:
    f = Framer(100, 10)
    f.feed(b"a APPEND x {11}\r\n")
    assert events(f) == [Refused("a", "NO", "Literal too big", "TOOBIG")]
    assert not f.in_command
    f.feed(b"b NOOP\r\n")
    assert events(f) == [Complete(b"b NOOP")]


def test_oversized_non_synchronising_literal_is_read_and_discarded() -> None:
    """RFC 7888 4: the data comes anyway; skip it and the rest, then BAD."""
    f = Framer(100, 10)
    f.feed(b"a APPEND x {20+}\r\n" + b"x" * 15)
    assert events(f) == []
    f.feed(b"y" * 5 + b" more {3+}\r\nabc\r\nb NOOP\r\n")
    assert events(f) == [Refused("a", "BAD", "Literal too big", "TOOBIG"), Complete(b"b NOOP")]


def test_long_line_refused_and_skipped() -> None:
    f = Framer(20, 1000)
    f.feed(b"t1 LOGIN " + b"x" * 50)
    assert events(f) == []
    f.feed(b"x" * 50 + b"\r\nt2 NOOP\r\n")
    assert events(f) == [Refused("t1", "BAD", "Command line too long"), Complete(b"t2 NOOP")]
    # a skipped line that announced a non-synchronising literal skips it too
    f.feed(b"t3 X " + b"y" * 40 + b" {4+}\r\n\r\nab\r\nt4 NOOP\r\n")
    assert events(f) == [Refused("t3", "BAD", "Command line too long"), Complete(b"t4 NOOP")]


def test_nul_refused() -> None:
    f = Framer(100, 1000)
    f.feed(b"a LOGIN x\x00 y\r\nb NOOP\r\n")
    assert events(f) == [
        Refused("a", "BAD", "NUL octets are not allowed in commands"),
        Complete(b"b NOOP"),
    ]


def test_total_command_size_bounded() -> None:
    f = Framer(100, 10, max_command=25)
    f.feed(b"a X {8+}\r\n12345678 {8}\r\n")
    assert events(f) == [Refused("a", "NO", "Literal too big", "TOOBIG")]


def test_take_rest_discards_pipelined_input() -> None:
    f = Framer(100, 1000)
    f.feed(b"a STARTTLS\r\nb LOGIN x y\r\n")
    assert f.next_event() == Complete(b"a STARTTLS")
    assert f.take_rest() == b"b LOGIN x y\r\n"
    assert events(f) == []


@given(st.lists(st.binary(max_size=40), max_size=10))
def test_any_split_gives_the_same_events(chunks: list[bytes]) -> None:
    """Events do not depend on how the stream is cut into reads."""
    data = b"".join(chunks) + b"\r\na NOOP\r\n"
    whole = Framer(30, 20)
    whole.feed(data)
    expected = [e for e in events(whole)]
    pieces = Framer(30, 20)
    got: list[object] = []
    for i in range(len(data)):
        pieces.feed(data[i : i + 1])
        got.extend(events(pieces))
    assert [e for e in got if not isinstance(e, Continue)] == [
        e for e in expected if not isinstance(e, Continue)
    ]
