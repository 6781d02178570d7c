"""Dot-stuffing of RETR/TOP output (RFC 1939 3) and TOP's cut (RFC 1939 7)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.pop3.content import multiline, top


def unstuff(reply: bytes) -> bytes:
    """What a client (poplib) recovers from a multi-line reply."""
    _status, _, rest = reply.partition(b"\r\n")
    assert rest.endswith(b".\r\n")
    lines = rest[:-3].split(b"\r\n")[:-1]
    assert all(not line.startswith(b".") or line.startswith(b"..") for line in lines)
    return b"".join((line[1:] if line.startswith(b".") else line) + b"\r\n" for line in lines)


def test_stuffing_examples() -> None:
    assert multiline(b"+OK\r\n", b"") == b"+OK\r\n.\r\n"
    assert multiline(b"+OK\r\n", b".\r\n") == b"+OK\r\n..\r\n.\r\n"
    assert multiline(b"+OK\r\n", b"a\r\n.\r\n..b\r\n") == b"+OK\r\na\r\n..\r\n...b\r\n.\r\n"
    assert multiline(b"+OK\r\n", b"a\r\nb") == b"+OK\r\na\r\nb\r\n.\r\n"
    # only line starts are stuffed
    assert multiline(b"+OK\r\n", b"a.b\r\n") == b"+OK\r\na.b\r\n.\r\n"


_LINE = st.binary(max_size=30).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@given(st.lists(_LINE, max_size=20))
def test_stuffing_round_trips_and_never_ends_early(lines: list[bytes]) -> None:
    message = b"".join(line + b"\r\n" for line in lines)
    reply = multiline(b"+OK\r\n", message)
    assert unstuff(reply) == message
    # the first line that is exactly "." is the terminator at the very end
    body = reply[len(b"+OK\r\n") :]
    assert (b"\r\n" + body).find(b"\r\n.\r\n") == len(body) - 3


def test_top_examples() -> None:
    message = b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n"
    assert top(message, 0) == b"A: 1\r\nB: 2\r\n\r\n"
    assert top(message, 1) == b"A: 1\r\nB: 2\r\n\r\nl1\r\n"
    assert top(message, 3) == message
    assert top(message, 10**12) == message
    assert top(b"A: 1\r\n", 5) == b"A: 1\r\n"  # no body at all
    assert top(b"\r\nbody\r\nmore\r\n", 1) == b"\r\nbody\r\n"  # no header
    assert top(b"A: 1\r\n\r\nl1\r\nl2", 1) == b"A: 1\r\n\r\nl1\r\n"
    assert top(b"A: 1\r\n\r\nl1\r\nl2", 2) == b"A: 1\r\n\r\nl1\r\nl2"


@given(
    st.lists(_LINE.filter(bool), min_size=1, max_size=5),
    st.lists(_LINE, max_size=10),
    st.integers(min_value=0, max_value=12),
)
def test_top_is_header_blank_line_and_n_body_lines(
    header: list[bytes], body: list[bytes], n: int
) -> None:
    head = b"".join(h + b"\r\n" for h in header)
    message = head + b"\r\n" + b"".join(line + b"\r\n" for line in body)
    assert top(message, n) == head + b"\r\n" + b"".join(line + b"\r\n" for line in body[:n])
