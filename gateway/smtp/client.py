"""The ESMTP client protocol for relaying (RFC 5321), ours rather than
``twisted.mail.smtp``'s.

One :class:`SMTPClientProtocol` per connection. :func:`connect` opens it and
runs the session set-up (greeting, EHLO or HELO, STARTTLS per policy, EHLO
again, AUTH); :meth:`SMTPClientProtocol.send` then runs one transaction and
answers a per-recipient :class:`Outcome` list, and may be called again on
the same connection for the next message (RSET first when the previous one
failed, RFC 5321 4.1.1.5); :meth:`SMTPClientProtocol.quit` ends it.
:func:`relay` does all of that for one transaction and never fails: every
failure becomes per-recipient outcomes.

Extensions used when the server offers them: PIPELINING (RFC 2920), SIZE
(RFC 1870), 8BITMIME (RFC 6152; without it 8-bit content is converted to
7 bit by :mod:`gateway.smtp.downgrade`), SMTPUTF8 (RFC 6531; without it a
message that needs it fails with 5.6.7), DSN (RFC 3461), STARTTLS (RFC 3207),
AUTH PLAIN / LOGIN (RFC 4954, RFC 4616). Every wait for a reply is bounded
by the RFC 5321 4.5.3.2 timeouts, measured on an injected clock.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import endpoints
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import (
    ConnectError,
    ConnectionRefusedError,
    DNSLookupError,
)
from twisted.internet.error import TimeoutError as ConnectTimeout
from twisted.internet.interfaces import IDelayedCall, IPullProducer, IReactorTime
from twisted.internet.protocol import Protocol
from twisted.internet.ssl import CertificateOptions, optionsForClientTLS, platformTrust
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from gateway.envelope import Address, Envelope, Recipient
from gateway.smtp.codes import Reply, reply
from gateway.smtp.downgrade import DowngradeError, downgrade, has_8bit, headers_need_smtputf8
from gateway.smtp.parser import xtext_encode

__all__ = [
    "TLS_POLICIES",
    "ClientSettings",
    "Outcome",
    "RelayTransaction",
    "SMTPClientProtocol",
    "SessionError",
    "Timeouts",
    "connect",
    "dot_stuff",
    "relay",
]

log = Logger()

# "none": never STARTTLS; "may": opportunistic (RFC 3207, RFC 7435);
# "encrypt": STARTTLS required, certificate not checked; "verify": required,
# and the certificate and name are checked (RFC 6125, service_identity).
TLS_POLICIES = ("none", "may", "encrypt", "verify")

MAX_REPLY_LINE = 4096  # RFC 5321 4.5.3.1.5 says 512; be lenient with servers
MAX_REPLY_LINES = 1000
DATA_CHUNK = 64 * 1024

_STATUS = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)")

# --- synthesised replies (no remote text) ------------------------------------

# RFC 3463 X.4.1 "no answer from host" / X.4.2 "bad connection".
NO_ANSWER = reply(421, "4.4.1", "Connection refused or no answer from host")
CONNECTION_LOST = reply(421, "4.4.2", "Lost connection with host")
TIMEOUT = reply(421, "4.4.2", "Timeout waiting for the server")
PROTOCOL_ERROR = reply(421, "4.5.0", "Malformed reply from server")
# RFC 3463 X.7.10 "encryption needed" (RFC 5248), temporary as Postfix does.
TLS_REQUIRED = reply(451, "4.7.10", "TLS is required, but was not offered by host")
# RFC 3463 X.7.5 "cryptographic failure".
TLS_FAILED = reply(451, "4.7.5", "TLS handshake failed")
# AUTH failures defer (Postfix smtp_sasl_auth_soft_bounce): X.7.8.
AUTH_FAILED = reply(454, "4.7.8", "Authentication with the server failed")
AUTH_NEEDS_TLS = reply(451, "4.7.10", "Not sending credentials without TLS")
# RFC 6531 3.5: the message needs SMTPUTF8 and the next hop lacks it.
SMTPUTF8_REQUIRED = reply(550, "5.6.7", "SMTPUTF8 is required, but was not offered by host")
# RFC 1870 6.1: do not send what the server declared too big.
TOO_BIG = reply(552, "5.3.4", "Message size exceeds the server's fixed maximum message size")


# --- values ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds to wait, per RFC 5321 4.5.3.2 (``connect`` and ``command``
    for EHLO/STARTTLS/AUTH/RSET/QUIT are ours)."""

    connect: float = 30.0
    greeting: float = 300.0  # 4.5.3.2.1 initial 220 message
    command: float = 300.0
    mail: float = 300.0  # 4.5.3.2.2
    rcpt: float = 300.0  # 4.5.3.2.3
    data_init: float = 120.0  # 4.5.3.2.4
    data_block: float = 180.0  # 4.5.3.2.5
    data_end: float = 600.0  # 4.5.3.2.6


@dataclass(frozen=True, slots=True)
class RelayTransaction:
    """One message to one destination: the envelope parts and the content.

    ``content`` is the stored message, CRLF line ends, not dot-stuffed.
    ``smtputf8`` and ``eight_bit`` are what the next hop must support;
    :meth:`from_envelope` works them out.
    """

    sender: Address | None
    recipients: tuple[Recipient, ...]
    content: bytes
    envid: str | None = None
    ret: str | None = None
    smtputf8: bool = False
    eight_bit: bool = False

    @classmethod
    def from_envelope(cls, envelope: Envelope, content: bytes) -> RelayTransaction:
        """SMTPUTF8 is needed for any non-ASCII address or UTF-8 header
        (RFC 6531 3.2, RFC 6532 3), or when the sender asked for it."""
        addresses: list[Address] = [r.address for r in envelope.recipients]
        if envelope.sender is not None:
            addresses.append(envelope.sender)
        return cls(
            envelope.sender,
            envelope.recipients,
            content,
            envelope.envid,
            envelope.ret,
            smtputf8=(
                envelope.smtputf8
                or any(a.utf8 for a in addresses)
                or headers_need_smtputf8(content)
            ),
            eight_bit=envelope.body != "7BIT" or has_8bit(content),
        )


@dataclass(frozen=True, slots=True)
class TLSInfo:
    version: str
    cipher: str
    verified: bool

    def __str__(self) -> str:
        return f"{self.version} {self.cipher}{' verified' if self.verified else ''}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one recipient.

    ``reply`` is the server's (``remote=True``) or one we made up for a
    connection-level failure (``remote=False``). ``dsn`` says whether the
    server offered DSN: for a success the caller reports "relayed" when it
    did not, and sends no success notice when it did (RFC 3461 4, 6.2.1).
    """

    recipient: Recipient
    reply: Reply
    remote: bool
    remote_host: str
    phase: str  # "connect", "greeting", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", ...
    dsn: bool = False
    tls: TLSInfo | None = None

    @property
    def success(self) -> bool:
        return 200 <= self.reply.code < 300

    @property
    def temporary(self) -> bool:
        return self.reply.temporary

    @property
    def permanent(self) -> bool:
        return self.reply.permanent

    @property
    def status(self) -> str:
        """The enhanced status, or the class's generic one (RFC 3463 2)."""
        return self.reply.status or f"{str(self.reply.code)[0]}.0.0"

    @property
    def action(self) -> str:
        """RFC 3464 2.3.3 Action for a success: "relayed" to a non-DSN host."""
        if not self.success:
            return "failed" if self.permanent else "delayed"
        return "delivered" if self.dsn else "relayed"


class SessionError(Exception):
    """The session cannot go on: every recipient not yet answered gets
    ``reply``. ``tls_failed`` marks a failed handshake (so "may" can retry
    in the clear)."""

    def __init__(
        self, reply: Reply, phase: str, *, remote: bool = False, tls_failed: bool = False
    ) -> None:
        super().__init__(f"{phase}: {reply}")
        self.reply = reply
        self.phase = phase
        self.remote = remote
        self.tls_failed = tls_failed


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How to talk to one destination."""

    helo_name: str
    tls_policy: str = "may"
    tls_hostname: str | None = None  # the name to verify (the MX or smarthost)
    trust_root: Any = None  # IOpenSSLTrustRoot for "verify"; None = platform trust
    credentials: tuple[str, str] | None = None  # AUTH (username, password)
    auth_without_tls: bool = False
    timeouts: Timeouts = field(default_factory=Timeouts)

    def __post_init__(self) -> None:
        if self.tls_policy not in TLS_POLICIES:
            raise ValueError(f"unknown TLS policy {self.tls_policy!r}")

    def tls_options(self) -> Any:
        """The connection creator for ``startTLS``."""
        if self.tls_policy == "verify":
            if self.tls_hostname is None:
                raise ValueError('TLS policy "verify" needs tls_hostname')
            trust = self.trust_root if self.trust_root is not None else platformTrust()
            return optionsForClientTLS(self.tls_hostname, trustRoot=trust)
        return CertificateOptions()  # opportunistic: no certificate checks (RFC 7435)


# --- wire helpers ------------------------------------------------------------


def dot_stuff(content: bytes) -> bytes:
    """The DATA payload with its terminator: CRLF line ends (bare CR or LF
    made CRLF, RFC 5321 2.3.8), leading dots doubled (4.5.2), ending in
    CRLF . CRLF (4.1.1.4)."""
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", content)
    if data and not data.endswith(b"\r\n"):
        data += b"\r\n"
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def parse_reply(lines: Sequence[bytes]) -> Reply:
    """A multi-line reply (RFC 5321 4.2) as a :class:`Reply`; the enhanced
    status (RFC 2034 4) is taken from the first line if it matches the code."""
    code = int(lines[0][:3])
    texts = [line[4:].decode("utf-8", "replace") for line in lines]
    status: str | None = None
    match = _STATUS.match(texts[0])
    if match and match.group(1) == str(code)[0]:
        status = match.group(0).strip()
        texts = [t[len(status) :].lstrip(" ") if t.startswith(status) else t for t in texts]
    texts = [re.sub(r"[\x00-\x1f\x7f]", " ", t) for t in texts]
    return Reply(code, status, tuple(texts))


def parse_ehlo(r: Reply) -> dict[str, str]:
    """EHLO keywords (upper case) to their parameters (RFC 5321 4.1.1.1)."""
    extensions: dict[str, str] = {}
    for line in r.lines[1:]:
        keyword, _, params = line.strip().partition(" ")
        if keyword:
            extensions[keyword.upper()] = params.strip()
    return extensions


@implementer(IPullProducer)
class _BodyProducer:
    """Writes the DATA payload a chunk at a time; each ``resumeProducing``
    means the previous chunk was taken, which restarts the data block timer
    (RFC 5321 4.5.3.2.5)."""

    def __init__(self, protocol: SMTPClientProtocol, data: bytes) -> None:
        self.protocol = protocol
        self.data = data
        self.offset = 0
        self.done: Deferred[None] = Deferred()

    def resumeProducing(self) -> None:
        self.protocol._block_progress()
        if self.offset >= len(self.data):
            self.protocol._transport.unregisterProducer()
            if not self.done.called:
                self.done.callback(None)
            return
        chunk = self.data[self.offset : self.offset + DATA_CHUNK]
        self.offset += len(chunk)
        self.protocol._transport.write(chunk)

    def stopProducing(self) -> None:
        pass  # connectionLost fails ``done``


@dataclass
class _Waiter:
    deferred: Deferred[Reply]
    timeout: float
    phase: str


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


# --- the protocol ------------------------------------------------------------


class SMTPClientProtocol(Protocol):
    """One client connection. ``ready`` fires with the protocol once the
    session is set up, or fails with :class:`SessionError`."""

    def __init__(
        self,
        settings: ClientSettings,
        clock: IReactorTime,
        remote_host: str,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.remote_host = remote_host
        self.timeouts = settings.timeouts
        self.ready: Deferred[SMTPClientProtocol] = Deferred()
        self.extensions: dict[str, str] = {}
        self.esmtp = True
        self.tls: TLSInfo | None = None
        self.authenticated = False
        self._buffer = b""
        self._lines: list[bytes] = []
        self._waiters: list[_Waiter] = []
        self._timer: IDelayedCall | None = None
        self._block_timer: IDelayedCall | None = None
        self._producer: _BodyProducer | None = None
        self._dead: SessionError | None = None
        self._tls_pending = False
        self._need_rset = False
        self._busy = False

    # -- Twisted ---------------------------------------------------------

    @property
    def _transport(self) -> Any:
        return self.transport

    def connectionMade(self) -> None:
        d = Deferred.fromCoroutine(self._setup())
        d.addCallbacks(self._setup_done, self._setup_failed)

    def _setup_done(self, _: None) -> None:
        self.ready.callback(self)

    def _setup_failed(self, failure: Failure) -> None:
        error = failure.value
        if not isinstance(error, SessionError):
            log.failure("smtp client {host}: session set-up", failure, host=self.remote_host)
            error = SessionError(PROTOCOL_ERROR, "connect")
        if self._dead is None and error.remote and error.reply.code != 421:
            self._write("QUIT")  # RFC 5321 3.1: after a 554 greeting, QUIT
        self._close()
        self.ready.errback(error)

    def dataReceived(self, data: bytes) -> None:
        self._buffer += data
        while self._dead is None:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_REPLY_LINE:
                    self._fail(
                        SessionError(PROTOCOL_ERROR.with_text("Reply line too long"), "reply")
                    )
                return
            line, self._buffer = self._buffer[:end].rstrip(b"\r"), self._buffer[end + 1 :]
            self._line(line)

    def _line(self, line: bytes) -> None:
        # RFC 5321 4.2: "ddd-text" continues, "ddd text" / "ddd" ends.
        if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in (b"", b" ", b"-"):
            self._fail(
                SessionError(PROTOCOL_ERROR.with_text(f"Malformed reply: {line[:80]!r}"), "reply")
            )
            return
        if self._lines and line[:3] != self._lines[0][:3]:
            self._fail(
                SessionError(
                    PROTOCOL_ERROR.with_text("Reply codes differ within a reply"), "reply"
                )
            )
            return
        self._lines.append(line)
        if line[3:4] == b"-":
            if len(self._lines) > MAX_REPLY_LINES:
                self._fail(SessionError(PROTOCOL_ERROR.with_text("Reply too long"), "reply"))
            return
        lines, self._lines = self._lines, []
        try:
            r = parse_reply(lines)
        except ValueError:
            self._fail(SessionError(PROTOCOL_ERROR, "reply"))
            return
        if not self._waiters:
            # Unsolicited: typically 421 from an idle connection (RFC 5321 3.8).
            log.info(
                "smtp client {host}: unsolicited reply {reply}",
                host=self.remote_host,
                reply=str(r),
            )
            self._fail(
                SessionError(r if r.code == 421 else CONNECTION_LOST, "idle", remote=r.code == 421)
            )
            return
        waiter = self._waiters.pop(0)
        self._cancel_timer()
        self._arm()
        waiter.deferred.callback(r)

    def connectionLost(self, reason: Failure | None = None) -> None:
        text = reason.getErrorMessage() if reason is not None else "closed"
        if self._tls_pending:  # lost during the handshake (or its verification)
            error = SessionError(
                TLS_FAILED.with_text(f"TLS handshake failed: {text}"), "STARTTLS", tls_failed=True
            )
        else:
            error = SessionError(
                CONNECTION_LOST.with_text(f"Lost connection with host: {text}"), "connection"
            )
        self._fail(error)

    # -- reply waiting and timeouts ----------------------------------------

    def _expect(self, timeout: float, phase: str) -> Deferred[Reply]:
        if self._dead is not None:
            d: Deferred[Reply] = Deferred()
            d.errback(self._dead)
            return d
        waiter = _Waiter(Deferred(), timeout, phase)
        self._waiters.append(waiter)
        if len(self._waiters) == 1:
            self._arm()
        return waiter.deferred

    def _arm(self) -> None:
        """Start the timer of the reply now awaited (RFC 5321 4.5.3.2: each
        reply has its own timeout, also when pipelined)."""
        if self._waiters and self._timer is None:
            head = self._waiters[0]
            self._timer = self.clock.callLater(head.timeout, self._timed_out, head.phase)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None

    def _timed_out(self, phase: str) -> None:
        self._timer = None
        self._fail(
            SessionError(TIMEOUT.with_text(f"Timeout waiting for the reply to {phase}"), phase)
        )

    def _block_progress(self) -> None:
        if self._block_timer is not None and self._block_timer.active():
            self._block_timer.cancel()
        self._block_timer = self.clock.callLater(self.timeouts.data_block, self._block_timed_out)

    def _block_timed_out(self) -> None:
        self._block_timer = None
        self._fail(SessionError(TIMEOUT.with_text("Timeout sending message data"), "DATA"))

    def _fail(self, error: SessionError) -> None:
        """The session is over: fail everything waiting and close."""
        if self._dead is None:
            self._dead = error
        self._cancel_timer()
        if self._block_timer is not None and self._block_timer.active():
            self._block_timer.cancel()
        self._block_timer = None
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.deferred.errback(self._dead)
        producer, self._producer = self._producer, None
        if producer is not None and not producer.done.called:
            producer.done.errback(self._dead)
        self._close()

    def _close(self) -> None:
        transport = self._transport
        if transport is None or not getattr(transport, "connected", True):
            return
        abort = getattr(transport, "abortConnection", None)
        if abort is not None and self._dead is not None and self._dead.reply.code != 221:
            abort()
        else:
            transport.loseConnection()

    @property
    def alive(self) -> bool:
        return self._dead is None

    # -- commands --------------------------------------------------------

    def _write(self, *commands: str) -> None:
        """One write for all: a pipelined group goes out together (RFC 2920 3.1)."""
        self._transport.write(b"".join(c.encode("utf-8") + b"\r\n" for c in commands))

    async def _command(self, command: str, timeout: float, phase: str) -> Reply:
        self._write(command)
        return await self._expect(timeout, phase)

    # -- session set-up --------------------------------------------------

    async def _setup(self) -> None:
        greeting = await self._expect(self.timeouts.greeting, "greeting")
        if greeting.code != 220:  # RFC 5321 3.1: 554 (or 421) instead of 220
            raise SessionError(greeting, "greeting", remote=True)
        await self._ehlo()
        policy = self.settings.tls_policy
        if policy != "none":
            if "STARTTLS" in self.extensions:
                await self._starttls()
            elif policy in ("encrypt", "verify"):
                raise SessionError(TLS_REQUIRED, "STARTTLS")
        if self.settings.credentials is not None:
            await self._auth(*self.settings.credentials)

    async def _ehlo(self) -> None:
        helo = self.settings.helo_name
        r = await self._command(f"EHLO {helo}", self.timeouts.command, "EHLO")
        if r.code in (500, 502) and self.tls is None and not self._tls_pending:
            # RFC 5321 4.1.4 / 3.2: an old server; HELO and no extensions.
            r = await self._command(f"HELO {helo}", self.timeouts.command, "HELO")
            self.esmtp = False
            self.extensions = {}
        elif r.code == 250:
            self.extensions = parse_ehlo(r)
        if r.code != 250:
            raise SessionError(r, "EHLO" if self.esmtp else "HELO", remote=True)

    async def _starttls(self) -> None:
        r = await self._command("STARTTLS", self.timeouts.command, "STARTTLS")
        if r.code != 220:
            if self.settings.tls_policy == "may":
                log.info(
                    "smtp client {host}: STARTTLS refused ({reply}), continuing without TLS",
                    host=self.remote_host,
                    reply=str(r),
                )
                return
            raise SessionError(
                TLS_REQUIRED.with_text(f"TLS is required, but STARTTLS was refused: {r}"),
                "STARTTLS",
            )
        # RFC 3207 4.2: forget everything learnt before TLS; EHLO again.
        self._buffer = b""
        self.extensions = {}
        self._tls_pending = True
        self._transport.startTLS(self.settings.tls_options())
        await self._ehlo()  # the reply arrives only after the handshake
        self._tls_pending = False
        self.tls = self._tls_info()

    def _tls_info(self) -> TLSInfo:
        version = cipher = "unknown"
        try:  # an OpenSSL.SSL.Connection once TLS is on
            handle: Any = self._transport.getHandle()
            version = str(handle.get_protocol_version_name())
            cipher = str(handle.get_cipher_name())
        except Exception:
            pass
        return TLSInfo(version, cipher, self.settings.tls_policy == "verify")

    async def _auth(self, username: str, password: str) -> None:
        offered = self.extensions.get("AUTH", "").upper().split()
        if not offered:
            log.info(
                "smtp client {host}: no AUTH offered, sending unauthenticated",
                host=self.remote_host,
            )
            return
        if self.tls is None and not self.settings.auth_without_tls:
            raise SessionError(AUTH_NEEDS_TLS, "AUTH")
        t = self.timeouts.command
        if "PLAIN" in offered:  # RFC 4616 2, initial response (RFC 4954 4)
            r = await self._command(
                f"AUTH PLAIN {_b64(chr(0) + username + chr(0) + password)}", t, "AUTH"
            )
        elif "LOGIN" in offered:  # draft-murchison-sasl-login
            r = await self._command("AUTH LOGIN", t, "AUTH")
            if r.code == 334:
                r = await self._command(_b64(username), t, "AUTH")
            if r.code == 334:
                r = await self._command(_b64(password), t, "AUTH")
        else:
            raise SessionError(
                AUTH_FAILED.with_text(f"No common AUTH mechanism (offered: {' '.join(offered)})"),
                "AUTH",
            )
        if r.code == 334:  # a challenge we cannot answer: cancel (RFC 4954 4)
            r = await self._command("*", t, "AUTH")
        if r.code != 235:
            raise SessionError(AUTH_FAILED.with_text(f"Authentication failed: {r}"), "AUTH")
        self.authenticated = True

    # -- transactions ----------------------------------------------------

    def send(self, transaction: RelayTransaction) -> Deferred[list[Outcome]]:
        """Run one transaction; the result never fails (failures are outcomes)."""
        if self._busy:
            raise RuntimeError("one transaction at a time per connection")
        self._busy = True
        d = Deferred.fromCoroutine(self._transaction(transaction))

        def done(result: list[Outcome]) -> list[Outcome]:
            self._busy = False
            self._log(transaction, result)
            return result

        return d.addCallback(done)

    def _outcome(self, rcpt: Recipient, r: Reply, phase: str, remote: bool = True) -> Outcome:
        return Outcome(
            rcpt, r, remote, self.remote_host, phase, dsn="DSN" in self.extensions, tls=self.tls
        )

    def _all(
        self, tx: RelayTransaction, r: Reply, phase: str, remote: bool = True
    ) -> list[Outcome]:
        return [self._outcome(rcpt, r, phase, remote) for rcpt in tx.recipients]

    async def _transaction(self, tx: RelayTransaction) -> list[Outcome]:
        answered: dict[int, Outcome] = {}
        try:
            return await self._run(tx, answered)
        except SessionError as e:
            return [
                answered.get(i) or self._outcome(rcpt, e.reply, e.phase, e.remote)
                for i, rcpt in enumerate(tx.recipients)
            ]

    def _mail_command(self, tx: RelayTransaction, size: int, body: str | None) -> str:
        sender = "" if tx.sender is None else str(tx.sender)
        params: list[str] = []
        if "SIZE" in self.extensions:
            params.append(f"SIZE={size}")  # RFC 1870 6
        if body is not None:
            params.append(f"BODY={body}")  # RFC 6152 2
        if tx.smtputf8:
            params.append("SMTPUTF8")  # RFC 6531 3.4
        if "DSN" in self.extensions:  # RFC 3461 4.3, 4.4
            if tx.ret is not None:
                params.append(f"RET={tx.ret}")
            if tx.envid is not None:
                params.append(f"ENVID={xtext_encode(tx.envid)}")
        return " ".join([f"MAIL FROM:<{sender}>", *params])

    def _rcpt_command(self, rcpt: Recipient) -> str:
        params: list[str] = []
        if "DSN" in self.extensions:  # RFC 3461 4.1, 4.2
            if rcpt.notify is not None:
                notify = ",".join(sorted(rcpt.notify)) if rcpt.notify else "NEVER"
                params.append(f"NOTIFY={notify}")
            if rcpt.orcpt is not None:
                params.append(f"ORCPT={rcpt.orcpt[0]};{xtext_encode(rcpt.orcpt[1])}")
        return " ".join([f"RCPT TO:<{rcpt.address}>", *params])

    async def _run(self, tx: RelayTransaction, answered: dict[int, Outcome]) -> list[Outcome]:
        if self._dead is not None:
            raise self._dead
        if self._need_rset:  # RFC 5321 4.1.1.5: clear what the last attempt left
            r = await self._command("RSET", self.timeouts.command, "RSET")
            if r.code != 250:
                raise SessionError(
                    r if r.code == 421 else CONNECTION_LOST.with_text(f"RSET failed: {r}"),
                    "RSET",
                    remote=r.code == 421,
                )
            self._need_rset = False
        if tx.smtputf8 and "SMTPUTF8" not in self.extensions:
            return self._all(tx, SMTPUTF8_REQUIRED, "MAIL", remote=False)
        content, body = tx.content, None
        if tx.eight_bit or has_8bit(content):
            if "8BITMIME" in self.extensions:
                body = "8BITMIME"
            else:  # RFC 6152 3: convert, or fail if it cannot be done
                try:
                    content = downgrade(content)
                except DowngradeError as e:
                    return self._all(tx, e.reply, "MAIL", remote=False)
        payload = dot_stuff(content)
        limit = self.extensions.get("SIZE", "")
        if limit.isdigit() and int(limit) > 0 and len(content) > int(limit):
            return self._all(
                tx, TOO_BIG.with_text(f"{TOO_BIG.lines[0]} ({limit} octets)"), "MAIL", remote=False
            )

        mail = self._mail_command(tx, len(content), body)
        rcpts = [self._rcpt_command(rcpt) for rcpt in tx.recipients]
        t = self.timeouts
        self._need_rset = True  # until the transaction completes
        accepted: list[int] = []

        def rcpt_reply(i: int, r: Reply) -> None:
            if r.code in (250, 251):  # 251: will forward (RFC 5321 4.2.2)
                accepted.append(i)
            else:
                answered[i] = self._outcome(tx.recipients[i], r, "RCPT")

        def everyone() -> list[Outcome]:
            return [answered[i] for i in range(len(tx.recipients))]

        if "PIPELINING" in self.extensions:
            # RFC 2920 3.1: MAIL, every RCPT and DATA in one group; replies in order.
            self._write(mail, *rcpts, "DATA")
            waits = [self._expect(t.mail, "MAIL")]
            waits += [self._expect(t.rcpt, "RCPT") for _ in rcpts]
            waits.append(self._expect(t.data_init, "DATA"))
            replies: list[Reply] = []
            try:
                for wait in waits:
                    replies.append(await wait)
            except SessionError:
                for wait in waits[len(replies) + 1 :]:
                    wait.addErrback(lambda _: None)  # the same error, already raised
                if replies and replies[0].code == 250:
                    for i, r in enumerate(replies[1 : len(rcpts) + 1]):
                        rcpt_reply(i, r)
                raise
            mail_reply, data_reply = replies[0], replies[-1]
            if mail_reply.code != 250:
                if data_reply.code == 354:  # RFC 2920 3.1: end the empty message
                    self._write(".")
                    await self._expect(t.data_end, "end of data")
                return self._ended(self._all(tx, mail_reply, "MAIL"), mail_reply)
            for i, r in enumerate(replies[1:-1]):
                rcpt_reply(i, r)
            if not accepted and data_reply.code == 354:  # RFC 2920 3.1
                self._write(".")
                await self._expect(t.data_end, "end of data")
        else:
            mail_reply = await self._command(mail, t.mail, "MAIL")
            if mail_reply.code != 250:
                return self._ended(self._all(tx, mail_reply, "MAIL"), mail_reply)
            for i, command in enumerate(rcpts):
                r = await self._command(command, t.rcpt, "RCPT")
                rcpt_reply(i, r)
                if r.code == 421:  # RFC 5321 3.8: the server is closing
                    self._fail(SessionError(r, "RCPT", remote=True))
                    raise self._dead or SessionError(r, "RCPT", remote=True)
            if not accepted:
                return everyone()
            data_reply = await self._command("DATA", t.data_init, "DATA")

        if not accepted:
            return self._ended(everyone(), data_reply)
        if data_reply.code != 354:
            for i in accepted:
                answered[i] = self._outcome(tx.recipients[i], data_reply, "DATA")
            return self._ended(everyone(), data_reply)

        self._producer = _BodyProducer(self, payload)
        self._transport.registerProducer(self._producer, False)
        await self._producer.done
        self._producer = None
        if self._block_timer is not None and self._block_timer.active():
            self._block_timer.cancel()
        self._block_timer = None
        final = await self._expect(t.data_end, "end of data")  # RFC 5321 4.5.3.2.6
        for i in accepted:
            answered[i] = self._outcome(tx.recipients[i], final, "end of data")
        if final.code == 250:
            self._need_rset = False
        return self._ended(everyone(), final)

    def _ended(self, outcomes: list[Outcome], last: Reply) -> list[Outcome]:
        if last.code == 421:  # RFC 5321 3.8: the server is closing
            self._fail(SessionError(last, "closing", remote=True))
        return outcomes

    def _log(self, tx: RelayTransaction, outcomes: list[Outcome]) -> None:
        ok = sum(o.success for o in outcomes)
        tls = f"TLS {self.tls}" if self.tls is not None else "no TLS"
        log.info(
            "smtp client {host}: from=<{sender}> {ok}/{n} accepted, {tls}{dsn}: {reply}",
            host=self.remote_host,
            sender="" if tx.sender is None else str(tx.sender),
            ok=ok,
            n=len(outcomes),
            tls=tls,
            dsn=", DSN" if "DSN" in self.extensions else "",
            reply=str(outcomes[-1].reply) if outcomes else "",
        )

    def quit(self) -> Deferred[None]:
        """Say QUIT (RFC 5321 4.1.1.10) and close; never fails."""
        if self._dead is not None:
            self._close()
            return succeed(None)
        d = Deferred.fromCoroutine(self._command("QUIT", self.timeouts.command, "QUIT"))

        def closed(_: object) -> None:
            if self._dead is None:
                self._dead = SessionError(reply(221, "2.0.0", "closed"), "QUIT")
            self._close()

        return d.addBoth(closed)


# --- connecting --------------------------------------------------------------


def connect(
    reactor: Any,
    host_address: str,
    port: int,
    settings: ClientSettings,
    remote_name: str | None = None,
) -> Deferred[SMTPClientProtocol]:
    """Connect to ``host_address:port`` and set the session up; fires with
    the ready protocol, or fails with :class:`SessionError`.

    ``remote_name`` (the MX or smarthost name) is what outcomes and the log
    call the host; it defaults to the address.
    """
    name = remote_name or host_address
    endpoint = endpoints.HostnameEndpoint(
        reactor, host_address.encode("idna"), port, timeout=settings.timeouts.connect
    )
    protocol = SMTPClientProtocol(settings, reactor, name)
    d: Deferred[SMTPClientProtocol] = endpoints.connectProtocol(endpoint, protocol)

    def failed(failure: Failure) -> Failure:
        error = failure.value
        if isinstance(error, SessionError):
            return failure
        text = failure.getErrorMessage()
        if isinstance(error, ConnectionRefusedError):
            text = "Connection refused"
        elif isinstance(error, DNSLookupError):
            text = f"Host not found: {text}"
        elif isinstance(error, ConnectTimeout):
            text = "Connection timed out"
        elif not isinstance(error, ConnectError | OSError):
            log.failure("smtp client {host}: connect", failure, host=name)
        raise SessionError(NO_ANSWER.with_text(f"Cannot connect to {name}: {text}"), "connect")

    def setup(p: SMTPClientProtocol) -> Deferred[SMTPClientProtocol]:
        return p.ready

    return d.addCallback(setup).addErrback(failed)


def relay(
    reactor: Any,
    host_address: str,
    port: int,
    settings: ClientSettings,
    transaction: RelayTransaction,
    remote_name: str | None = None,
) -> Deferred[list[Outcome]]:
    """Connect, send one transaction, QUIT. Never fails: a connection-level
    failure is a temporary (or, for a 5xx greeting, the server's) outcome for
    every recipient. Under the "may" policy a failed TLS handshake is retried
    once in the clear, as Postfix does."""
    name = remote_name or host_address

    async def run() -> list[Outcome]:
        current = settings
        while True:
            try:
                protocol = await connect(reactor, host_address, port, current, name)
            except SessionError as e:
                if e.tls_failed and current.tls_policy == "may":
                    log.info(
                        "smtp client {host}: {error}; retrying without TLS",
                        host=name,
                        error=str(e),
                    )
                    current = ClientSettings(
                        current.helo_name,
                        "none",
                        current.tls_hostname,
                        current.trust_root,
                        current.credentials,
                        current.auth_without_tls,
                        current.timeouts,
                    )
                    continue
                log.info("smtp client {host}: {error}", host=name, error=str(e))
                return [
                    Outcome(rcpt, e.reply, e.remote, name, e.phase)
                    for rcpt in transaction.recipients
                ]
            outcomes = await protocol.send(transaction)
            await protocol.quit()
            return outcomes

    return Deferred.fromCoroutine(run())
