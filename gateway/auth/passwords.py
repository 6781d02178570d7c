"""Dovecot password schemes: hashing and verification.

Stored passwords use Dovecot's prefix form, ``{SCHEME}data``, so that a
Dovecot passwd-file can be used as is and the other way round. See Dovecot's
"Password Schemes" documentation
(https://doc.dovecot.org/configuration_manual/authentication/password_schemes/).

Supported schemes:

- ``BLF-CRYPT``: bcrypt, ``$2a$``/``$2b$``/``$2y$`` (we write ``$2y$`` as
  ``doveadm pw`` does; the three variants compute the same hash).
- ``SHA256``, ``SHA512``: ``base64(sha(password))``.
- ``SSHA256``, ``SSHA512``: ``base64(sha(password + salt) + salt)``.
- ``PLAIN`` / ``CLEARTEXT`` / ``CLEAR``: the password itself (tests,
  migration, and the challenge-response logins that need it: POP3 APOP).

As in Dovecot, an encoding suffix may follow the scheme name
(``{SHA256.HEX}``, ``{SSHA512.B64}``); without one, the SHA family is base64,
and a hex string of exactly the digest's length is accepted too.

A value without a ``{SCHEME}`` prefix is read like Dovecot's passwd-file does
with its default ``default_pass_scheme = CRYPT``: only bcrypt (``$2...``) is
supported; any other crypt(3) format raises :class:`UnsupportedScheme`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re

import bcrypt

__all__ = [
    "DEFAULT_SCHEME",
    "SUPPORTED_SCHEMES",
    "MalformedHash",
    "UnsupportedScheme",
    "cleartext",
    "hash_password",
    "scheme_of",
    "verify_password",
]

DEFAULT_SCHEME = "BLF-CRYPT"

# digest constructor and digest size per SHA-family scheme
_SHA = {"SHA256": (hashlib.sha256, 32), "SHA512": (hashlib.sha512, 64)}
_SSHA = {"SSHA256": (hashlib.sha256, 32), "SSHA512": (hashlib.sha512, 64)}
_PLAIN = frozenset({"PLAIN", "CLEARTEXT", "CLEAR"})  # Dovecot's three names

SUPPORTED_SCHEMES = frozenset({"BLF-CRYPT", *_SHA, *_SSHA, *_PLAIN})

_PREFIX = re.compile(r"^\{([A-Za-z0-9._-]+)\}")
_BCRYPT = re.compile(rb"^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$")
_SALT_BYTES = 16  # Dovecot writes 4 bytes of salt; it reads any length
_BCRYPT_MAX_KEY = 72  # bcrypt uses at most 72 bytes of the password


class UnsupportedScheme(ValueError):
    """A password scheme this gateway cannot hash or verify."""

    def __init__(self, scheme: str) -> None:
        super().__init__(f"unsupported password scheme: {scheme}")
        self.scheme = scheme


class MalformedHash(ValueError):
    """A stored hash of a supported scheme that cannot be decoded."""


def _split(stored: str) -> tuple[str, str | None, str]:
    """``(scheme, encoding or None, data)`` of a stored password."""
    m = _PREFIX.match(stored)
    if m is None:
        # Dovecot's passwd-file default_pass_scheme is CRYPT.
        return ("BLF-CRYPT" if stored.startswith("$2") else "CRYPT"), None, stored
    name = m.group(1).upper()
    data = stored[m.end() :]
    base, dot, encoding = name.partition(".")
    if dot and encoding in ("HEX", "B64", "BASE64"):
        return base, ("HEX" if encoding == "HEX" else "B64"), data
    if base == "CRYPT" and data.startswith("$2"):
        return "BLF-CRYPT", None, data
    return name, None, data


def scheme_of(stored: str) -> str:
    """The scheme of a stored password, upper case, without encoding suffix.

    ``"{SHA256.HEX}..."`` gives ``"SHA256"``; a bare ``$2y$...`` gives
    ``"BLF-CRYPT"``; another unprefixed value gives ``"CRYPT"``.
    """
    return _split(stored)[0]


def _as_bytes(password: str | bytes) -> bytes:
    """UTF-8, giving back the original bytes of text decoded with
    ``surrogateescape`` and never failing on a lone surrogate."""
    if isinstance(password, bytes):
        return password
    try:
        return password.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return password.encode("utf-8", "surrogatepass")


def hash_password(password: str | bytes, scheme: str = DEFAULT_SCHEME, rounds: int = 10) -> str:
    """Hash ``password`` in Dovecot's ``{SCHEME}data`` form.

    ``rounds`` is the bcrypt cost (log2 of the iterations, 4 to 31; Dovecot's
    default is 5, ours 10) and is ignored by the other schemes.
    """
    name = scheme.upper()
    pw = _as_bytes(password)
    if name == "BLF-CRYPT":
        if b"\x00" in pw:
            raise ValueError("a BLF-CRYPT password cannot contain NUL")
        if not 4 <= rounds <= 31:
            raise ValueError(f"bcrypt rounds must be 4..31, not {rounds}")
        hashed = bcrypt.hashpw(pw[:_BCRYPT_MAX_KEY], bcrypt.gensalt(rounds, prefix=b"2b"))
        # $2b$ and $2y$ are the same algorithm; Dovecot writes $2y$.
        return "{BLF-CRYPT}$2y$" + hashed.decode("ascii")[4:]
    if name in _SHA:
        digest = _SHA[name][0](pw).digest()
        return f"{{{name}}}" + base64.b64encode(digest).decode("ascii")
    if name in _SSHA:
        salt = os.urandom(_SALT_BYTES)
        digest = _SSHA[name][0](pw + salt).digest()
        return f"{{{name}}}" + base64.b64encode(digest + salt).decode("ascii")
    if name in _PLAIN:
        text = pw.decode("utf-8")
        if any(c in text for c in ":\r\n"):
            # would break the passwd-file line
            raise ValueError(f"a {name} password cannot contain ':' or line breaks")
        return f"{{{name}}}{text}"
    raise UnsupportedScheme(scheme)


def _decode(data: str, encoding: str | None, digest_size: int, salted: bool) -> bytes:
    try:
        if encoding == "HEX":
            return bytes.fromhex(data)
        if (
            encoding is None
            and not salted
            and len(data) == 2 * digest_size
            and re.fullmatch(r"[0-9a-fA-F]+", data)
        ):
            return bytes.fromhex(data)  # Dovecot also accepts hex here
        return base64.b64decode(data, validate=True)
    except (ValueError, binascii.Error) as e:
        raise MalformedHash(f"cannot decode stored hash: {e}") from None


def cleartext(stored: str) -> bytes | None:
    """The password itself if ``stored`` keeps it recoverable (``PLAIN``,
    ``CLEARTEXT``, ``CLEAR``, with any encoding suffix), else None.

    Challenge-response logins such as POP3 APOP (RFC 1939 7) must know the
    password, not only a hash of it. Raises :class:`MalformedHash` if the
    stored value cannot be decoded.
    """
    scheme, encoding, data = _split(stored)
    if scheme not in _PLAIN:
        return None
    if encoding is None:
        return data.encode("utf-8", "surrogateescape")
    return _decode(data, encoding, 0, salted=True)


def verify_password(stored: str, password: str | bytes) -> bool:
    """True if ``password`` matches the ``stored`` Dovecot-style hash.

    Comparisons are constant-time (``hmac.compare_digest``; bcrypt's own
    check). Raises :class:`UnsupportedScheme` for a scheme we do not know and
    :class:`MalformedHash` for a stored value that cannot be decoded.
    """
    scheme, encoding, data = _split(stored)
    pw = _as_bytes(password)
    if scheme == "BLF-CRYPT":
        raw = data.encode("ascii", "replace")
        if _BCRYPT.match(raw) is None:
            raise MalformedHash("not a bcrypt hash ($2a$/$2b$/$2y$)")
        if b"\x00" in pw:
            return False  # crypt(3) keys are C strings
        try:
            return bcrypt.checkpw(pw[:_BCRYPT_MAX_KEY], raw)
        except ValueError as e:
            raise MalformedHash(f"bad bcrypt hash: {e}") from None
    if scheme in _SHA:
        func, size = _SHA[scheme]
        expected = _decode(data, encoding, size, salted=False)
        if len(expected) != size:
            raise MalformedHash(f"{scheme} digest must be {size} bytes, not {len(expected)}")
        return hmac.compare_digest(func(pw).digest(), expected)
    if scheme in _SSHA:
        func, size = _SSHA[scheme]
        raw_hash = _decode(data, encoding, size, salted=True)
        if len(raw_hash) <= size:
            raise MalformedHash(f"{scheme} value too short for digest and salt")
        digest, salt = raw_hash[:size], raw_hash[size:]
        return hmac.compare_digest(func(pw + salt).digest(), digest)
    plain = cleartext(stored)
    if plain is not None:
        return hmac.compare_digest(plain, pw)
    raise UnsupportedScheme(scheme)
