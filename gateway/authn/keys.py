"""DKIM signing keys: generation, the DNS key record, files.

Private keys are PKCS#8 PEM (``-----BEGIN PRIVATE KEY-----``), as
``openssl genpkey`` writes them, for both algorithms:

- ``rsa``: RSA, 2048 bits by default (RFC 8301 3.2: signers MUST use at
  least 1024 bits and SHOULD use at least 2048); the public key in the DNS
  record is the base64 of its DER SubjectPublicKeyInfo (RFC 6376 3.6.1,
  as opendkim-genkey and ``openssl rsa -pubout`` give it);
- ``ed25519``: Ed25519 (RFC 8463 3); the public key in the DNS record is the
  base64 of the bare 32-octet key (RFC 8463 4.2), not wrapped in ASN.1.

The key record lives at ``<selector>._domainkey.<domain>`` (RFC 6376 3.6.2.1)
as ``v=DKIM1; k=<algorithm>; p=<base64>`` (3.6.1).
"""

from __future__ import annotations

import base64
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

__all__ = [
    "ALGORITHMS",
    "RSA_BITS",
    "RSA_MIN_BITS",
    "Algorithm",
    "KeyFileError",
    "KeyRecord",
    "PrivateKey",
    "dns_record",
    "generate_key",
    "key_file_name",
    "load_private_key",
    "parse_private_key",
    "write_private_key",
]

Algorithm = Literal["ed25519", "rsa"]
ALGORITHMS: tuple[Algorithm, ...] = get_args(Algorithm)
RSA_BITS = 2048  # RFC 8301 3.2: SHOULD use at least 2048 bits
RSA_MIN_BITS = 1024  # RFC 8301 3.2: MUST use at least 1024 bits


class KeyFileError(ValueError):
    """A private key that cannot be used: the message says which file and why."""


@dataclass(frozen=True, slots=True)
class PrivateKey:
    """A usable signing key: its algorithm and its PKCS#8 PEM text."""

    algorithm: Algorithm
    pem: bytes

    @property
    def public(self) -> str:
        """The ``p=`` value of the key record (base64)."""
        return _public_value(_load_pem(self.pem))

    def dkimpy_key(self) -> bytes:
        """The private key in the form dkimpy's signer takes: the PEM for RSA,
        the base64 of the 32-octet seed for Ed25519 (dkimpy hands it to
        PyNaCl's ``SigningKey``)."""
        if self.algorithm == "rsa":
            return self.pem
        key = _load_pem(self.pem)
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        seed = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return base64.b64encode(seed)


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """The TXT record that publishes a public key (RFC 6376 3.6.1, 3.6.2.1)."""

    name: str  # <selector>._domainkey.<domain>, no trailing dot
    text: str  # v=DKIM1; k=...; p=...

    def zone_line(self) -> str:
        """The record as one zone-file line; the text split into quoted
        character-strings of at most 255 octets (RFC 1035 3.3.14), as a
        2048-bit RSA key needs (RFC 6376 3.6.2.2 joins them back)."""
        pieces = [self.text[i : i + 255] for i in range(0, len(self.text), 255)]
        quoted = " ".join(f'"{p}"' for p in pieces)
        return f"{self.name}. IN TXT {quoted}"


def generate_key(
    algorithm: Algorithm = "ed25519", *, rsa_bits: int = RSA_BITS
) -> tuple[bytes, str]:
    """A new key pair: ``(private key PEM, public key for the p= tag)``."""
    private: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    if algorithm == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
    elif algorithm == "rsa":
        if rsa_bits < RSA_MIN_BITS:
            raise ValueError(f"RSA keys need at least {RSA_MIN_BITS} bits (RFC 8301 3.2)")
        private = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    else:
        raise ValueError(f"unknown DKIM key algorithm {algorithm!r} (one of {ALGORITHMS})")
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, _public_value(private)


def dns_record(domain: str, selector: str, public: str, algorithm: Algorithm) -> KeyRecord:
    """The key record for ``public`` (a ``p=`` value) at ``selector`` of
    ``domain``: owner ``<selector>._domainkey.<domain>`` (RFC 6376 3.6.2.1)
    and text ``v=DKIM1; k=<algorithm>; p=<public>`` (3.6.1)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown DKIM key algorithm {algorithm!r} (one of {ALGORITHMS})")
    domain = domain.rstrip(".").lower()
    if not domain or not selector:
        raise ValueError("a DKIM key record needs a domain and a selector")
    return KeyRecord(f"{selector}._domainkey.{domain}", f"v=DKIM1; k={algorithm}; p={public}")


def key_file_name(domain: str, selector: str) -> str:
    """The file name ``mailgateway dkim keygen`` gives a private key."""
    return f"{domain.rstrip('.').lower()}.{selector}.pem"


def parse_private_key(pem: bytes, source: str = "private key") -> PrivateKey:
    """``pem`` as a :class:`PrivateKey`, or :class:`KeyFileError` naming
    ``source`` and what is wrong (not PEM, encrypted, not RSA or Ed25519,
    RSA shorter than 1024 bits)."""
    try:
        key = _load_pem(pem)
    except TypeError:
        raise KeyFileError(
            f"{source}: the key is encrypted; DKIM keys are stored without a passphrase"
        ) from None
    except (ValueError, UnsupportedAlgorithm) as e:
        raise KeyFileError(f"{source}: not a PEM private key ({e})") from None
    algorithm: Algorithm
    if isinstance(key, ed25519.Ed25519PrivateKey):
        algorithm = "ed25519"
    elif isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < RSA_MIN_BITS:
            raise KeyFileError(
                f"{source}: RSA key of {key.key_size} bits; "
                f"at least {RSA_MIN_BITS} are required (RFC 8301 3.2)"
            )
        algorithm = "rsa"
    else:
        raise KeyFileError(
            f"{source}: a {type(key).__name__.removeprefix('_')} key; "
            "DKIM signs with RSA or Ed25519 (RFC 6376 3.3, RFC 8463)"
        )
    # Always PKCS#8 (a PKCS#1 "RSA PRIVATE KEY" file is accepted too).
    normalised = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return PrivateKey(algorithm, normalised)


def load_private_key(path: Path | str) -> PrivateKey:
    """Read a private key file; :class:`KeyFileError` with the path and the
    reason when it is missing, unreadable or not a usable key."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no such key file") from None
    except IsADirectoryError:
        raise KeyFileError(f"{path}: is a directory, not a key file") from None
    except OSError as e:
        raise KeyFileError(f"{path}: cannot read the key file: {e.strerror}") from None
    return parse_private_key(data, str(path))


def write_private_key(path: Path | str, pem: bytes) -> None:
    """Write ``pem`` to a new file ``path``, readable by its owner only
    (mode 0600 from the start, never wider). An existing file is not
    replaced: :class:`KeyFileError`."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path}: already exists; not replacing a key") from None
    except OSError as e:
        raise KeyFileError(f"{path}: cannot create the key file: {e.strerror}") from None
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        view = memoryview(pem)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError as e:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise KeyFileError(f"{path}: cannot write the key file: {e.strerror}") from None
    os.close(fd)


def _load_pem(pem: bytes) -> object:
    return serialization.load_pem_private_key(pem, password=None)


def _public_value(private: object) -> str:
    if isinstance(private, ed25519.Ed25519PrivateKey):
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    elif isinstance(private, rsa.RSAPrivateKey):
        raw = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        raise TypeError(f"not an RSA or Ed25519 key: {type(private).__name__}")
    return base64.b64encode(raw).decode("ascii")
