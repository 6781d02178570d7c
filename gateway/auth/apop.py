"""POP3 APOP (RFC 1939 7): a cred checker for digest logins.

APOP sends ``MD5(timestamp + password)`` in hex, so the server must know the
password itself: only users whose stored scheme keeps it recoverable
(``PLAIN`` / ``CLEARTEXT`` / ``CLEAR``, see :mod:`gateway.auth.passwords`)
can use it. For everyone else, for unknown users and for a wrong digest the
answer is the same :class:`UnauthorizedLogin`, so APOP does not tell which
users exist.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernameHashedPassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import fail, succeed
from twisted.logger import Logger
from zope.interface import implementer

from gateway.auth.checker import lookup
from gateway.auth.passwords import MalformedHash, cleartext
from gateway.interfaces import IUserDirectory

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

__all__ = ["APOPChecker", "APOPCredentials", "apop_digest"]

log = Logger()


def apop_digest(timestamp: bytes, password: bytes) -> bytes:
    """RFC 1939 7: the lower-case hex MD5 of the greeting's timestamp
    (angle brackets included) followed by the shared secret."""
    return hashlib.md5(timestamp + password, usedforsecurity=False).hexdigest().encode("ascii")


@implementer(IUsernameHashedPassword)
class APOPCredentials:
    """``APOP name digest`` against the timestamp this session was greeted with."""

    def __init__(self, timestamp: bytes, username: bytes, digest: bytes) -> None:
        self.timestamp = timestamp
        self.username = username
        self.digest = digest

    def checkPassword(self, password: bytes) -> bool:
        expected = apop_digest(self.timestamp, password)
        return hmac.compare_digest(expected, self.digest.lower())


@implementer(ICredentialsChecker)
class APOPChecker:
    """Checks :class:`IUsernameHashedPassword` credentials (APOP) against
    the cleartext passwords of an :class:`IUserDirectory`.

    The avatar id is the canonical address in UTF-8, as from
    :class:`gateway.auth.checker.PasswordFileChecker`. MD5 is cheap, so this
    runs on the reactor thread.
    """

    credentialInterfaces = (IUsernameHashedPassword,)

    def __init__(self, users: IUserDirectory) -> None:
        self._users = users

    def requestAvatarId(self, credentials: IUsernameHashedPassword) -> Deferred[bytes | tuple[()]]:
        canonical, stored = lookup(self._users, credentials.username)
        password: bytes | None = None
        if stored is not None:
            try:
                password = cleartext(stored)
            except MalformedHash as e:
                log.error("cannot read a stored password: {error}", error=e)
        # Unknown users and users without a cleartext password still cost one
        # digest check, against a value that never matches.
        ok = credentials.checkPassword(b"\0never-valid\0" if password is None else password)
        if not ok or password is None or canonical is None:
            return fail(UnauthorizedLogin("authentication failed"))
        return succeed(str(canonical).encode("utf-8"))
