"""CHUNKING / BDAT (RFC 3030)."""

from __future__ import annotations

from pathlib import Path

from smtp_harness import Session

MSG = b"Subject: chunks\r\n\r\nfirst part\r\nsecond part\r\n"


def test_chunks_then_last(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.ehlo()
    a, b = MSG[:20], MSG[20:]
    replies = s.codes(
        b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
        + b"BDAT %d\r\n" % len(a)
        + a
        + b"BDAT %d LAST\r\n" % len(b)
        + b
        + b"NOOP\r\n"
    )
    assert replies == ["250 2.1.0", "250 2.1.5", "250 2.0.0", "250 2.0.0", "250 2.0.0"]
    ((_env, content, _qid),) = s.bus.submitted
    assert content.endswith(MSG)
    assert content.startswith(b"Received: ")


def test_chunk_bytes_are_not_commands(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.ehlo()
    payload = b"QUIT\r\nRSET\r\n"
    replies = s.codes(
        b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
        + b"BDAT %d LAST\r\n" % len(payload)
        + payload
    )
    assert replies == ["250 2.1.0", "250 2.1.5", "250 2.0.0"]
    assert not s.closed


def test_bdat_without_mail_consumes_the_chunk(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.ehlo()
    assert s.codes(b"BDAT 6 LAST\r\nNOOP\r\nNOOP\r\n") == ["503 5.5.1", "250 2.0.0"]


def test_data_after_bdat_is_refused(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.ehlo()
    replies = s.codes(
        b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nBDAT 3\r\nabcDATA\r\n"
    )
    assert replies == ["250 2.1.0", "250 2.1.5", "250 2.0.0", "503 5.5.1"]


def test_bare_lf_in_chunks_refused_at_last(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.ehlo()
    body = b"Subject: x\n\nbody\n"
    replies = s.codes(
        b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
        + b"BDAT %d LAST\r\n" % len(body)
        + body
    )
    assert replies[-1] == "550 5.5.2"
    assert s.bus.submitted == []


def test_size_limit_across_chunks(tmp_path: Path) -> None:
    s = Session(tmp_path, max_message_size=30)
    s.ehlo()
    replies = s.codes(
        b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
        + b"BDAT 20\r\n"
        + b"x" * 20
        + b"BDAT 20 LAST\r\n"
        + b"y" * 20
    )
    assert replies == ["250 2.1.0", "250 2.1.5", "250 2.0.0", "552 5.3.4"]
    assert s.bus.submitted == []


def test_empty_last_chunk(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.ehlo()
    replies = s.codes(
        b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
        + b"BDAT %d\r\n" % len(MSG)
        + MSG
        + b"BDAT 0 LAST\r\nNOOP\r\n"
    )
    assert replies == ["250 2.1.0", "250 2.1.5", "250 2.0.0", "250 2.0.0", "250 2.0.0"]
    ((_env, content, _qid),) = s.bus.submitted
    assert content.endswith(MSG)


def test_huge_announced_chunk_is_read_but_never_held(tmp_path: Path) -> None:
    s = Session(tmp_path, max_message_size=1000)
    s.ehlo()
    s.send(b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n")
    size = 50 * 1024 * 1024
    s.transport.clear()
    s.protocol.dataReceived(b"BDAT %d LAST\r\n" % size)
    block = b"z" * (1024 * 1024)
    for _ in range(50):
        s.protocol.dataReceived(block)
        reader = s.protocol.reader
        assert reader is None or len(reader.chunk) == 0  # nothing kept
    (answer,) = s.lines()
    assert answer.startswith("552 5.3.4")
    assert s.codes(b"NOOP\r\n") == ["250 2.0.0"]
    assert s.bus.submitted == []
