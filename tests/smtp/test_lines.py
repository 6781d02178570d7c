"""The CRLF discipline: command lines, DATA (the SMTP smuggling matrix), BDAT.

RFC 5321 2.3.8 and 4.1.1.4: only <CRLF>.<CRLF> ends DATA; bare LF / bare CR
never end a line. Every published smuggling variant is fed whole and one byte
at a time, and must neither end the message early nor be accepted.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.smtp import codes
from gateway.smtp.lines import (
    ChunkReader,
    CommandBuffer,
    DataReader,
    LineError,
    find_bare_newline,
)

MB = 1024 * 1024


def feed_all(reader: DataReader, data: bytes, step: int | None = None) -> bytes | None:
    """Feed ``data`` whole (step None) or in pieces of ``step`` bytes; return
    the leftover once done; fail if the reader ends before the last piece."""
    pieces = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    for n, piece in enumerate(pieces):
        rest = reader.feed(piece)
        if rest is not None:
            return rest + b"".join(pieces[n + 1 :])
    return None


def feed_split(reader: DataReader, data: bytes, cuts: list[int]) -> bytes | None:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    result: bytes | None = None
    for a, b in itertools.pairwise(points):
        piece = data[a:b]
        if result is not None:
            result += piece
        else:
            result = reader.feed(piece)
    return result


# --- the smuggling matrix ---------------------------------------------------

SMUGGLED = b"MAIL FROM:<attacker@evil.example>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n"
FAKE_ENDS = [
    b"\n.\n",
    b"\r.\r",
    b"\n.\r\n",
    b"\r\n.\r",
    b"\r\n.\n",
    b"\r.\r\n",
    b"\n.\r",
    b"\r\n.\x00\r\n",
    b"\r\n\x00.\r\n",
    b"\n\x00.\x00\n",
    b"\r\x00.\r\x00\n",
    b"\n\n.\n\n",
    b"\r\r\n.\r\r\n",
]
# The ones with a bare CR or LF (all but the two NUL-only variants).
BARE_VARIANTS = [v for v in FAKE_ENDS if v.replace(b"\r\n", b"").strip(b".\x00")]


def smuggling_message(fake_end: bytes) -> tuple[bytes, bytes]:
    """A body holding a fake terminator and a second transaction after it,
    then the genuine end and a pipelined QUIT."""
    body = (
        b"Subject: one\r\n\r\nfirst message" + fake_end + SMUGGLED + b"Subject: two\r\n\r\nsecond"
    )
    return body + b"\r\n.\r\n", b"QUIT\r\n"


@pytest.mark.parametrize("step", [None, 1, 2, 3, 7])
@pytest.mark.parametrize("fake_end", FAKE_ENDS, ids=repr)
def test_smuggling_never_ends_early(fake_end: bytes, step: int | None) -> None:
    message, after = smuggling_message(fake_end)
    reader = DataReader(max_size=MB)
    rest = feed_all(reader, message + after, step)
    assert reader.done
    assert rest == after  # done only at the true <CRLF>.<CRLF>
    expected = codes.BARE_NEWLINE if fake_end in BARE_VARIANTS else codes.NUL_IN_DATA
    assert reader.error == expected
    assert reader.content == b""  # nothing of a refused message is kept


@pytest.mark.parametrize("fake_end", BARE_VARIANTS, ids=repr)
def test_bare_newline_wins_over_other_errors(fake_end: bytes) -> None:
    long_line = b"x" * 2000 + b"\r\n"
    for body in (long_line + fake_end + b"\x00", b"\x00" + fake_end + long_line):
        for step in (None, 1):
            reader = DataReader(max_size=10)
            assert feed_all(reader, body + b"\r\n.\r\n", step) == b""
            assert reader.error == codes.BARE_NEWLINE


@pytest.mark.parametrize("fake_end", FAKE_ENDS, ids=repr)
def test_fake_end_right_at_start(fake_end: bytes) -> None:
    # The CRLF of the DATA command counts as the first CRLF (RFC 5321 4.1.1.4).
    reader = DataReader(max_size=MB)
    body = fake_end + SMUGGLED + b"x\r\n.\r\n"
    assert feed_all(reader, body, 1) == b""
    assert reader.error is not None


def test_terminator_needs_crlf_before_and_after() -> None:
    for data in (b"a\r\n.\r", b"a\n.\r\n", b"a\r\n. \r\n", b"a\r\n..\r\n"):
        reader = DataReader(max_size=MB)
        assert reader.feed(data) is None
        assert not reader.done


# --- clean messages ---------------------------------------------------------


@pytest.mark.parametrize("step", [None, 1, 2, 5])
def test_clean_message_and_pipelined_commands(step: int | None) -> None:
    body = b"Subject: hi\r\n\r\nline one\r\nline two\r\n"
    after = b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
    reader = DataReader(max_size=MB)
    assert feed_all(reader, body + b".\r\n" + after, step) == after
    assert reader.done and reader.error is None
    assert reader.content == body
    assert reader.size == len(body)


def test_empty_body() -> None:
    reader = DataReader(max_size=MB)
    assert reader.feed(b".\r\nQUIT\r\n") == b"QUIT\r\n"
    assert reader.content == b"" and reader.error is None


def test_empty_leftover_and_feed_after_done() -> None:
    reader = DataReader(max_size=MB)
    assert reader.feed(b"x\r\n.\r\n") == b""
    assert reader.feed(b"NOOP\r\n") == b"NOOP\r\n"
    assert reader.content == b"x\r\n"


def test_empty_lines_before_terminator() -> None:
    reader = DataReader(max_size=MB)
    assert reader.feed(b"\r\n\r\n.\r\n") == b""
    assert reader.content == b"\r\n\r\n"


@pytest.mark.parametrize("step", [None, 1])
def test_dot_unstuffing(step: int | None) -> None:
    # RFC 5321 4.5.2: a leading dot is removed from every line.
    wire = b"..x\r\n.\x20y\r\n...\r\nmid.dle\r\n..\r\n.\r\n"
    reader = DataReader(max_size=MB)
    assert feed_all(reader, wire, step) == b""
    assert reader.content == b".x\r\n y\r\n..\r\nmid.dle\r\n.\r\n"
    assert reader.size == len(reader.content)


def test_terminator_split_everywhere() -> None:
    wire = b"abc\r\n..def\r\n.\r\nQUIT\r\n"
    for cut in range(1, len(wire)):
        reader = DataReader(max_size=MB)
        first = reader.feed(wire[:cut])
        rest = first + wire[cut:] if first is not None else reader.feed(wire[cut:])
        assert rest == b"QUIT\r\n", cut
        assert reader.content == b"abc\r\n.def\r\n"


def test_take_content_streams() -> None:
    reader = DataReader(max_size=MB)
    reader.feed(b"one\r\ntwo\r\n")
    assert reader.take_content() == b"one\r\ntwo\r\n"
    assert reader.feed(b"three\r\n.\r\n") == b""
    assert reader.take_content() == b"three\r\n"
    assert reader.size == len(b"one\r\ntwo\r\nthree\r\n")


# --- limits -----------------------------------------------------------------


def test_size_limit_counts_unstuffed_content() -> None:
    reader = DataReader(max_size=6)
    assert reader.feed(b"..abc\r\n.\r\n") == b""  # ".abc\r\n" is 6 octets
    assert reader.error is None and reader.content == b".abc\r\n"
    reader = DataReader(max_size=5)
    assert reader.feed(b"..abc\r\n.\r\n") == b""
    assert reader.error == codes.MESSAGE_TOO_BIG and reader.content == b""


def test_size_limit_bounded_memory_50mb() -> None:
    reader = DataReader(max_size=MB)
    chunk = (b"x" * 78 + b"\r\n") * 800  # 64000 octets
    fed = 0
    peak = 0
    while fed < 50 * MB:
        assert reader.feed(chunk) is None
        fed += len(chunk)
        peak = max(peak, reader.buffered)
    assert reader.error == codes.MESSAGE_TOO_BIG
    assert peak <= MB + len(chunk)
    assert reader.buffered < 2000  # nothing kept after the error but a line
    assert reader.feed(b".\r\nQUIT\r\n") == b"QUIT\r\n"
    assert reader.size == fed


def test_one_huge_line_bounded_memory() -> None:
    reader = DataReader(max_size=100 * MB)
    block = b"y" * 65536
    for _ in range(200):  # 12.5 MB without a line end
        assert reader.feed(block) is None
        assert reader.buffered <= 1002
    assert reader.error == codes.TEXT_LINE_TOO_LONG
    assert reader.feed(b"\r\n.\r\nNOOP\r\n") == b"NOOP\r\n"
    assert reader.size == 200 * 65536 + 2


@pytest.mark.parametrize("step", [None, 1, 999, 1000, 1001])
def test_text_line_limit(step: int | None) -> None:
    # RFC 5321 4.5.3.1.6: 1000 octets including CRLF, not counting a stuffed dot.
    ok = b"a" * 998 + b"\r\n"
    ok_stuffed = b".." + b"b" * 997 + b"\r\n"
    reader = DataReader(max_size=MB)
    assert feed_all(reader, ok + ok_stuffed + b".\r\n", step) == b""
    assert reader.error is None
    assert reader.content == ok + b"." + b"b" * 997 + b"\r\n"
    for too_long in (b"a" * 999 + b"\r\n", b".." + b"b" * 998 + b"\r\n"):
        reader = DataReader(max_size=MB)
        assert feed_all(reader, ok + too_long + ok + b".\r\n", step) == b""
        assert reader.error == codes.TEXT_LINE_TOO_LONG


def test_long_line_followed_by_terminator() -> None:
    for step in (None, 1, 1500):
        reader = DataReader(max_size=MB)
        data = b"z" * 5000 + b"\r\n.\r\nRSET\r\n"
        assert feed_all(reader, data, step) == b"RSET\r\n"
        assert reader.error == codes.TEXT_LINE_TOO_LONG


def test_long_line_hides_no_terminator() -> None:
    # "\r\n.\r\n" inside what follows a long line's bare CR must not end DATA.
    reader = DataReader(max_size=MB)
    data = b"z" * 3000 + b"\r" + b"x" * 3000 + b"\n.\n" + b"ok\r\n.\r\n"
    assert feed_all(reader, data, 1) == b""
    assert reader.error == codes.BARE_NEWLINE


# --- differential property test against a line-by-line reference ------------


def reference(wire: bytes, max_line: int) -> tuple[int, bytes, bytes, set[str]]:
    """Straightforward line-by-line reading of RFC 5321 4.1.1.4 / 4.5.2:
    (end offset after the terminator or -1, content, leftover, problems)."""
    problems: set[str] = set()
    content = bytearray()
    pos = 0
    prev_crlf = True
    while True:
        lf = wire.find(b"\n", pos)
        if lf == -1:
            return -1, bytes(content), b"", problems
        line = wire[pos : lf + 1]
        if prev_crlf and line == b".\r\n":
            return lf + 1, bytes(content), wire[lf + 1 :], problems
        crlf = line.endswith(b"\r\n")
        if not crlf or b"\r" in line[:-2]:
            problems.add("bare")
        if b"\x00" in line:
            problems.add("nul")
        if prev_crlf and line.startswith(b"."):
            line = line[1:]
        if len(line) > max_line:
            problems.add("long")
        content += line
        prev_crlf = crlf
        pos = lf + 1


_NAMES = {
    codes.BARE_NEWLINE: "bare",
    codes.NUL_IN_DATA: "nul",
    codes.TEXT_LINE_TOO_LONG: "long",
}

_WIRE = st.lists(
    st.one_of(
        st.sampled_from(
            [b"\r\n", b".", b"..", b"\r", b"\n", b"\x00", b"\r\n.\r\n", b"a", b"x" * 30]
        ),
        st.binary(max_size=20),
    ),
    max_size=60,
).map(b"".join)


@settings(max_examples=400)
@given(_WIRE, st.lists(st.integers(min_value=0), max_size=12))
def test_matches_reference_for_any_input(wire: bytes, cuts: list[int]) -> None:
    max_line = 40
    end, content, leftover, problems = reference(wire, max_line)
    reader = DataReader(max_size=10**9, max_line=max_line)
    rest = feed_split(reader, wire, cuts)
    if end == -1:
        assert rest is None and not reader.done
        return
    assert rest == leftover
    assert reader.done
    assert reader.size == len(content)
    expected_error = next((r for r in _NAMES if _NAMES[r] in problems), None)
    assert reader.error == expected_error
    if expected_error is None:
        assert reader.content == content


_LINE = st.binary(max_size=120).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@settings(max_examples=300)
@given(st.lists(_LINE, max_size=40), st.lists(st.integers(min_value=0), max_size=20))
def test_round_trip_dot_stuffed(lines: list[bytes], cuts: list[int]) -> None:
    body = b"".join(line + b"\r\n" for line in lines)
    stuffed = b"".join(
        (b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines
    )
    wire = stuffed + b".\r\n" + b"QUIT\r\n"
    reader = DataReader(max_size=10**9)
    assert feed_split(reader, wire, cuts) == b"QUIT\r\n"
    expected = codes.NUL_IN_DATA if b"\x00" in body else None
    assert reader.error == expected
    if expected is None:
        assert reader.content == body


# --- CommandBuffer ----------------------------------------------------------


def lines_of(buf: CommandBuffer) -> list[bytes | codes.Reply]:
    out: list[bytes | codes.Reply] = []
    while True:
        try:
            line = buf.next_line()
        except LineError as e:
            out.append(e.reply)
            continue
        if line is None:
            return out
        out.append(line)


def test_command_lines() -> None:
    buf = CommandBuffer()
    buf.feed(b"EHLO a\r\nMAIL FROM:<a@b>\r\nRC")
    assert lines_of(buf) == [b"EHLO a", b"MAIL FROM:<a@b>"]
    assert buf.pending
    buf.feed(b"PT TO:<c@d>\r\n")
    assert lines_of(buf) == [b"RCPT TO:<c@d>"]
    assert not buf.pending


def test_command_cr_lf_split_across_feeds() -> None:
    buf = CommandBuffer()
    buf.feed(b"NOOP\r")
    assert buf.next_line() is None
    buf.feed(b"\nQUIT\r\n")
    assert lines_of(buf) == [b"NOOP", b"QUIT"]


@pytest.mark.parametrize(
    "data",
    [
        b"NOOP\nQUIT\r\n",
        b"NOOP\rQUIT\r\n",
        b"NOOP\r\rQUIT\r\n",
        b"\nQUIT\r\n",
    ],
)
def test_command_bare_newlines_refused(data: bytes) -> None:
    buf = CommandBuffer()
    buf.feed(data)
    result = lines_of(buf)
    assert result[0] == codes.BARE_NEWLINE
    assert b"QUIT" not in result[:1]


def test_bare_lf_line_consumed_up_to_its_lf() -> None:
    buf = CommandBuffer()
    buf.feed(b"MAIL FROM:<a@b>\nRCPT TO:<c@d>\r\n")
    assert lines_of(buf) == [codes.BARE_NEWLINE, b"RCPT TO:<c@d>"]


def test_bare_cr_refused_without_waiting_for_lf() -> None:
    buf = CommandBuffer()
    buf.feed(b"NOOP\rMAIL FROM:<x@y>\r")
    assert lines_of(buf) == [codes.BARE_NEWLINE]
    assert buf.skipping
    buf.feed(b"more\r\nQUIT\r\n")  # the rest of the bad line is discarded
    assert lines_of(buf) == [b"QUIT"]


def test_command_nul_refused() -> None:
    buf = CommandBuffer()
    buf.feed(b"NO\x00OP\r\nQUIT\r\n")
    assert lines_of(buf) == [codes.NUL_IN_COMMAND, b"QUIT"]


def test_command_line_limit_includes_crlf() -> None:
    buf = CommandBuffer(max_line=512)
    ok = b"N" * 510
    buf.feed(ok + b"\r\n" + b"N" * 511 + b"\r\nQUIT\r\n")
    assert lines_of(buf) == [ok, codes.LINE_TOO_LONG, b"QUIT"]


def test_long_line_skipped_across_feeds_in_bounded_memory() -> None:
    buf = CommandBuffer(max_line=512)
    buf.feed(b"MAIL FROM:<" + b"a" * 600)
    assert lines_of(buf) == [codes.LINE_TOO_LONG]
    assert buf.skipping and not buf.pending
    for _ in range(1000):  # 64 MB more of the same line
        buf.feed(b"b" * 65536)
        assert lines_of(buf) == []
        assert len(buf._buf) <= 512
    buf.feed(b">\r\nRCPT TO:<x@y>\r\n")
    assert lines_of(buf) == [b"RCPT TO:<x@y>"]
    assert not buf.skipping


def test_long_line_detected_byte_by_byte() -> None:
    buf = CommandBuffer(max_line=16)
    out: list[bytes | codes.Reply] = []
    for byte in b"x" * 40 + b"\r\nQUIT\r\n":
        buf.feed(bytes([byte]))
        out += lines_of(buf)
    assert out == [codes.LINE_TOO_LONG, b"QUIT"]


def test_take_rest() -> None:
    buf = CommandBuffer()
    buf.feed(b"STARTTLS\r\nMAIL FROM:<injected@evil>\r\nRCPT")
    assert buf.next_line() == b"STARTTLS"
    assert buf.take_rest() == b"MAIL FROM:<injected@evil>\r\nRCPT"
    assert not buf.pending
    assert buf.next_line() is None
    assert buf.take_rest() == b""


def test_take_rest_ends_skipping() -> None:
    buf = CommandBuffer(max_line=8)
    buf.feed(b"x" * 20)
    assert lines_of(buf) == [codes.LINE_TOO_LONG]
    buf.take_rest()
    buf.feed(b"EHLO\r\n")
    assert lines_of(buf) == [b"EHLO"]


@given(st.binary(max_size=2000), st.lists(st.integers(min_value=0), max_size=10))
def test_command_buffer_total_and_bounded(data: bytes, cuts: list[int]) -> None:
    buf = CommandBuffer(max_line=64)
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    for a, b in itertools.pairwise(points):
        buf.feed(data[a:b])
        for item in lines_of(buf):
            if isinstance(item, bytes):
                assert b"\r" not in item and b"\n" not in item and b"\x00" not in item
                assert len(item) <= 62
        assert len(buf._buf) - buf._pos < 64


# --- BDAT chunks and find_bare_newline --------------------------------------


def test_chunk_reader() -> None:
    reader = ChunkReader(10)
    assert reader.feed(b"0123") is None
    assert not reader.done
    assert reader.feed(b"456789BDAT 0 LAST\r\n") == b"BDAT 0 LAST\r\n"
    assert reader.done and reader.chunk == b"0123456789"
    assert reader.feed(b"x") == b"x"


def test_chunk_reader_binary_and_exact() -> None:
    reader = ChunkReader(4)
    assert reader.feed(b"\x00\r\n.") == b""
    assert reader.chunk == b"\x00\r\n."


def test_chunk_reader_zero() -> None:
    reader = ChunkReader(0)
    assert reader.done and reader.chunk == b""
    assert reader.feed(b"QUIT\r\n") == b"QUIT\r\n"


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0), max_size=10))
def test_chunk_reader_any_split(data: bytes, cuts: list[int]) -> None:
    size = len(data) // 2
    reader = ChunkReader(size)
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    rest = b"" if size == 0 else None
    for a, b in itertools.pairwise(points):
        if rest is not None:
            rest += data[a:b]
        else:
            rest = reader.feed(data[a:b])
    assert reader.chunk == data[:size] and rest == data[size:]


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"", None),
        (b"a\r\nb\r\n", None),
        (b"a\nb", 1),
        (b"a\rb", 1),
        (b"a\r\n\n", 3),
        (b"a\r\r\n", 1),
        (b"\n", 0),
        (b"abc\r", 3),
    ],
)
def test_find_bare_newline(data: bytes, offset: int | None) -> None:
    assert find_bare_newline(data) == offset


def test_find_bare_newline_not_final() -> None:
    assert find_bare_newline(b"abc\r", final=False) is None
    assert find_bare_newline(b"a\rbc\r", final=False) == 1
    assert find_bare_newline(b"abc\r\r", final=False) == 3
