"""SMTP replies: one value type and a named constant for every reply we send.

Every reply carries an RFC 3463 enhanced status code (we advertise
ENHANCEDSTATUSCODES, RFC 2034), except where RFC 2034 3 exempts it: the
greeting and the EHLO/HELO reply, and 3xx intermediate replies (354, 334),
for which RFC 2034 defines no status. Reply codes and their meaning follow
RFC 5321 4.2.2 / 4.2.3; status codes follow RFC 3463 and the IANA
"SMTP Enhanced Status Codes" registry (RFC 5248).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import GatewayError

_STATUS = re.compile(r"^[245]\.[0-9]{1,3}\.[0-9]{1,3}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply: code, optional enhanced status, one or more text lines."""

    code: int
    status: str | None
    lines: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 200 <= self.code <= 599:
            raise ValueError(f"SMTP reply code out of range: {self.code}")
        if not self.lines:
            raise ValueError("a reply needs at least one text line")
        for line in self.lines:
            if "\r" in line or "\n" in line:
                raise ValueError(f"reply text may not contain CR or LF: {line!r}")
        if self.status is not None:
            if not _STATUS.match(self.status):
                raise ValueError(f"bad enhanced status code: {self.status!r}")
            if self.status[0] != str(self.code)[0]:
                raise ValueError(f"status {self.status} does not match code {self.code}")

    def encode(self) -> bytes:
        """The reply on the wire (RFC 5321 4.2: ``code-text`` continuation
        lines, ``code SP text`` last); the status is repeated on every line
        (RFC 2034 4)."""
        prefix = f"{self.status} " if self.status is not None else ""
        last = len(self.lines) - 1
        out = [
            f"{self.code}{' ' if i == last else '-'}{prefix}{line}\r\n"
            for i, line in enumerate(self.lines)
        ]
        return "".join(out).encode("utf-8")

    def with_text(self, *lines: str) -> Reply:
        """The same code and status with other text."""
        return Reply(self.code, self.status, tuple(lines))

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500

    @property
    def permanent(self) -> bool:
        return self.code >= 500

    def __str__(self) -> str:
        status = f" {self.status}" if self.status else ""
        return f"{self.code}{status} {' / '.join(self.lines)}"


def reply(code: int, status: str | None, *lines: str) -> Reply:
    return Reply(code, status, tuple(lines) if lines else ("",))


def from_gateway_error(e: GatewayError) -> Reply:
    """The reply for a failure from the bus, policy or a delivery agent.

    Text is made safe for the wire: each CR/LF-separated piece becomes a reply
    line, other control characters become spaces.
    """
    pieces = [_CONTROL.sub(" ", p) for p in re.split(r"\r\n|\r|\n", e.text)]
    pieces = [p for p in pieces if p.strip()] or [""]
    return Reply(e.code, e.status, tuple(pieces))


# --- 2xx: completion (RFC 5321 4.2.2) ---------------------------------------

# 214 help message (RFC 5321 4.1.1.8).
HELP = reply(
    214, "2.0.0", "See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT"
)
# 220 "ready to start TLS" (RFC 3207 4).
READY_TLS = reply(220, "2.0.0", "Ready to start TLS")
# 221 closing (RFC 5321 4.1.1.10).
BYE = reply(221, "2.0.0", "Bye")
# 235 authentication succeeded (RFC 4954 6).
AUTH_OK = reply(235, "2.7.0", "Authentication successful")
# 250 generic success (RFC 3463 X.0.0); also RSET (RFC 5321 4.1.1.5).
OK = reply(250, "2.0.0", "Ok")
# 250 to MAIL: X.1.0 "other address status" (RFC 3463 3.2).
SENDER_OK = reply(250, "2.1.0", "Sender ok")
# 250 to RCPT: X.1.5 "destination address valid" (RFC 3463 3.2).
RCPT_OK = reply(250, "2.1.5", "Recipient ok")
# 250 to NOOP (RFC 5321 4.1.1.9).
NOOP_OK = reply(250, "2.0.0", "Ok")
# 252 to VRFY when we do not disclose (RFC 5321 3.5.3, 7.3); X.5.0 other protocol status.
VRFY_CANNOT = reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery")

# --- 3xx: intermediate (no enhanced status: RFC 2034 3) ---------------------

# 354 after DATA (RFC 5321 4.1.1.4).
START_DATA = reply(354, None, "End data with <CR><LF>.<CR><LF>")
# 334 AUTH challenge (RFC 4954 4); the text is the base64 challenge, here empty.
AUTH_CONTINUE = reply(334, None, "")

# --- 4xx: transient ---------------------------------------------------------

# 421 closing because the system is shutting down: X.3.2 "system not accepting
# network messages" (RFC 3463 3.4).
SHUTTING_DOWN = reply(421, "4.3.2", "Service shutting down, closing transmission channel")
# 421 after a command or data timeout (RFC 5321 4.5.3.2): X.4.2 "bad connection".
TIMEOUT = reply(421, "4.4.2", "Timeout exceeded, closing transmission channel")
# 421 connection limits: X.7.0 other security/policy status.
TOO_MANY_CONNECTIONS = reply(421, "4.7.0", "Too many connections, try again later")
# 421 too many errors in one session: X.7.0.
TOO_MANY_ERRORS = reply(421, "4.7.0", "Too many errors, closing transmission channel")
# 451 local error in processing (RFC 5321 4.2.3): X.3.0 other mail system status.
LOCAL_ERROR = reply(451, "4.3.0", "Local error in processing, try again later")
# 452 insufficient storage (RFC 5321 4.2.3): X.3.1 "mail system full".
STORAGE = reply(452, "4.3.1", "Insufficient system storage, try again later")
# 452 too many recipients (RFC 5321 4.5.3.1.10): X.5.3.
TOO_MANY_RCPTS = reply(452, "4.5.3", "Too many recipients")
# 454 TLS unavailable for a temporary reason (RFC 3207 4).
TLS_UNAVAILABLE = reply(454, "4.7.0", "TLS not available due to temporary reason")
# 454 temporary authentication failure (RFC 4954 6).
AUTH_TEMPORARY = reply(454, "4.7.0", "Temporary authentication failure")

# --- 5xx: permanent ---------------------------------------------------------

# 500 unrecognised command (RFC 5321 4.2.4): X.5.1 "invalid command".
UNRECOGNIZED = reply(500, "5.5.1", "Command unrecognized")
# 500 command line longer than 512 octets (RFC 5321 4.5.3.1.4, "500 Line too
# long" in 4.5.3.1): X.5.2 syntax error. (X.5.6 is registered by RFC 4954 for
# AUTH exchange lines only; see AUTH_LINE_TOO_LONG.)
LINE_TOO_LONG = reply(500, "5.5.2", "Line too long")
# 500 text line of the message longer than 1000 octets including CRLF
# (RFC 5321 4.5.3.1.6; "500 Line too long" in 4.5.3.1), given at end of data.
TEXT_LINE_TOO_LONG = reply(500, "5.5.2", "Message line too long (limit 1000 octets with CRLF)")
# 500 AUTH response line too long (RFC 4954 4): X.5.6.
AUTH_LINE_TOO_LONG = reply(500, "5.5.6", "Authentication exchange line is too long")
# 500 NUL in a command line: X.5.2 syntax error.
NUL_IN_COMMAND = reply(500, "5.5.2", "NUL character in command")
# 501 parameter syntax (RFC 5321 4.2.2): X.5.4 "invalid command arguments".
SYNTAX = reply(501, "5.5.4", "Syntax error in parameters or arguments")
# 501 argument syntax (e.g. not UTF-8, control characters): X.5.2 "syntax error".
SYNTAX_ARGUMENT = reply(501, "5.5.2", "Syntax error in arguments")
# 501 malformed reverse-path: X.1.7 "bad sender's mailbox address syntax".
BAD_SENDER_SYNTAX = reply(501, "5.1.7", "Bad sender address syntax")
# 501 malformed forward-path: X.1.3 "bad destination mailbox address syntax".
BAD_RCPT_SYNTAX = reply(501, "5.1.3", "Bad recipient address syntax")
# 501 path longer than 256 octets (RFC 5321 4.5.3.1.3, "501 Path too long").
PATH_TOO_LONG = reply(501, "5.5.4", "Path too long")
# 501 AUTH cancelled by the client with "*" (RFC 4954 4).
AUTH_CANCELLED = reply(501, "5.7.0", "Authentication cancelled")
# 502 command not implemented (RFC 5321 4.2.4): X.5.1.
NOT_IMPLEMENTED = reply(502, "5.5.1", "Command not implemented")
# 503 bad sequence of commands (RFC 5321 4.1.4): X.5.1.
BAD_SEQUENCE = reply(503, "5.5.1", "Bad sequence of commands")
# 504 parameter / AUTH mechanism not implemented (RFC 5321 4.2.4, RFC 4954 6): X.5.4.
PARAM_NOT_IMPLEMENTED = reply(504, "5.5.4", "Command parameter not implemented")
# 530 authentication required (RFC 4954 6).
AUTH_REQUIRED = reply(530, "5.7.0", "Authentication required")
# 530 STARTTLS first (RFC 3207 4).
MUST_STARTTLS = reply(530, "5.7.0", "Must issue a STARTTLS command first")
# 535 credentials invalid (RFC 4954 6).
AUTH_FAILED = reply(535, "5.7.8", "Authentication credentials invalid")
# 538 encryption required for the mechanism (RFC 4954 6).
ENCRYPTION_REQUIRED = reply(
    538, "5.7.11", "Encryption required for requested authentication mechanism"
)
# 550 unknown local user (RFC 5321 3.3): X.1.1 "bad destination mailbox address".
NO_SUCH_USER = reply(550, "5.1.1", "No such user here")
# 550 bare CR or LF in a command or in message data (RFC 5321 2.3.8 and
# 4.1.1.4; the SMTP smuggling defence, worded like Postfix's
# smtpd_forbid_bare_newline): X.5.2 syntax error.
BARE_NEWLINE = reply(550, "5.5.2", "Error: bare <LF> or <CR> received")
# 552 message exceeds the fixed maximum size (RFC 1870 6.1, RFC 3463 X.3.4).
MESSAGE_TOO_BIG = reply(552, "5.3.4", "Message size exceeds fixed maximum message size")
# 553 non-fully-qualified sender (RFC 5321 4.1.1.2 needs a domain): X.1.7.
BAD_SENDER = reply(553, "5.1.7", "Sender address rejected: need fully-qualified address")
# 553 non-fully-qualified recipient (RFC 5321 4.1.1.3): X.1.3.
BAD_DESTINATION = reply(553, "5.1.3", "Recipient address rejected: need fully-qualified address")
# 553 sender address not owned by the authenticated user: X.7.1 "delivery not authorized".
SENDER_NOT_OWNED = reply(553, "5.7.1", "Sender address rejected: not owned by user")
# 553 non-ASCII address without SMTPUTF8 (RFC 6531 3.7.4.1): X.6.7.
SMTPUTF8_REQUIRED = reply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8")
# 554 relaying refused (RFC 5321 3.6, 4.2.3 "554 transaction failed"): X.7.1.
RELAY_DENIED = reply(554, "5.7.1", "Relay access denied")
# 554 DATA with no accepted recipient (RFC 5321 3.3, 4.1.1.4): X.5.1.
NO_VALID_RECIPIENTS = reply(554, "5.5.1", "No valid recipients")
# 554 NUL octet in DATA: RFC 5321 2.3.8 / RFC 6152 allow no NUL in 7bit or
# 8bitmime text (only BINARYMIME over BDAT, RFC 3030); a relay that strips
# NULs could otherwise see "<CRLF>\0.<CRLF>" as end of data. X.6.0.
NUL_IN_DATA = reply(554, "5.6.0", "Message contains NUL characters")
# 555 MAIL/RCPT parameter not recognised (RFC 5321 4.1.1.11): X.5.4.
UNKNOWN_PARAM = reply(
    555, "5.5.4", "MAIL FROM/RCPT TO parameters not recognized or not implemented"
)

# -- AUTH (RFC 4954 6) --------------------------------------------------------
# 504 for a mechanism we do not offer (RFC 4954 4).
AUTH_MECHANISM_UNKNOWN = reply(504, "5.5.4", "Unrecognized authentication mechanism")
# 501 for a response that is not valid base64 (RFC 4954 4).
AUTH_BAD_RESPONSE = reply(501, "5.5.2", "Cannot decode the authentication response")
# Too many failures from this client: disconnect (RFC 4954 leaves the policy to us).
TOO_MANY_AUTH_FAILURES = reply(
    421, "4.7.0", "Too many authentication failures, closing transmission channel"
)
