"""AUTH (RFC 5034): SASL PLAIN and LOGIN, the mechanism list, cancel, bad data."""

from __future__ import annotations

import base64
from pathlib import Path

from pop3_harness import Session

from gateway.pop3.server import State


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def test_bare_auth_lists_mechanisms(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.send(b"AUTH\r\n") == ["+OK Methods supported:", "PLAIN", "LOGIN", "."]


def test_bare_auth_lists_nothing_when_plaintext_is_not_allowed(tmp_path: Path) -> None:
    s = Session(tmp_path, secure=False)
    assert s.send(b"AUTH\r\n") == ["+OK Methods supported:", "."]
    assert s.status(b"AUTH PLAIN " + b64(b"\0alice@example.test\0wonderland") + b"\r\n") == [
        "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections, use STLS"
    ]


def test_plain_with_initial_response(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.status(b"AUTH PLAIN " + b64(b"\0alice@example.test\0wonderland") + b"\r\n")[
        0
    ].startswith("+OK Logged in, 3 messages")
    assert s.protocol.state is State.TRANSACTION


def test_plain_with_authzid_of_oneself(tmp_path: Path) -> None:
    s = Session(tmp_path)
    msg = b"alice@example.test\0alice@example.test\0wonderland"
    assert s.status(b"AUTH PLAIN " + b64(msg) + b"\r\n")[0].startswith("+OK Logged in")


def test_plain_refuses_acting_as_someone_else(tmp_path: Path) -> None:
    """RFC 4616 2: no proxy authorization, even with the right password."""
    s = Session(tmp_path)
    msg = b"bob@example.test\0alice@example.test\0wonderland"
    assert s.status(b"AUTH PLAIN " + b64(msg) + b"\r\n") == ["-ERR [AUTH] Authentication failed"]
    assert s.protocol.state is State.AUTHORIZATION


def test_plain_with_a_continuation(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.raw(b"AUTH plain\r\n") == b"+ \r\n"  # RFC 5034 4: empty challenge
    assert s.status(b64(b"\0bob@example.test\0builder") + b"\r\n") == [
        "+OK Logged in, 0 messages (0 octets)"
    ]


def test_plain_wrong_password(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.status(b"AUTH PLAIN " + b64(b"\0alice@example.test\0nope") + b"\r\n") == [
        "-ERR [AUTH] Authentication failed"
    ]


def test_login_mechanism(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.raw(b"AUTH LOGIN\r\n") == b"+ VXNlcm5hbWU6\r\n"
    assert s.raw(b64(b"alice@example.test") + b"\r\n") == b"+ UGFzc3dvcmQ6\r\n"
    assert s.status(b64(b"wonderland") + b"\r\n")[0].startswith("+OK Logged in")


def test_login_mechanism_with_initial_response(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.raw(b"AUTH LOGIN " + b64(b"bob@example.test") + b"\r\n") == b"+ UGFzc3dvcmQ6\r\n"
    assert s.status(b64(b"builder") + b"\r\n")[0].startswith("+OK Logged in")


def test_cancel_with_star(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.send(b"AUTH LOGIN\r\n")
    assert s.status(b"*\r\n") == ["-ERR Authentication cancelled"]
    # the next line is a command again
    assert s.status(b"CAPA\r\n") == ["+OK Capability list follows"]


def test_bad_base64_and_malformed_plain(tmp_path: Path) -> None:
    s = Session(tmp_path)
    bad = ["-ERR Invalid base64 or malformed SASL response"]
    assert s.status(b"AUTH PLAIN !!!notbase64\r\n") == bad
    assert s.status(b"AUTH PLAIN " + b64(b"no nuls at all") + b"\r\n") == bad
    assert s.status(b"AUTH PLAIN " + b64(b"\0alice@example.test\0") + b"\r\n") == bad
    assert s.status(b"AUTH PLAIN =\r\n") == bad  # "=": empty response, not a PLAIN message
    s.send(b"AUTH PLAIN\r\n")
    assert s.status(b"abc\r\n") == bad


def test_unknown_mechanism_and_syntax(tmp_path: Path) -> None:
    s = Session(tmp_path)
    assert s.status(b"AUTH CRAM-MD5\r\n") == ["-ERR Unsupported authentication mechanism"]
    assert s.status(b"AUTH PLAIN a b\r\n") == ["-ERR Usage: AUTH [mechanism [initial-response]]"]


def test_sasl_response_may_be_longer_than_a_command(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.send(b"AUTH PLAIN\r\n")
    long = b64(b"\0alice@example.test\0" + b"x" * 240)
    assert len(long) > 255
    assert s.status(long + b"\r\n") == ["-ERR [AUTH] Authentication failed"]
    # ...but commands are limited again afterwards
    assert s.status(b"USER " + b"a" * 300 + b"\r\n") == [
        "-ERR Command line too long (at most 255 octets)"
    ]


def test_too_long_sasl_response_ends_the_exchange(tmp_path: Path) -> None:
    s = Session(tmp_path, max_sasl_line=100)
    s.send(b"AUTH PLAIN\r\n")
    assert s.status(b"A" * 200 + b"\r\n") == ["-ERR Command line too long (at most 255 octets)"]
    assert s.status(b"CAPA\r\n") == ["+OK Capability list follows"]
