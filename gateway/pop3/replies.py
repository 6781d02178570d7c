"""POP3 replies: status lines as named constants and the builders for the rest.

RFC 1939 3: a reply is ``+OK`` or ``-ERR``, optionally followed by text, on
one line; multi-line replies follow the status line with dot-stuffed lines
and end with ``.`` CRLF. RFC 2449 8 puts an extended response code in
brackets right after ``-ERR``; the codes used here are IN-USE and
LOGIN-DELAY (RFC 2449 8.1), SYS/TEMP and SYS/PERM, and AUTH (RFC 3206).
Replies are bytes, ready for one ``transport.write``.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["err", "listing", "ok"]

CRLF = b"\r\n"
TERMINATOR = b".\r\n"  # RFC 1939 3: ends a multi-line reply


def ok(text: str = "") -> bytes:
    return b"+OK " + text.encode("utf-8") + CRLF if text else b"+OK" + CRLF


def err(text: str, code: str | None = None) -> bytes:
    """``-ERR [CODE] text`` (RFC 2449 8) or plain ``-ERR text``."""
    prefix = f"[{code}] " if code else ""
    return f"-ERR {prefix}{text}".encode() + CRLF


def listing(status: bytes, lines: Iterable[str]) -> bytes:
    """A multi-line reply whose lines cannot start with a dot (scan
    listings, capabilities, mechanism names): no stuffing needed."""
    body = "".join(f"{line}\r\n" for line in lines).encode("ascii")
    return status + body + TERMINATOR


def is_counted_error(reply: bytes) -> bool:
    """A protocol error the client should not repeat: ``-ERR`` without a
    response code. Replies with a code (a refused login, a locked maildrop,
    a store failure) have their own limits and are not counted."""
    return reply.startswith(b"-ERR ") and not reply.startswith(b"-ERR [")


# -- session -------------------------------------------------------------------

OK = ok()
BYE = ok("Logging out")
TOO_MANY_CONNECTIONS = err("Too many connections, try again later", "SYS/TEMP")
TOO_MANY_ERRORS = err("Too many errors, closing connection")
INTERNAL_ERROR = err("Internal error, try again later", "SYS/TEMP")

# -- lines and commands (RFC 1939 3, RFC 2449 4) -----------------------------------

LINE_TOO_LONG = err("Command line too long (at most 255 octets)")
BARE_NEWLINE = err("Lines must end with CRLF")
NUL_IN_COMMAND = err("NUL is not allowed in commands")
UNKNOWN_COMMAND = err("Unknown command")
NOT_AFTER_LOGIN = err("Command not valid after login")
NOT_BEFORE_LOGIN = err("Command not valid before login")
NO_ARGUMENTS = err("This command takes no arguments")

# -- authorization (RFC 1939 7, RFC 5034, RFC 3206) --------------------------------

USER_OK = ok("Send PASS")
USER_FIRST = err("Send USER first")
NO_PASSWORD = err("PASS needs a password")
# RFC 3206 4: [AUTH] where a credential problem is the cause.
PLAINTEXT_DISALLOWED = err(
    "Plaintext authentication disallowed on non-secure connections, use STLS", "AUTH"
)
LOGIN_FAILED = err("Authentication failed", "AUTH")
LOGIN_FAILED_CLOSING = err("Authentication failed, too many failures; closing", "AUTH")
TOO_MANY_FAILURES = err("Too many failed logins from your address, try again later", "SYS/TEMP")
# RFC 2449 8.1.1: another session holds the maildrop.
IN_USE = err("Maildrop is locked by another POP3 session", "IN-USE")
MAILDROP_UNAVAILABLE = err("Cannot open the maildrop, try again later", "SYS/TEMP")
APOP_DISABLED = err("APOP is not available")
APOP_SYNTAX = err("Usage: APOP name digest (32 hex digits)")
AUTH_UNKNOWN_MECHANISM = err("Unsupported authentication mechanism")
AUTH_CANCELLED = err("Authentication cancelled")  # RFC 5034 4: "*"
AUTH_BAD_RESPONSE = err("Invalid base64 or malformed SASL response")
AUTH_SYNTAX = err("Usage: AUTH [mechanism [initial-response]]")

# -- STLS (RFC 2595 4) ---------------------------------------------------------------

STLS_GO = ok("Begin TLS negotiation")
STLS_ACTIVE = err("TLS is already active")
STLS_UNAVAILABLE = err("STLS is not available")

# -- transaction (RFC 1939 5) --------------------------------------------------------

COMMIT_FAILED = err("Some deleted messages not removed, try again later", "SYS/TEMP")
RETRIEVE_FAILED = err("Cannot read the message, try again later", "SYS/TEMP")
