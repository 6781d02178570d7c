"""SASL PLAIN (RFC 4616) and LOGIN exchanges, shared by SMTP AUTH and POP3 AUTH.

Pure code: the protocol feeds the client's lines in and gets back either
the next challenge to send or the username and password to check through
the portal. The wire framing of challenges (``334 `` in SMTP, RFC 4954 4;
``+ `` in POP3, RFC 5034 4) and the replies stay with each protocol.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

__all__ = [
    "CANCEL",
    "MECHANISMS",
    "AuthzidRefused",
    "Challenge",
    "PasswordCredentials",
    "PasswordExchange",
    "SASLCancelled",
    "SASLError",
    "UnknownMechanism",
    "decode_initial_response",
    "decode_response",
    "parse_plain",
]

# The mechanisms we offer, in order of preference; both carry a password in
# the clear, so protocols offer them only under TLS or to trusted networks.
MECHANISMS = ("PLAIN", "LOGIN")

# RFC 4954 4, RFC 5034 4: a response of "*" cancels the exchange.
CANCEL = b"*"

# The LOGIN mechanism's customary challenges ("Username:", "Password:").
LOGIN_USERNAME = base64.b64encode(b"Username:")
LOGIN_PASSWORD = base64.b64encode(b"Password:")

# RFC 4616 2: authzid, authcid and passwd are each at most 255 octets.
_MAX_FIELD = 255


class SASLError(ValueError):
    """A client response that cannot be decoded or is malformed."""


class AuthzidRefused(SASLError):
    """RFC 4616 2: the client asks to act as someone else (an authzid other
    than its own authcid); we allow no proxy authorization."""


class SASLCancelled(Exception):
    """The client answered a challenge with ``*``."""


class UnknownMechanism(ValueError):
    """A mechanism we do not offer."""


@dataclass(frozen=True, slots=True)
class Challenge:
    """The next server challenge, already base64-encoded (maybe empty)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class PasswordCredentials:
    """What a finished PLAIN or LOGIN exchange yields, for the portal."""

    authcid: bytes
    password: bytes
    authzid: bytes = b""


def decode_response(line: bytes) -> bytes:
    """One base64 client response; ``*`` raises :class:`SASLCancelled`.

    Strict base64 (no whitespace, no junk, correct padding), as RFC 4954 4
    and RFC 5034 4 require the server to reject anything else.
    """
    if line == CANCEL:
        raise SASLCancelled()
    try:
        return base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError):
        raise SASLError("invalid base64 in the client response") from None


def decode_initial_response(argument: bytes) -> bytes:
    """An initial response given with the AUTH command: ``=`` stands for a
    zero-length response (RFC 4954 4, RFC 5034 4)."""
    if argument == b"=":
        return b""
    return decode_response(argument)


def parse_plain(message: bytes) -> PasswordCredentials:
    """Split a decoded PLAIN message (RFC 4616 2).

    ``message = [authzid] NUL authcid NUL passwd``: authcid and passwd must
    not be empty, no field longer than 255 octets, the identities UTF-8.
    An authzid, if given, must equal the authcid (:class:`AuthzidRefused`).
    """
    parts = message.split(b"\0")
    if len(parts) != 3:
        raise SASLError("a PLAIN message has exactly three NUL-separated fields")
    authzid, authcid, password = parts
    if not authcid or not password:
        raise SASLError("empty authentication identity or password")
    if any(len(part) > _MAX_FIELD for part in parts):
        raise SASLError("PLAIN field longer than 255 octets")
    try:
        authzid.decode("utf-8")
        authcid.decode("utf-8")
    except UnicodeDecodeError:
        raise SASLError("identities must be UTF-8") from None
    if authzid and authzid != authcid:
        raise AuthzidRefused("proxy authorization is not allowed")
    return PasswordCredentials(authcid, password, authzid)


class PasswordExchange:
    """One PLAIN or LOGIN exchange, driven by the protocol.

    :meth:`start` takes the initial response, if the client sent one with
    the command; :meth:`respond` takes each later response line. Both give
    a :class:`Challenge` to send or the final :class:`PasswordCredentials`,
    and raise :class:`SASLCancelled` or :class:`SASLError`.
    """

    def __init__(self, mechanism: str) -> None:
        mechanism = mechanism.upper()
        if mechanism not in MECHANISMS:
            raise UnknownMechanism(mechanism)
        self.mechanism = mechanism
        self._username: bytes | None = None

    def start(self, initial: bytes | None) -> Challenge | PasswordCredentials:
        if initial is None:
            return Challenge(b"" if self.mechanism == "PLAIN" else LOGIN_USERNAME)
        return self._step(decode_initial_response(initial))

    def respond(self, line: bytes) -> Challenge | PasswordCredentials:
        return self._step(decode_response(line))

    def _step(self, response: bytes) -> Challenge | PasswordCredentials:
        if self.mechanism == "PLAIN":
            return parse_plain(response)
        if self._username is None:
            self._username = response
            return Challenge(LOGIN_PASSWORD)
        return PasswordCredentials(self._username, response)
