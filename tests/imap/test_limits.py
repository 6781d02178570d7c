"""Hostile input and limits: BAD not disconnects, line and literal limits
(RFC 7888), connections per IP, error limit, autologout (RFC 3501 5.4)."""

from __future__ import annotations

from pathlib import Path

from tests.imap.imap_harness import Server


def test_syntax_errors_get_bad(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    assert c.send(b"\r\n") == ["* BAD Empty command"]
    assert c.send(b"a1 FROBNICATE\r\n") == ["a1 BAD Unknown command FROBNICATE"]
    assert c.send(b"a2 LOGIN\r\n") == ["a2 BAD Missing argument"]
    assert c.send(b"(x NOOP\r\n") == ["* BAD Invalid tag"]
    assert c.send(b"a3 NOOP\x00\r\n") == ["a3 BAD NUL octets are not allowed in commands"]
    assert not c.closed
    c.login()


def test_long_line_refused(tmp_path: Path) -> None:
    c = Server(tmp_path, max_line=100).connect()
    assert c.send(b"a LOGIN " + b"x" * 200 + b"\r\n") == ["a BAD Command line too long"]
    c.login()


def test_literal_too_big_refused_before_data(tmp_path: Path) -> None:
    c = Server(tmp_path, max_literal=1000).connect()
    c.login()
    assert "APPENDLIMIT=1000" in c.ok("CAPABILITY")[0]
    assert c.send(b"a APPEND Sent {1001}\r\n") == ["a NO [TOOBIG] Literal too big"]
    # LITERAL+: read and discard, then BAD
    lines = c.send(b"b APPEND Sent {2000+}\r\n" + b"x" * 2000 + b"\r\nc NOOP\r\n")
    assert lines == ["b BAD [TOOBIG] Literal too big", "c OK NOOP completed."]


def test_pipelined_commands_answered_in_order_in_one_write(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    c.login()
    writes: list[bytes] = []
    c.transport.write = writes.append  # type: ignore[method-assign]
    c.protocol.dataReceived(b"a SELECT INBOX\r\nb FETCH 1 UID\r\nc NOOP\r\n")
    assert len(writes) == 1
    tags = [line[:2] for line in writes[0].split(b"\r\n") if line[:2] in (b"a ", b"b ", b"c ")]
    assert tags == [b"a ", b"b ", b"c "]


def test_connections_per_ip(tmp_path: Path) -> None:
    server = Server(tmp_path, max_connections_per_ip=2)
    server.connect()
    second = server.connect()
    third = server.connect()
    assert third.closed and "BYE [UNAVAILABLE]" in third.greeting
    second.lose()
    assert not server.connect().closed
    assert not server.connect("192.0.2.77").closed


def test_too_many_errors_disconnect(tmp_path: Path) -> None:
    c = Server(tmp_path, max_errors=3).connect()
    c.send(b"a FOO\r\nb FOO\r\n")
    assert not c.closed
    assert c.send(b"c FOO\r\n") == [
        "c BAD Unknown command FOO",
        "* BYE Too many invalid commands.",
    ]
    assert c.closed


def test_autologout(tmp_path: Path) -> None:
    server = Server(tmp_path, login_timeout=60.0, timeout=1800.0)
    c = server.connect()
    server.clock.advance(61)
    assert c.closed
    c = server.connect()
    c.login()
    server.clock.advance(1799)
    assert not c.closed
    c.ok("NOOP")  # activity resets the timer
    server.clock.advance(1799)
    assert not c.closed
    server.clock.advance(2)
    assert c.closed and c.written() == ["* BYE Autologout; idle for too long."]


def test_logout(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    assert c.send(b"a LOGOUT\r\nb NOOP\r\n") == ["* BYE Logging out.", "a OK Logout completed."]
    assert c.closed
