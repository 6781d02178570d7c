"""Greeting, EHLO/HELO, NOOP, HELP, VRFY, RSET, QUIT, unknown commands, limits."""

from __future__ import annotations

from pathlib import Path

from smtp_harness import Session


def test_greeting_and_ehlo_extensions(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.lines() == ["220 mail.example.test ESMTP mailgateway"]
    lines = s.ehlo()
    assert lines[0].startswith("250-mail.example.test Hello client.example [192.0.2.10]")
    keywords = [line[4:] for line in lines[1:]]
    assert keywords == [
        "PIPELINING",
        "SIZE 10000",
        "8BITMIME",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
        "DSN",
        "SMTPUTF8",
        "CHUNKING",
    ]  # no AUTH before TLS from an untrusted network
    assert lines[-1].startswith("250 ")


def test_auth_offered_on_trusted_network_without_tls(tmp_path: Path) -> None:
    s = Session(tmp_path, trusted_networks=(__import__("ipaddress").ip_network("192.0.2.0/24"),))
    assert "250-AUTH PLAIN LOGIN" in s.ehlo()


def test_helo_has_no_extensions(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.send(b"HELO client.example\r\n") == [
        "250 mail.example.test Hello client.example [192.0.2.10]"
    ]


def test_bad_helo_argument(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.codes(b"EHLO\r\n")[0].startswith("501")
    assert s.codes(b"EHLO bad..name\r\n")[0].startswith("501")


def test_simple_commands(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.ehlo()
    assert s.codes(b"NOOP\r\n") == ["250 2.0.0"]
    assert s.codes(b"HELP\r\n") == ["214 2.0.0"]
    assert s.codes(b"VRFY alice\r\n") == ["252 2.5.0"]
    assert s.codes(b"EXPN sales\r\n") == ["502 5.5.1"]
    assert s.codes(b"RSET\r\n") == ["250 2.0.0"]
    assert s.codes(b"FROB\r\n") == ["500 5.5.1"]
    assert s.codes(b"QUIT\r\n") == ["221 2.0.0"]
    assert s.closed


def test_vrfy_can_be_turned_off(tmp_path: Path) -> None:
    s = Session(tmp_path, vrfy="off")
    assert s.codes(b"VRFY alice\r\n") == ["502 5.5.1"]


def test_too_many_errors_disconnects(tmp_path: Path) -> None:
    s = Session(tmp_path, max_errors=3)
    replies = s.codes(b"FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n")
    assert replies == ["500 5.5.1", "500 5.5.1", "500 5.5.1", "421 4.7.0"]
    assert s.closed


def test_command_line_too_long(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.ehlo()
    assert s.codes(b"NOOP " + b"x" * 600 + b"\r\nNOOP\r\n") == ["500 5.5.2", "250 2.0.0"]


def test_bare_lf_in_command_is_refused(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.ehlo()
    replies = s.codes(b"NOOP\nNOOP\r\n")
    assert replies[0] == "550 5.5.2"


def test_idle_timeout(tmp_path: Path) -> None:
    s = Session(tmp_path, command_timeout=300.0)
    s.clock.advance(299)
    assert not s.closed
    s.transport.clear()
    s.clock.advance(2)
    assert s.lines() == ["421 4.4.2 Timeout exceeded, closing transmission channel"]
    assert s.closed


def test_connection_limits_per_ip_and_total(tmp_path: Path) -> None:
    s = Session(tmp_path, max_connections_per_ip=2, max_connections=3)
    second, _t2 = s.connect()
    third, t3 = s.connect()
    assert t3.value().startswith(b"421 4.7.0")
    assert t3.disconnecting
    third.connectionLost()
    s.client_ip = "192.0.2.99"
    _fourth, t4 = s.connect()
    assert t4.value().startswith(b"220")
    s.client_ip = "192.0.2.100"
    _fifth, t5 = s.connect()
    assert t5.value().startswith(b"421 4.7.0")  # 3 in all
    second.connectionLost()
    _sixth, t6 = s.connect()
    assert t6.value().startswith(b"220")


def test_garbage_never_breaks_the_session(tmp_path: Path) -> None:
    s = Session(tmp_path, max_errors=1000)
    s.send(bytes(range(256)) * 20 + b"\r\n")
    assert not s.closed
    assert s.codes(b"\r\nNOOP\r\n")[-1] == "250 2.0.0"


def test_thousands_of_pipelined_commands_in_one_packet(tmp_path: Path) -> None:
    """Synchronous replies must not recurse once per pipelined command."""
    s = Session(tmp_path)
    s.ehlo()
    replies = s.codes(b"NOOP\r\n" * 5000 + b"QUIT\r\n")
    assert replies == ["250 2.0.0"] * 5000 + ["221 2.0.0"]
