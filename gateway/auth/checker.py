"""The one place passwords are checked: a twisted.cred checker over the users file.

SMTP AUTH (RFC 4954), POP3 (RFC 1939 USER/PASS, RFC 5034 AUTH) and IMAP
(RFC 9051 LOGIN/AUTHENTICATE) all log in through the same
:class:`~twisted.cred.portal.Portal` (see :mod:`gateway.auth.realm`), so they
all end up here.

Verification (bcrypt is deliberately slow) runs in a thread pool, never on
the reactor thread. An unknown user costs one bcrypt verification against a
fixed dummy hash too, so response time does not tell which users exist.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.logger import Logger
from zope.interface import implementer

from gateway.auth.passwords import verify_password
from gateway.envelope import Address, AddressError
from gateway.interfaces import IUserDirectory

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IReactorThreads
    from twisted.python.threadpool import ThreadPool

__all__ = ["DUMMY_HASH", "PasswordFileChecker", "lookup"]

log = Logger()

# Verified for unknown users so that they take as long as known ones.
# Generated with `doveadm pw -s BLF-CRYPT -r 10 -p dummy-password-never-valid`
# (Dovecot 2.3); cost 10 matches hash_password's default.
DUMMY_HASH = "{BLF-CRYPT}$2y$10$1AWsOYxzofALX1qh.TwBx.ltglvrEgm6dgjcSZTOZU/ZgRhDVpm/G"


def _verify(stored: str | None, password: bytes) -> bool:
    """Runs in the pool: True only for a known user with the right password."""
    if not stored:
        verify_password(DUMMY_HASH, password)
        return False
    try:
        return verify_password(stored, password)
    except ValueError as e:  # UnsupportedScheme, MalformedHash
        log.error("cannot verify a stored password: {error}", error=e)
        verify_password(DUMMY_HASH, password)
        return False


def lookup(users: IUserDirectory, username: bytes) -> tuple[Address | None, str | None]:
    """The canonical address and stored ``{SCHEME}hash`` for a login name,
    (None, None) for a name that is no local user (or no address at all)."""
    canonical: Address | None = None
    with contextlib.suppress(UnicodeDecodeError, AddressError):
        canonical = users.canonical(Address.parse(username.decode()))
    stored = None if canonical is None else users.password_hash(str(canonical))
    return canonical, stored


@implementer(ICredentialsChecker)
class PasswordFileChecker:
    """Checks :class:`IUsernamePassword` credentials against an IUserDirectory.

    The username is the user's full address. On success the avatar id is the
    user's canonical address (as written in the users file) encoded as UTF-8
    *bytes*: Twisted's :class:`~twisted.cred.portal.IRealm` types avatar ids
    as ``bytes | tuple[()]``, so :class:`gateway.auth.realm.MailRealm`
    decodes it back. Any failure is :class:`UnauthorizedLogin`, with no hint
    of whether the user exists.

    ``reactor`` and ``pool`` default to the global reactor and its thread
    pool, fetched at the first login (not at construction).
    """

    credentialInterfaces = (IUsernamePassword,)

    def __init__(
        self,
        users: IUserDirectory,
        reactor: IReactorThreads | None = None,
        pool: ThreadPool | None = None,
    ) -> None:
        self._users = users
        self._reactor = reactor
        self._pool = pool

    def _threads(self) -> tuple[IReactorThreads, ThreadPool]:
        if self._reactor is None:
            from twisted.internet import reactor as global_reactor

            self._reactor = global_reactor  # type: ignore[assignment]
        assert self._reactor is not None
        if self._pool is None:
            self._pool = self._reactor.getThreadPool()
        return self._reactor, self._pool

    def requestAvatarId(self, credentials: IUsernamePassword) -> Deferred[bytes | tuple[()]]:
        from twisted.internet.threads import deferToThreadPool

        canonical, stored = lookup(self._users, credentials.username)
        reactor, pool = self._threads()
        d = deferToThreadPool(reactor, pool, _verify, stored, credentials.password)

        def decide(ok: bool) -> bytes | tuple[()]:
            if not ok or canonical is None:
                raise UnauthorizedLogin("authentication failed")
            return str(canonical).encode("utf-8")

        return d.addCallback(decide)
