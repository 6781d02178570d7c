"""STLS (RFC 2595 4), implicit TLS detection, and the CVE-2011-0411 injection case."""

from __future__ import annotations

from pathlib import Path

from pop3_harness import Session
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import ISSLTransport
from zope.interface import alsoProvides

from gateway.pop3.server import POP3ServerProtocol, State
from tests.protocol_harness import TLSStringTransport


def test_stls_discards_pipelined_commands(tmp_path: Path) -> None:
    """CVE-2011-0411: plaintext sent along with STLS must not run inside TLS."""
    s = Session(tmp_path, secure=False)
    replies = s.send(b"STLS\r\nUSER alice@example.test\r\nPASS wonderland\r\n")
    assert replies == ["+OK Begin TLS negotiation"]
    assert s.transport.tls_started
    assert s.protocol.tls
    # after the handshake the session starts over in AUTHORIZATION, with no USER
    assert s.protocol.state is State.AUTHORIZATION
    assert s.status(b"PASS wonderland\r\n") == ["-ERR Send USER first"]
    lines = s.send(b"CAPA\r\n")
    assert "STLS" not in lines
    assert "USER" in lines and "SASL PLAIN LOGIN" in lines
    s.login()


def test_stls_forgets_a_user_given_before(tmp_path: Path) -> None:
    s = Session(tmp_path, secure=False, plaintext_auth=True)
    s.send(b"USER alice@example.test\r\n")
    s.send(b"STLS\r\n")
    assert s.status(b"PASS wonderland\r\n") == ["-ERR Send USER first"]


def test_stls_twice_or_when_unavailable(tmp_path: Path) -> None:
    s = Session(tmp_path, secure=False)
    s.send(b"STLS\r\n")
    assert s.status(b"STLS\r\n") == ["-ERR TLS is already active"]
    secure = Session(tmp_path)  # pop3s
    assert secure.status(b"STLS\r\n") == ["-ERR TLS is already active"]
    none = Session(tmp_path, secure=False)
    none.config.tls = None
    assert none.status(b"STLS\r\n") == ["-ERR STLS is not available"]
    assert none.status(b"STLS now\r\n") == ["-ERR This command takes no arguments"]


def test_stls_not_after_login(tmp_path: Path) -> None:
    s = Session(tmp_path, secure=False, plaintext_auth=True)
    s.login()
    assert s.status(b"STLS\r\n") == ["-ERR Command not valid after login"]
    assert not s.transport.tls_started


def test_tls_transport_is_detected(tmp_path: Path) -> None:
    """Under TLSMemoryBIOProtocol (pop3s) the transport is an ISSLTransport:
    the protocol knows it is under TLS even without ``implicit_tls``."""
    s = Session(tmp_path, secure=False)
    plain, _ = s.connect()
    assert not plain.tls
    transport = TLSStringTransport(peerAddress=IPv4Address("TCP", "192.0.2.10", 40001))
    alsoProvides(transport, ISSLTransport)
    protocol = POP3ServerProtocol(s.config)
    protocol.makeConnection(transport)
    assert protocol.tls
    transport.clear()
    protocol.dataReceived(b"CAPA\r\n")
    capabilities = transport.value().decode().split("\r\n")
    assert "STLS" not in capabilities
    assert "USER" in capabilities
