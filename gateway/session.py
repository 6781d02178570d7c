"""What the SMTP, POP3 and IMAP server protocols share.

:class:`ServerSession` is the base of the three protocol classes: the
connection (client address, the per-listener :class:`ConnectionLimiter`,
TCP_NODELAY, TLS from the first byte), sending and closing, the inactivity
timer on the injected clock, running buffered input one command at a time,
and the failed-login throttle (RFC 4954 4, RFC 5034 4, RFC 3501 6.2: a
server may delay failed authentications and drop the connection).

Each protocol keeps its own replies, states and command handlers; it says
what to answer through the hooks at the end of :class:`ServerSession`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from twisted.cred.credentials import ICredentials
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import Portal
from twisted.internet import protocol
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime, ISSLTransport
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.auth.sasl import (
    AuthzidRefused,
    Challenge,
    PasswordCredentials,
    SASLCancelled,
    SASLError,
)
from gateway.config import Network
from gateway.interfaces import IMailUser
from gateway.limits import AuthThrottle, ConnectionLimiter, no_delay
from gateway.sendnow import send_now
from gateway.smtp.policy import is_trusted

__all__ = [
    "ListenerConfig",
    "LoginPolicy",
    "LoginReplies",
    "SASLReplies",
    "ServerSession",
    "SessionConfig",
    "SessionFactory",
    "printable",
    "sasl_step",
]

R = TypeVar("R")
A = TypeVar("A")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# portal.login's result: (interface, avatar, logout)
LoginResult = tuple[Any, Any, Callable[[], None]]


def printable(name: bytes) -> str:
    """A client-supplied name made safe for one log line."""
    return _CONTROL.sub("?", name[:100].decode("utf-8", "replace"))


@dataclass(frozen=True)
class LoginPolicy:
    """Failed logins per client IP (within the :class:`AuthThrottle`'s
    window) before each failure is answered only after
    ``auth_failure_delay`` seconds, and before the client is refused."""

    auth_failures_before_delay: int = 3
    auth_failure_delay: float = 5.0
    max_auth_failures: int = 10


class SessionConfig(Protocol):
    """What :class:`ServerSession` reads from a listener's config (read at
    use, so a test may swap the portal or the TLS context)."""

    @property
    def portal(self) -> Portal: ...
    @property
    def clock(self) -> IReactorTime: ...
    @property
    def connections(self) -> ConnectionLimiter: ...
    @property
    def auth_throttle(self) -> AuthThrottle: ...
    @property
    def implicit_tls(self) -> bool: ...
    @property
    def trusted_networks(self) -> tuple[Network, ...]: ...
    @property
    def plaintext_auth(self) -> bool: ...
    @property
    def login_policy(self) -> LoginPolicy: ...


@dataclass(kw_only=True)
class ListenerConfig:
    """The config fields of a mailbox-protocol listener (POP3, IMAP).

    Required: ``hostname`` (greeting), ``portal`` (from
    :func:`gateway.auth.realm.build_portal`), ``clock`` (the reactor, or a
    ``task.Clock`` in tests), ``connections`` (limits overall and per
    client IP; may be shared with the implicit-TLS listener) and
    ``auth_throttle`` (failed logins per client IP in its window; shared
    with SMTP so guesses count across protocols).

    Optional:

    - ``tls``: a context factory (``getContext()``) offered through
      STLS/STARTTLS (RFC 2595 4, RFC 3501 6.2.1); None offers none.
    - ``implicit_tls``: the listener is pop3s/imaps (the factory wrapped in
      ``TLSMemoryBIOFactory``). Also detected from the transport
      (``ISSLTransport``).
    - ``trusted_networks``: clients there may log in with a plaintext
      password without TLS; ``plaintext_auth`` allows that for everyone
      (Dovecot's ``disable_plaintext_auth = no``; RFC 8314 3).
    - ``auth_failures_before_delay``, ``auth_failure_delay``,
      ``max_auth_failures``: the :class:`LoginPolicy`.
    """

    hostname: str
    portal: Portal
    clock: IReactorTime
    connections: ConnectionLimiter
    auth_throttle: AuthThrottle
    tls: Any = None
    implicit_tls: bool = False
    trusted_networks: tuple[Network, ...] = ()
    plaintext_auth: bool = False
    auth_failures_before_delay: int = 3
    auth_failure_delay: float = 5.0
    max_auth_failures: int = 10

    @property
    def login_policy(self) -> LoginPolicy:
        return LoginPolicy(
            self.auth_failures_before_delay, self.auth_failure_delay, self.max_auth_failures
        )


@dataclass(frozen=True)
class LoginReplies(Generic[R]):
    """A protocol's answers to a throttled login."""

    blocked: R  # too many recent failures already: refused without checking
    failed: R  # wrong name or password
    failed_last: R  # wrong, and the client has used up its failures


@dataclass(frozen=True)
class SASLReplies(Generic[R]):
    """A protocol's answers to a SASL exchange that ends without credentials."""

    cancelled: R  # the client sent "*" (RFC 4954 4, RFC 5034 4, RFC 3501 6.2.2)
    refused: R  # an authorization identity other than the authentication one
    malformed: R  # not base64, or not a PLAIN message


def sasl_step(
    step: Callable[[], Challenge | PasswordCredentials],
    replies: SASLReplies[R],
    challenge: Callable[[Challenge], A],
    credentials: Callable[[PasswordCredentials], A],
) -> R | A:
    """One step of a PLAIN/LOGIN exchange (:mod:`gateway.auth.sasl`):
    hand a challenge or the credentials on, or answer a failed step."""
    try:
        result = step()
    except SASLCancelled:
        return replies.cancelled
    except AuthzidRefused:
        return replies.refused
    except SASLError:
        return replies.malformed
    if isinstance(result, Challenge):
        return challenge(result)
    return credentials(result)


C = TypeVar("C", bound=SessionConfig)


class ServerSession(protocol.Protocol, Generic[C]):
    """One connection of a line-oriented, one-command-at-a-time server."""

    #: the log prefix ("smtp", "pop3", "imap")
    protocol_name: ClassVar[str] = "server"
    #: whether the connection is closed once the client has used up its
    #: failed logins (POP3, IMAP; SMTP only refuses further AUTH)
    close_when_throttled: ClassVar[bool] = True

    def __init__(self, config: C) -> None:
        self.config = config
        # logged under the protocol's module, as before the split
        self.log = Logger(namespace=type(self).__module__)
        self.client_ip = "unknown"
        self.tls = config.implicit_tls
        self.trusted = False
        self.counted = False
        self.closing = False
        self.busy = False
        self.errors = 0
        self.timer: IDelayedCall | None = None
        self._processing = False
        self._close_after = False

    # -- connection ------------------------------------------------------------

    def connectionMade(self) -> None:
        peer: Any = self.transport.getPeer() if self.transport is not None else None
        self.client_ip = str(getattr(peer, "host", "unknown"))
        if ISSLTransport.providedBy(self.transport):
            self.tls = True  # implicit TLS: wrapped in TLSMemoryBIOProtocol
        if not self.config.connections.acquire(self.client_ip):
            self.log.warn(
                f"{self.protocol_name}: refusing {{ip}}: too many connections", ip=self.client_ip
            )
            self._refuse_connection()
            self._close()
            return
        self.counted = True
        no_delay(self.transport)
        self.trusted = is_trusted(self.client_ip, self.config.trusted_networks)
        self._greet()
        self._arm_timer()

    def connectionLost(self, reason: Failure = Failure(ConnectionError())) -> None:  # noqa: B008
        self.closing = True
        if self.counted:
            self.config.connections.release(self.client_ip)
            self.counted = False
        if self.timer is not None and self.timer.active():
            self.timer.cancel()

    def _arm_timer(self) -> None:
        """Start the inactivity timer, or restart it on activity."""
        timeout = self._timeout()
        if self.timer is not None and self.timer.active():
            self.timer.reset(timeout)
        else:
            self.timer = self.config.clock.callLater(timeout, self._timed_out)

    def _write(self, data: bytes | Sequence[bytes]) -> None:
        """Send ``data`` (:func:`gateway.sendnow.send_now`) unless closing."""
        if self.transport is not None and not self.closing:
            send_now(self.transport, data)

    def _close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.loseConnection()

    def _plaintext_allowed(self) -> bool:
        """Passwords in the clear only under TLS or from trusted networks
        (RFC 4954 4, RFC 2595 2.2, RFC 3501 6.2.3, RFC 8314 3)."""
        return self.tls or self.trusted or self.config.plaintext_auth

    # -- input -----------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        if self.closing:
            return
        self._arm_timer()
        self._feed(data)
        self._process()

    def _process(self) -> None:
        """Run buffered commands until one is pending or input runs out.

        Re-entrant calls (a reply given synchronously from inside the loop)
        return at once and the loop carries on, so thousands of pipelined
        commands in one packet do not recurse once each.
        """
        if self._processing:
            return
        self._processing = True
        try:
            self._process_loop()
        finally:
            self._processing = False

    # -- failed-login throttle -------------------------------------------------

    def _logins_exhausted(self) -> bool:
        """Whether this client has used up its failed logins for now."""
        failures = self.config.auth_throttle.count(self.client_ip)
        return failures >= self.config.login_policy.max_auth_failures

    def _count_failed_login(self, replies: LoginReplies[R]) -> tuple[int, R | Deferred[R]]:
        """Count a failed login; the recent failures and the answer: at
        once, after the policy's delay, or the last one (then, for
        :attr:`close_when_throttled`, the connection is closed after it)."""
        count = self.config.auth_throttle.fail(self.client_ip)
        policy = self.config.login_policy
        if count >= policy.max_auth_failures:
            if self.close_when_throttled:
                self._close_after = True
            return count, replies.failed_last
        if count < policy.auth_failures_before_delay:
            return count, replies.failed
        delayed: Deferred[R] = Deferred()
        self.config.clock.callLater(policy.auth_failure_delay, delayed.callback, replies.failed)
        return count, delayed

    def _portal_login(
        self,
        credentials: ICredentials,
        name: bytes,
        method: str,
        replies: LoginReplies[R],
        logged_in: Callable[[str, LoginResult], R | Deferred[R]],
    ) -> R | Deferred[R]:
        """Check ``credentials`` through the portal, throttled; on success
        ``logged_in(method, (interface, avatar, logout))`` answers."""
        if self._logins_exhausted():
            self._close_after = True
            return replies.blocked
        d: Deferred[Any] = self.config.portal.login(credentials, None, IMailUser)
        result: R | Deferred[R] = d.addCallbacks(
            partial(logged_in, method),
            partial(self._login_failed, printable(name), method, replies),
        )
        return result

    def _login_failed(
        self, name: str, method: str, replies: LoginReplies[R], failure: Failure
    ) -> R | Deferred[R]:
        failure.trap(UnauthorizedLogin)
        count, answer = self._count_failed_login(replies)
        self.log.info(
            f"{self.protocol_name}: {{ip}}: login failed for {{name}} "
            "({method}; {n} recent failures)",
            ip=self.client_ip,
            name=name,
            method=method,
            n=count,
        )
        return answer

    # -- hooks each protocol provides ------------------------------------------

    def _refuse_connection(self) -> None:
        """Say the connection limit is reached (the connection then closes)."""
        raise NotImplementedError

    def _greet(self) -> None:
        """Send the greeting."""
        raise NotImplementedError

    def _timeout(self) -> float:
        """The inactivity timeout now, in seconds."""
        raise NotImplementedError

    def _timed_out(self) -> None:
        """The inactivity timer expired."""
        raise NotImplementedError

    def _feed(self, data: bytes) -> None:
        """Buffer input from the client."""
        raise NotImplementedError

    def _process_loop(self) -> None:
        """Run buffered commands while not busy and not closing."""
        raise NotImplementedError


P = TypeVar("P", bound=ServerSession[Any])


class SessionFactory(Factory, Generic[C, P]):
    """Builds one :attr:`session` protocol per connection of a listener,
    all sharing its ``config``."""

    session: type[P]

    def __init__(self, config: C) -> None:
        self.config = config

    def buildProtocol(self, addr: Any) -> P:
        protocol = self.session(self.config)
        protocol.factory = self
        return protocol
