"""SASL PLAIN (RFC 4616) and LOGIN exchanges shared by SMTP and POP3."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.auth.sasl import (
    AuthzidRefused,
    Challenge,
    PasswordCredentials,
    PasswordExchange,
    SASLCancelled,
    SASLError,
    UnknownMechanism,
    decode_initial_response,
    decode_response,
    parse_plain,
)


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def test_parse_plain() -> None:
    assert parse_plain(b"\0alice\0pw") == PasswordCredentials(b"alice", b"pw", b"")
    assert parse_plain(b"alice\0alice\0p w") == PasswordCredentials(b"alice", b"p w", b"alice")
    with pytest.raises(AuthzidRefused):
        parse_plain(b"bob\0alice\0pw")
    for bad in (b"", b"alice", b"\0alice", b"\0\0pw", b"\0alice\0", b"a\0b\0c\0d"):
        with pytest.raises(SASLError):
            parse_plain(bad)
    with pytest.raises(SASLError):
        parse_plain(b"\0" + b"a" * 256 + b"\0pw")  # RFC 4616 2: at most 255 octets
    with pytest.raises(SASLError):
        parse_plain(b"\0\xff\0pw")  # identities are UTF-8


def test_decoding() -> None:
    assert decode_response(b64(b"x")) == b"x"
    assert decode_initial_response(b"=") == b""
    with pytest.raises(SASLCancelled):
        decode_response(b"*")
    for bad in (b"abc", b"a b=", b"!!!!", b"YQ==\n"):
        with pytest.raises(SASLError):
            decode_response(bad)


def test_plain_exchange() -> None:
    assert PasswordExchange("plain").start(None) == Challenge(b"")
    assert PasswordExchange("PLAIN").start(b64(b"\0a\0b")) == PasswordCredentials(b"a", b"b")
    exchange = PasswordExchange("PLAIN")
    exchange.start(None)
    assert exchange.respond(b64(b"\0a\0b")) == PasswordCredentials(b"a", b"b")


def test_login_exchange() -> None:
    exchange = PasswordExchange("LOGIN")
    assert exchange.start(None) == Challenge(b"VXNlcm5hbWU6")
    assert exchange.respond(b64(b"alice")) == Challenge(b"UGFzc3dvcmQ6")
    assert exchange.respond(b64(b"pw")) == PasswordCredentials(b"alice", b"pw")
    again = PasswordExchange("LOGIN")
    assert again.start(b64(b"alice")) == Challenge(b"UGFzc3dvcmQ6")
    with pytest.raises(SASLCancelled):
        again.respond(b"*")


def test_unknown_mechanism() -> None:
    with pytest.raises(UnknownMechanism):
        PasswordExchange("CRAM-MD5")


@given(st.binary(max_size=600))
def test_any_response_gives_a_step_or_our_errors(data: bytes) -> None:
    for mechanism in ("PLAIN", "LOGIN"):
        exchange = PasswordExchange(mechanism)
        try:
            exchange.start(data)
            exchange.respond(data)
        except (SASLError, SASLCancelled):
            pass
