"""The POP3 server protocol (RFC 1939) over the store's maildrops.

One :class:`POP3ServerProtocol` per connection, with RFC 2449 (CAPA,
RESP-CODES, PIPELINING), RFC 2595 (STLS), RFC 5034 (SASL AUTH) and RFC 3206
(AUTH-RESP-CODE). Parsing, replies and dot-stuffing live in pure modules
beside this one; logins go through the shared cred portal and the maildrop
through :class:`~gateway.interfaces.IMaildropOpener`, so this layer never
sees files.

Commands are handled strictly one at a time: while a reply is pending (a
login, a message read, the UPDATE commit) input stays buffered, so
pipelined commands (RFC 2449 6.6) get their replies in order.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import partial

from twisted.cred.credentials import ICredentials, UsernamePassword
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.auth.apop import APOPCredentials
from gateway.auth.sasl import (
    MECHANISMS,
    Challenge,
    PasswordCredentials,
    PasswordExchange,
    UnknownMechanism,
)
from gateway.interfaces import IMaildrop, IMaildropOpener, MaildropInUse
from gateway.pop3 import replies
from gateway.pop3.content import multiline, multiline_parts, top
from gateway.pop3.parser import Command, POP3SyntaxError, parse_command
from gateway.session import (
    ListenerConfig,
    LoginReplies,
    LoginResult,
    SASLReplies,
    ServerSession,
    SessionFactory,
    printable,
    sasl_step,
)
from gateway.smtp import codes as smtp_codes
from gateway.smtp.lines import CommandBuffer, LineError
from gateway.starttls import start_tls
from gateway.store.pop3view import MaildropMessage

__all__ = ["POP3Config", "POP3Factory", "POP3ServerProtocol", "State"]

log = Logger()

# RFC 1939 7: the APOP timestamp must differ in every greeting.
_serial = itertools.count(1)
_HEX_DIGEST = re.compile(rb"[0-9A-Fa-f]{32}")
_MAX_NUMBER_DIGITS = 10  # message numbers and TOP line counts

# The line discipline is shared with SMTP (CRLF only, bounded lines); its
# errors are translated to POP3 replies here.
_LINE_ERRORS = {
    smtp_codes.LINE_TOO_LONG: replies.LINE_TOO_LONG,
    smtp_codes.BARE_NEWLINE: replies.BARE_NEWLINE,
    smtp_codes.NUL_IN_COMMAND: replies.NUL_IN_COMMAND,
}


class State(Enum):
    """RFC 1939 3: the states of a POP3 session."""

    AUTHORIZATION = "AUTHORIZATION"
    TRANSACTION = "TRANSACTION"
    UPDATE = "UPDATE"


@dataclass(kw_only=True)
class POP3Config(ListenerConfig):
    """Everything the protocols of a POP3 listener share.

    The fields of :class:`~gateway.session.ListenerConfig` (``hostname``
    also goes into the APOP timestamp; ``tls`` is offered through STLS, RFC
    2595 4; ``implicit_tls`` makes it pop3s, port 995), and:

    - ``opener`` (required): the store.
    - ``apop``: offer APOP (RFC 1939 7) with a timestamp in the greeting.
    - ``max_line``: command line length incl. CRLF (RFC 2449 4: 255);
      ``max_sasl_line`` the same for SASL responses (RFC 5034 4).
    - ``timeout``: the autologout timer in seconds of inactivity (RFC 1939
      3: at least 10 minutes).
    - ``max_errors``: protocol errors per session before disconnecting.
    """

    opener: IMaildropOpener
    apop: bool = True
    max_line: int = 255
    max_sasl_line: int = 4096
    timeout: float = 600.0
    max_errors: int = 10


class Refused(Exception):
    """A command refused with :attr:`reply`, raised from argument checks."""

    def __init__(self, reply: bytes) -> None:
        super().__init__(reply)
        self.reply = reply


# A reply is one piece, or several sent one after the other (RETR).
Reply = bytes | list[bytes]
Answer = Reply | Deferred[bytes] | Deferred[Reply] | None


def _number(arg: bytes, what: str) -> int:
    """A decimal argument (RFC 1939 3: message numbers are decimal)."""
    if not arg.isdigit() or len(arg) > _MAX_NUMBER_DIGITS:
        raise Refused(replies.err(f"Invalid {what}: {printable(arg)!r} is not a decimal number"))
    return int(arg)


# RFC 5034 4, RFC 3206: the answers to AUTH and logins
_SASL_REPLIES = SASLReplies(
    replies.AUTH_CANCELLED, replies.LOGIN_FAILED, replies.AUTH_BAD_RESPONSE
)
_LOGIN_REPLIES = LoginReplies(
    replies.TOO_MANY_FAILURES, replies.LOGIN_FAILED, replies.LOGIN_FAILED_CLOSING
)


class POP3ServerProtocol(ServerSession[POP3Config]):
    protocol_name = "pop3"

    def __init__(self, config: POP3Config) -> None:
        super().__init__(config)
        self.buffer = CommandBuffer(config.max_line)
        self.state = State.AUTHORIZATION
        self.timestamp = b""
        self.username: bytes | None = None  # from USER, until PASS
        self._sasl: Callable[[bytes], Answer] | None = None  # waiting for a SASL response
        # TRANSACTION state
        self.user = ""
        self.maildrop: IMaildrop | None = None
        self._logout: Callable[[], None] | None = None
        self.messages: tuple[MaildropMessage, ...] = ()
        self.deleted: set[int] = set()
        self.retrieved: set[int] = set()

    # -- connection ------------------------------------------------------------

    def _refuse_connection(self) -> None:
        self._write(replies.TOO_MANY_CONNECTIONS)

    def _greet(self) -> None:
        greeting = f"{self.config.hostname} POP3 mailgateway ready"
        if self.config.apop:
            # RFC 1939 7: <process-ID.clock@hostname>, unique per greeting
            self.timestamp = (
                f"<{os.getpid()}.{next(_serial)}.{int(self.config.clock.seconds())}"
                f"@{self.config.hostname}>"
            ).encode("ascii", "replace")
            greeting += " " + self.timestamp.decode("ascii")
        self._write(replies.ok(greeting))

    def connectionLost(self, reason: Failure = Failure(ConnectionError())) -> None:  # noqa: B008
        super().connectionLost(reason)
        if self.state is State.TRANSACTION:
            # RFC 1939 6: no QUIT, no UPDATE: nothing is deleted.
            log.info(
                "pop3: {ip}: {user} disconnected without QUIT: {retrieved} retrieved, "
                "0 deleted ({marked} marked, kept)",
                ip=self.client_ip,
                user=self.user,
                retrieved=len(self.retrieved),
                marked=len(self.deleted),
            )
            self._end_session()

    def _end_session(self) -> None:
        """Give back the maildrop lock (if not committed) and the avatar."""
        maildrop, self.maildrop = self.maildrop, None
        if maildrop is not None:
            maildrop.release()
        logout, self._logout = self._logout, None
        if logout is not None:
            logout()

    def _timeout(self) -> float:
        """RFC 1939 3: the autologout timer, reset by any activity."""
        return self.config.timeout

    def _timed_out(self) -> None:
        # RFC 1939 3: close without a reply and without entering UPDATE.
        log.info("pop3: {ip}: autologout timer expired", ip=self.client_ip)
        self._close()

    # -- input -----------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        self.buffer.feed(data)

    def _process_loop(self) -> None:
        """Run buffered lines in order until a reply is pending or input
        runs out (the re-entrancy guard is ServerSession._process)."""
        while not self.busy and not self.closing:
            try:
                line = self.buffer.next_line()
            except LineError as e:
                self._end_sasl()
                self._answered(_LINE_ERRORS.get(e.reply, replies.UNKNOWN_COMMAND))
                continue
            if line is None:
                return
            if self._sasl is not None:
                handler = self._sasl
                self._end_sasl()
                self._run(partial(handler, line))
            else:
                self._run(partial(self._command, line))

    def _run(self, step: Callable[[], Answer]) -> None:
        """Run one command; hold further input until its reply is sent."""
        try:
            answer = step()
        except Exception:
            log.failure("pop3: {ip}: command failed", ip=self.client_ip)
            answer = replies.INTERNAL_ERROR
        if not isinstance(answer, Deferred):
            self._answered(answer)
            return
        self.busy = True
        answer.addErrback(self._internal_error)
        answer.addCallback(self._answered)

    def _internal_error(self, failure: Failure) -> bytes:
        log.failure("pop3: {ip}: command failed", failure, ip=self.client_ip)
        return replies.INTERNAL_ERROR

    def _answered(self, answer: Reply | None) -> None:
        self.busy = False
        if answer is not None:
            self._write(answer)
            if isinstance(answer, bytes) and replies.is_counted_error(answer):
                self.errors += 1
                if self.errors >= self.config.max_errors:
                    log.info("pop3: {ip}: too many errors", ip=self.client_ip)
                    self._write(replies.TOO_MANY_ERRORS)
                    self._close()
        if self._close_after:
            self._close()
        if not self.closing:
            self._process()

    # -- commands ----------------------------------------------------------------

    # RFC 1939 4 / 5: the commands of each state (CAPA from RFC 2449 5 in both).
    _AUTHORIZATION = frozenset({"USER", "PASS", "APOP", "AUTH", "STLS", "CAPA", "QUIT"})
    _TRANSACTION = frozenset(
        {"STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP", "UIDL", "CAPA", "QUIT"}
    )

    def _command(self, line: bytes) -> Answer:
        try:
            command = parse_command(line)
        except POP3SyntaxError as e:
            return replies.err(str(e))
        handler: Callable[[Command], Answer] | None = getattr(self, "pop3_" + command.verb, None)
        if handler is None:
            return replies.UNKNOWN_COMMAND
        allowed = self._AUTHORIZATION if self.state is State.AUTHORIZATION else self._TRANSACTION
        if command.verb not in allowed:
            if self.state is State.AUTHORIZATION:
                return replies.NOT_BEFORE_LOGIN
            return replies.NOT_AFTER_LOGIN
        try:
            return handler(command)
        except Refused as e:
            return e.reply

    @staticmethod
    def _no_arguments(command: Command) -> None:
        if command.args:
            raise Refused(replies.NO_ARGUMENTS)

    # -- RFC 2449 5 CAPA ------------------------------------------------------------

    def pop3_CAPA(self, command: Command) -> bytes:
        self._no_arguments(command)
        return replies.listing(replies.ok("Capability list follows"), self.capabilities())

    def capabilities(self) -> list[str]:
        """What works now (RFC 2449 5: the list may change with the state)."""
        caps = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if self.state is State.AUTHORIZATION:
            if self._plaintext_allowed():
                caps += ["USER", "SASL " + " ".join(MECHANISMS)]  # RFC 2449 6.3, RFC 5034 6
            if self._stls_available():
                caps.append("STLS")  # RFC 2595 4
        caps += ["EXPIRE NEVER", "IMPLEMENTATION mailgateway"]  # RFC 2449 6.7, 6.9
        return caps

    def _stls_available(self) -> bool:
        return not self.tls and self.config.tls is not None

    # -- RFC 2595 4 STLS --------------------------------------------------------------

    def pop3_STLS(self, command: Command) -> bytes | None:
        self._no_arguments(command)
        if self.tls:
            return replies.STLS_ACTIVE
        if self.config.tls is None:
            return replies.STLS_UNAVAILABLE
        # RFC 2595 4 / CVE-2011-0411: nothing the client pipelined before
        # the handshake may be executed after it.
        start_tls(
            self.transport,
            self.buffer,
            self.config.tls,
            replies.STLS_GO,
            f"pop3: {self.client_ip}",
        )
        self.tls = True
        # the session starts over in AUTHORIZATION: forget any USER
        self.username = None
        return None

    # -- RFC 1939 7 USER / PASS ------------------------------------------------------

    def pop3_USER(self, command: Command) -> bytes:
        if len(command.args) != 1:
            return replies.err("Usage: USER name")
        if not self._plaintext_allowed():
            return replies.PLAINTEXT_DISALLOWED
        # +OK whoever it is: USER must not tell which mailboxes exist.
        self.username = command.args[0]
        return replies.USER_OK

    def pop3_PASS(self, command: Command) -> Answer:
        if not self._plaintext_allowed():
            return replies.PLAINTEXT_DISALLOWED
        username, self.username = self.username, None
        if username is None:
            return replies.USER_FIRST
        # RFC 1939 7: the one argument is the rest of the line, spaces and all
        if not command.rest:
            return replies.NO_PASSWORD
        return self._login(UsernamePassword(username, command.rest), username, "USER")

    # -- RFC 1939 7 APOP ------------------------------------------------------------------

    def pop3_APOP(self, command: Command) -> Answer:
        if not self.config.apop:
            return replies.APOP_DISABLED
        if len(command.args) != 2 or _HEX_DIGEST.fullmatch(command.args[1]) is None:
            return replies.APOP_SYNTAX
        name, digest = command.args
        return self._login(APOPCredentials(self.timestamp, name, digest), name, "APOP")

    # -- RFC 5034 AUTH -------------------------------------------------------------------

    def pop3_AUTH(self, command: Command) -> Answer:
        if not command.args:
            # RFC 1734 / RFC 5034 practice: a bare AUTH lists the mechanisms.
            mechanisms = MECHANISMS if self._plaintext_allowed() else ()
            return replies.listing(replies.ok("Methods supported:"), mechanisms)
        if len(command.args) > 2:
            return replies.AUTH_SYNTAX
        try:
            exchange = PasswordExchange(command.args[0].decode("ascii", "replace"))
        except UnknownMechanism:
            return replies.AUTH_UNKNOWN_MECHANISM
        if not self._plaintext_allowed():
            return replies.PLAINTEXT_DISALLOWED
        initial = command.args[1] if len(command.args) == 2 else None
        return self._sasl_step(exchange, partial(exchange.start, initial))

    def _sasl_step(
        self, exchange: PasswordExchange, step: Callable[[], Challenge | PasswordCredentials]
    ) -> Answer:
        def challenge(result: Challenge) -> Answer:
            # RFC 5034 4: "+ " and the base64 challenge; the answer may be
            # longer than a command line.
            self._sasl = lambda line: self._sasl_step(exchange, partial(exchange.respond, line))
            self.buffer.max_line = self.config.max_sasl_line
            return b"+ " + result.data + replies.CRLF

        def credentials(result: PasswordCredentials) -> Answer:
            name = result.authcid
            return self._login(UsernamePassword(name, result.password), name, exchange.mechanism)

        return sasl_step(step, _SASL_REPLIES, challenge, credentials)

    def _end_sasl(self) -> None:
        self._sasl = None
        self.buffer.max_line = self.config.max_line

    # -- login (all methods) -------------------------------------------------------------

    def _login(
        self, credentials: ICredentials, name: bytes, method: str
    ) -> bytes | Deferred[bytes]:
        """Throttled (ServerSession._portal_login); then :meth:`_open`."""
        return self._portal_login(credentials, name, method, _LOGIN_REPLIES, self._open)

    def _open(self, method: str, result: LoginResult) -> Deferred[bytes]:
        """RFC 1939 4: authenticated; lock the maildrop and enter TRANSACTION."""
        _interface, avatar, logout = result
        user = str(avatar.address)
        d: Deferred[IMaildrop] = maybeDeferred(self.config.opener.open_maildrop, avatar)

        def opened(maildrop: IMaildrop) -> bytes:
            if self.closing:  # the client left while the store was opening
                maildrop.release()
                logout()
                return b""
            self.state = State.TRANSACTION
            self.user = user
            self.maildrop = maildrop
            self._logout = logout
            self.messages = tuple(maildrop.messages)
            size = sum(m.size for m in self.messages)
            log.info(
                "pop3: {ip}: {user} logged in ({method}; {n} messages, {size} octets)",
                ip=self.client_ip,
                user=user,
                method=method,
                n=len(self.messages),
                size=size,
            )
            return replies.ok(f"Logged in, {len(self.messages)} messages ({size} octets)")

        def refused(failure: Failure) -> bytes:
            logout()
            if failure.check(MaildropInUse):
                log.info(
                    "pop3: {ip}: login as {user} refused: maildrop in use",
                    ip=self.client_ip,
                    user=user,
                )
                return replies.IN_USE
            log.failure(
                "pop3: {ip}: login as {user} refused: cannot open the maildrop",
                failure,
                ip=self.client_ip,
                user=user,
            )
            return replies.MAILDROP_UNAVAILABLE

        return d.addCallbacks(opened, refused)

    # -- RFC 1939 5 TRANSACTION ----------------------------------------------------------

    def _index(self, arg: bytes) -> int:
        """The index of a message number that names an undeleted message."""
        number = _number(arg, "message number")
        if not 1 <= number <= len(self.messages):
            raise Refused(replies.err(f"No such message, only {len(self.messages)} in maildrop"))
        if number - 1 in self.deleted:
            raise Refused(replies.err(f"Message {number} already deleted"))
        return number - 1

    def _one_message(self, command: Command, usage: str) -> int:
        if len(command.args) != 1:
            raise Refused(replies.err(f"Usage: {usage}"))
        return self._index(command.args[0])

    def _undeleted(self) -> list[int]:
        deleted = self.deleted
        return [i for i in range(len(self.messages)) if i not in deleted]

    def _drop_summary(self) -> tuple[int, int]:
        indexes = self._undeleted()
        return len(indexes), sum(self.messages[i].size for i in indexes)

    def pop3_STAT(self, command: Command) -> bytes:
        self._no_arguments(command)
        count, size = self._drop_summary()
        return replies.ok(f"{count} {size}")  # RFC 1939 5: exactly "+OK nn mm"

    def pop3_LIST(self, command: Command) -> bytes:
        return self._scan(command, "LIST [msg]", lambda i: str(self.messages[i].size))

    def pop3_UIDL(self, command: Command) -> bytes:
        return self._scan(command, "UIDL [msg]", lambda i: str(self.messages[i].uidl))

    def _scan(self, command: Command, usage: str, value: Callable[[int], str]) -> bytes:
        """LIST and UIDL (RFC 1939 5, 7): one message, or all undeleted ones."""
        if len(command.args) > 1:
            raise Refused(replies.err(f"Usage: {usage}"))
        if command.args:
            index = self._index(command.args[0])
            return replies.ok(f"{index + 1} {value(index)}")
        indexes = self._undeleted()
        lines = [f"{i + 1} {value(i)}" for i in indexes]
        return replies.listing(replies.ok(f"{len(indexes)} messages"), lines)

    def pop3_RETR(self, command: Command) -> Answer:
        index = self._one_message(command, "RETR msg")
        status = b"+OK %d octets\r\n" % self.messages[index].size

        def render(content: bytes) -> list[bytes]:
            self.retrieved.add(index)
            return multiline_parts(status, content)

        return self._read(index, render)

    def pop3_TOP(self, command: Command) -> Answer:
        if len(command.args) != 2:
            raise Refused(replies.err("Usage: TOP msg lines"))
        index = self._index(command.args[0])
        lines = _number(command.args[1], "number of lines")
        return self._read(index, lambda content: multiline(replies.OK, top(content, lines)))

    def _read(self, index: int, render: Callable[[bytes], Reply]) -> Answer:
        """Fetch a message from the store and render the reply from it: at
        once when the store can read it in this thread, else when it has."""
        assert self.maildrop is not None
        content = self.maildrop.retrieve_nowait(index)
        if content is not None:
            return render(content)
        d: Deferred[bytes] = maybeDeferred(self.maildrop.retrieve, index)

        def failed(failure: Failure) -> Reply:
            log.failure(
                "pop3: {ip}: cannot read message {n} of {user}",
                failure,
                ip=self.client_ip,
                n=index + 1,
                user=self.user,
            )
            return replies.RETRIEVE_FAILED

        rendered: Deferred[Reply] = d.addCallbacks(render, failed)
        return rendered

    def pop3_DELE(self, command: Command) -> bytes:
        index = self._one_message(command, "DELE msg")
        self.deleted.add(index)  # RFC 1939 5: only marked; removed in UPDATE
        return replies.ok(f"Message {index + 1} deleted")

    def pop3_NOOP(self, command: Command) -> bytes:
        self._no_arguments(command)
        return replies.OK

    def pop3_RSET(self, command: Command) -> bytes:
        self._no_arguments(command)
        self.deleted.clear()
        count, size = self._drop_summary()
        return replies.ok(f"Maildrop has {count} messages ({size} octets)")

    # -- RFC 1939 6 QUIT and UPDATE -----------------------------------------------------

    def pop3_QUIT(self, command: Command) -> Answer:
        self._no_arguments(command)
        self._close_after = True
        if self.state is not State.TRANSACTION:
            return replies.BYE
        self.state = State.UPDATE
        maildrop, self.maildrop = self.maildrop, None
        assert maildrop is not None
        deleted, retrieved = frozenset(self.deleted), frozenset(self.retrieved)
        d: Deferred[None] = maybeDeferred(maildrop.commit, deleted, retrieved)

        def committed(_: None) -> bytes:
            self._end_session()
            log.info(
                "pop3: {ip}: {user} logged out: {retrieved} retrieved, {deleted} deleted",
                ip=self.client_ip,
                user=self.user,
                retrieved=len(retrieved),
                deleted=len(deleted),
            )
            left = len(self.messages) - len(deleted)
            return replies.ok(f"{self.config.hostname} signing off ({left} messages left)")

        def failed(failure: Failure) -> bytes:
            self._end_session()
            log.failure(
                "pop3: {ip}: {user} logged out: {retrieved} retrieved, commit of "
                "{deleted} deletions failed",
                failure,
                ip=self.client_ip,
                user=self.user,
                retrieved=len(retrieved),
                deleted=len(deleted),
            )
            return replies.COMMIT_FAILED

        return d.addCallbacks(committed, failed)


class POP3Factory(SessionFactory[POP3Config, POP3ServerProtocol]):
    """Builds protocols for one POP3 listener (pop3, or pop3s when wrapped
    in ``TLSMemoryBIOFactory`` with ``config.implicit_tls``)."""

    session = POP3ServerProtocol
