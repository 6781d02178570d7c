"""Tests for gateway.tls: self-signed generation, reloading, real handshakes."""

from __future__ import annotations

import shutil
import socket
import ssl
import stat
import warnings
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography import x509
from OpenSSL import SSL
from twisted.internet import endpoints, protocol, reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.interfaces import IListeningPort
from twisted.internet.threads import deferToThread
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial import unittest

from gateway.config import TLSSettings
from gateway.tls import (
    CertificatePair,
    ReloadingContextFactory,
    ensure_certificate,
    server_tls_factory,
)

HOST = "mail.example.test"
NO_TLS = TLSSettings(certificate=None, key=None, min_version="1.2")


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def served_serial(factory: ReloadingContextFactory) -> int:
    """The serial number of the certificate a new connection would present."""
    cert = SSL.Connection(factory.getContext(), None).get_certificate()
    assert cert is not None
    return int(cert.get_serial_number())


class FakeClock:
    def __init__(self) -> None:
        self.time = 1000.0

    def __call__(self) -> float:
        return self.time


# --- ensure_certificate -----------------------------------------------------


def test_generates_self_signed_pair(tmp_path: Path) -> None:
    tls_dir = tmp_path / "tls"
    pair = ensure_certificate(NO_TLS, tls_dir, HOST)
    assert pair == CertificatePair(tls_dir / "cert.pem", tls_dir / "key.pem", generated=True)
    assert stat.S_IMODE(pair.key.stat().st_mode) == 0o600
    cert = load_cert(pair.certificate)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [HOST]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime.days >= 3650
    public = cert.public_key()
    assert getattr(public, "key_size", None) == 2048


def test_second_call_does_not_regenerate(tmp_path: Path) -> None:
    first = ensure_certificate(NO_TLS, tmp_path, HOST)
    before = first.certificate.read_bytes(), first.key.read_bytes()
    second = ensure_certificate(NO_TLS, tmp_path, HOST)
    assert second.generated is False
    assert (second.certificate, second.key) == (first.certificate, first.key)
    assert (second.certificate.read_bytes(), second.key.read_bytes()) == before


def test_configured_pair_is_used_as_is(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    pair = ensure_certificate(
        TLSSettings(certificate=cert, key=key, min_version="1.2"), tmp_path / "tls", HOST
    )
    assert pair == CertificatePair(cert, key, generated=False)
    assert not (tmp_path / "tls").exists()


# --- ReloadingContextFactory ------------------------------------------------


def replace_pair(target: CertificatePair, source: CertificatePair) -> None:
    shutil.copy(source.key, target.key.with_suffix(".new"))
    target.key.with_suffix(".new").replace(target.key)
    shutil.copy(source.certificate, target.certificate.with_suffix(".new"))
    target.certificate.with_suffix(".new").replace(target.certificate)


def test_reload_after_files_change(tmp_path: Path) -> None:
    old = ensure_certificate(NO_TLS, tmp_path / "old", HOST)
    new = ensure_certificate(NO_TLS, tmp_path / "new", "other.example.test")
    live = ensure_certificate(NO_TLS, tmp_path / "live", HOST)
    replace_pair(live, old)
    clock = FakeClock()
    factory = server_tls_factory(live, "1.2", clock)
    old_serial = load_cert(old.certificate).serial_number
    new_serial = load_cert(new.certificate).serial_number
    assert served_serial(factory) == old_serial

    replace_pair(live, new)
    clock.time += 0.5  # checked at most once per second
    assert served_serial(factory) == old_serial
    clock.time += 0.6
    assert served_serial(factory) == new_serial


def test_broken_files_keep_the_old_context(tmp_path: Path) -> None:
    live = ensure_certificate(NO_TLS, tmp_path, HOST)
    serial = load_cert(live.certificate).serial_number
    clock = FakeClock()
    factory = server_tls_factory(live, "1.2", clock)
    events: list[LogEvent] = []
    observer = cast(ILogObserver, events.append)
    globalLogPublisher.addObserver(observer)
    try:
        live.certificate.write_text("-----BEGIN CERTIFICATE-----\ngarbage\n")
        clock.time += 2
        assert served_serial(factory) == serial
        clock.time += 2
        assert served_serial(factory) == serial
    finally:
        globalLogPublisher.removeObserver(observer)
    errors = [e for e in events if "cannot be loaded" in e.get("log_format", "")]
    assert len(errors) == 1  # logged once, not every second


def test_broken_files_at_start_raise(tmp_path: Path) -> None:
    live = ensure_certificate(NO_TLS, tmp_path, HOST)
    other = ensure_certificate(NO_TLS, tmp_path / "other", HOST)
    with pytest.raises(SSL.Error):
        # A key that does not match the certificate.
        server_tls_factory(CertificatePair(live.certificate, other.key, False), "1.2", FakeClock())


def test_no_compression_and_minimum_version(tmp_path: Path) -> None:
    factory = server_tls_factory(ensure_certificate(NO_TLS, tmp_path, HOST), "1.3", FakeClock())
    context = factory.getContext()
    assert context.set_options(0) & SSL.OP_NO_COMPRESSION


# --- real handshakes over loopback --------------------------------------------


class Echo(protocol.Protocol):
    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


def client_handshake(
    port: int, ca: Path, maximum: ssl.TLSVersion, minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1
) -> str:
    """Connect with the stdlib client, verify the server name, echo a line."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context = ssl.create_default_context(cafile=str(ca))
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer old versions
        context.minimum_version = minimum
        context.maximum_version = maximum
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=HOST) as tls,
    ):
        tls.sendall(b"ping\n")
        assert tls.recv(16) == b"ping\n"
        version = tls.version()
        assert version is not None
        return version


class HandshakeTests(unittest.TestCase):
    """A listening ``ssl`` endpoint built from the factory, a stdlib client."""

    def listen(self, min_version: str) -> Deferred[tuple[int, Path]]:
        tmp = Path(self.mktemp())  # type: ignore[no-untyped-call]
        pair = ensure_certificate(NO_TLS, tmp, HOST)
        factory = server_tls_factory(pair, min_version, reactor.seconds)
        endpoint = endpoints.SSL4ServerEndpoint(  # type: ignore[no-untyped-call]
            reactor, 0, factory, interface="127.0.0.1"
        )
        d: Deferred[IListeningPort] = endpoint.listen(  # type: ignore[no-untyped-call]
            protocol.Factory.forProtocol(Echo)
        )

        def listening(port: IListeningPort) -> tuple[int, Path]:
            self.addCleanup(port.stopListening)
            number: int = port.getHost().port  # type: ignore[attr-defined]
            return number, pair.certificate

        return d.addCallback(listening)

    def refused(self, port: int, ca: Path, maximum: ssl.TLSVersion) -> Deferred[str]:
        """Fires with the client's error text; fails if the handshake succeeds."""

        def unexpected(version: str) -> str:
            raise AssertionError(f"handshake succeeded with {version}")

        def error_text(failure: Failure) -> str:
            failure.trap(ssl.SSLError)  # type: ignore[no-untyped-call]
            return str(failure.value)

        d: Deferred[str] = deferToThread(client_handshake, port, ca, maximum)
        return d.addCallbacks(unexpected, error_text)

    @inlineCallbacks
    def test_tls12_and_tls13_negotiated(self) -> Any:
        port, ca = yield self.listen("1.2")
        version = yield deferToThread(client_handshake, port, ca, ssl.TLSVersion.TLSv1_3)
        assert version == "TLSv1.3"
        version = yield deferToThread(client_handshake, port, ca, ssl.TLSVersion.TLSv1_2)
        assert version == "TLSv1.2"

    @inlineCallbacks
    def test_tls11_refused(self) -> Any:
        port, ca = yield self.listen("1.2")
        error = yield self.refused(port, ca, ssl.TLSVersion.TLSv1_1)
        # The server's protocol_version alert, not a client-side refusal.
        assert "PROTOCOL_VERSION" in error

    @inlineCallbacks
    def test_min_13_refuses_tls12(self) -> Any:
        port, ca = yield self.listen("1.3")
        error = yield self.refused(port, ca, ssl.TLSVersion.TLSv1_2)
        assert "PROTOCOL_VERSION" in error
        version = yield deferToThread(client_handshake, port, ca, ssl.TLSVersion.TLSv1_3)
        assert version == "TLSv1.3"
