"""The IMAP4rev1 server protocol (RFC 3501) over the store's accounts.

One :class:`IMAPServerProtocol` per connection. This module holds the
connection (limits, timers, TLS), the framing of commands, dispatch by
state, and the commands of any state and of the not-authenticated state
(CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN, AUTHENTICATE) plus ENABLE (RFC
5161), ID (RFC 2971) and IDLE (RFC 2177); the mailbox and selected-state
command families live in :mod:`gateway.imap.commands_mailbox` and
:mod:`gateway.imap.commands_selected`. Parsing and encoding are pure
modules beside it; logins go through the shared cred portal and the store
only through :mod:`gateway.interfaces`.

Commands run strictly one at a time: while one waits for the store, input
stays buffered, so pipelined commands get their answers in order. The
responses of a command go out in one write where possible.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from twisted.cred.credentials import UsernamePassword
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.auth.sasl import (
    MECHANISMS,
    Challenge,
    PasswordCredentials,
    PasswordExchange,
    UnknownMechanism,
)
from gateway.imap import wire
from gateway.imap.commands_mailbox import MailboxCommands
from gateway.imap.commands_selected import SelectedCommands
from gateway.imap.framing import Complete, Continue, Framer, Refused
from gateway.imap.parser import parse_command
from gateway.imap.session import Bad, IMAPConfig, No, Result, State, no, ok
from gateway.imap.syntax import Authenticate, Command, Enable, Id, Login, NoArgs, ParseError
from gateway.interfaces import IMailAccount
from gateway.session import LoginReplies, LoginResult, SASLReplies, SessionFactory, sasl_step
from gateway.starttls import start_tls

__all__ = ["IMAPConfig", "IMAPFactory", "IMAPServerProtocol", "State"]

log = Logger()

# RFC 3501 6: the commands valid in each state
_ANY = frozenset({"CAPABILITY", "NOOP", "LOGOUT", "ID"})
_NOT_AUTHENTICATED = _ANY | {"STARTTLS", "AUTHENTICATE", "LOGIN"}
_AUTHENTICATED = _ANY | {
    "SELECT",
    "EXAMINE",
    "CREATE",
    "DELETE",
    "RENAME",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "LIST",
    "LSUB",
    "STATUS",
    "APPEND",
    "ENABLE",
    "NAMESPACE",
    "IDLE",
}
_SELECTED = _AUTHENTICATED | {
    "CHECK",
    "CLOSE",
    "EXPUNGE",
    "SEARCH",
    "FETCH",
    "STORE",
    "COPY",
    "MOVE",
    "UNSELECT",
}
_ALLOWED = {
    State.NOT_AUTHENTICATED: _NOT_AUTHENTICATED,
    State.AUTHENTICATED: _AUTHENTICATED,
    State.SELECTED: _SELECTED,
    State.LOGOUT: frozenset(),
}
# RFC 3501 7.4.1: updates always looked for after these ...
_POLL_ALWAYS = frozenset({"NOOP", "CHECK"})
# ... and never during these (no EXPUNGE may be sent, RFC 3501 5.5), except
# in their UID forms.
_NO_EXPUNGE = frozenset({"FETCH", "STORE", "SEARCH"})

# RFC 3501 7.1 / RFC 5530 texts
CONTINUE_LITERAL = b"+ Ready for literal data\r\n"
SERVER_ID = b'ID ("name" "mailgateway" "vendor" "mailgateway")'

# RFC 3501 6.2.2, RFC 5530: the answers to AUTHENTICATE and logins
_AUTH_FAILED = no("Authentication failed.", "AUTHENTICATIONFAILED")
_SASL_REPLIES = SASLReplies(
    b"BAD Authentication cancelled",
    _AUTH_FAILED,
    b"BAD Invalid base64 or malformed SASL response",
)
_LOGIN_REPLIES: LoginReplies[bytes | None] = LoginReplies(
    no("Too many failed logins from your address, try again later.", "UNAVAILABLE"),
    _AUTH_FAILED,
    _AUTH_FAILED,
)


class IMAPServerProtocol(MailboxCommands, SelectedCommands):
    def __init__(self, config: IMAPConfig) -> None:
        super().__init__(config)
        self.framer = Framer(config.max_line, config.max_literal, config.max_command)
        self.commands = 0
        self._logout: Callable[[], None] | None = None
        self._user_counted = False
        self._sasl: tuple[str, PasswordExchange] | None = None  # (tag, exchange)
        self.idling: str | None = None  # the tag of a running IDLE
        self._keepalive: IDelayedCall | None = None

    # -- connection ------------------------------------------------------------

    def _refuse_connection(self) -> None:
        self.untagged(b"BYE [UNAVAILABLE] Too many connections, try again later.")

    def _greet(self) -> None:
        caps = " ".join(self.capabilities()).encode()
        self.untagged(
            b"OK [CAPABILITY "
            + caps
            + b"] "
            + self.config.hostname.encode()
            + b" IMAP4rev1 ready."
        )
        self.flush()

    def connectionLost(self, reason: Failure = Failure(ConnectionError())) -> None:  # noqa: B008
        super().connectionLost(reason)
        if self._keepalive is not None and self._keepalive.active():
            self._keepalive.cancel()
        if self.state in (State.AUTHENTICATED, State.SELECTED, State.LOGOUT) and self.user:
            log.info(
                "imap: {ip}: {user} session ended ({n} commands{how})",
                ip=self.client_ip,
                user=self.user,
                n=self.commands,
                how="" if self.state is State.LOGOUT else ", no LOGOUT",
            )
        self._end_session()

    def _end_session(self) -> None:
        self.close_folder()
        self.account = None
        if self._user_counted:
            self.config.user_sessions.release(self.user)
            self._user_counted = False
        logout, self._logout = self._logout, None
        if logout is not None:
            logout()

    def _timeout(self) -> float:
        """RFC 3501 5.4: the autologout timer, reset by any activity."""
        if self.idling is not None:
            return self.config.idle_timeout
        if self.state is State.NOT_AUTHENTICATED:
            return self.config.login_timeout
        return self.config.timeout

    def _timed_out(self) -> None:
        log.info("imap: {ip}: autologout timer expired", ip=self.client_ip)
        self.untagged(b"BYE Autologout; idle for too long.")
        self.flush()
        self._close()

    def _close(self) -> None:
        self.flush()
        super()._close()

    # -- input -------------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        self.framer.feed(data)

    def _process_loop(self) -> None:
        """Run buffered commands in order until one waits for the store or
        input runs out; then send what was queued, in one write."""
        while not self.busy and not self.closing:
            event = self.framer.next_event()
            if event is None:
                break
            if isinstance(event, Continue):
                # RFC 3501 7.5: go ahead with the synchronising literal
                self.queue(CONTINUE_LITERAL)
                self.flush()
            elif isinstance(event, Refused):
                self._refused(event)
            elif self._sasl is not None:
                self._sasl_response(event)
            elif self.idling is not None:
                self._idle_input(event)
            else:
                self._command(event.data)
        self.flush()

    def _refused(self, event: Refused) -> None:
        if self._sasl is not None:
            tag, self._sasl = self._sasl[0], None
            event = Refused(tag, "BAD", event.text, event.code)
        label = (event.tag or "*").encode()
        self.queue(wire.status_line(label, event.status.encode(), event.text, event.code))
        if event.status == "BAD":
            self._count_error()

    def _count_error(self) -> None:
        self.errors += 1
        if self.errors >= self.config.max_errors:
            log.info("imap: {ip}: too many errors", ip=self.client_ip)
            self.untagged(b"BYE Too many invalid commands.")
            self._close()

    def _command(self, data: bytes) -> None:
        try:
            cmd = parse_command(data)
        except ParseError as e:
            tag = (e.tag or "*").encode()
            self.queue(wire.status_line(tag, b"BAD", e.text))
            self._count_error()
            return
        self.commands += 1
        if cmd.name not in _ALLOWED[self.state]:
            self._finish(cmd, self._wrong_state(cmd), poll=False)
            return
        handler: Callable[[Command], Result] = getattr(self, "cmd_" + cmd.name)
        self._run(cmd, partial(handler, cmd))

    def _wrong_state(self, cmd: Command) -> bytes:
        if self.state is State.NOT_AUTHENTICATED:
            return b"BAD Command not valid before login."
        if cmd.name in _NOT_AUTHENTICATED:
            return b"BAD Command not valid after login."
        return b"BAD No mailbox selected."

    def _run(self, cmd: Command, step: Callable[[], Result]) -> None:
        """Run a handler; hold further input until it has answered."""
        try:
            result = step()
        except No as e:
            result = no(e.text, e.code)
        except Bad as e:
            result = (
                b"BAD " + (b"[" + e.code.encode() + b"] " if e.code else b"") + e.text.encode()
            )
        except Exception:
            log.failure("imap: {ip}: {cmd} failed", ip=self.client_ip, cmd=cmd.label)
            result = no("Internal error, try again later", "SERVERBUG")
        if not isinstance(result, Deferred):
            self._finish(cmd, result)
            return
        self.busy = True

        def failed(failure: Failure) -> bytes:
            log.failure("imap: {ip}: {cmd} failed", failure, ip=self.client_ip, cmd=cmd.label)
            return no("Internal error, try again later", "SERVERBUG")

        result.addErrback(failed)
        result.addCallback(lambda answer: self._finish(cmd, answer))

    def _finish(self, cmd: Command, answer: bytes | None, poll: bool = True) -> None:
        """Queue the updates allowed now (RFC 3501 7.4.1), then the tagged
        answer; carry on with buffered input."""
        if answer is None:
            self._resume()
            return
        if poll and self.folder is not None and self._may_poll(cmd):
            self.busy = True
            self.poll().addBoth(lambda _: self._tagged(cmd, answer))
            return
        self._tagged(cmd, answer)

    def _may_poll(self, cmd: Command) -> bool:
        if cmd.name in _NO_EXPUNGE and not cmd.uid:
            return False
        return self.dirty or cmd.name in _POLL_ALWAYS

    def _tagged(self, cmd: Command, answer: bytes) -> None:
        self.queue(cmd.tag.encode() + b" " + answer + b"\r\n")
        if answer.startswith(b"BAD"):
            self._count_error()
        self._resume()

    def _resume(self) -> None:
        self.busy = False
        if self._close_after:
            self._close()
            return
        if not self.closing:
            self._process()

    # -- RFC 3501 6.1.1 CAPABILITY ------------------------------------------------------

    def capabilities(self) -> list[str]:
        """What works now (RFC 3501 7.2.1; the list changes with the state)."""
        caps = ["IMAP4rev1", "SASL-IR", "LITERAL+", "ID", "ENABLE", "IDLE"]
        if self.state is State.NOT_AUTHENTICATED:
            if not self.tls and self.config.tls is not None:
                caps.append("STARTTLS")
            if self._plaintext_allowed():
                caps += ["AUTH=" + m for m in MECHANISMS]
            else:
                caps.append("LOGINDISABLED")  # RFC 3501 6.2.3
            return caps
        return [
            *caps,
            "NAMESPACE",
            "UNSELECT",
            "UIDPLUS",
            "MOVE",
            "CHILDREN",
            "SPECIAL-USE",
            "LIST-EXTENDED",
            "CONDSTORE",
            "ESEARCH",
            f"APPENDLIMIT={self.config.max_literal}",
        ]

    def cmd_CAPABILITY(self, cmd: Command) -> Result:
        self.untagged(b"CAPABILITY " + " ".join(self.capabilities()).encode())
        return ok("Capability completed.")

    # -- RFC 3501 6.1.2 NOOP, 6.1.3 LOGOUT ----------------------------------------------

    def cmd_NOOP(self, cmd: Command) -> Result:
        return ok("NOOP completed.")  # the updates follow (RFC 3501 6.1.2)

    def cmd_LOGOUT(self, cmd: Command) -> Result:
        self.untagged(b"BYE Logging out.")
        self.close_folder()
        if self.state is State.NOT_AUTHENTICATED:
            self.user = ""
        self.state = State.LOGOUT
        self._close_after = True
        return ok("Logout completed.")

    # -- RFC 2971 ID, RFC 5161 ENABLE -------------------------------------------------------

    def cmd_ID(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, Id)
        if args.fields:
            fields = ", ".join(f"{k}={v}" for k, v in args.fields[:8])
            log.debug("imap: {ip}: client ID {fields}", ip=self.client_ip, fields=fields)
        self.untagged(SERVER_ID)
        return ok("ID completed.")

    def cmd_ENABLE(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, Enable)
        enabled = []
        if "CONDSTORE" in args.capabilities:
            self.enable_condstore()
            enabled.append("CONDSTORE")
        self.untagged(b"ENABLED" + b"".join(b" " + c.encode() for c in enabled))
        return ok("Enabled.")

    # -- RFC 3501 6.2.1 STARTTLS ----------------------------------------------------------

    def cmd_STARTTLS(self, cmd: Command) -> Result:
        if self.tls:
            raise Bad("TLS is already active")
        if self.config.tls is None:
            raise Bad("STARTTLS is not available")
        self.flush()
        # RFC 3501 6.2.1, CVE-2011-0411: nothing pipelined before the
        # handshake is executed after it.
        start_tls(
            self.transport,
            self.framer,
            self.config.tls,
            cmd.tag.encode() + b" OK Begin TLS negotiation now.\r\n",
            f"imap: {self.client_ip}",
        )
        self.tls = True
        return None

    # -- RFC 3501 6.2.3 LOGIN, 6.2.2 AUTHENTICATE --------------------------------------------

    def cmd_LOGIN(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, Login)
        if not self._plaintext_allowed():
            raise No(
                "Plaintext authentication disallowed on non-secure connections.",
                "PRIVACYREQUIRED",
            )
        return self._login(args.user, args.password, "LOGIN")

    def cmd_AUTHENTICATE(self, cmd: Command) -> Result:
        args = cmd.args
        assert isinstance(args, Authenticate)
        try:
            exchange = PasswordExchange(args.mechanism)
        except UnknownMechanism:
            raise No("Unsupported authentication mechanism") from None
        if not self._plaintext_allowed():
            raise No(
                "Plaintext authentication disallowed on non-secure connections.",
                "PRIVACYREQUIRED",
            )
        return self._sasl_step(cmd.tag, exchange, partial(exchange.start, args.initial))

    def _sasl_step(
        self,
        tag: str,
        exchange: PasswordExchange,
        step: Callable[[], Challenge | PasswordCredentials],
    ) -> Result:
        def challenge(result: Challenge) -> Result:
            # RFC 3501 6.2.2: "+ " and the base64 challenge
            self._sasl = (tag, exchange)
            self.queue(b"+ " + result.data + b"\r\n")
            return None

        def credentials(result: PasswordCredentials) -> Result:
            method = "AUTHENTICATE " + exchange.mechanism
            return self._login(result.authcid, result.password, method)

        return sasl_step(step, _SASL_REPLIES, challenge, credentials)

    def _sasl_response(self, event: Complete) -> None:
        assert self._sasl is not None
        tag, exchange = self._sasl
        self._sasl = None
        cmd = Command(tag, "AUTHENTICATE", Authenticate(exchange.mechanism, None))
        self._run(
            cmd, partial(self._sasl_step, tag, exchange, partial(exchange.respond, event.data))
        )

    def _login(self, name: bytes, password: bytes, method: str) -> Result:
        """Throttled (ServerSession._portal_login); then :meth:`_logged_in`."""
        credentials = UsernamePassword(name, password)
        answer: Result = self._portal_login(
            credentials, name, method, _LOGIN_REPLIES, self._logged_in
        )
        return answer

    def _logged_in(self, method: str, result: LoginResult) -> Result:
        _interface, avatar, logout = result
        user = str(avatar.address)
        if self.closing:
            logout()
            return None
        if not self.config.user_sessions.acquire(user):
            logout()
            log.info("imap: {ip}: {user}: too many sessions", ip=self.client_ip, user=user)
            return no("Too many sessions for this user, try again later.", "LIMIT")
        self._user_counted = True
        self.user = user
        self._logout = logout
        d: Deferred[IMailAccount] = maybeDeferred(self.config.opener.open_account, avatar)

        def opened(account: IMailAccount) -> bytes | None:
            if self.closing:
                return None
            self.account = account
            self.state = State.AUTHENTICATED
            self._arm_timer()  # RFC 3501 5.4: the longer timer from now on
            log.info(
                "imap: {ip}: {user} logged in ({method}{tls})",
                ip=self.client_ip,
                user=user,
                method=method,
                tls=", TLS" if self.tls else "",
            )
            caps = " ".join(self.capabilities())
            return ok("Logged in.", "CAPABILITY " + caps)

        def failed(failure: Failure) -> bytes:
            log.failure(
                "imap: {ip}: cannot open the account of {user}",
                failure,
                ip=self.client_ip,
                user=user,
            )
            self._end_session()
            self.user = ""
            return no("Cannot open your mailboxes, try again later.", "UNAVAILABLE")

        return d.addCallbacks(opened, failed)

    # -- RFC 2177 IDLE --------------------------------------------------------------------

    def cmd_IDLE(self, cmd: Command) -> Result:
        self.idling = cmd.tag
        self.queue(b"+ idling\r\n")
        self._arm_timer()
        self._schedule_keepalive()
        if self.folder is not None:
            self._idle_poll()  # what is pending goes out now
        return None

    def _schedule_keepalive(self) -> None:
        if self.config.idle_keepalive > 0:
            self._keepalive = self.config.clock.callLater(
                self.config.idle_keepalive, self._idle_keepalive
            )

    def _idle_keepalive(self) -> None:
        if self.idling is None or self.closing:
            return
        self.untagged(b"OK Still here")
        self.flush()
        self._schedule_keepalive()

    def folder_changed(self) -> None:
        super().folder_changed()
        if self.idling is not None and self._polling is None and not self.closing:
            self._idle_poll()  # RFC 2177: updates at once during IDLE

    def _idle_poll(self) -> None:
        d = self.poll()
        self._polling = d

        def done(_: object) -> None:
            self._polling = None
            self.flush()
            if self.idling is not None and self.dirty and self.folder is not None:
                self._idle_poll()

        d.addBoth(done)

    def _idle_input(self, event: Complete) -> None:
        """RFC 2177 3: IDLE ends with DONE and nothing else."""
        if event.data.strip().upper() != b"DONE":
            self.untagged(b"BAD Expected DONE to end IDLE.")
            self._count_error()
            return
        tag, self.idling = self.idling, None
        assert tag is not None
        if self._keepalive is not None and self._keepalive.active():
            self._keepalive.cancel()
        self._keepalive = None
        self._arm_timer()
        answer = ok("Idle completed.")
        cmd = Command(tag, "IDLE", NoArgs())
        if self._polling is not None:
            self.busy = True
            self._polling.addBoth(lambda _: self._tagged(cmd, answer))
            return
        self._tagged(cmd, answer)


class IMAPFactory(SessionFactory[IMAPConfig, IMAPServerProtocol]):
    """Builds protocols for one IMAP listener (imap, or imaps when wrapped
    in ``TLSMemoryBIOFactory`` with ``config.implicit_tls``)."""

    session = IMAPServerProtocol
