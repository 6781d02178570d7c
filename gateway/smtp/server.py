"""The ESMTP server protocol (RFC 5321) feeding the message bus.

One :class:`SMTPServerProtocol` per connection; the wire format (command
parsing, CRLF discipline, DATA termination, Received) lives in pure modules
beside this one. Commands are handled strictly one at a time: while a reply
is pending (an asynchronous check, the bus making a message durable), input
stays buffered, so pipelined commands (RFC 2920) get their replies in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import Portal
from twisted.internet.defer import Deferred, FirstError, gatherResults, maybeDeferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.auth.sasl import Challenge, PasswordCredentials, PasswordExchange, UnknownMechanism
from gateway.authn.policy import Verdict, combine, decide, delivered_as
from gateway.authn.work import Runner, inline
from gateway.bus.bus import MessageBus
from gateway.bus.router import Router
from gateway.config import Network, SMTPSettings
from gateway.envelope import Address, Envelope, Origin, Recipient
from gateway.errors import GatewayError
from gateway.interfaces import IMailUser

# Shared with the other protocol servers; re-exported for existing importers.
from gateway.limits import AuthThrottle as AuthThrottle
from gateway.limits import ConnectionLimiter as ConnectionLimiter
from gateway.message import get_header
from gateway.session import (
    LoginPolicy,
    LoginReplies,
    SASLReplies,
    ServerSession,
    SessionFactory,
    sasl_step,
)
from gateway.smtp import codes
from gateway.smtp.codes import Reply, reply
from gateway.smtp.lines import (
    ChunkReader,
    CommandBuffer,
    DataReader,
    LineError,
    find_bare_newline,
)
from gateway.smtp.parser import (
    MailFrom,
    SMTPSyntaxError,
    parse_command,
    parse_helo,
    parse_mail_from,
    parse_rcpt_to,
)
from gateway.smtp.policy import Client, check_recipient, may_send_as, never_full
from gateway.smtp.rates import SMTPRates
from gateway.smtp.received import received_header, with_keyword
from gateway.starttls import start_tls

if TYPE_CHECKING:
    from gateway.authn.dnsbl import DNSBLResult
    from gateway.authn.inbound import InboundChecker, Report
    from gateway.authn.signer import Signer

log = Logger()

KINDS = ("smtp", "submission", "submissions")


@dataclass
class SMTPConfig:
    """Everything a listener's protocols share."""

    kind: str  # "smtp", "submission" or "submissions"
    hostname: str
    settings: SMTPSettings
    max_message_size: int
    bus: MessageBus
    router: Router
    portal: Portal
    clock: IReactorTime
    tls: Any  # a context factory (getContext()), for STARTTLS
    connections: ConnectionLimiter
    auth_throttle: AuthThrottle
    postmaster_domain: str  # RCPT TO:<Postmaster> (RFC 5321 4.5.1) goes here
    now: Callable[[], float] = time.time
    # The error for a local mailbox with no room left (quota), else None.
    full: Callable[[Address], GatewayError | None] = never_full
    # Sender authentication of inbound mail on "smtp" ([authn], [dnsbl])
    authn: InboundChecker | None = None
    rates: SMTPRates | None = None  # [rates]
    signer: Signer | None = None  # DKIM signing of submitted mail ([dkim])
    # Where DKIM signing and ARC sealing hash the message (gateway.authn.work)
    run: Runner = inline

    # -- what ServerSession reads (gateway.session.SessionConfig) --------------

    @property
    def implicit_tls(self) -> bool:
        return self.kind == "submissions"  # RFC 8314 3.3

    @property
    def trusted_networks(self) -> tuple[Network, ...]:
        return self.settings.trusted_networks

    @property
    def plaintext_auth(self) -> bool:
        return False  # AUTH only under TLS or from trusted networks

    @property
    def login_policy(self) -> LoginPolicy:
        s = self.settings
        return LoginPolicy(s.auth_failures_before_delay, s.auth_failure_delay, s.max_auth_failures)


@dataclass
class Transaction:
    """One mail transaction, MAIL to end of data (RFC 5321 3.3)."""

    mail: MailFrom
    recipients: list[Recipient] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)  # BDAT so far
    size: int = 0
    chunk_error: Reply | None = None


# RFC 4954 4, 6: AUTH answers
_SASL_REPLIES = SASLReplies(codes.AUTH_CANCELLED, codes.AUTH_FAILED, codes.AUTH_BAD_RESPONSE)
_LOGIN_REPLIES = LoginReplies(
    codes.TOO_MANY_AUTH_FAILURES, codes.AUTH_FAILED, codes.TOO_MANY_AUTH_FAILURES
)


class SMTPServerProtocol(ServerSession[SMTPConfig]):
    protocol_name = "smtp"
    close_when_throttled = False  # RFC 4954 4: AUTH is refused, the session goes on

    def __init__(self, config: SMTPConfig) -> None:
        super().__init__(config)
        self.settings = config.settings
        self.buffer = CommandBuffer(self.settings.max_command_line)
        self.reader: DataReader | ChunkReader | None = None
        self.helo: str | None = None
        self.esmtp = False
        self.user: Address | None = None
        self.transaction: Transaction | None = None
        self._auth: Callable[[bytes], Any] | None = None  # waiting for a SASL response line
        self._chunk_last = False
        self._chunk_size = 0
        self._listed: Deferred[DNSBLResult | None] | None = None  # DNSBL, from connect

    # -- connection ----------------------------------------------------------

    def _refuse_connection(self) -> None:
        self._send(codes.TOO_MANY_CONNECTIONS)

    def _greet(self) -> None:
        self._send(reply(220, None, f"{self.config.hostname} ESMTP mailgateway"))
        if self._verifies():  # the DNSBL answers arrive while the client talks
            assert self.config.authn is not None
            listed = self.config.authn.client(self.client_ip)
            self._listed = listed.addErrback(self._check_failed, "dnsbl")

    def _verifies(self) -> bool:
        """Whether this session's mail gets sender authentication: inbound
        mail from the Internet, not our users nor our trusted networks."""
        authn = self.config.authn
        return (
            authn is not None
            and authn.settings.enabled
            and self.config.kind == "smtp"
            and self.user is None
            and not self.trusted
        )

    def _check_failed(self, failure: Failure, what: str) -> None:
        log.failure("smtp: {ip}: {what} check failed", failure, ip=self.client_ip, what=what)

    def _timeout(self) -> float:
        """RFC 5321 4.5.3.2: a timeout per command, a longer one inside DATA."""
        if self.reader is not None:
            return self.settings.data_timeout
        return self.settings.command_timeout

    def _timed_out(self) -> None:
        log.info("smtp: {ip} timed out", ip=self.client_ip)
        self._send(codes.TIMEOUT)
        self._close()

    def _send(self, answer: Reply) -> None:
        self._write(answer.encode())

    # -- input ---------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        if self.reader is not None and not self.busy:
            self._feed_reader(data)
        else:
            self.buffer.feed(data)

    def _feed_reader(self, data: bytes) -> None:
        assert self.reader is not None
        rest = self.reader.feed(data)
        if rest is not None:
            reader, self.reader = self.reader, None
            self.buffer.feed(rest)
            self._run(lambda: self._reader_done(reader))

    def _process_loop(self) -> None:
        while not self.busy and not self.closing:
            if self.reader is not None:
                pending = self.buffer.take_rest()
                if not pending:
                    return
                self._feed_reader(pending)
                continue
            try:
                line = self.buffer.next_line()
            except LineError as e:
                self._error(e.reply)
                continue
            if line is None:
                return
            if self._auth is not None:
                handler, self._auth = self._auth, None
                self._run(partial(handler, line))
                continue
            self._run(partial(self._command, line))

    def _run(self, step: Callable[[], Reply | Deferred[Reply] | None]) -> None:
        """Run one command; hold further input until its reply is sent."""
        self.busy = True
        d: Deferred[Reply | None] = maybeDeferred(step)  # type: ignore[call-overload]
        d.addErrback(self._internal_error)
        d.addCallback(self._answered)

    def _answered(self, answer: Reply | None) -> None:
        self.busy = False
        if answer is not None:
            if answer.code >= 500:  # like Postfix's smtpd_hard_error_limit
                self.errors += 1
            self._send(answer)
            if answer.code == 221 or answer.code == 421:
                self._close()
                return
            if self.errors >= self.settings.max_errors:
                log.info("smtp: {ip}: too many errors", ip=self.client_ip)
                self._send(codes.TOO_MANY_ERRORS)
                self._close()
                return
        if not self.closing:
            self._process()

    def _internal_error(self, failure: Failure) -> Reply:
        if failure.check(GatewayError):
            error = failure.value
            assert isinstance(error, GatewayError)
            return codes.from_gateway_error(error)
        log.failure("smtp: {ip}: command failed", failure, ip=self.client_ip)
        self.transaction = None
        return codes.LOCAL_ERROR

    def _error(self, answer: Reply) -> None:
        self._answered(answer)

    # -- commands ------------------------------------------------------------

    def _command(self, line: bytes) -> Reply | Deferred[Reply] | None:
        try:
            command = parse_command(line)
        except SMTPSyntaxError as e:
            return e.reply
        handler = getattr(self, "smtp_" + command.verb, None)
        if handler is None:
            return codes.UNRECOGNIZED
        try:
            result: Reply | Deferred[Reply] | None = handler(command.argument)
        except SMTPSyntaxError as e:
            return e.reply
        return result

    def smtp_HELO(self, argument: str) -> Reply:
        return self._hello(argument, esmtp=False)

    def smtp_EHLO(self, argument: str) -> Reply:
        return self._hello(argument, esmtp=True)

    def _hello(self, argument: str, esmtp: bool) -> Reply:
        self.helo = parse_helo(argument)
        self.esmtp = esmtp
        self.transaction = None  # RFC 5321 4.1.4: EHLO resets like RSET
        greeting = f"{self.config.hostname} Hello {self.helo} [{self.client_ip}]"
        if not esmtp:
            return reply(250, None, greeting)
        return reply(250, None, greeting, *self._extensions())

    def _extensions(self) -> list[str]:
        extensions = [
            "PIPELINING",  # RFC 2920
            f"SIZE {self.config.max_message_size}",  # RFC 1870
            "8BITMIME",  # RFC 6152
            "ENHANCEDSTATUSCODES",  # RFC 2034
        ]
        if not self.tls and self.config.tls is not None:
            extensions.append("STARTTLS")  # RFC 3207
        if self._plaintext_allowed():
            extensions.append("AUTH PLAIN LOGIN")  # RFC 4954
        extensions += ["DSN", "SMTPUTF8", "CHUNKING"]  # RFC 3461, 6531, 3030
        return extensions

    def smtp_NOOP(self, argument: str) -> Reply:
        return codes.OK

    def smtp_HELP(self, argument: str) -> Reply:
        return codes.HELP

    def smtp_VRFY(self, argument: str) -> Reply:
        if self.settings.vrfy == "off":
            return codes.NOT_IMPLEMENTED
        return codes.VRFY_CANNOT  # RFC 5321 3.5.3: 252, without telling who exists

    def smtp_EXPN(self, argument: str) -> Reply:
        return codes.NOT_IMPLEMENTED  # RFC 5321 3.5.2: lists are not disclosed

    def smtp_RSET(self, argument: str) -> Reply:
        self.transaction = None
        return codes.OK

    def smtp_QUIT(self, argument: str) -> Reply:
        return codes.BYE

    def smtp_STARTTLS(self, argument: str) -> Reply | None:
        if argument:
            return codes.SYNTAX_ARGUMENT
        if self.tls or self.config.tls is None:
            return codes.BAD_SEQUENCE if self.tls else codes.NOT_IMPLEMENTED
        # RFC 3207 4.2 / CVE-2011-0411: nothing the client sent before the
        # handshake may be executed after it.
        start_tls(
            self.transport,
            self.buffer,
            self.config.tls,
            codes.READY_TLS.encode(),
            f"smtp: {self.client_ip}",
        )
        self.tls = True
        # RFC 3207 4.2: forget everything learnt before, the client starts over
        self.helo = None
        self.esmtp = False
        self.user = None
        self.transaction = None
        return None

    # -- AUTH (RFC 4954) -------------------------------------------------------

    def smtp_AUTH(self, argument: str) -> Reply | Deferred[Reply] | None:
        if not self.esmtp:
            return codes.BAD_SEQUENCE
        if not self._plaintext_allowed():  # RFC 4954 4, RFC 8314
            return codes.ENCRYPTION_REQUIRED
        if self.user is not None or self.transaction is not None:
            return codes.BAD_SEQUENCE
        if self._logins_exhausted():
            return codes.TOO_MANY_AUTH_FAILURES
        mechanism, _, initial = argument.partition(" ")
        try:
            exchange = PasswordExchange(mechanism)
        except UnknownMechanism:
            return codes.AUTH_MECHANISM_UNKNOWN
        first = initial.encode("ascii", "replace") if initial else None
        return self._sasl_step(exchange, partial(exchange.start, first))

    def _sasl_step(
        self, exchange: PasswordExchange, step: Callable[[], Challenge | PasswordCredentials]
    ) -> Reply | Deferred[Reply]:
        """One step of a PLAIN/LOGIN exchange (gateway.auth.sasl)."""

        def challenge(result: Challenge) -> Reply:
            self._auth = lambda line: self._sasl_step(exchange, partial(exchange.respond, line))
            return codes.AUTH_CONTINUE.with_text(result.data.decode("ascii"))

        def credentials(result: PasswordCredentials) -> Reply | Deferred[Reply]:
            return self._check(result.authcid, result.password)

        return sasl_step(step, _SASL_REPLIES, challenge, credentials)

    def _check(self, username: bytes, password: bytes) -> Deferred[Reply]:
        d = self.config.portal.login(UsernamePassword(username, password), None, IMailUser)

        def ok(result: tuple[Any, Any, Callable[[], None]]) -> Reply:
            self.user = result[1].address
            log.info("smtp: {ip}: authenticated as {user}", ip=self.client_ip, user=self.user)
            return codes.AUTH_OK

        def failed(failure: Failure) -> Reply | Deferred[Reply]:
            failure.trap(UnauthorizedLogin)
            count, answer = self._count_failed_login(_LOGIN_REPLIES)
            log.info("smtp: {ip}: authentication failed ({n} recent)", ip=self.client_ip, n=count)
            return answer

        return d.addCallbacks(ok, failed)

    # -- the mail transaction ------------------------------------------------

    def _may_transact(self) -> Reply | None:
        if self.helo is None:
            return codes.BAD_SEQUENCE.with_text("Send HELO/EHLO first")
        if self.config.kind != "smtp":
            if not self.tls:
                return codes.AUTH_REQUIRED.with_text("Must issue a STARTTLS command first")
            if self.user is None:
                return codes.AUTH_REQUIRED  # RFC 6409 4.3
        return None

    def smtp_MAIL(self, argument: str) -> Reply:
        refused = self._may_transact()
        if refused is not None:
            return refused
        if self.transaction is not None:
            return codes.BAD_SEQUENCE.with_text("Nested MAIL command")
        mail = parse_mail_from(argument)
        if not self.esmtp and _has_parameters(mail):
            return codes.UNKNOWN_PARAM
        if mail.size is not None and mail.size > self.config.max_message_size:
            return codes.MESSAGE_TOO_BIG  # RFC 1870 6.1
        if mail.sender is not None and mail.sender.utf8 and not mail.smtputf8:
            return codes.SMTPUTF8_REQUIRED
        rates = self._rate_refusal("mail", mail.sender)
        if rates is not None:
            return rates
        if self.user is not None and not may_send_as(
            self.config.router, self.user, mail.sender, self.settings.sender_grants
        ):
            log.info(
                "smtp: {ip}: {user} may not send as <{sender}>",
                ip=self.client_ip,
                user=self.user,
                sender=mail.sender,
            )
            return codes.SENDER_NOT_OWNED
        self.transaction = Transaction(mail)
        return codes.SENDER_OK

    def smtp_RCPT(self, argument: str) -> Reply:
        transaction = self.transaction
        if transaction is None:
            return codes.BAD_SEQUENCE.with_text("Need MAIL before RCPT")
        if len(transaction.recipients) >= self.settings.max_recipients:
            return codes.TOO_MANY_RCPTS  # RFC 5321 4.5.3.1.8
        rcpt = parse_rcpt_to(
            argument, self.config.postmaster_domain, utf8=transaction.mail.smtputf8
        )
        if not self.esmtp and (rcpt.notify is not None or rcpt.orcpt is not None):
            return codes.UNKNOWN_PARAM
        client = Client(self.user, self.trusted)
        refused = check_recipient(self.config.router, rcpt.address, client, self.config.full)
        if refused is not None:
            log.info(
                "smtp: {ip}: refused rcpt <{rcpt}>: {reply}",
                ip=self.client_ip,
                rcpt=rcpt.address,
                reply=refused.encode().decode().strip(),
            )
            return refused
        rates = self._rate_refusal("rcpt", transaction.mail.sender)
        if rates is not None:
            return rates
        transaction.recipients.append(Recipient(rcpt.address, rcpt.notify, rcpt.orcpt))
        return codes.RCPT_OK

    def _rate_refusal(self, command: str, sender: Address | None) -> Reply | None:
        rates = self.config.rates
        if not rates or self.trusted:
            return None
        user = None if self.user is None else str(self.user)
        domain = None if sender is None else sender.domain
        take = rates.mail if command == "mail" else rates.rcpt
        refused = take(self.client_ip, user, domain)
        if refused is not None:
            log.info(
                "smtp: {ip}: {reply}", ip=self.client_ip, reply=refused.encode().decode().strip()
            )
        return refused

    def smtp_DATA(self, argument: str) -> Reply:
        transaction = self.transaction
        if argument:
            return codes.SYNTAX_ARGUMENT
        if transaction is None:
            return codes.BAD_SEQUENCE.with_text("Need MAIL command")
        if transaction.chunks:
            return codes.BAD_SEQUENCE.with_text("DATA after BDAT")
        if not transaction.recipients:
            return codes.NO_VALID_RECIPIENTS
        self.reader = DataReader(self.config.max_message_size, self.settings.max_text_line)
        self._arm_timer()
        return codes.START_DATA

    def smtp_BDAT(self, argument: str) -> Reply | Deferred[Reply] | None:
        """RFC 3030 2: the chunk's bytes follow the command line at once."""
        parts = argument.split()
        if not 1 <= len(parts) <= 2 or not parts[0].isdigit() or len(parts[0]) > 12:
            return codes.SYNTAX_ARGUMENT
        if len(parts) == 2 and parts[1].upper() != "LAST":
            return codes.SYNTAX_ARGUMENT
        size = int(parts[0])
        self._chunk_last = len(parts) == 2
        self._chunk_size = size
        if size == 0:  # RFC 3030 2: "BDAT 0 LAST" ends a message with no more data
            return self._chunk(b"")
        # a chunk past the size limit is read off the wire but not kept
        current = self.transaction.size if self.transaction is not None else 0
        self.reader = ChunkReader(size, keep=current + size <= self.config.max_message_size)
        self._arm_timer()
        return None  # the reply comes once the chunk is read

    def _reader_done(self, reader: DataReader | ChunkReader) -> Reply | Deferred[Reply]:
        self._arm_timer()
        if isinstance(reader, DataReader):
            transaction, self.transaction = self.transaction, None
            assert transaction is not None
            if reader.error is not None:
                return reader.error
            return self._deliver(transaction, reader.content)
        return self._chunk(reader.chunk)

    def _chunk(self, chunk: bytes) -> Reply | Deferred[Reply]:
        transaction = self.transaction
        last = self._chunk_last
        if transaction is None:
            return codes.BAD_SEQUENCE.with_text("Need MAIL command")
        if not transaction.recipients:
            self.transaction = None
            return codes.NO_VALID_RECIPIENTS
        transaction.size += self._chunk_size
        if transaction.size > self.config.max_message_size:
            transaction.chunk_error = codes.MESSAGE_TOO_BIG
            transaction.chunks = [b""]
        elif transaction.chunk_error is None:
            transaction.chunks.append(chunk)
        if not last:
            return reply(250, "2.0.0", f"{self._chunk_size} octets received")
        self.transaction = None
        if transaction.chunk_error is not None:
            return transaction.chunk_error
        content = b"".join(transaction.chunks)
        if find_bare_newline(content) is not None:
            return codes.BARE_NEWLINE
        return self._deliver(transaction, content)

    def _deliver(self, transaction: Transaction, content: bytes) -> Deferred[Reply]:
        """Queue the message; answer 250 only once the bus says it is durable."""
        if self._verifies():
            return self._verify(transaction, content)
        qid = self.config.bus.allocate_qid()
        data = self._trace(transaction, transaction.recipients, qid) + content
        envelope = self._envelope(transaction, tuple(transaction.recipients))
        signer = self.config.signer
        if signer is None or (self.user is None and not self.trusted):
            return self._submit([(qid, envelope, data, ())])
        # RFC 6376 5: our domains' mail signed once the Received is on
        signed: Deferred[bytes] = self.config.run(signer.signed, data, self.config.clock)
        return signed.addCallback(lambda data: self._submit([(qid, envelope, data, ())]))

    def _trace(self, transaction: Transaction, recipients: list[Recipient], qid: str) -> bytes:
        """Our Received field (RFC 5321 4.4)."""
        return received_header(
            helo=self.helo or "unknown",
            client_ip=self.client_ip,
            client_name=None,
            by=self.config.hostname,
            protocol=self._protocol(transaction.mail),
            tls=self._tls_info(),
            authenticated=self.user is not None,
            encrypted=self.tls,
            auth_user=str(self.user) if self.user and self.settings.received_auth else None,
            qid=qid,
            recipient=str(recipients[0].address) if len(recipients) == 1 else None,
            when=self.config.now(),
        )

    def _protocol(self, mail: MailFrom) -> str:
        return "UTF8SMTP" if mail.smtputf8 else "ESMTP" if self.esmtp else "SMTP"

    def _envelope(
        self, transaction: Transaction, recipients: tuple[Recipient, ...], junk: str | None = None
    ) -> Envelope:
        mail = transaction.mail
        protocol = with_keyword(self._protocol(mail), tls=self.tls, auth=self.user is not None)
        return Envelope(
            mail.sender,
            recipients,
            Origin(
                protocol.lower(),
                self.client_ip,
                self.helo,
                None if self.user is None else str(self.user),
            ),
            envid=mail.envid,
            ret=mail.ret,
            body=mail.body or "7BIT",
            smtputf8=mail.smtputf8,
            junk=junk,
        )

    def _submit(
        self, parts: list[tuple[str, Envelope, bytes, tuple[dict[str, Any], ...]]]
    ) -> Deferred[Reply]:
        """Queue every part (one message, or its Junk and inbox copies); 250
        once all of them are durable, else the first error."""
        bus = self.config.bus
        queued = [bus.submit(envelope, data, qid, events) for qid, envelope, data, events in parts]
        d: Deferred[list[str]] = gatherResults(queued, consumeErrors=True)

        def done(qids: list[str]) -> Reply:
            return reply(250, "2.0.0", f"Ok: queued as {' '.join(qids)}")

        def refused(failure: Failure) -> Reply:
            failure.trap(FirstError)
            first = failure.value
            assert isinstance(first, FirstError)
            inner = first.subFailure
            inner.trap(GatewayError)
            error = inner.value
            assert isinstance(error, GatewayError)
            return codes.from_gateway_error(error)

        return d.addCallbacks(done, refused)

    # -- sender authentication (gateway.authn) -----------------------------

    def _verify(self, transaction: Transaction, content: bytes) -> Deferred[Reply]:
        """SPF, DKIM, ARC, DMARC and DNSBL, then the policy's verdict for
        each recipient's domain: refuse at the end of data, or queue with
        Authentication-Results, the suspect copies marked for Junk."""
        authn = self.config.authn
        assert authn is not None
        sender = transaction.mail.sender
        d = authn.check(
            content,
            client_ip=self.client_ip,
            helo=self.helo or "",
            sender=None if sender is None else str(sender),
            listed=self._listed,
        )
        return d.addCallback(self._verified, transaction, content)

    def _verified(
        self, report: Report, transaction: Transaction, content: bytes
    ) -> Reply | Deferred[Reply]:
        authn = self.config.authn
        assert authn is not None
        facts = report.facts()
        verdicts = {
            r.address.domain: decide(facts, authn.settings, r.address.domain)
            for r in transaction.recipients
        }
        refusal = combine(list(verdicts.values()))
        if refusal is not None:
            qid = self.config.bus.allocate_qid()
            return self._refuse(qid, transaction, content, refusal, report.event())
        stripped = authn.strip_forged(content)
        d: Deferred[bytes] = self.config.run(authn.headers, report, stripped)
        return d.addCallback(self._queue_verdicts, report, verdicts, transaction, stripped)

    def _queue_verdicts(
        self,
        headers: bytes,
        report: Report,
        verdicts: dict[str, Verdict],
        transaction: Transaction,
        stripped: bytes,
    ) -> Deferred[Reply]:
        checks = report.event()
        qid = self.config.bus.allocate_qid()
        groups: dict[tuple[str, str | None], list[Recipient]] = {}
        chosen: dict[tuple[str, str | None], Verdict] = {}
        for r in transaction.recipients:
            verdict = verdicts[r.address.domain]
            junk = verdict.reason if delivered_as(verdict) == "junk" else None
            key = ("junk" if junk else "inbox", junk)
            groups.setdefault(key, []).append(r)
            chosen.setdefault(key, verdict)
        parts: list[tuple[str, Envelope, bytes, tuple[dict[str, Any], ...]]] = []
        for key, recipients in groups.items():
            part_qid = qid if not parts else self.config.bus.allocate_qid()
            verdict = chosen[key]
            event = {"ev": "authn", **checks, **verdict.event()}
            if verdict.action == "reject":  # one reply for all: softened
                event["action"] = "junk"
            trace = self._trace(transaction, recipients, part_qid)
            envelope = self._envelope(transaction, tuple(recipients), key[1])
            parts.append((part_qid, envelope, trace + headers + stripped, (event,)))
            log.info(
                "{qid}: authn {action} by {rule}: {reason}",
                qid=part_qid,
                action=event["action"],
                rule=verdict.rule,
                reason=verdict.reason,
            )
        return self._submit(parts)

    def _refuse(
        self,
        qid: str,
        transaction: Transaction,
        content: bytes,
        verdict: Verdict,
        checks: dict[str, Any],
    ) -> Deferred[Reply]:
        """Refuse the message at the end of data (RFC 7489 6.7) and note it
        in the history so ``mailgateway track`` can say why."""
        if verdict.action == "defer":
            answer = reply(451, "4.7.5", f"Try again later: {verdict.reason}")
        else:
            answer = reply(550, "5.7.1", f"Message refused: {verdict.reason}")
        log.info(
            "{qid}: refused from [{ip}] by {rule}: {reason}",
            qid=qid,
            ip=self.client_ip,
            rule=verdict.rule,
            reason=verdict.reason,
        )
        envelope = self._envelope(transaction, tuple(transaction.recipients))
        event = {
            **checks,
            **verdict.event(),
            "code": answer.code,
            "status": answer.status,
            "text": f"Message refused: {verdict.reason}",
        }
        d = self.config.bus.record_refused(qid, envelope, get_header(content, "Message-ID"), event)
        d.addErrback(self._check_failed, "history")
        return d.addCallback(lambda _: answer)

    def _tls_info(self) -> tuple[str, str] | None:
        if not self.tls or self.transport is None:
            return None
        try:
            connection = self.transport.getHandle()  # type: ignore[attr-defined]
            version = connection.get_protocol_version_name()
            cipher = connection.get_cipher_name()
        except AttributeError:
            return None
        return (str(version), str(cipher)) if version and cipher else None


def _has_parameters(mail: MailFrom) -> bool:
    return any(
        value not in (None, False)
        for value in (mail.size, mail.body, mail.ret, mail.envid, mail.smtputf8, mail.auth)
    )


class SMTPFactory(SessionFactory[SMTPConfig, SMTPServerProtocol]):
    """Builds protocols for one listener (smtp, submission or submissions)."""

    session = SMTPServerProtocol
