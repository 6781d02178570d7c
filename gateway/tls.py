"""Server TLS: the certificate pair, and a context factory that reloads it.

:func:`ensure_certificate` returns the configured certificate and key, or a
self-signed pair in ``<data_dir>/tls`` generated at first start.
:class:`ReloadingContextFactory` serves it to Twisted and picks up renewed
files (e.g. from certbot) without a restart.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL
from twisted.internet.interfaces import IOpenSSLContextFactory
from twisted.logger import Logger
from zope.interface import implementer

from gateway.config import TLSSettings
from gateway.fsutil import atomic_write

log = Logger()

CERT_NAME = "cert.pem"
KEY_NAME = "key.pem"
VALIDITY = datetime.timedelta(days=3650)

_MIN_VERSIONS = {"1.2": SSL.TLS1_2_VERSION, "1.3": SSL.TLS1_3_VERSION}

# TLS 1.2 suites: forward secrecy and AEAD only (Mozilla "intermediate").
# TLS 1.3 suites are all good and are not affected by this list.
CIPHERS = (
    b"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    b"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    b"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    b"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
)

# How often (seconds) getContext() looks at the files' modification times.
RELOAD_CHECK_INTERVAL = 1.0


@dataclass(frozen=True)
class CertificatePair:
    certificate: Path
    key: Path
    generated: bool  # True only if the pair was created by this call


def ensure_certificate(tls: TLSSettings, tls_dir: Path, hostname: str) -> CertificatePair:
    """The configured pair as is, else ``tls_dir``'s pair, generated if absent."""
    if tls.certificate is not None and tls.key is not None:
        return CertificatePair(tls.certificate, tls.key, generated=False)
    certificate, key = tls_dir / CERT_NAME, tls_dir / KEY_NAME
    if certificate.exists() and key.exists():
        return CertificatePair(certificate, key, generated=False)
    tls_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert_pem, key_pem = generate_self_signed(hostname)
    # Key first: a crash in between leaves no certificate, so the next start
    # generates both again.
    atomic_write(key, key_pem, mode=0o600)
    atomic_write(certificate, cert_pem, mode=0o644)
    return CertificatePair(certificate, key, generated=True)  # the caller says so in the log


def generate_self_signed(
    hostname: str, now: datetime.datetime | None = None
) -> tuple[bytes, bytes]:
    """PEM certificate and PEM key: RSA-2048, SAN=hostname, valid 10 years."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    start = (now or datetime.datetime.now(datetime.UTC)) - datetime.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + VALIDITY)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def build_context(certificate: Path, key: Path, min_version: str) -> SSL.Context:
    """A server context: TLS >= ``min_version``, strong ciphers, no compression."""
    ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    ctx.set_min_proto_version(_MIN_VERSIONS[min_version])
    ctx.set_options(
        SSL.OP_NO_COMPRESSION  # CRIME
        | SSL.OP_CIPHER_SERVER_PREFERENCE
        | SSL.OP_NO_RENEGOTIATION
    )
    ctx.set_mode(SSL.MODE_RELEASE_BUFFERS)
    ctx.set_cipher_list(CIPHERS)
    ctx.use_certificate_chain_file(os.fsencode(certificate))
    ctx.use_privatekey_file(os.fsencode(key))
    ctx.check_privatekey()
    return ctx


_Signature = tuple[tuple[int, int, int] | None, ...]


def _signature(*paths: Path) -> _Signature:
    """What identifies the files' current version: (mtime, inode, size) each."""
    result: list[tuple[int, int, int] | None] = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            result.append(None)
        else:
            result.append((st.st_mtime_ns, st.st_ino, st.st_size))
    return tuple(result)


@implementer(IOpenSSLContextFactory)
class ReloadingContextFactory:
    """Old-style server context factory (``getContext()``) that follows file changes.

    At most once per :data:`RELOAD_CHECK_INTERVAL` (by the injected ``now``
    clock) it compares the files' modification times with those it loaded;
    on a change it builds a new context, and keeps the old one if the new
    files are broken. Construction fails if the files are broken from the start.
    """

    def __init__(
        self, certificate: Path, key: Path, min_version: str, now: Callable[[], float]
    ) -> None:
        if min_version not in _MIN_VERSIONS:
            raise ValueError(f"unsupported TLS version {min_version!r}")
        self.certificate = certificate
        self.key = key
        self.min_version = min_version
        self._now = now
        self._signature = _signature(certificate, key)
        self._context = build_context(certificate, key, min_version)
        self._checked = now()

    def getContext(self) -> SSL.Context:  # Twisted's name for it
        """The current context, reloaded first if the files changed."""
        now = self._now()
        if now - self._checked >= RELOAD_CHECK_INTERVAL:
            self._checked = now
            self._maybe_reload()
        return self._context

    def _maybe_reload(self) -> None:
        signature = _signature(self.certificate, self.key)
        if signature == self._signature:
            return
        # Remember the attempt even if it fails, so that a broken pair is
        # logged once, and retried only when the files change again.
        self._signature = signature
        try:
            context = build_context(self.certificate, self.key, self.min_version)
        except (OSError, SSL.Error) as e:
            log.error(
                "TLS certificate {certificate} / key {key} changed but cannot be loaded, "
                "keeping the previous pair: {error}",
                certificate=str(self.certificate),
                key=str(self.key),
                error=repr(e),
            )
            return
        self._context = context
        log.info("Reloaded TLS certificate {certificate}", certificate=str(self.certificate))


def server_tls_factory(
    pair: CertificatePair, min_version: str, now: Callable[[], float]
) -> ReloadingContextFactory:
    """The context factory for TLS listeners and STARTTLS."""
    return ReloadingContextFactory(pair.certificate, pair.key, min_version, now)
