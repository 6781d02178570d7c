"""CAPABILITY, LOGIN, AUTHENTICATE PLAIN/LOGIN with SASL-IR (RFC 3501 6.1-6.2,
RFC 4959), LOGINDISABLED, the failed-login throttle, sessions per user."""

from __future__ import annotations

import base64
from pathlib import Path

from gateway.imap.server import State
from gateway.limits import ConnectionLimiter
from tests.imap.imap_harness import ALICE, BOB, Server, captured_logs


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_greeting_and_capability_before_login(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    assert c.greeting.startswith("* OK [CAPABILITY IMAP4rev1 ")
    caps = c.ok("CAPABILITY")[0].split()[2:]
    assert "AUTH=PLAIN" in caps and "AUTH=LOGIN" in caps and "SASL-IR" in caps
    assert "LOGINDISABLED" not in caps and "STARTTLS" not in caps  # imaps
    assert "IDLE" in caps and "LITERAL+" in caps
    # the post-login extensions only once they work
    assert "MOVE" not in caps and "CONDSTORE" not in caps


def test_plaintext_without_tls_is_refused(tmp_path: Path) -> None:
    c = Server(tmp_path, secure=False).connect()
    caps = c.ok("CAPABILITY")[0].split()
    assert "LOGINDISABLED" in caps and "STARTTLS" in caps
    assert not [x for x in caps if x.startswith("AUTH=")]
    assert c.no("LOGIN alice@example.test wonderland").tagged.startswith("NO [PRIVACYREQUIRED]")
    assert c.no("AUTHENTICATE PLAIN").tagged.startswith("NO [PRIVACYREQUIRED]")
    assert c.protocol.state is State.NOT_AUTHENTICATED


def test_trusted_network_may_log_in_without_tls(tmp_path: Path) -> None:
    import ipaddress

    server = Server(
        tmp_path, secure=False, trusted_networks=(ipaddress.ip_network("192.0.2.0/24"),)
    )
    c = server.connect()
    assert "AUTH=PLAIN" in c.ok("CAPABILITY")[0]
    c.login()


def test_login(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    with captured_logs() as logs:
        reply = c.command('LOGIN "alice@example.test" wonderland')
    assert reply.status == "OK"
    assert reply.tagged.startswith("OK [CAPABILITY IMAP4rev1 ")
    for cap in ("MOVE", "UIDPLUS", "CONDSTORE", "ESEARCH", "NAMESPACE", "UNSELECT", "SPECIAL-USE"):
        assert cap in reply.tagged.split()
    assert c.protocol.state is State.AUTHENTICATED
    assert any("alice@example.test logged in (LOGIN, TLS)" in line for line in logs)
    assert (
        c.bad("LOGIN alice@example.test wonderland").tagged == "BAD Command not valid after login."
    )
    with captured_logs() as logs:
        c.ok("LOGOUT")
        c.lose()
    assert any("session ended (3 commands)" in line for line in logs)


def test_login_failure(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    assert (
        c.no("LOGIN alice@example.test wrong").tagged
        == "NO [AUTHENTICATIONFAILED] Authentication failed."
    )
    assert c.no("LOGIN nobody@example.test x").status == "NO"
    assert c.protocol.state is State.NOT_AUTHENTICATED
    assert c.bad("SELECT INBOX").tagged == "BAD Command not valid before login."


def test_authenticate_plain_with_initial_response(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    reply = c.command("AUTHENTICATE PLAIN " + b64(b"\0alice@example.test\0wonderland"))
    assert reply.status == "OK" and c.protocol.user == ALICE


def test_authenticate_plain_with_challenge(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    assert c.send(b"a AUTHENTICATE PLAIN\r\n") == ["+ "]
    lines = c.send(b64(b"\0bob@example.test\0builder").encode() + b"\r\n")
    assert lines[-1].startswith("a OK [CAPABILITY")
    assert c.protocol.user == BOB


def test_authenticate_login_and_cancel(tmp_path: Path) -> None:
    c = Server(tmp_path).connect()
    assert c.send(b"a AUTHENTICATE LOGIN\r\n") == ["+ " + b64(b"Username:")]
    assert c.send(b64(b"alice@example.test").encode() + b"\r\n") == ["+ " + b64(b"Password:")]
    assert c.send(b"*\r\n") == ["a BAD Authentication cancelled"]
    assert c.send(b"b AUTHENTICATE PLAIN\r\n") == ["+ "]
    assert c.send(b"!!notbase64\r\n") == ["b BAD Invalid base64 or malformed SASL response"]
    assert c.no("AUTHENTICATE CRAM-MD5").tagged == "NO Unsupported authentication mechanism"
    assert c.protocol.state is State.NOT_AUTHENTICATED
    reply = c.command("AUTHENTICATE PLAIN " + b64(b"other\0alice@example.test\0wonderland"))
    assert reply.tagged.startswith("NO [AUTHENTICATIONFAILED]")  # no proxy authorization


def test_failed_logins_are_delayed_then_disconnected(tmp_path: Path) -> None:
    server = Server(
        tmp_path, auth_failures_before_delay=2, max_auth_failures=3, auth_failure_delay=5.0
    )
    c = server.connect()
    assert c.no("LOGIN alice@example.test x").status == "NO"
    # the second failure is answered only after the delay
    assert c.send(b"t LOGIN alice@example.test y\r\n") == []
    server.clock.advance(5)
    assert c.lines() == ["t NO [AUTHENTICATIONFAILED] Authentication failed."]
    assert c.no("LOGIN alice@example.test z").status == "NO"
    assert c.closed
    # the throttle is per client IP and shared: a new connection is refused at once
    again = server.connect()
    assert again.no("LOGIN alice@example.test wonderland").tagged.startswith("NO [UNAVAILABLE]")
    assert again.closed
    server.connect("192.0.2.99").login()


def test_sessions_per_user(tmp_path: Path) -> None:
    server = Server(tmp_path, user_sessions=ConnectionLimiter(1 << 30, 2))
    first, second, third = server.connect(), server.connect(), server.connect()
    first.login()
    second.login()
    assert third.no("LOGIN alice@example.test wonderland").tagged.startswith("NO [LIMIT]")
    third.login(BOB, "builder")
    first.ok("LOGOUT")
    first.lose()
    server.connect().login()
