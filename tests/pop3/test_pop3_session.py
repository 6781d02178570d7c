"""Greeting, CAPA, NOOP, unknown commands, states, pipelining and the limits."""

from __future__ import annotations

import re
from pathlib import Path

from pop3_harness import ALICE, Session, captured_logs
from zope.interface.verify import verifyObject

from gateway.interfaces import IMaildrop, IMaildropOpener
from gateway.pop3.server import POP3Factory, POP3ServerProtocol, State


def test_in_memory_store_fulfils_the_interfaces(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert verifyObject(IMaildropOpener, s.opener)
    s.login()
    assert verifyObject(IMaildrop, s.opener.last)


def test_greeting_carries_a_unique_apop_timestamp(tmp_path: Path) -> None:
    s = Session(tmp_path)
    m = re.fullmatch(
        r"\+OK pop\.example\.test POP3 mailgateway ready (<\d+\.\d+\.\d+@pop\.example\.test>)",
        s.greeting,
    )
    assert m is not None, s.greeting
    _, t2 = s.connect()
    assert m.group(1) not in t2.value().decode()  # RFC 1939 7: different every time


def test_no_timestamp_without_apop(tmp_path: Path) -> None:
    s = Session(tmp_path, apop=False)
    assert s.greeting == "+OK pop.example.test POP3 mailgateway ready"
    assert s.status(b"APOP alice@example.test " + b"0" * 32 + b"\r\n") == [
        "-ERR APOP is not available"
    ]


def test_capa_before_and_after_login_under_tls(tmp_path: Path) -> None:
    s = Session(tmp_path)
    lines = s.send(b"CAPA\r\n")
    assert lines == [
        "+OK Capability list follows",
        "TOP",
        "UIDL",
        "RESP-CODES",
        "AUTH-RESP-CODE",
        "PIPELINING",
        "USER",
        "SASL PLAIN LOGIN",
        "EXPIRE NEVER",
        "IMPLEMENTATION mailgateway",
        ".",
    ]
    s.login()
    lines = s.send(b"CAPA\r\n")
    assert "USER" not in lines and "SASL PLAIN LOGIN" not in lines and "STLS" not in lines
    assert lines[1:3] == ["TOP", "UIDL"] and lines[-1] == "."


def test_capa_without_tls_offers_stls_and_no_plaintext_login(tmp_path: Path) -> None:
    s = Session(tmp_path, secure=False)
    lines = s.send(b"CAPA\r\n")
    assert "STLS" in lines
    assert "USER" not in lines
    assert not any(line.startswith("SASL") for line in lines)


def test_capa_without_tls_configured_has_no_stls(tmp_path: Path) -> None:
    s = Session(tmp_path, secure=False, tls=None)
    s.config.tls = None
    assert "STLS" not in s.send(b"CAPA\r\n")


def test_unknown_and_misplaced_commands(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.status(b"FROB\r\n") == ["-ERR Unknown command"]
    assert s.status(b"XTND foo\r\n") == ["-ERR Unknown command"]
    assert s.status(b"\r\n") == ["-ERR Empty command"]
    assert s.status(b"STAT\r\n") == ["-ERR Command not valid before login"]
    assert s.status(b"RETR 1\r\n") == ["-ERR Command not valid before login"]
    assert s.status(b"NOOP\r\n") == ["-ERR Command not valid before login"]
    s.login()
    assert s.status(b"USER bob@example.test\r\n") == ["-ERR Command not valid after login"]
    assert s.status(b"AUTH PLAIN\r\n") == ["-ERR Command not valid after login"]
    assert s.status(b"noop\r\n") == ["+OK"]  # RFC 1939 3: keywords are case-insensitive
    assert s.status(b"NOOP extra\r\n") == ["-ERR This command takes no arguments"]
    assert s.protocol.state is State.TRANSACTION


def test_quit_in_authorization(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.status(b"QUIT\r\n") == ["+OK Logging out"]
    assert s.closed


def test_command_line_too_long_is_refused_and_discarded(tmp_path: Path) -> None:
    s = Session(tmp_path)
    # RFC 2449 4: 255 octets including CRLF
    assert s.status(b"USER " + b"a" * 248 + b"\r\n")[0].startswith("+OK")  # 255 in all
    assert s.status(b"USER " + b"a" * 249 + b"\r\nCAPA\r\n")[:2] == [
        "-ERR Command line too long (at most 255 octets)",
        "+OK Capability list follows",
    ]
    # a long line that arrives in pieces is discarded up to its end
    assert s.status(b"X" * 300) == ["-ERR Command line too long (at most 255 octets)"]
    assert s.status(b"Y" * 300) == []
    assert s.status(b"ZZZ\r\nQUIT\r\n") == ["+OK Logging out"]


def test_repeated_errors_disconnect(tmp_path: Path) -> None:
    s = Session(tmp_path, max_errors=3)
    assert s.status(b"FOO\r\n" + b"x" * 300 + b"\r\nBAR\r\nCAPA\r\n") == [
        "-ERR Unknown command",
        "-ERR Command line too long (at most 255 octets)",
        "-ERR Unknown command",
        "-ERR Too many errors, closing connection",
    ]
    assert s.closed


def test_bare_newline_and_nul(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.status(b"NOOP\nCAPA\r\n")[0] == "-ERR Lines must end with CRLF"
    assert s.status(b"US\x00R\r\n") == ["-ERR NUL is not allowed in commands"]
    assert s.status(b"USER \x01x\r\n") == ["-ERR Control characters are not allowed in commands"]


def test_autologout_timer(tmp_path: Path) -> None:
    """RFC 1939 3: inactivity closes without a reply and without UPDATE."""
    s = Session(tmp_path)
    s.login()
    s.send(b"DELE 1\r\n")
    s.clock.advance(599)
    s.send(b"NOOP\r\n")  # activity resets the timer
    s.clock.advance(599)
    assert not s.closed
    s.transport.clear()
    s.clock.advance(2)
    assert s.closed
    assert s.transport.value() == b""
    s.lose()
    assert s.opener.last.commits == []
    assert s.opener.last.released == 1


def test_timeout_is_configurable(tmp_path: Path) -> None:
    s = Session(tmp_path, timeout=30.0)
    s.clock.advance(31)
    assert s.closed


def test_connection_limits_overall_and_per_ip(tmp_path: Path) -> None:
    s = Session(tmp_path, max_connections=3, max_connections_per_ip=2)
    second, _ = s.connect()
    third, t3 = s.connect()
    assert t3.value() == b"-ERR [SYS/TEMP] Too many connections, try again later\r\n"
    assert t3.disconnecting
    third.connectionLost()
    s.client_ip = "192.0.2.99"
    _, t4 = s.connect()
    assert t4.value().startswith(b"+OK")
    s.client_ip = "192.0.2.100"
    _, t5 = s.connect()
    assert t5.value().startswith(b"-ERR [SYS/TEMP]")  # 3 in all
    second.connectionLost()
    _, t6 = s.connect()
    assert t6.value().startswith(b"+OK")


def test_thousands_of_pipelined_commands_in_one_packet(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.login()
    replies = s.status(b"NOOP\r\n" * 5000 + b"STAT\r\n")
    total = sum(len(m) for m in s.opener.last.contents)
    assert replies == ["+OK"] * 5000 + [f"+OK 3 {total}"]


def test_pipelined_login_and_commands_in_one_packet(tmp_path: Path) -> None:
    s = Session(tmp_path)
    out = s.raw(b"CAPA\r\nUSER alice@example.test\r\nPASS wonderland\r\nSTAT\r\nQUIT\r\n")
    text = out.decode()
    assert text.index("+OK Capability") < text.index("+OK Send PASS") < text.index("+OK Logged")
    assert text.endswith("+OK pop.example.test signing off (3 messages left)\r\n")


def test_each_reply_is_one_write(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.login()
    writes: list[bytes] = []  # one call per reply: write, or writeSequence for RETR's pieces
    original = s.transport.write
    s.transport.write = lambda data: (writes.append(data), original(data))[1]  # type: ignore[method-assign]
    s.transport.writeSequence = lambda seq: s.transport.write(b"".join(seq))  # type: ignore[method-assign]
    s.send(b"LIST\r\nRETR 1\r\nTOP 3 1\r\nUIDL\r\nCAPA\r\n")
    assert len(writes) == 5
    assert all(w.endswith(b".\r\n") for w in writes)


def test_session_end_is_logged_once_with_counts(tmp_path: Path) -> None:
    s = Session(tmp_path)
    with captured_logs() as logs:
        s.login()
        s.send(b"RETR 1\r\nRETR 2\r\nDELE 1\r\nNOOP\r\nLIST\r\n")
        s.send(b"QUIT\r\n")
        s.lose()
    assert logs == [
        f"pop3: 192.0.2.10: {ALICE} logged in (USER; 3 messages, "
        f"{sum(len(m) for m in s.opener.last.contents)} octets)",
        f"pop3: 192.0.2.10: {ALICE} logged out: 2 retrieved, 1 deleted",
    ]


def test_factory_builds_protocols(tmp_path: Path) -> None:
    s = Session(tmp_path)
    factory = POP3Factory(s.config)
    protocol = factory.buildProtocol(None)
    assert isinstance(protocol, POP3ServerProtocol)
    assert protocol.factory is factory
    assert protocol.config is s.config
