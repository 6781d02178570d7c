"""STARTTLS (RFC 3501 6.2.1), implicit TLS detection, CVE-2011-0411."""

from __future__ import annotations

from pathlib import Path

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import ISSLTransport
from zope.interface import alsoProvides

from gateway.imap.server import IMAPServerProtocol, State
from tests.imap.imap_harness import Server
from tests.protocol_harness import TLSStringTransport


def test_starttls_discards_pipelined_commands(tmp_path: Path) -> None:
    c = Server(tmp_path, secure=False).connect()
    lines = c.send(b"a STARTTLS\r\nb LOGIN alice@example.test wonderland\r\n")
    assert lines == ["a OK Begin TLS negotiation now."]
    assert c.transport.tls_started and c.protocol.tls
    assert c.protocol.state is State.NOT_AUTHENTICATED
    caps = c.ok("CAPABILITY")[0].split()
    assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps and "AUTH=PLAIN" in caps
    c.login()


def test_starttls_twice_unavailable_or_after_login(tmp_path: Path) -> None:
    c = Server(tmp_path, secure=False).connect()
    c.ok("STARTTLS")
    assert c.bad("STARTTLS").tagged == "BAD TLS is already active"
    secure = Server(tmp_path).connect()
    assert secure.bad("STARTTLS").status == "BAD"
    secure.login()
    assert secure.bad("STARTTLS").tagged == "BAD Command not valid after login."
    none = Server(tmp_path, secure=False, tls=None)
    none.config.tls = None
    plain = none.connect()
    assert "STARTTLS" not in plain.ok("CAPABILITY")[0]
    assert plain.bad("STARTTLS").tagged == "BAD STARTTLS is not available"


def test_tls_transport_is_detected(tmp_path: Path) -> None:
    server = Server(tmp_path, secure=False)
    transport = TLSStringTransport(peerAddress=IPv4Address("TCP", "192.0.2.10", 40001))
    alsoProvides(transport, ISSLTransport)
    protocol = IMAPServerProtocol(server.config)
    protocol.makeConnection(transport)
    assert protocol.tls
    assert b"AUTH=PLAIN" in transport.value() and b"STARTTLS" not in transport.value()
